"""The email page (opened from an email in Activity) and the unmatched
senders page with its "Make a contact" form.

Personas: Alice owns the records and the mail; Bob is her teammate; Charlie
is an outsider who must see nothing of Alice's (404s, empty lists). Mail is
stored through POST /api/v1/emails/raw (the path the IMAP sync and the BCC
drop share), or sent through emails.sending to Django's locmem backend.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Contact, Share
from emails import services
from emails.engagement import Hit, do_record_hit
from documents.models import Document
from emails.models import EmailMessage, EmailParticipant
from emails.sending import Outgoing, do_send_email
from emails.tests.conftest import make_mail
from web.tests.conftest import as_alice, as_bob, as_charlie, records  # noqa: F401  (fixtures)
from web.tests.pages import HTMX, browser, log, record_path, text, timeline_titles
from web.tests.test_accessibility import unlabelled

CAROL = "carol@grasspods.example"
SAM = "sam@newlead.example"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"


def upload(api, raw: bytes) -> dict:
    response = api.client.post("/api/v1/emails/raw", raw, content_type="message/rfc822")
    assert response.status_code == 201, response.content
    return response.json()


def field_error(page: str, field_id: str) -> str:
    """The error list Django renders under the input with ``field_id``."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def form_prefix(page: str) -> str:
    """The "Make a contact" form's input id prefix (unique per address)."""
    return re.search(r'id="(uc[0-9a-f]{8})_last_name"', page).group(1)


def input_value(page: str, field_id: str) -> str | None:
    match = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', match.group(0)) if match else None
    return html.unescape(value.group(1)) if value else None


def selected_option(page: str, field_id: str) -> str | None:
    select = re.search(rf'<select[^>]*id="{field_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    match = re.search(r'<option value="([^"]*)" selected>', select)
    return match.group(1) if match else None


def set_zone(persona, zone: str) -> None:
    persona.user.time_zone = zone
    persona.user.save(update_fields=["time_zone"])


@pytest.fixture
def received(alice_mail, world):
    """Carol writes to Alice, Cc a stranger, with markup in the text and an attachment."""
    raw = make_mail(
        cc="Zed Stranger <zed@else.example>",
        subject="Prices <b>now</b>",
        body="Hello Alice,\n\n<script>alert(1)</script>\n  indented line",
        when="2024-03-01 10:00",
        attachments=[("prices.csv", "text/csv", b"size,price\nS,10\n")],
    )
    out = upload(alice_mail, raw)
    return {"touchpoint": out["touchpoint_id"], "email": out["email_id"]}


# --- the email page -----------------------------------------------------------------------------


def test_an_email_in_activity_links_to_its_page(as_alice, alice, world, received):
    page = text(as_alice.get(record_path("contact", world["carol"])))
    assert f'<a class="tp-open" href="/emails/by-touchpoint/{received["touchpoint"]}/">' in page
    assert "Prices &lt;b&gt;now&lt;/b&gt;" in timeline_titles(page)  # the title is still the row's title
    response = as_alice.get(f"/emails/by-touchpoint/{received['touchpoint']}/")
    assert response.status_code == 302 and response["Location"] == f"/emails/{received['email']}/"


