"""The email pages: mailbox settings, the composer on record pages,
campaigns, the Engagements tab and engagement counts in Activity.

Personas: Alice owns the records; Bob is her teammate; Charlie is an
outsider who must see nothing of Alice's (404s, empty lists). Mail goes to
Django's locmem backend (pytest-django's), so ``mail.outbox`` holds what
the SMTP server would have been sent.
"""
from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from crm.models import Share
from config import crypto
from emails import services
from emails.engagement import Hit, do_record_hit
from emails.models import Campaign, EmailParticipant, Mailbox, Rejection
from emails.sending import Outgoing, do_send_email
from touchpoints.models import Touchpoint
from touchpoints.services import direct_links
from emails.tests.conftest import make_mail
from web.tests.conftest import as_alice, as_bob, as_charlie, records  # noqa: F401  (fixtures)
from web.tests.pages import HTMX, PAGE_SIZE, browser, record_path, text, timeline_rows, timeline_titles
from web.tests.test_accessibility import unlabelled

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
CAROL = "carol@grasspods.example"


def free_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def field_error(page: str, field_id: str) -> str:
    """The error list Django renders under the input with ``field_id``."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def mailbox_data(**changes) -> dict:
    data = {
        "email_address": "alice@ourco.example", "imap_host": "127.0.0.1", "imap_port": str(free_port()),
        "imap_security": "none", "username": "alice", "password": "secret", "sent_folder": "",
    }  # fmt: skip
    return data | changes


def reload_tz(persona):
    return User.objects.get(id=persona.user.id).tzinfo


def connect(user, **changes) -> Mailbox:
    data = mailbox_data(**changes)
    return services.do_connect_mailbox(user, {**data, "imap_port": int(data["imap_port"])})


# --- mailbox settings -----------------------------------------------------------------------


def test_mailbox_page_shows_the_drop_address_and_a_labelled_connect_form(as_alice, alice, settings):
    settings.BCC_DROP_HOST, settings.BCC_DROP_PORT = "drop.ourco.example", 2526
    page = text(as_alice.get("/settings/mailboxes/"))
    assert services.drop_address_of(alice.user) in page
    assert "drop.ourco.example:2526" in page
    assert "No mailbox connected yet." in page
    assert 'href="/settings/mailboxes/"' in text(as_alice.get("/"))  # linked from the top bar
    assert unlabelled(page) == []


def test_connecting_with_missing_fields_shows_the_services_errors_under_them(as_alice, alice):
    response = as_alice.post("/settings/mailboxes/", {"imap_security": "ssl", "imap_port": "993"})
    assert response.status_code == 422
    page = text(response)
    for name in ("email_address", "imap_host", "username", "password"):
        assert field_error(page, f"mb_{name}") == "is required", name
    assert not Mailbox.objects.exists()


def test_a_bad_address_and_port_are_reported_under_their_fields(as_alice):
    response = as_alice.post("/settings/mailboxes/", mailbox_data(email_address="not an address", imap_port="70000"))
    assert response.status_code == 422
    page = text(response)
    assert "is not an email address" in field_error(page, "mb_email_address")
    assert "must be a TCP port" in field_error(page, "mb_imap_port")


def test_connect_edit_and_disconnect_a_mailbox(as_alice, alice):
    response = as_alice.post("/settings/mailboxes/", mailbox_data())
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(user=alice.user)
    assert crypto.decrypt(mailbox.password_encrypted) == "secret"
    page = text(as_alice.get("/settings/mailboxes/"))
    assert "Connected alice@ourco.example" in page and f'id="mailbox-{mailbox.id}"' in page
    assert "not synced yet" in page

    edit = text(as_alice.get(f"/settings/mailboxes/{mailbox.id}/edit"))
    assert 'value="alice@ourco.example"' in edit and "secret" not in edit  # the password is never sent back
    assert unlabelled(edit) == []
    data = mailbox_data(imap_host="imap.ourco.example", password="", enabled="on")
    assert as_alice.post(f"/settings/mailboxes/{mailbox.id}/edit", data).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.imap_host == "imap.ourco.example"
    assert crypto.decrypt(mailbox.password_encrypted) == "secret"  # empty: kept

    emptied = as_alice.post(f"/settings/mailboxes/{mailbox.id}/edit", mailbox_data(email_address="", password=""))
    assert emptied.status_code == 422 and field_error(text(emptied), "mbe_email_address") == "This field is required."
    assert Mailbox.objects.get(id=mailbox.id).email_address == "alice@ourco.example"

    # The same account twice: the service's rule, under Username.
    again = as_alice.post("/settings/mailboxes/", mailbox_data(imap_host="imap.ourco.example"))
    assert again.status_code == 422 and "already connected" in field_error(text(again), "mb_username")

    response = as_alice.post(f"/settings/mailboxes/{mailbox.id}/delete", **HTMX)
    assert response.status_code == 200 and "Disconnected alice@ourco.example" in text(response)
    assert not Mailbox.objects.exists()


def test_test_connection_of_unsaved_settings_reports_the_error(as_alice):
    response = as_alice.post("/settings/mailboxes/test", mailbox_data(), **HTMX)
    assert response.status_code == 200
    assert "Could not connect" in text(response) and "cannot reach 127.0.0.1" in text(response)
    incomplete = text(as_alice.post("/settings/mailboxes/test", mailbox_data(password=""), **HTMX))
    assert "Cannot test yet" in incomplete and "Password: is required" in incomplete
    assert not Mailbox.objects.exists()  # testing saves nothing


def test_test_connection_from_the_edit_form_tries_the_saved_password_unless_one_is_typed(as_alice, alice):
    mailbox = connect(alice.user)
    form = mailbox_data(imap_port=str(mailbox.imap_port), password="")
    saved = text(as_alice.post(f"/settings/mailboxes/{mailbox.id}/test", form, **HTMX))
    assert "Could not connect with the saved settings" in saved
    typed = text(as_alice.post(f"/settings/mailboxes/{mailbox.id}/test", {**form, "imap_port": "1", "password": "new"}, **HTMX))
    assert "Could not connect with the settings in the form: cannot reach 127.0.0.1:1" in typed
    # Without JavaScript the edit page comes back with the result.
    page = text(as_alice.post(f"/settings/mailboxes/{mailbox.id}/test", form))
    assert "<h1>Edit alice@ourco.example</h1>" in page and "Could not connect with the saved settings" in page
    mailbox.refresh_from_db()
    assert crypto.decrypt(mailbox.password_encrypted) == "secret"  # testing saves nothing


@pytest.mark.usefixtures("dovecot")
def test_test_connection_against_a_real_imap_server_shows_the_inbox_and_sent_folder(as_alice, alice, imap_account):
    imap_account.append("INBOX", make_mail(subject="One"))
    imap_account.append("INBOX", make_mail(subject="Two"))
    data = mailbox_data(imap_host=imap_account.host, imap_port=str(imap_account.port), username=imap_account.username, password=imap_account.password)
    page = text(as_alice.post("/settings/mailboxes/test", data, **HTMX))
    assert "Connected" in page and "INBOX has 2 messages" in page and "sent folder “Sent”" in page

    mailbox = connect(alice.user, imap_host=imap_account.host, imap_port=str(imap_account.port), username=imap_account.username, password=imap_account.password)
    page = text(as_alice.post(f"/settings/mailboxes/{mailbox.id}/test", **HTMX))
    assert "Connected with the saved settings" in page
    # Sync now stores the two emails and shows the outcome in the card.
    card = text(as_alice.post(f"/settings/mailboxes/{mailbox.id}/sync", **HTMX))
    assert "Synced: 2 stored" in card and "2 stored · 0 rejected" in card and ">OK<" in card


def test_sync_now_shows_the_error_and_the_time_in_the_users_zone(as_alice, alice):
    User.objects.filter(id=alice.user.id).update(time_zone="Asia/Tokyo")
    mailbox = connect(alice.user)
    card = text(as_alice.post(f"/settings/mailboxes/{mailbox.id}/sync", **HTMX))
    mailbox.refresh_from_db()
    assert mailbox.last_sync_status == "error"
    assert "Sync failed: cannot reach 127.0.0.1" in card and ">Error<" in card
    local = mailbox.last_sync_finished_at.astimezone(reload_tz(alice))
    assert re.search(rf'finished <time datetime="{local:%Y-%m-%dT%H:%M}[^"]*\+09:00">{local:%Y-%m-%d %H:%M}</time>', card)
    page = text(as_alice.get("/settings/mailboxes/"))
    assert 'data-testid="sync-error">cannot reach 127.0.0.1' in page


def test_recent_rejections_are_listed_with_their_reasons(as_alice, alice):
    mailbox = connect(alice.user)
    Mailbox.objects.filter(id=mailbox.id).update(last_sync_status="partial", last_sync_rejected=1, last_sync_finished_at=timezone.now())
    Rejection.objects.create(mailbox=mailbox, user=alice.user, source="imap", reason="too-large", subject="Huge deck", size=60_000_000)
    page = text(as_alice.get("/settings/mailboxes/"))
    assert "Messages not stored (1)" in page and "too-large" in page and "Huge deck" in page and "Some rejected" in page


def test_an_outsider_cannot_see_or_touch_someone_elses_mailbox(as_charlie, alice):
    mailbox = connect(alice.user)
    assert "alice@ourco.example" not in text(as_charlie.get("/settings/mailboxes/"))
    assert as_charlie.get(f"/settings/mailboxes/{mailbox.id}/edit").status_code == 404
    for action in ("test", "sync", "delete"):
        assert as_charlie.post(f"/settings/mailboxes/{mailbox.id}/{action}", **HTMX).status_code == 404
    assert as_charlie.post(f"/settings/mailboxes/{mailbox.id}/edit", mailbox_data()).status_code == 404
    assert Mailbox.objects.filter(id=mailbox.id, last_sync_status="never").exists()


# --- composer on record pages -----------------------------------------------------------------


def test_record_pages_offer_send_email_loaded_when_opened(as_alice, records):
    for record_type, record_id in records.items():
        page = text(as_alice.get(record_path(record_type, record_id)))
        assert f'hx-get="{record_path(record_type, record_id, "email")}" hx-trigger="toggle once from:closest details"' in page


def test_the_composer_on_a_contact_page_is_addressed_to_the_contact(as_alice, alice, world):
    services.do_create_template(alice.user, "Follow-up", "Following up, {{ first_name }}", "<p>Hi {{ first_name }},</p><p>As promised.</p>")
    page = text(as_alice.get(record_path("contact", world["carol"], "email"), **HTMX))
    assert page.startswith('<form class="stack compose" id="compose-form"')
    assert re.search(rf'name="to" value="{CAROL}"', page)
    assert ">Follow-up</option>" in page
    assert "{{ first_name }}</code> the contact&#x27;s first name" in page
    assert unlabelled(page) == []


def test_the_composer_on_a_deal_or_organization_offers_its_contacts_addresses(as_alice, alice, world):
    alice.patch(f"contacts/{world['dave']}", {"emails": ["dave@grasspods.example", "dave.ito@home.example"]})
    deal = text(as_alice.get(record_path("deal", world["deal"], "email"), **HTMX))
    assert f'value="{CAROL}"' in deal and "dave@" not in deal  # Dave is not on the deal
    org = text(as_alice.get(record_path("organization", world["org"], "email"), **HTMX))
    assert all(f'value="{a}"' in org for a in (CAROL, "dave@grasspods.example", "dave.ito@home.example"))
    assert unlabelled(org) == []


def test_sending_from_a_contact_page_mails_links_and_refreshes_activity(as_alice, alice, world):
    data = {"to": CAROL, "cc": "", "bcc": "boss@ourco.example", "subject": "Prices, {{ first_name }}", "body": "Hello Carol,\n\nSee https://shop.example/prices\nBest"}
    response = as_alice.post(record_path("contact", world["carol"], "email"), data, **HTMX)
    assert response.status_code == 200, text(response)
    assert response["HX-Trigger"] == "touchpoints-changed"
    assert "Email sent to 2 recipients." in text(response)
    assert sorted(m.to[0] if m.to else "" for m in mail.outbox) == [CAROL, CAROL]  # the Bcc copy shows the same To
    assert sorted(m.recipients()[0] for m in mail.outbox) == ["boss@ourco.example", CAROL]
    html = mail.outbox[0].alternatives[0][0]
    assert "<p>Hello Carol,</p>" in html and "/t/c/" in html  # text became HTML, links tracked
    tp = Touchpoint.objects.get(kind="email")
    assert tp.status == "sent" and tp.subject == "Prices, Carol"
    assert world["carol"] in direct_links(tp.id)["contact_ids"]
    assert timeline_titles(text(as_alice.get(record_path("contact", world["carol"], "activity"))))[0] == "Prices, Carol"


def test_sending_from_a_deal_links_the_deal_and_mails_the_ticked_contacts(as_alice, world):
    data = {"recipients": [CAROL], "to": "", "cc": "", "bcc": "", "subject": "Renewal", "body": "Shall we?"}
    response = as_alice.post(record_path("deal", world["deal"], "email"), data, **HTMX)
    assert response.status_code == 200, text(response)
    assert [m.to for m in mail.outbox] == [[CAROL]]
    tp = Touchpoint.objects.get(kind="email")
    assert world["deal"] in direct_links(tp.id)["deal_ids"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"to": "not-an-address", "subject": "Hi", "body": "x"}, "compose_to", "is not an email address"),
        ({"to": "", "subject": "Hi", "body": "x"}, "compose_to", "at least one recipient"),
        ({"to": CAROL, "cc": "nope", "subject": "Hi", "body": "x"}, "compose_cc", "is not an email address"),
        ({"to": CAROL, "subject": "", "body": "x"}, "compose_subject", "must not be empty"),
        ({"to": CAROL, "subject": "Hi", "body": "  "}, "compose_body", "is required"),
        ({"to": CAROL, "subject": "Hi {{ nickname }}", "body": "x"}, "compose_subject", "unknown merge field(s): nickname"),
        ({"to": CAROL, "subject": "Hi", "body": "Dear {{ boss }}"}, "compose_body", "unknown merge field(s): boss"),
    ],
    ids=["bad-to", "no-recipient", "bad-cc", "no-subject", "no-body", "merge-subject", "merge-body"],
)
def test_a_rejected_email_shows_the_services_error_under_the_field_and_sends_nothing(as_alice, world, data, field, message):
    response = as_alice.post(record_path("contact", world["carol"], "email"), {"cc": "", "bcc": "", **data}, **HTMX)
    assert response.status_code == 422
    assert not response.has_header("HX-Trigger")
    page = text(response)
    assert page.startswith('<form class="stack compose"')
    assert message in field_error(page, field), page
    assert f'value="{data["subject"]}"' in page  # the input is kept
    assert mail.outbox == [] and not Touchpoint.objects.exists()


def test_when_the_smtp_server_takes_no_copy_the_form_says_so_and_keeps_the_input(as_alice, world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    data = {"to": CAROL, "cc": "", "bcc": "", "subject": "Are you there?", "body": "Hello"}
    response = as_alice.post(record_path("contact", world["carol"], "email"), data, **HTMX)
    assert response.status_code == 422
    page = text(response)
    assert "Not sent: the SMTP server accepted no copy" in page and "cannot connect to SMTP 127.0.0.1" in page
    assert "kept in Activity as a failed email" in page and 'value="Are you there?"' in page
    assert response.has_header("HX-Trigger")  # Activity reloads to show it
    # Recorded as failed, shown with its badge like a failed SMS, and not contact.
    assert Touchpoint.objects.get(kind="email").status == "failed"
    activity = text(as_alice.get(record_path("contact", world["carol"], "activity")))
    assert "Are you there?" in activity and "Failed" in activity
    assert alice_last_contacted_is_empty(world)


def test_without_javascript_the_composer_is_a_page_and_sending_returns_to_the_record(as_alice, alice, world):
    template = services.do_create_template(alice.user, "Intro", "Hello {{ first_name }}", "<p>Nice to meet you.</p>")
    page = text(as_alice.get(record_path("contact", world["carol"], "email") + f"?template={template.id}"))
    assert "<h1>Send email" in page and 'value="Hello {{ first_name }}"' in page and "Nice to meet you." in page
    data = {"to": CAROL, "cc": "", "bcc": "", "subject": "Hello {{ first_name }}", "body": "Nice to meet you."}
    response = as_alice.post(record_path("contact", world["carol"], "email"), data)
    assert response.status_code == 302 and response["Location"] == record_path("contact", world["carol"])
    assert "Email sent to 1 recipient." in text(as_alice.get(response["Location"]))
    bad = as_alice.post(record_path("contact", world["carol"], "email"), {**data, "to": "nope"})
    assert bad.status_code == 422 and "<h1>Send email" in text(bad) and "is not an email address" in text(bad)


def test_picking_a_template_fills_subject_and_message(as_alice, alice):
    template = services.do_create_template(alice.user, "Intro", "Hello {{ first_name }}", "<p>Nice to meet you, {{ first_name }}.</p><p>Bye</p>")
    response = as_alice.get(f"/email-templates/fill?template={template.id}", **HTMX)
    page = text(response)
    assert page.startswith('<div id="compose-fill"')
    assert 'id="compose_subject" value="Hello {{ first_name }}"' in page or 'value="Hello {{ first_name }}"' in page
    assert "Nice to meet you, {{ first_name }}." in page and "<p>" not in page.split("<textarea", 1)[1]
    assert as_alice.get("/email-templates/fill?template=", **HTMX).status_code == 204  # "none" keeps what is typed


def test_a_teammate_may_email_alices_contact_and_an_outsider_gets_404(as_bob, as_charlie, world):
    assert as_bob.get(record_path("contact", world["carol"], "email"), **HTMX).status_code == 200
    for record_type, record_id in (("contact", world["carol"]), ("deal", world["deal"]), ("organization", world["org"])):
        url = record_path(record_type, record_id, "email")
        assert as_charlie.get(url, **HTMX).status_code == 404
        response = as_charlie.post(url, {"to": CAROL, "subject": "Hi", "body": "x"}, **HTMX)
        assert response.status_code == 404 and b"Carol" not in response.content
    assert mail.outbox == [] and not Touchpoint.objects.exists()


# --- campaigns -------------------------------------------------------------------------------


def test_the_contacts_list_has_checkboxes_for_a_campaign(as_alice, world):
    page = text(as_alice.get("/contacts/"))
    assert '<form class="list-actions" id="campaign-pick" method="get" action="/campaigns/new">' in page
    assert f'name="contacts" value="{world["carol"]}" form="campaign-pick" aria-label="Pick Carol Ng"' in page
    assert unlabelled(page) == []


def test_the_composer_lists_the_picked_contacts_and_warns_of_those_without_address(as_alice, world):
    page = text(as_alice.get(f"/campaigns/new?contacts={world['carol']}&contacts={world['dave']}"))
    assert re.search(rf'value="{world["carol"]}" checked> Carol Ng</label>\s*<small class="muted">{CAROL}', page)
    assert "Dave Ito" in page and "no address: will be skipped" in page
    assert unlabelled(page) == []


def test_sending_a_campaign_queues_mails_and_reports_skipped_and_sent(as_alice, world, django_capture_on_commit_callbacks):
    data = {"contacts": [world["carol"], world["dave"]], "name": "Spring", "subject": "Spring offer for {{ first_name }}", "body_format": "text", "body": "Hi {{ first_name }},\n\n20% off."}
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post("/campaigns/new", data)
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.id}/?skipped={world['dave']}"
    assert [m.subject for m in mail.outbox] == ["Spring offer for Carol"]
    assert "<p>Hi Carol,</p>" in mail.outbox[0].alternatives[0][0]
    page = text(as_alice.get(response["Location"]))
    assert re.search(r'data-testid="campaign-queued">1<', page) and re.search(r'data-testid="campaign-sent">1<', page)
    assert "Skipped: no email address" in page and "Dave Ito" in page
    assert "hx-trigger" not in page.split('id="campaign-counts"', 1)[1].split(">", 1)[0]  # all sent: no more polling
    assert Touchpoint.objects.get(kind="email_campaign").status == "sent"


def test_a_campaign_with_errors_keeps_the_picked_contacts_and_shows_the_errors(as_alice, world):
    response = as_alice.post("/campaigns/new", {"contacts": [world["carol"]], "name": "", "subject": "Hi {{ shoe_size }}", "body_format": "html", "body": ""})
    assert response.status_code == 422
    page = text(response)
    assert field_error(page, "cmp_name") == "must not be empty"
    assert "unknown merge field(s): shoe_size" in field_error(page, "cmp_subject")
    assert field_error(page, "cmp_body") == "must not be empty"
    assert f'value="{world["carol"]}" checked' in page
    empty = text(as_alice.post("/campaigns/new", {"name": "X", "subject": "Y", "body_format": "text", "body": "Z"}))
    assert "at least one contact is required" in empty
    assert not Campaign.objects.exists()


def test_the_recipient_search_finds_only_visible_contacts(as_alice, as_charlie, world):
    page = text(as_alice.get(f"/campaigns/recipients?q=carol&contacts={world['dave']}", **HTMX))
    assert "Dave Ito" in page and f'value="{world["carol"]}">' in page
    assert "Carol" not in text(as_charlie.get("/campaigns/recipients?q=carol", **HTMX))
    assert "Carol" not in text(as_charlie.get(f"/campaigns/new?contacts={world['carol']}"))


def test_an_outsider_can_neither_mail_alices_contacts_nor_see_her_campaign(as_alice, as_charlie, world):
    as_alice.post("/campaigns/new", {"contacts": [world["carol"]], "name": "Spring", "subject": "S", "body_format": "text", "body": "B"})
    campaign = Campaign.objects.get()
    assert as_charlie.get(f"/campaigns/{campaign.id}/").status_code == 404
    response = as_charlie.post("/campaigns/new", {"contacts": [world["carol"]], "name": "Mine", "subject": "S", "body_format": "text", "body": "B"})
    assert response.status_code == 422 and f"contact {world['carol']} not found" in field_error(text(response), "cmp_contacts")
    assert Campaign.objects.count() == 1


# --- Engagements --------------------------------------------------------------------------------


def _sent(alice, world, *, bcc=(), subject="Offer") -> int:
    result = do_send_email(alice.user, Outgoing(to=[CAROL], bcc=list(bcc), subject=subject, body_text="See https://shop.example/", contact_ids=[world["carol"]]))
    return result.touchpoint_id


def _participant(touchpoint_id: int, address: str) -> int:
    return EmailParticipant.objects.get(email__touchpoint_id=touchpoint_id, address=address).id


def _open(pid: int, at: datetime, **kw) -> None:
    do_record_hit(pid, Hit(kind="open", at=at, ip="81.153.20.7", user_agent=CHROME, **kw))


@pytest.fixture
def engaged(alice, world):
    """Alice's email to Carol, Bcc a colleague: Carol opened and clicked, the
    Bcc recipient opened, and an image proxy fetched the pixel."""
    tp = _sent(alice, world, bcc=["boss@ourco.example"])
    later = timezone.now() + timedelta(hours=1)
    carol, boss = _participant(tp, CAROL), _participant(tp, "boss@ourco.example")
    do_record_hit(carol, Hit(kind="click", at=later, ip="81.153.20.7", user_agent=CHROME, url="https://shop.example/"))
    _open(boss, later + timedelta(minutes=5))
    _open(carol, later, automated_reason="Apple Mail Privacy Protection prefetch")
    return {"touchpoint": tp, "carol": carol, "boss": boss}


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-testid="engagement-\d+" data-kind="([a-z_]+)">', page)


def test_the_dashboard_has_an_engagements_tab(as_alice):
    assert '<a href="/engagements/">Engagements</a>' in text(as_alice.get("/"))


def test_engagements_list_opens_and_clicks_per_recipient_with_bcc_and_apart_from_automated(as_alice, engaged):
    page = text(as_alice.get("/engagements/"))
    assert sorted(rows(page)) == ["click", "open", "open"]
    assert "boss@ourco.example <span class=\"badge badge-role\">Bcc</span>" in page
    assert f'{CAROL} <span class="badge badge-role">To</span>' in page
    assert "https://shop.example/" in page and "Apple Mail" not in page
    assert unlabelled(page) == []
    automated = text(as_alice.get("/engagements/?automated=1"))
    assert rows(automated) == ["automated_open"]
    assert "Apple Mail Privacy Protection prefetch" in automated and 'data-testid="automated-note"' in automated


def test_an_outsider_sees_none_of_alices_engagements(as_charlie, as_bob, engaged, world):
    for url in ("/engagements/", "/engagements/?automated=1", f"/engagements/?contact={world['carol']}"):
        page = text(as_charlie.get(url))
        assert rows(page) == [] and CAROL not in page and "boss@ourco.example" not in page
    assert "Carol" not in text(as_charlie.get(f"/engagements/?contact={world['carol']}"))  # the filter names no one
    assert len(rows(text(as_bob.get("/engagements/")))) == 3  # her teammate does


def test_who_sees_an_email_but_not_its_contact_gets_the_row_without_the_name(alice, charlie, world):
    Share.objects.create(record_type="deal", record_id=world["deal"], user=charlie.user)  # the deal, not Carol
    result = do_send_email(alice.user, Outgoing(to=[CAROL], subject="Renewal", body_text="x", deal_ids=[world["deal"]]))
    _open(_participant(result.touchpoint_id, CAROL), timezone.now() + timedelta(hours=1))
    page = text(browser(charlie).get("/engagements/"))
    assert rows(page) == ["open"] and "Renewal" in page
    assert "Carol Ng" not in page and f"contact={world['carol']}" not in page


def test_engagements_filter_by_rep_and_contact(as_alice, alice, bob, engaged, world):
    assert rows(text(as_alice.get(f"/engagements/?owner={bob.user.id}"))) == []
    assert len(rows(text(as_alice.get(f"/engagements/?owner={alice.user.id}")))) == 3
    page = text(as_alice.get(f"/engagements/?contact={world['carol']}"))
    assert sorted(rows(page)) == ["click", "open"] and "boss@" not in page
    assert 'data-testid="contact-filter">Contact: Carol Ng' in page
    assert f'href="?contact={world["carol"]}"' in text(as_alice.get("/engagements/"))  # a name in a row filters by it


def test_engagement_dates_are_days_in_the_users_time_zone(as_alice, alice, world):
    User.objects.filter(id=alice.user.id).update(time_zone="Pacific/Auckland")  # UTC+13 in March
    tp = _sent(alice, world)
    _open(_participant(tp, CAROL), datetime(2024, 3, 1, 11, 30, tzinfo=UTC))  # 2024-03-02 00:30 in Auckland
    assert rows(text(as_alice.get("/engagements/?since=2024-03-02&until=2024-03-02"))) == ["open"]
    assert rows(text(as_alice.get("/engagements/?until=2024-03-01"))) == []
    assert rows(text(as_alice.get("/engagements/?since=2024-03-03"))) == []
    page = text(as_alice.get("/engagements/?since=2024-03-02"))
    assert "2024-03-02 00:30" in page  # shown in her zone too
    bad = text(as_alice.get("/engagements/?since=2024-03-05&until=2024-03-01"))
    assert "must be on or after From" in bad


def test_engagements_are_cursor_paginated(as_alice, alice, world):
    addresses = [f"r{i:02d}@ourco.example" for i in range(PAGE_SIZE + 5)]
    result = do_send_email(alice.user, Outgoing(to=[CAROL], bcc=addresses, subject="Big", body_text="x", contact_ids=[world["carol"]]))
    base = timezone.now() + timedelta(hours=1)
    for i, address in enumerate(addresses):
        _open(_participant(result.touchpoint_id, address), base + timedelta(minutes=i))
    page = text(as_alice.get("/engagements/"))
    assert len(rows(page)) == PAGE_SIZE
    more = re.search(r'<tr class="load-more" hx-get="([^"]+)" hx-trigger="revealed"', page).group(1).replace("&amp;", "&")
    rest = text(as_alice.get("/engagements/" + more, **HTMX))
    assert len(rows(rest)) == 5 and "load-more" not in rest and "<h1>" not in rest
    seen = set(re.findall(r'data-testid="engagement-(\d+)"', page + rest))
    assert len(seen) == PAGE_SIZE + 5
    assert "showing the first page" in text(as_alice.get("/engagements/?cursor=garbage"))


# --- Activity: engagement counts and emoticons ------------------------------------------------


def test_activity_shows_each_emails_opens_clicks_and_emoticon(as_alice, engaged, world):
    Touchpoint.objects.filter(id=engaged["touchpoint"]).update(emoticon=4)
    for url in (record_path("contact", world["carol"]), record_path("contact", world["carol"], "activity")):
        page = text(as_alice.get(url))
        badge = re.search(rf'data-testid="engagement-{engaged["touchpoint"]}"[^>]*>(.*?)</span></span>', page, re.S).group(1)
        assert "👁 2 · 🖱 1" in badge  # Carol's and the Bcc's opens; the proxy's is not counted
        assert 'aria-label="Happy"' in page


def test_engagement_counts_cost_one_query_for_the_whole_activity_page(as_alice, alice, world):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_alice.get(url).status_code == 200
        return len(captured)

    def send(count: int):
        for i in range(count):
            tp = _sent(alice, world, subject=f"Mail {i}")
            _open(_participant(tp, CAROL), timezone.now() + timedelta(hours=1))

    url = record_path("contact", world["carol"], "activity")
    send(2)
    as_alice.get(url)
    few = queries(url)
    send(PAGE_SIZE + 3)
    page = text(as_alice.get(url))
    assert len(timeline_rows(page)) == PAGE_SIZE and page.count("👁 1 · 🖱 0") == PAGE_SIZE
    assert queries(url) == few


def alice_last_contacted_is_empty(world) -> bool:
    from crm.models import Contact

    return Contact.objects.get(id=world["carol"]).last_contacted_on is None
