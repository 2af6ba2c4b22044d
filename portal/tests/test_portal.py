"""The customer portal through real HTTP requests (django.test.Client, the
emails through a real SMTP server on loopback): invitations, password and
one-time-link sign-in, the rate limit, CSRF, the wall between portal and
staff sessions, what one contact may see of another's cases and documents,
cases opened and commented in the portal, and the portal_login /
portal_logout touchpoints, each recorded exactly once.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from cases.models import Case, CaseComment, CaseOrigin
from emails.tests.smtpserver import free_port, smtp_server  # noqa: F401 - fixture
from portal import services
from portal.models import PortalAccount, PortalSession, PortalToken

PASSWORD = "violet-kettle-harbour-42"
CAROL_EMAIL = "carol@grasspods.example"
DAVE_EMAIL = "dave@grasspods.example"
COOKIE = "tp_portal"
NO_MATCH = "That email address and password do not match a portal account."


@pytest.fixture(autouse=True)
def huey_in_process():
    """Jobs enqueued after commit (the sign-in link's mail) run at once, in
    this process, when the test lets the commit callbacks run (ask_for_link)."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture
def ask_for_link(django_capture_on_commit_callbacks):
    """POST /portal/link/ as a browser would, and let what the request did
    after commit happen (the worker mailing the link)."""

    def ask(email: str, client: Client | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or Client()).post("/portal/link/", {"email": email})

    return ask


@pytest.fixture(autouse=True)
def document_storage(settings, tmp_path) -> Path:
    """Uploaded documents go to this test's own directory, not var/media."""
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    return root


# --- helpers -------------------------------------------------------------------------------


def link_in(mail, kind: str) -> str:
    """The one /portal/<kind>/<token>/ link of an email, as a local path."""
    found = re.findall(rf"{re.escape(settings.PUBLIC_BASE_URL)}(/portal/{kind}/[A-Za-z0-9_-]+/)", mail.text())
    assert len(found) == 1, mail.text()
    return found[0]


def invite(staff, contact_id: int, smtp) -> str:
    """Invite the contact as ``staff``; the invitation link from the email."""
    sent = len(smtp.messages)
    response = staff.post(f"contacts/{contact_id}/portal-invitation", {})
    assert response.status_code == 201, response.content
    assert len(smtp.messages) == sent + 1
    return link_in(smtp.messages[-1], "invitation")


def accept(link: str, password: str = PASSWORD, again: str | None = None) -> tuple[Client, object]:
    client = Client()
    response = client.post(link, {"password": password, "password_again": password if again is None else again})
    return client, response


def portal_client(staff, contact_id: int, smtp) -> Client:
    """A browser signed in to the portal as the contact (invited, password set)."""
    client, response = accept(invite(staff, contact_id, smtp))
    assert response.status_code == 302, response.content
    return client


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post("/portal/login/", {"email": email, "password": password, **extra})


def field_errors(response, field: str) -> list[str]:
    match = re.search(rf'<ul class="errorlist" id="id_{field}-errors">(.*?)</ul>', response.content.decode(), re.S)
    return [unescape(e) for e in re.findall(r"<li>(.*?)</li>", match.group(1))] if match else []


def page_errors(response) -> list[str]:
    match = re.search(r'<div class="error" role="alert">(.*?)</div>', response.content.decode(), re.S)
    return [unescape(e) for e in re.findall(r"<p>(.*?)</p>", match.group(1))] if match else []


def timeline(staff, collection: str, record_id: int, kinds: str | None = None) -> list[dict]:
    response = staff.get(f"{collection}/{record_id}/timeline", **({"kinds": kinds} if kinds else {}), limit=200)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def visits(staff, contact_id: int, kind: str) -> list[dict]:
    return timeline(staff, "contacts", contact_id, kind)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_portal_case(client: Client, title: str, description: str = "") -> int:
    response = client.post("/portal/cases/new", {"title": title, "description": description})
    assert response.status_code == 302, response.content
    match = re.fullmatch(r"/portal/cases/(\d+)/", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def upload(staff, name: str, content: bytes, **shares) -> int:
    response = staff.client.post("/api/v1/documents", {"file": SimpleUploadedFile(name, content, content_type="application/pdf"), **shares})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def give_dave_an_email(alice, world) -> None:
    response = alice.patch(f"contacts/{world['dave']}", {"emails": [DAVE_EMAIL]})
    assert response.status_code == 200, response.content


def only_session() -> PortalSession:
    sessions = list(PortalSession.objects.all())
    assert len(sessions) == 1
    return sessions[0]


# --- invitations ----------------------------------------------------------------------------


def test_inviting_a_contact_emails_a_link_that_shows_the_password_form(alice, world, smtp_server):
    link = invite(alice, world["carol"], smtp_server)

    mail = smtp_server.messages[-1]
    assert mail.rcpt_tos == [CAROL_EMAIL]
    response = Client().get(link)
    assert response.status_code == 200
    assert CAROL_EMAIL in response.content.decode()
    assert 'name="password_again"' in response.content.decode()
    assert COOKIE not in response.cookies


def test_invitation_with_mismatching_passwords_is_refused_without_signing_in(alice, world, smtp_server):
    link = invite(alice, world["carol"], smtp_server)

    client, response = accept(link, PASSWORD, again=PASSWORD + "x")

    assert response.status_code == 422
    assert field_errors(response, "password_again") == ["The two passwords are not the same."]
    assert COOKIE not in response.cookies
    assert not PortalSession.objects.exists()
    assert PortalAccount.objects.get().password == ""


@pytest.mark.parametrize("weak", ["12345678", "password"])
def test_weak_password_is_refused_with_the_validator_message_and_the_link_still_works(alice, world, smtp_server, weak):
    link = invite(alice, world["carol"], smtp_server)

    client, response = accept(link, weak)

    assert response.status_code == 422
    assert field_errors(response, "password") == ["This password is too common."]
    assert COOKIE not in response.cookies
    assert not PortalSession.objects.exists()
    client, response = accept(link, PASSWORD)
    assert response.status_code == 302


def test_accepting_an_invitation_sets_an_argon2_password_and_a_strict_portal_cookie(alice, world, smtp_server):
    link = invite(alice, world["carol"], smtp_server)

    client, response = accept(link)

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    cookie = response.cookies[COOKIE]
    assert cookie.value
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/portal/"
    account = PortalAccount.objects.get(contact_id=world["carol"])
    assert account.password.startswith("argon2$")
    assert account.activated_at is not None
    assert client.get("/portal/").status_code == 200


def test_portal_pages_are_never_kept_by_a_cache(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    case_id = new_portal_case(carol, "Invoice shows the wrong address")

    for page in ("/portal/", f"/portal/cases/{case_id}/", "/portal/login/"):
        response = carol.get(page)
        assert response.status_code == 200, page
        assert response["Cache-Control"] == "private, no-store", page


def test_an_invitation_link_works_once(alice, world, smtp_server):
    link = invite(alice, world["carol"], smtp_server)
    accept(link)

    assert Client().get(link).status_code == 404
    client, response = accept(link, "another-fine-passphrase-7")
    assert response.status_code == 404
    assert COOKIE not in response.cookies
    assert PortalSession.objects.count() == 1


def test_inviting_again_invalidates_the_earlier_link(alice, world, smtp_server):
    first = invite(alice, world["carol"], smtp_server)
    second = invite(alice, world["carol"], smtp_server)

    assert first != second
    assert Client().get(first).status_code == 404
    assert accept(first)[1].status_code == 404
    assert accept(second)[1].status_code == 302


def test_inviting_a_contact_without_an_email_address_is_422_naming_email(alice, world, smtp_server):
    response = alice.post(f"contacts/{world['dave']}/portal-invitation", {})

    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "email"]]
    assert smtp_server.messages == []
    assert not PortalAccount.objects.exists()


def test_an_outsider_cannot_invite_someone_elses_contact(alice, charlie, world, smtp_server):
    response = charlie.post(f"contacts/{world['carol']}/portal-invitation", {})

    assert response.status_code == 404
    assert smtp_server.messages == []
    assert not PortalAccount.objects.exists()


# --- password sign-in and the rate limit --------------------------------------------------------


def test_signing_in_with_the_password_opens_the_portal(alice, world, smtp_server):
    accept(invite(alice, world["carol"], smtp_server))
    client = Client()

    response = sign_in(client, CAROL_EMAIL.upper(), PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_wrong_password_and_unknown_address_get_the_same_answer(alice, world, smtp_server):
    accept(invite(alice, world["carol"], smtp_server))

    wrong = sign_in(Client(), CAROL_EMAIL, "not-the-password-at-all")
    unknown = sign_in(Client(), "nobody@grasspods.example", PASSWORD)

    assert wrong.status_code == unknown.status_code == 422
    assert field_errors(wrong, "password") == field_errors(unknown, "password") == [NO_MATCH]
    assert COOKIE not in wrong.cookies and COOKIE not in unknown.cookies
    assert PortalSession.objects.count() == 1  # the invitation's


def test_after_too_many_failures_even_the_right_password_is_refused(alice, world, smtp_server, settings):
    settings.PORTAL_SIGN_IN_FAILURES = 3
    accept(invite(alice, world["carol"], smtp_server))
    client = Client()

    for _ in range(3):
        assert sign_in(client, CAROL_EMAIL, "not-the-password-at-all").status_code == 422
    response = sign_in(client, CAROL_EMAIL, PASSWORD)

    assert response.status_code == 429
    assert any("Too many failed sign-ins" in e for e in page_errors(response))
    assert COOKIE not in response.cookies
    assert PortalSession.objects.count() == 1  # the invitation's


def test_failed_passwords_do_not_stop_a_sign_in_link_nor_links_a_password(alice, world, smtp_server, settings, ask_for_link):
    """Each has its own limit: whoever guesses Carol's password cannot keep
    her from getting a link, and whoever asks for links cannot lock her out."""
    settings.PORTAL_SIGN_IN_FAILURES = 3
    accept(invite(alice, world["carol"], smtp_server))
    for _ in range(3):
        assert sign_in(Client(), CAROL_EMAIL, "not-the-password-at-all").status_code == 422
    sent = len(smtp_server.messages)
    assert ask_for_link(CAROL_EMAIL).status_code == 200
    assert len(smtp_server.messages) == sent + 1

    settings.PORTAL_SIGN_IN_FAILURES = 5
    for _ in range(4):
        assert ask_for_link(CAROL_EMAIL).status_code == 200
    flood = ask_for_link(CAROL_EMAIL)
    assert flood.status_code == 429
    assert len(smtp_server.messages) == sent + 5
    assert sign_in(Client(), CAROL_EMAIL, PASSWORD).status_code == 302


def test_sign_in_returns_to_a_portal_page_but_never_off_the_portal(alice, world, smtp_server):
    accept(invite(alice, world["carol"], smtp_server))

    back = sign_in(Client(), CAROL_EMAIL, PASSWORD, next="/portal/cases/new")
    away = sign_in(Client(), CAROL_EMAIL, PASSWORD, next="https://evil.example/portal/")
    staff = sign_in(Client(), CAROL_EMAIL, PASSWORD, next="/contacts/")

    assert back["Location"] == "/portal/cases/new"
    assert away["Location"] == "/portal/"
    assert staff["Location"] == "/portal/"


# --- one-time sign-in links ---------------------------------------------------------------------


def test_sign_in_link_is_used_by_post_not_by_a_scanners_get(alice, world, smtp_server, ask_for_link):
    accept(invite(alice, world["carol"], smtp_server))
    response = ask_for_link(CAROL_EMAIL)
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    link = link_in(smtp_server.messages[-1], "link")
    logins = len(visits(alice, world["carol"], "portal_login"))

    scanner = Client().get(link)

    assert scanner.status_code == 200
    assert COOKIE not in scanner.cookies
    assert PortalToken.objects.get(purpose="sign_in").used_at is None
    assert len(visits(alice, world["carol"], "portal_login")) == logins
    browser = Client()
    response = browser.post(link)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert response.cookies[COOKIE].value
    assert browser.get("/portal/").status_code == 200
    assert len(visits(alice, world["carol"], "portal_login")) == logins + 1
    again = Client().post(link)
    assert again.status_code == 404
    assert COOKIE not in again.cookies


def test_sign_in_link_for_an_unknown_address_answers_the_same_and_sends_nothing(alice, world, smtp_server, ask_for_link):
    accept(invite(alice, world["carol"], smtp_server))
    sent = len(smtp_server.messages)

    known = ask_for_link(CAROL_EMAIL)
    assert len(smtp_server.messages) == sent + 1
    unknown = ask_for_link("nobody@grasspods.example")

    assert known.status_code == unknown.status_code == 200
    assert len(smtp_server.messages) == sent + 1
    assert known.content.decode().replace(CAROL_EMAIL, "ADDRESS") == unknown.content.decode().replace("nobody@grasspods.example", "ADDRESS")


# --- CSRF -------------------------------------------------------------------------------------


def csrf_token_of(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the form carries no CSRF token"
    return match.group(1)


def test_sign_in_without_a_csrf_token_is_refused(alice, world, smtp_server):
    accept(invite(alice, world["carol"], smtp_server))
    logins = len(visits(alice, world["carol"], "portal_login"))
    client = Client(enforce_csrf_checks=True)

    response = sign_in(client, CAROL_EMAIL, PASSWORD)

    assert response.status_code == 403
    assert COOKIE not in response.cookies
    assert PortalSession.objects.count() == 1  # the invitation's
    assert len(visits(alice, world["carol"], "portal_login")) == logins


def test_sign_in_with_the_forms_csrf_token_works(alice, world, smtp_server):
    accept(invite(alice, world["carol"], smtp_server))
    client = Client(enforce_csrf_checks=True)
    page = client.get("/portal/login/")
    assert "csrftoken" in client.cookies

    response = sign_in(client, CAROL_EMAIL, PASSWORD, csrfmiddlewaretoken=csrf_token_of(page))

    assert response.status_code == 302
    assert response.cookies[COOKIE].value
    assert PortalSession.objects.count() == 2


def test_sign_out_without_a_csrf_token_does_not_end_the_session(alice, world, smtp_server):
    link = invite(alice, world["carol"], smtp_server)
    client = Client(enforce_csrf_checks=True)
    form = client.get(link)
    client.post(link, {"password": PASSWORD, "password_again": PASSWORD, "csrfmiddlewaretoken": csrf_token_of(form)})

    response = client.post("/portal/logout/")

    assert response.status_code == 403
    assert only_session().ended_at is None
    assert client.get("/portal/").status_code == 200


# --- portal and staff sessions are apart ---------------------------------------------------------


def test_a_staff_session_does_not_open_the_portal(alice, world):
    staff = Client()
    staff.force_login(alice.user)

    response = staff.get("/portal/")

    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")


def test_a_portal_session_does_not_open_the_crm(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)

    for page in ("/", f"/contacts/{world['carol']}/"):
        response = carol.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/login/"), page
    assert carol.get("/api/v1/contacts").status_code == 401


# --- one contact never sees another's cases or documents -----------------------------------------


@pytest.fixture
def two_customers(alice, world, smtp_server):
    """Carol and Dave signed in, each with a case, Dave with a document of his
    own, and a document shared with their organization."""
    give_dave_an_email(alice, world)
    carol = portal_client(alice, world["carol"], smtp_server)
    dave = portal_client(alice, world["dave"], smtp_server)
    return {
        "carol": carol,
        "dave": dave,
        "carol_case": new_portal_case(carol, "Invoice shows the wrong address"),
        "dave_case": new_portal_case(dave, "Pump makes a grinding noise", "Since Tuesday"),
        "dave_doc": upload(alice, "dave.pdf", b"%PDF-1.4 dave", contact_ids=[world["dave"]]),
        "org_doc": upload(alice, "price-list.pdf", b"%PDF-1.4 price list", organization_ids=[world["org"]]),
    }


def test_a_contact_gets_404_for_another_contacts_case(two_customers):
    carol, dave_case = two_customers["carol"], two_customers["dave_case"]

    assert carol.get(f"/portal/cases/{dave_case}/").status_code == 404
    assert carol.get(f"/portal/cases/{dave_case + 1000}/").status_code == 404
    assert two_customers["dave"].get(f"/portal/cases/{dave_case}/").status_code == 200


def test_a_contact_cannot_comment_on_another_contacts_case(two_customers):
    dave_case = two_customers["dave_case"]

    response = two_customers["carol"].post(f"/portal/cases/{dave_case}/comments", {"body": "Me too!"})

    assert response.status_code == 404
    assert not CaseComment.objects.filter(case_id=dave_case).exists()


def test_a_contact_gets_404_for_a_document_shared_only_with_another_contact(two_customers):
    dave_doc = two_customers["dave_doc"]

    assert two_customers["carol"].get(f"/portal/documents/{dave_doc}").status_code == 404
    mine = two_customers["dave"].get(f"/portal/documents/{dave_doc}")
    assert mine.status_code == 200
    assert b"".join(mine.streaming_content) == b"%PDF-1.4 dave"


def test_a_contact_downloads_a_document_shared_with_their_organization(two_customers):
    response = two_customers["carol"].get(f"/portal/documents/{two_customers['org_doc']}")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 price list"


def test_the_portal_home_lists_only_the_contacts_own_cases_and_documents(two_customers):
    page = two_customers["carol"].get("/portal/").content.decode()

    assert f'data-testid="portal-case-{two_customers["carol_case"]}"' in page
    assert f'data-testid="portal-case-{two_customers["dave_case"]}"' not in page
    assert "Pump makes a grinding noise" not in page
    assert f'data-testid="portal-document-{two_customers["org_doc"]}"' in page
    assert f'data-testid="portal-document-{two_customers["dave_doc"]}"' not in page


def test_internal_staff_comments_are_not_shown_in_the_portal(alice, two_customers):
    case = two_customers["carol_case"]
    internal = alice.post(f"cases/{case}/comments", {"body": "Billing mixed up the two sites again", "internal": True})
    public = alice.post(f"cases/{case}/comments", {"body": "We are sending a corrected invoice"})
    assert internal.status_code == public.status_code == 201

    page = two_customers["carol"].get(f"/portal/cases/{case}/").content.decode()

    assert "We are sending a corrected invoice" in page
    assert f'data-testid="portal-comment-{public.json()["id"]}"' in page
    assert "Billing mixed up the two sites again" not in page
    assert f'data-testid="portal-comment-{internal.json()["id"]}"' not in page


# --- cases opened in the portal ------------------------------------------------------------------


def test_a_case_opened_in_the_portal_belongs_to_the_contact_and_their_account_manager(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)

    case_id = new_portal_case(carol, "Invoice shows the wrong address", "It says Oak Street")

    case = Case.objects.get(id=case_id)
    assert (case.contact_id, case.organization_id, case.owner_id) == (world["carol"], world["org"], alice.user.id)
    assert case.origin == CaseOrigin.PORTAL
    assert case.status == "open"
    page = carol.get(f"/portal/cases/{case_id}/")
    assert page.status_code == 200
    assert "Invoice shows the wrong address" in page.content.decode()


def test_a_portal_case_is_a_case_touchpoint_on_the_contact_and_in_the_deals_one_view(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)

    case_id = new_portal_case(carol, "Invoice shows the wrong address")

    touchpoints = visits(alice, world["carol"], "case")
    assert [(t["kind"], t["status"], t["subject"]) for t in touchpoints] == [("case", "open", f"Case #{case_id}: Invoice shows the wrong address")]
    one_view = alice.get(f"deals/{world['deal']}/one-view").json()
    assert [c["id"] for c in one_view["items"]] == [case_id]
    assert one_view["items"][0]["origin"] == "portal"
    assert one_view["open_count"] == 1


def test_a_portal_comment_on_a_case_waiting_for_the_customer_reopens_it(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    case_id = new_portal_case(carol, "Invoice shows the wrong address")
    assert alice.patch(f"cases/{case_id}", {"status": "wait_for_response"}).json()["status"] == "wait_for_response"

    response = carol.post(f"/portal/cases/{case_id}/comments", {"body": "Here is the right address: 5 Elm Road"})

    assert response.status_code == 302
    assert alice.get(f"cases/{case_id}").json()["status"] == "open"
    assert [t["status"] for t in visits(alice, world["carol"], "case")] == ["open"]
    comments = alice.get(f"cases/{case_id}/comments").json()["items"]
    assert [(c["body"], c["author_contact_id"], c["internal"]) for c in comments] == [("Here is the right address: 5 Elm Road", world["carol"], False)]


def test_a_closed_case_takes_no_portal_comments(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    case_id = new_portal_case(carol, "Invoice shows the wrong address")
    assert alice.patch(f"cases/{case_id}", {"status": "closed"}).status_code == 200

    response = carol.post(f"/portal/cases/{case_id}/comments", {"body": "Still wrong"})

    assert response.status_code == 422
    assert "This case is closed" in response.content.decode()
    assert not CaseComment.objects.filter(case_id=case_id).exists()
    assert alice.get(f"cases/{case_id}").json()["status"] == "closed"


# --- portal_login / portal_logout touchpoints, each exactly once --------------------------------------


def test_signing_in_records_exactly_one_portal_login_on_the_contact(alice, world, smtp_server):
    portal_client(alice, world["carol"], smtp_server)

    logins = visits(alice, world["carol"], "portal_login")

    assert [(t["source"], t["subject"]) for t in logins] == [("portal", "Signed in to the customer portal")]
    assert logins[0]["external_id"] == f"session-{only_session().id}-login"
    assert visits(alice, world["carol"], "portal_logout") == []


def test_signing_out_records_exactly_one_portal_logout_and_ends_the_session(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    raw = carol.cookies[COOKIE].value

    response = carol.post("/portal/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?signed_out=1"
    assert response.cookies[COOKIE].value == ""
    logouts = visits(alice, world["carol"], "portal_logout")
    assert [(t["source"], t["subject"]) for t in logouts] == [("portal", "Signed out of the customer portal")]
    assert only_session().end_reason == "logout"
    carol.cookies[COOKIE] = raw  # the old cookie, kept by hand, opens nothing
    assert carol.get("/portal/").status_code == 302


def test_signing_out_twice_records_one_portal_logout(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    raw = carol.cookies[COOKIE].value

    carol.post("/portal/logout/")
    carol.cookies[COOKIE] = raw  # a second click sent before the first answer arrived
    second = carol.post("/portal/logout/")

    assert second.status_code == 302
    assert len(visits(alice, world["carol"], "portal_logout")) == 1
    assert len(visits(alice, world["carol"], "portal_login")) == 1


def expire_session() -> datetime:
    """Move the one session's deadline into the past; the deadline."""
    deadline = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    PortalSession.objects.update(expires_at=deadline)
    return deadline


def test_an_expired_session_is_ended_once_dated_at_its_deadline(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    deadline = expire_session()

    assert services.end_expired_sessions() == 1
    assert services.end_expired_sessions() == 0
    response = carol.get("/portal/")

    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    logouts = visits(alice, world["carol"], "portal_logout")
    assert [(t["subject"], when(t["occurred_at"])) for t in logouts] == [("Customer portal session expired", deadline)]
    session = only_session()
    assert (session.end_reason, session.ended_at) == ("expired", deadline)


def test_an_expiry_noticed_by_a_request_is_not_recorded_again_by_the_sweep(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    deadline = expire_session()

    response = carol.get("/portal/cases/new")

    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert services.end_expired_sessions() == 0
    logouts = visits(alice, world["carol"], "portal_logout")
    assert [(t["subject"], when(t["occurred_at"])) for t in logouts] == [("Customer portal session expired", deadline)]


def test_signing_out_after_the_deadline_records_an_expiry_not_a_sign_out(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    deadline = expire_session()

    carol.post("/portal/logout/")
    services.end_expired_sessions()

    logouts = visits(alice, world["carol"], "portal_logout")
    assert [(t["subject"], when(t["occurred_at"])) for t in logouts] == [("Customer portal session expired", deadline)]


def test_a_request_slides_the_idle_deadline_forward(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    now = timezone.now()
    soon = now + timedelta(minutes=1)
    PortalSession.objects.update(last_seen_at=now - timedelta(minutes=2), expires_at=soon)

    assert carol.get("/portal/").status_code == 200

    session = only_session()
    assert session.expires_at >= now + timedelta(minutes=settings.PORTAL_SESSION_IDLE_MINUTES)
    assert session.last_seen_at >= now


def test_requests_within_a_minute_do_not_rewrite_the_session(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    soon = timezone.now() + timedelta(minutes=5)
    PortalSession.objects.update(expires_at=soon)

    assert carol.get("/portal/").status_code == 200

    assert only_session().expires_at == soon


def test_the_idle_deadline_never_passes_the_maximum_lifetime(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    now = timezone.now()
    started = now - timedelta(hours=settings.PORTAL_SESSION_MAX_HOURS) + timedelta(minutes=3)
    PortalSession.objects.update(started_at=started, last_seen_at=now - timedelta(minutes=2))

    assert carol.get("/portal/").status_code == 200

    assert only_session().expires_at == started + timedelta(hours=settings.PORTAL_SESSION_MAX_HOURS)


def test_revoking_access_ends_live_sessions_once_and_the_cookie_stops_working(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)

    response = alice.post(f"contacts/{world['carol']}/portal-account/revoke")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    logouts = visits(alice, world["carol"], "portal_logout")
    assert [t["subject"] for t in logouts] == ["Customer portal access revoked"]
    page = carol.get("/portal/")
    assert page.status_code == 302
    assert page["Location"].startswith("/portal/login/")
    assert sign_in(Client(), CAROL_EMAIL, PASSWORD).status_code == 422
    assert len(visits(alice, world["carol"], "portal_logout")) == 1
    assert alice.get(f"contacts/{world['carol']}/portal-account").json()["is_active"] is False


# --- portal visits are the contact's Activity, never contact ---------------------------------------


def test_portal_visits_do_not_move_last_contacted(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    carol.post("/portal/logout/")
    sign_in(Client(), CAROL_EMAIL, PASSWORD)

    contact = alice.get(f"contacts/{world['carol']}").json()

    assert (contact["last_contacted_on"], contact["last_contacted_via"]) == (None, None)
    assert len(visits(alice, world["carol"], "portal_login")) == 2


def test_portal_visits_appear_on_the_contact_only(alice, world, smtp_server):
    carol = portal_client(alice, world["carol"], smtp_server)
    carol.post("/portal/logout/")

    on_contact = {t["kind"] for t in timeline(alice, "contacts", world["carol"])}
    on_organization = {t["kind"] for t in timeline(alice, "organizations", world["org"])}
    on_deal = {t["kind"] for t in timeline(alice, "deals", world["deal"])}

    assert {"portal_login", "portal_logout"} <= on_contact
    assert not {"portal_login", "portal_logout"} & on_organization
    assert not {"portal_login", "portal_logout"} & on_deal


# --- staff view of a contact's portal access ----------------------------------------------------------


def test_portal_account_shows_the_last_sign_in(alice, world, smtp_server):
    link = invite(alice, world["carol"], smtp_server)
    before = alice.get(f"contacts/{world['carol']}/portal-account").json()
    # Access starts when the invitation is accepted (a send that failed, or a
    # revoked account invited again, lets nobody in meanwhile).
    assert (before["email"], before["is_active"], before["invitation_pending"], before["activated_at"], before["last_login_at"]) == (CAROL_EMAIL, False, True, None, None)

    accept(link)

    after = alice.get(f"contacts/{world['carol']}/portal-account").json()
    assert (after["is_active"], after["invitation_pending"]) == (True, False)
    assert after["last_login_at"] is not None
    assert abs(when(after["last_login_at"]) - only_session().started_at) < timedelta(milliseconds=1)  # the API gives milliseconds


def test_an_outsider_cannot_see_a_contacts_portal_account(alice, charlie, world, smtp_server):
    invite(alice, world["carol"], smtp_server)

    assert charlie.get(f"contacts/{world['carol']}/portal-account").status_code == 404
    assert charlie.post(f"contacts/{world['carol']}/portal-account/revoke").status_code == 404
    assert PortalAccount.objects.get().tokens.filter(used_at__isnull=True).count() == 1  # the invitation still works


# --- who manages access, and what changing it does (review fixes) ------------------------------------


def test_someone_the_contact_is_only_shared_with_may_not_invite_it_to_a_new_address(alice, charlie, world, smtp_server):
    """Otherwise they could add their own address, sign in as the contact and
    read what was shared with its organization, which they may not see."""
    from crm.models import Share

    Share.objects.create(record_type="contact", record_id=world["carol"], user=charlie.user)
    assert charlie.get(f"contacts/{world['carol']}").status_code == 200
    charlie.patch(f"contacts/{world['carol']}", {"emails": [CAROL_EMAIL, "charlie@west.example"]})
    sent = len(smtp_server.messages)

    response = charlie.post(f"contacts/{world['carol']}/portal-invitation", {"email": "charlie@west.example"})

    assert response.status_code == 403
    assert charlie.post(f"contacts/{world['carol']}/portal-account/revoke").status_code in (403, 404)
    assert len(smtp_server.messages) == sent and not PortalAccount.objects.exists()


def test_inviting_an_active_account_to_another_address_ends_its_sessions_and_forgets_its_password(alice, world, smtp_server):
    client = portal_client(alice, world["carol"], smtp_server)
    alice.patch(f"contacts/{world['carol']}", {"emails": [CAROL_EMAIL, "carol.ng@home.example"]})

    response = alice.post(f"contacts/{world['carol']}/portal-invitation", {"email": "carol.ng@home.example"})
    assert response.status_code == 201
    link = link_in(smtp_server.messages[-1], "invitation")

    assert client.get("/portal/").status_code == 302  # the old session ended
    assert [v["subject"] for v in visits(alice, world["carol"], "portal_logout")] == ["Customer portal access revoked"]
    assert sign_in(Client(), CAROL_EMAIL, PASSWORD).status_code == 422
    assert accept(link)[1].status_code == 302  # the new address sets its own


def test_an_invitation_that_could_not_be_sent_lets_nobody_in(alice, world, smtp_server, settings):
    """A revoked customer invited again while the mail server is down: the
    account stays off, and the old password does not come back."""
    portal_client(alice, world["carol"], smtp_server)
    assert alice.post(f"contacts/{world['carol']}/portal-account/revoke").status_code == 200
    settings.EMAIL_PORT = free_port()  # nothing listens there now

    response = alice.post(f"contacts/{world['carol']}/portal-invitation", {})

    assert response.status_code == 502
    assert alice.get(f"contacts/{world['carol']}/portal-account").json()["is_active"] is False
    assert sign_in(Client(), CAROL_EMAIL, PASSWORD).status_code == 422


def test_signing_in_again_in_the_same_browser_signs_the_earlier_session_out(alice, world, smtp_server):
    client = portal_client(alice, world["carol"], smtp_server)

    assert sign_in(client, CAROL_EMAIL, PASSWORD).status_code == 302

    assert PortalSession.objects.filter(ended_at__isnull=True).count() == 1
    assert [v["subject"] for v in visits(alice, world["carol"], "portal_logout")] == ["Signed out of the customer portal"]
    assert len(visits(alice, world["carol"], "portal_login")) == 2


def test_a_right_password_is_not_counted_as_a_failed_attempt(alice, world, smtp_server, settings):
    settings.PORTAL_SIGN_IN_FAILURES = 3
    accept(invite(alice, world["carol"], smtp_server))
    for _ in range(2):
        assert sign_in(Client(), CAROL_EMAIL, "not-the-password-at-all").status_code == 422
    for _ in range(3):
        assert sign_in(Client(), CAROL_EMAIL, PASSWORD).status_code == 302
    assert sign_in(Client(), CAROL_EMAIL, "not-the-password-at-all").status_code == 422  # the third failure, still allowed
    assert sign_in(Client(), CAROL_EMAIL, PASSWORD).status_code == 429


def test_a_comment_by_another_contact_is_not_labelled_as_yours(alice, world, smtp_server):
    give_dave_an_email(alice, world)
    dave = portal_client(alice, world["dave"], smtp_server)
    case_id = new_portal_case(dave, "Printer jams")
    assert dave.post(f"/portal/cases/{case_id}/comments", {"body": "Still jamming"}).status_code == 302
    alice.patch(f"cases/{case_id}", {"contact_id": world["carol"]})  # the case moves to Carol
    carol = portal_client(alice, world["carol"], smtp_server)

    page = carol.get(f"/portal/cases/{case_id}/").content.decode()

    assert "Dave Ito" in page and ">You ·" not in page.replace("\n", "")


def test_the_sign_in_page_warns_when_plain_http_would_drop_the_secure_cookie(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "crm.example.com"]
    warning = "served over plain HTTP"

    assert warning in Client().get("/portal/login/", HTTP_HOST="crm.example.com").content.decode()
    assert warning not in Client().get("/portal/login/", HTTP_HOST="crm.example.com", **{"wsgi.url_scheme": "https"}).content.decode()
    assert warning not in Client().get("/portal/login/", HTTP_HOST="127.0.0.1:8000").content.decode()


def test_a_sign_in_link_request_answers_alike_while_the_mail_server_is_down(alice, world, smtp_server, settings, ask_for_link):
    """The request only queues the mail: a known address, an unknown one and
    a mail server that refuses connections all get the same page at once
    (nothing tells who has an account), and the worker retries the mail."""
    accept(invite(alice, world["carol"], smtp_server))
    settings.EMAIL_PORT = free_port()  # nothing listens there now

    known = ask_for_link(CAROL_EMAIL)
    unknown = ask_for_link("nobody@grasspods.example")

    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().replace(CAROL_EMAIL, "ADDRESS") == unknown.content.decode().replace("nobody@grasspods.example", "ADDRESS")