def test_the_email_page_shows_header_body_and_attachments(as_alice, alice, world, received):
    set_zone(alice, "Europe/Berlin")
    response = as_alice.get(f"/emails/{received['email']}/")
    assert response.status_code == 200
    page = text(response)
    assert "<h1" in page and "Prices &lt;b&gt;now&lt;/b&gt;" in page
    assert '<span class="badge badge-good">Received</span>' in page
    assert "<dt>Direction</dt><dd>Inbound</dd>" in page
    # Carol is Alice's contact: linked; the Cc stranger is an address, offered as a new contact.
    assert f'<a href="/contacts/{world["carol"]}/">Carol Ng</a> <span class="addr">&lt;{CAROL}&gt;</span>' in page
    assert 'Zed Stranger <span class="addr">&lt;zed@else.example&gt;</span>' in page
    assert 'aria-label="Make zed@else.example a contact"' in page
    assert 'aria-label="Make alice@ourco.example a contact"' not in page and "(you)" in page
    assert ">Fri 2024-03-01 11:00</time> <span class=\"muted\">Europe/Berlin</span>" in page  # 10:00 UTC
    # The whole text, escaped, its line breaks and indentation kept (pre-wrap).
    assert "Hello Alice,\n\n&lt;script&gt;alert(1)&lt;/script&gt;\n  indented line" in page
    assert "<script>alert(1)" not in page
    doc = Document.objects.get(touchpoint_id=received["touchpoint"])
    assert f'<a href="/emails/documents/{doc.id}" download>prices.csv</a>' in page
    download = as_alice.get(f"/emails/documents/{doc.id}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"size,price\nS,10\n"
    assert download["Content-Disposition"] == 'attachment; filename="prices.csv"'
    assert "Not tracked" in page  # received mail has no opens or clicks
    assert "No other email of this conversation." in page
    assert unlabelled(page) == []


def test_a_teammate_sees_the_email_and_an_outsider_gets_404s(as_bob, as_charlie, received):
    doc = Document.objects.get(touchpoint_id=received["touchpoint"])
    assert as_bob.get(f"/emails/{received['email']}/").status_code == 200
    assert as_bob.get(f"/emails/documents/{doc.id}").status_code == 200
    for url in (f"/emails/{received['email']}/", f"/emails/by-touchpoint/{received['touchpoint']}/", f"/emails/documents/{doc.id}"):
        response = as_charlie.get(url)
        assert response.status_code == 404, url
        assert b"Prices" not in response.content and CAROL.encode() not in response.content
    assert as_charlie.get("/emails/999999/").status_code == 404


def test_an_email_logged_without_its_message_has_no_link(as_alice, alice, world):
    """Emails logged by hand have no message: no link. One logged through the
    API (source "api", like raw uploads) is linked and its link answers 404."""
    manual = log(alice, "email", "2024-02-01 10:00", "Logged by hand", "sent", source="manual", contact_ids=[world["carol"]])
    logged = log(alice, "email", "2024-02-02 10:00", "Logged by an integration", "sent", contact_ids=[world["carol"]])
    page = text(as_alice.get(record_path("contact", world["carol"], "activity"), **HTMX))
    assert f"/emails/by-touchpoint/{manual}/" not in page and f"/emails/by-touchpoint/{logged}/" in page
    assert as_alice.get(f"/emails/by-touchpoint/{logged}/").status_code == 404
    assert sorted(timeline_titles(page)) == ["Logged by an integration", "Logged by hand"]


@pytest.fixture
def tracked(alice, world):
    """Alice's email to Carol, Bcc a colleague, sent from the CRM: Carol
    clicked (a click is an open too), the Bcc recipient opened twice, an
    image proxy fetched Carol's pixel."""
    result = do_send_email(alice.user, Outgoing(to=[CAROL], bcc=["boss@ourco.example"], subject="Offer", body_text="See https://shop.example/", deal_ids=[world["deal"]], contact_ids=[world["carol"]]))
    pid = {p.address: p.id for p in EmailParticipant.objects.filter(email__touchpoint_id=result.touchpoint_id)}
    later = timezone.now() + timedelta(hours=1)
    do_record_hit(pid[CAROL], Hit(kind="click", at=later, ip="81.153.20.7", user_agent=CHROME, url="https://shop.example/"))
    do_record_hit(pid["boss@ourco.example"], Hit(kind="open", at=later, ip="81.153.20.8", user_agent=CHROME))
    do_record_hit(pid["boss@ourco.example"], Hit(kind="open", at=later + timedelta(hours=2), ip="81.153.20.8", user_agent=CHROME))
    do_record_hit(pid[CAROL], Hit(kind="open", at=later, ip="17.58.101.4", user_agent="Mozilla/5.0", automated_reason="Apple Mail Privacy Protection prefetch"))
    return EmailMessage.objects.get(touchpoint_id=result.touchpoint_id)


def engagement_of(page: str, address: str) -> str:
    """The recipient's entry in "Opens and clicks", as text."""
    item = re.search(rf'<li data-testid="engagement-{re.escape(address)}">(.*?)</li>', page, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip()


def test_a_sent_email_shows_each_recipients_opens_and_clicks_with_automated_apart(as_alice, tracked, world):
    page = text(as_alice.get(f"/emails/{tracked.id}/"))
    assert "<dt>Bcc</dt>" in page and "boss@ourco.example" in page  # Alice may see the email: she sees its Bcc
    assert "Sent from Touchpoints · opens and clicks tracked" in page
    carol = engagement_of(page, CAROL)
    assert carol.startswith("Carol Ng To 👁 1 open · 🖱 1 click first")  # the proxy's open is not hers
    assert "clicked https://shop.example/" in carol
    boss = engagement_of(page, "boss@ourco.example")
    assert re.fullmatch(r"boss@ourco\.example Bcc 👁 2 opens · 🖱 0 clicks first \S+ \S+ · last \S+ \S+", boss)
    automated = re.search(r'data-testid="automated-hits">(.*?)</details>', page, re.S).group(1)
    assert "Automated, not counted (1)" in automated and "Carol Ng: automated open ×1" in automated
    assert "Apple Mail Privacy Protection prefetch" in automated


def test_who_sees_the_email_but_not_its_contact_gets_the_address_only(alice, charlie, tracked, world):
    Share.objects.create(record_type="deal", record_id=world["deal"], user=charlie.user)  # the deal, not Carol
    page = text(browser(charlie).get(f"/emails/{tracked.id}/"))
    assert f'<span class="addr">&lt;{CAROL}&gt;</span>' in page
    assert "Carol Ng" not in page and f"/contacts/{world['carol']}/" not in page
    assert f'aria-label="Make {CAROL} a contact"' not in page  # she is a contact, only not Charlie's
    assert engagement_of(page, CAROL).startswith(f"{CAROL} To 👁 1 open · 🖱 1 click")


def test_the_conversation_lists_the_other_emails_of_the_thread_by_date(as_alice, alice_mail, world):
    # The reply arrives first (a first sync reads INBOX before Sent): listed by date all the same.
    reply = upload(alice_mail, make_mail(subject="Re: Proposal", message_id="<p2@grasspods.example>", when="2024-03-01 12:00", headers={"In-Reply-To": "<p1@ourco.example>", "References": "<p1@ourco.example>"}))
    first = upload(alice_mail, make_mail(sender="alice@ourco.example", to=CAROL, subject="Proposal", message_id="<p1@ourco.example>", when="2024-03-01 09:00"))
    page = text(as_alice.get(f"/emails/{reply['email_id']}/"))
    thread = re.search(r'<ol class="thread">(.*?)</ol>', page, re.S).group(1)
    assert f'<a href="/emails/{first["email_id"]}/">Proposal</a>' in thread
    assert '<span aria-current="page"><strong>Re: Proposal</strong>' in thread
    assert thread.index("Proposal</a>") < thread.index("Re: Proposal")  # oldest first
    first_page = text(as_alice.get(f"/emails/{first['email_id']}/"))
    assert f'<a href="/emails/{reply["email_id"]}/">Re: Proposal</a>' in first_page
    # A thread cursor edited by hand starts over.
    assert as_alice.get(f"/emails/{first['email_id']}/?thread=garbage").status_code == 200


def test_the_email_page_costs_the_same_queries_however_many_recipients_attachments_and_replies(as_alice, alice_mail, world):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_alice.get(url).status_code == 200
        return len(captured)

    small = upload(alice_mail, make_mail(subject="Small", message_id="<s1@grasspods.example>"))
    many = ", ".join(f"p{i}@else.example" for i in range(8))
    big = upload(alice_mail, make_mail(subject="Big", cc=many, message_id="<b1@grasspods.example>", attachments=[(f"f{i}.txt", "text/plain", b"x") for i in range(4)]))
    for i in range(5):
        upload(alice_mail, make_mail(subject="Re: Big", message_id=f"<b{i + 2}@grasspods.example>", headers={"In-Reply-To": "<b1@grasspods.example>", "References": "<b1@grasspods.example>"}))
    as_alice.get(f"/emails/{small['email_id']}/")
    assert queries(f"/emails/{small['email_id']}/") == queries(f"/emails/{big['email_id']}/")


def test_an_automated_email_says_why_and_offers_no_contact(as_alice, alice_mail, world):
    out = upload(alice_mail, make_mail(sender="Out of office <ooo@grasspods.example>", subject="Automatic reply", headers={"Auto-Submitted": "auto-replied"}))
    page = text(as_alice.get(f"/emails/{out['email_id']}/"))
    assert re.search(r'data-testid="automated">Automated: auto-submitted: auto-replied', page)
    assert '<span class="badge badge-neutral">Automated</span>' in page
    assert "Make a contact" not in page


# --- unmatched senders --------------------------------------------------------------------------


@pytest.fixture
def strangers(alice_mail, world):
    """Sam wrote twice (the last on 2024-03-05 22:30 UTC), Yan once; Carol is a contact."""
    upload(alice_mail, make_mail(sender=f"Sam Prospect <{SAM}>", subject="Intro", when="2024-03-01 10:00"))
    upload(alice_mail, make_mail(sender=f"Sam Prospect <{SAM}>", subject="Follow-up", when="2024-03-05 22:30"))
    upload(alice_mail, make_mail(sender="yan@other.example", subject="Question", when="2024-03-02 10:00"))
    upload(alice_mail, make_mail(subject="From Carol"))


def unmatched_rows(page: str) -> list[str]:
    return re.findall(r'<li class="unmatched-row" data-testid="unmatched-([^"]+)">', page)


def test_unmatched_senders_are_listed_with_emails_and_last_seen_in_the_users_zone(as_alice, alice, strangers):
    set_zone(alice, "Asia/Tokyo")
    page = text(as_alice.get("/emails/unmatched/"))
    assert unmatched_rows(page) == [SAM, "yan@other.example"]  # A to Z; Carol is a contact
    row = page[page.index(f'data-testid="unmatched-{SAM}"') :].split("</li>")[0]
    assert "Sam Prospect" in row and "2 emails" in row and ">2024-03-06 07:30</time>" in row  # 22:30 UTC in Tokyo
    assert f'hx-get="/emails/unmatched/contact?address=sam%40newlead.example&amp;name=Sam%20Prospect"' in row
    assert unlabelled(page) == []
    # Linked, discreetly, from the Mailboxes settings and the Actions dashboard.
    assert 'href="/emails/unmatched/"' in text(as_alice.get("/settings/mailboxes/"))
    assert 'href="/emails/unmatched/"' in text(as_alice.get("/"))


def test_unmatched_senders_page_by_cursor(as_alice, alice_mail, world, settings):
    settings.UI_PAGE_SIZE = 5
    for i in range(7):
        upload(alice_mail, make_mail(sender=f"lead{i}@leads.example", subject=f"Lead {i}"))
    page = text(as_alice.get("/emails/unmatched/"))
    assert unmatched_rows(page) == [f"lead{i}@leads.example" for i in range(5)]
    next_url = html.unescape(re.search(r'<a class="button" rel="next" href="([^"]+)"', page).group(1))
    second = text(as_alice.get("/emails/unmatched/" + next_url))
    assert unmatched_rows(second) == ["lead5@leads.example", "lead6@leads.example"]
    assert 'rel="next"' not in second and "First page" in second
    bad = text(as_alice.get("/emails/unmatched/?cursor=garbage"))
    assert "That page link was not valid" in bad and len(unmatched_rows(bad)) == 5


def test_an_outsider_has_no_unmatched_senders_of_alices(as_charlie, strangers):
    page = text(as_charlie.get("/emails/unmatched/"))
    assert unmatched_rows(page) == [] and SAM not in page and "No unmatched senders" in page


def test_make_a_contact_prefilled_from_the_display_name_creates_it_and_links_its_emails(as_alice, alice, world, strangers):
    form = as_alice.get(f"/emails/unmatched/contact?address={SAM}&name=Sam+Prospect", **HTMX)
    assert form.status_code == 200
    page = text(form)
    prefix = form_prefix(page)
    assert (input_value(page, f"{prefix}_first_name"), input_value(page, f"{prefix}_last_name")) == ("Sam", "Prospect")
    assert 'hx-post="/emails/unmatched/contact"' in page and unlabelled(page) == []
    assert f'<option value="{world["org"]}">Grasspods</option>' in page  # the visible organizations

    data = {"address": SAM, "first_name": "Sam", "last_name": "Prospect", "title": "CTO", "organization": str(world["org"])}
    response = as_alice.post("/emails/unmatched/contact", data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "closest li" and response["HX-Reswap"] == "outerHTML"
    sam = Contact.objects.get(last_name="Prospect")
    assert "Contact created: Sam Prospect; 2 emails linked." in text(response)
    assert f'href="/contacts/{sam.id}/"' in text(response)
    assert (sam.title, sam.organization_id, sam.owner_id) == ("CTO", world["org"], alice.user.id)
    # Its emails are on its timeline now, and the address is no longer unmatched.
    assert {"Intro", "Follow-up"} <= set(timeline_titles(text(as_alice.get(record_path("contact", sam.id)))))
    assert unmatched_rows(text(as_alice.get("/emails/unmatched/"))) == ["yan@other.example"]


def test_names_from_an_address_without_display_name(as_alice, strangers):
    page = text(as_alice.get("/emails/unmatched/contact?address=yan@other.example&name=", **HTMX))
    prefix = form_prefix(page)
    assert (input_value(page, f"{prefix}_first_name"), input_value(page, f"{prefix}_last_name")) == (None, "yan")


def test_the_domains_auto_create_rule_suggests_the_organization(as_alice, alice, world, strangers):
    services.do_create_auto_contact_rule(alice.user, "newlead.example", world["org"])
    page = text(as_alice.get(f"/emails/unmatched/contact?address={SAM}&name=Sam+Prospect", **HTMX))
    assert selected_option(page, f"{form_prefix(page)}_organization") == str(world["org"])


def test_make_a_contact_errors_appear_under_their_fields(as_alice, charlie, strangers):
    prefix = form_prefix(text(as_alice.get(f"/emails/unmatched/contact?address={SAM}", **HTMX)))
    response = as_alice.post("/emails/unmatched/contact", {"address": SAM, "first_name": "Sam", "last_name": "  "}, **HTMX)
    assert response.status_code == 422
    assert field_error(text(response), f"{prefix}_last_name") == "This field is required."
    assert input_value(text(response), f"{prefix}_first_name") == "Sam"  # the input is kept

    theirs = charlie.post("organizations", {"name": "West Co"}).json()["id"]  # not Alice's to pick
    response = as_alice.post("/emails/unmatched/contact", {"address": SAM, "last_name": "Prospect", "organization": str(theirs)}, **HTMX)
    assert response.status_code == 422
    assert "Select a valid choice" in field_error(text(response), f"{prefix}_organization")

    response = as_alice.post("/emails/unmatched/contact", {"address": "not an address", "last_name": "X"}, **HTMX)
    assert response.status_code == 422 and "is not an email address" in text(response)
    assert not Contact.objects.filter(last_name__in=["Prospect", "X"]).exists()


def test_the_service_rejects_an_organization_the_actor_may_not_see_under_the_field(as_alice, charlie, strangers, monkeypatch):
    """The form offers only visible organizations; were one offered that the
    service refuses (shared, then unshared), its message shows under Organization."""
    theirs = charlie.post("organizations", {"name": "West Co"}).json()["id"]
    from crm import queries as crm_queries

    monkeypatch.setattr(crm_queries, "organization_choices", lambda user: [(theirs, "West Co")])
    prefix = form_prefix(text(as_alice.get(f"/emails/unmatched/contact?address={SAM}", **HTMX)))
    response = as_alice.post("/emails/unmatched/contact", {"address": SAM, "last_name": "Prospect", "organization": str(theirs)}, **HTMX)
    assert response.status_code == 422
    assert f"organization {theirs} not found" in field_error(text(response), f"{prefix}_organization")
    assert not Contact.objects.filter(last_name="Prospect").exists()


def test_without_javascript_the_form_is_a_page_that_returns_to_the_email(as_alice, alice_mail, world):
    out = upload(alice_mail, make_mail(sender=f"Sam Prospect <{SAM}>", subject="Intro"))
    email_page = text(as_alice.get(f"/emails/{out['email_id']}/"))
    link = html.unescape(re.search(r'<a class="make-contact-link" href="([^"]+)"', email_page).group(1))
    assert link == f"/emails/unmatched/contact?address=sam%40newlead.example&name=Sam%20Prospect&next=/emails/{out['email_id']}/"
    page = text(as_alice.get(link))
    assert "<h1>Make a contact" in page and "hx-post" not in page  # a plain form on a page of its own
    assert input_value(page, f"{form_prefix(page)}_last_name") == "Prospect"
    response = as_alice.post("/emails/unmatched/contact", {"address": SAM, "first_name": "Sam", "last_name": "Prospect", "next": f"/emails/{out['email_id']}/"})
    assert response.status_code == 302 and response["Location"] == f"/emails/{out['email_id']}/"
    after = text(as_alice.get(response["Location"]))
    sam = Contact.objects.get(last_name="Prospect")
    assert "Contact created: Sam Prospect; 1 email linked." in after
    assert f'<a href="/contacts/{sam.id}/">Sam Prospect</a>' in after and "make-contact-link" not in after
    # Errors come back on the page (422); a next pointing elsewhere is ignored.
    assert as_alice.post("/emails/unmatched/contact", {"address": "yan@other.example", "last_name": ""}).status_code == 422
    response = as_alice.post("/emails/unmatched/contact", {"address": "yan@other.example", "last_name": "Yan", "next": "https://evil.example/"})
    assert response["Location"] == "/emails/unmatched/"


def test_an_outsider_making_a_contact_of_alices_sender_links_none_of_her_emails(as_charlie, strangers):
    response = as_charlie.post("/emails/unmatched/contact", {"address": SAM, "last_name": "Prospect"}, **HTMX)
    assert "Contact created: Prospect; 0 emails linked." in text(response)
    assert EmailParticipant.objects.filter(address=SAM, contact__isnull=True).count() == 2
