"""The telephony pages: on a contact page the Call button (click-to-call),
the SMS composer and the call log; "Log a call" through do_log_call; the
admins' provider settings with the webhook URLs.

Personas: Alice owns the records; Bob is her teammate; Charlie is an
outsider who must see nothing of Alice's (404s); only the admin sees the
settings page. Providers are Twilio pointed at the loopback stand-in of its
REST API (``twilio_api``) and the signed webhook poster (``twilio``).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from config import crypto
from crm.models import Contact
from telephony import services
from telephony.models import Call, OptOut, ProviderAccount, Sms
from telephony.tests.conftest import CAROL_PHONE, OUR_NUMBER, TWILIO_TOKEN, sms_inbound, voice
from web.tests.conftest import as_alice, as_bob, as_charlie  # noqa: F401  (fixtures)
from web.tests.pages import HTMX, browser, record_path, text, timeline_titles
from web.tests.test_accessibility import unlabelled

MY_PHONE = "+12025550177"


def field_error(page: str, field_id: str) -> str:
    """The error list Django renders under the input with ``field_id``."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def contact_url(world, suffix: str = "", who: str = "carol") -> str:
    return record_path("contact", world[who], suffix)


@pytest.fixture
def carol_phone(alice, world):
    alice.patch(f"contacts/{world['carol']}", {"phones": [CAROL_PHONE, "+12025550144"]})
    return world


@pytest.fixture
def my_phone(alice):
    services.do_set_my_phone(alice.user, MY_PHONE)
    return MY_PHONE


def stop(twilio, django_capture_on_commit_callbacks, body: str = "STOP", sid: str = "SMstop"):
    with django_capture_on_commit_callbacks(execute=True):
        assert twilio.post("sms-inbound", sms_inbound(sid, body)).status_code == 200


# --- the contact page -------------------------------------------------------------------------


def test_contact_page_has_the_call_button_the_sms_action_and_the_call_log(as_alice, carol_phone, my_phone):
    page = text(as_alice.get(contact_url(carol_phone)))
    assert f'action="/contacts/{carol_phone["carol"]}/call"' in page
    assert "Call Carol</button>" in page and f"rings your phone ({MY_PHONE}) first" in page
    assert f'hx-get="/contacts/{carol_phone["carol"]}/sms" hx-trigger="toggle once from:closest details"' in page
    log = re.search(r'<div id="call-log" hx-get="([^"]+)" hx-trigger="([^"]+)"', page)
    assert log.group(1) == f"/contacts/{carol_phone['carol']}/call-log"
    assert "touchpoints-changed from:body" in log.group(2) and "calls-changed from:body" in log.group(2)
    assert unlabelled(page) == []


def test_a_contact_without_a_number_has_a_disabled_call_button(as_alice, world):
    page = text(as_alice.get(contact_url(world, who="dave")))
    assert re.search(r'<button type="button" class="call-button" disabled[^>]*>', page)
    assert "No phone number for Dave Ito" in page
    assert f'action="/contacts/{world["dave"]}/call"' not in page


def test_the_contact_page_costs_no_query_more_with_calls(as_alice, alice, carol_phone):
    url = contact_url(carol_phone)
    as_alice.get(url)
    with CaptureQueriesContext(connection) as before:
        as_alice.get(url)
    for status in ("completed", "busy", "no_answer"):
        services.do_log_call(alice.user, contact_id=carol_phone["carol"], status=status, occurred_at=timezone.now())
    with CaptureQueriesContext(connection) as after:
        as_alice.get(url)
    assert len(after) == len(before)  # the call log loads on its own (htmx, on load)


# --- click-to-call -----------------------------------------------------------------------------


def test_click_to_call_rings_my_phone_through_the_provider(as_alice, alice, carol_phone, my_phone, twilio_api):
    response = as_alice.post(contact_url(carol_phone, "call"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "calls-changed"  # the call log reloads; Activity need not
    assert f"Calling your phone ({MY_PHONE}) — answer it to be connected to Carol ({CAROL_PHONE})." in text(response)
    (request,) = twilio_api.requests
    assert request.path.endswith("/Calls.json") and (request.form["To"], request.form["From"]) == (MY_PHONE, OUR_NUMBER)
    call = Call.objects.get()
    assert (call.status, call.contact_id, call.user_id, call.to_number) == ("queued", carol_phone["carol"], alice.user.id, CAROL_PHONE)


def test_without_my_phone_click_to_call_asks_for_it_and_saving_it_lets_me_call(as_alice, alice, carol_phone, twilio_api):
    response = as_alice.post(contact_url(carol_phone, "call"), **HTMX)
    assert response.status_code == 422
    page = text(response)
    assert "Set your phone number first: Touchpoints rings it, then connects you to Carol." in page
    assert 'id="my-phone-form"' in page and unlabelled(page) == []
    assert twilio_api.requests == [] and not Call.objects.exists()

    bad = as_alice.post("/me/phone", {"phone": "12", "contact": carol_phone["carol"]}, **HTMX)
    assert bad.status_code == 422 and "is not a possible phone number" in field_error(text(bad), "myphone_phone")
    assert User.objects.get(id=alice.user.id).phone == ""

    saved = as_alice.post("/me/phone", {"phone": "(202) 555-0177", "contact": carol_phone["carol"]}, **HTMX)
    assert saved.status_code == 200
    assert "Saved: your phone is +12025550177. Click “Call Carol” to be connected." in text(saved)
    assert f"rings your phone ({MY_PHONE}) first" in text(saved)  # the widget comes back with it
    assert User.objects.get(id=alice.user.id).phone == MY_PHONE
    assert as_alice.post(contact_url(carol_phone, "call"), **HTMX).status_code == 200
    assert len(twilio_api.requests) == 1


def test_a_stored_phone_that_cannot_be_rung_is_shown_with_its_error(as_alice, alice, carol_phone, twilio_api):
    User.objects.filter(id=alice.user.id).update(phone="12")
    response = as_alice.post(contact_url(carol_phone, "call"), **HTMX)
    assert response.status_code == 422 and "is not a possible phone number" in field_error(text(response), "myphone_phone")


def test_without_a_provider_click_to_call_says_an_admin_must_set_one_up(as_alice, admin, carol_phone, my_phone):
    response = as_alice.post(contact_url(carol_phone, "call"), **HTMX)
    assert response.status_code == 422
    assert "an admin must add Twilio or Plivo credentials" in text(response)
    assert "/settings/telephony/" not in text(response)  # Alice cannot set one up
    services.do_set_my_phone(admin.user, MY_PHONE)
    as_admin = browser(admin)
    assert 'href="/settings/telephony/">Set one up</a>' in text(as_admin.post(contact_url(carol_phone, "call"), **HTMX))


def test_a_provider_refusing_the_call_shows_its_message_and_the_failed_call(as_alice, carol_phone, my_phone, twilio_api):
    twilio_api.fail_next(401, {"code": 20003, "message": "Authenticate", "status": 401})
    response = as_alice.post(contact_url(carol_phone, "call"), **HTMX)
    assert response.status_code == 422 and response["HX-Trigger"] == "calls-changed"
    assert "Twilio could not start the call" in text(response) and "Authenticate" in text(response)
    assert Call.objects.get().status == "failed"
    log = text(as_alice.get(contact_url(carol_phone, "call-log"), **HTMX))
    assert '<span class="badge badge-bad">Failed</span>' in log


def test_without_javascript_click_to_call_returns_to_the_contact_with_a_message(as_alice, carol_phone, my_phone, twilio_api):
    response = as_alice.post(contact_url(carol_phone, "call"), follow=True)
    assert response.redirect_chain == [(contact_url(carol_phone), 302)]
    assert "Calling your phone (+12025550177)" in text(response)


def test_without_javascript_the_phone_form_is_a_page_of_its_own(as_alice, alice, carol_phone, twilio_api):
    response = as_alice.post(contact_url(carol_phone, "call"))
    assert response.status_code == 422
    page = text(response)
    assert "<h1>Call <small class=\"muted\">Carol Ng</small></h1>" in page and 'id="my-phone-form"' in page and unlabelled(page) == []
    response = as_alice.post("/me/phone", {"phone": MY_PHONE, "contact": carol_phone["carol"]}, follow=True)
    assert response.redirect_chain == [(contact_url(carol_phone), 302)]
    assert f"Saved: your phone is {MY_PHONE}." in text(response)


def test_teammate_can_call_alices_contact(as_bob, bob, carol_phone, twilio_api):
    services.do_set_my_phone(bob.user, "+12025550188")
    assert as_bob.post(contact_url(carol_phone, "call"), **HTMX).status_code == 200
    assert Call.objects.get().user_id == bob.user.id


# --- SMS composer -------------------------------------------------------------------------------


def test_sms_composer_sends_to_the_first_number_and_the_text_shows_in_activity(as_alice, alice, carol_phone, twilio_api):
    form = text(as_alice.get(contact_url(carol_phone, "sms"), **HTMX))
    assert f"To: <strong>Carol Ng</strong> <span class=\"muted\">{CAROL_PHONE}</span>" in form
    assert "0 / 1600 characters · 0 messages" in form and 'data-sms-counter="sms_count"' in form
    assert unlabelled(form) == []
    response = as_alice.post(contact_url(carol_phone, "sms"), {"text": "See you at 3pm"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert f"Text sent to Carol Ng ({CAROL_PHONE})." in text(response)
    assert "See you at 3pm" not in text(response)  # a fresh form
    (request,) = twilio_api.requests
    assert (request.form["To"], request.form["Body"]) == (CAROL_PHONE, "See you at 3pm")
    sms = Sms.objects.get()
    assert (sms.status, sms.contact_id, sms.user_id) == ("dispatched", carol_phone["carol"], alice.user.id)
    activity = text(as_alice.get(contact_url(carol_phone, "activity")))
    assert timeline_titles(activity) == ["See you at 3pm"] and "Dispatched" in activity
    assert Contact.objects.get(id=carol_phone["carol"]).last_contacted_via == "SMS"


def test_an_empty_or_too_long_text_is_refused_under_the_message(as_alice, carol_phone, twilio_api):
    response = as_alice.post(contact_url(carol_phone, "sms"), {"text": "  "}, **HTMX)
    assert response.status_code == 422 and field_error(text(response), "sms_text") == "must not be empty"
    response = as_alice.post(contact_url(carol_phone, "sms"), {"text": "x" * 1601}, **HTMX)
    assert response.status_code == 422 and field_error(text(response), "sms_text") == "at most 1600 characters"
    assert "1601 / 1600 characters · 11 messages" in text(response)  # the counter of what was typed
    assert twilio_api.requests == [] and not Sms.objects.exists()


def test_a_contact_who_texted_stop_gets_a_message_instead_of_the_composer(as_alice, carol_phone, twilio_api, twilio, django_capture_on_commit_callbacks):
    stop(twilio, django_capture_on_commit_callbacks)
    opt_out = OptOut.objects.get(number=CAROL_PHONE)
    page = text(as_alice.get(contact_url(carol_phone, "sms"), **HTMX))
    when = timezone.localtime(opt_out.created_at).strftime("%Y-%m-%d %H:%M")
    assert f"Carol texted STOP on <time datetime=\"{opt_out.created_at.isoformat()}\">{when}</time>: no text can be sent to {CAROL_PHONE} until they text START." in page
    assert 'id="sms-form"' not in page
    # Posted anyway (a stale form): the service refuses, under the recipient.
    response = as_alice.post(contact_url(carol_phone, "sms"), {"text": "Hi"}, **HTMX)
    assert response.status_code == 422
    assert "opted out of SMS (texted STOP); they must text START" in field_error(text(response), "sms_contact")
    assert twilio_api.requests == [] and Sms.objects.filter(direction="outbound").count() == 0
    # START lifts it.
    stop(twilio, django_capture_on_commit_callbacks, body="START", sid="SMstart")
    assert 'id="sms-form"' in text(as_alice.get(contact_url(carol_phone, "sms"), **HTMX))


def test_a_text_the_provider_refuses_is_shown_and_kept_as_failed(as_alice, carol_phone, twilio_api):
    twilio_api.fail_next(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})
    response = as_alice.post(contact_url(carol_phone, "sms"), {"text": "Hello?"}, **HTMX)
    assert response.status_code == 422 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Not sent:" in text(response) and "unsubscribed recipient" in text(response)
    assert ">\nHello?</textarea>" in text(response)  # the text is kept
    assert Sms.objects.get().status == "failed"


def test_the_composer_says_why_it_cannot_send(as_alice, as_bob, carol_phone, admin):
    page = text(as_alice.get(contact_url(carol_phone, "sms"), **HTMX))
    assert "No SMS provider is set up yet: an admin must add Twilio or Plivo credentials" in page and 'id="sms-form"' not in page
    page = text(as_alice.get(contact_url(carol_phone, "sms", who="dave"), **HTMX))
    assert "Dave Ito has no phone number" in page and 'id="sms-form"' not in page


def test_without_javascript_the_composer_is_a_page_and_sending_returns_to_the_contact(as_alice, carol_phone, twilio_api):
    page = text(as_alice.get(contact_url(carol_phone, "sms")))
    assert "<h1>Send SMS <small class=\"muted\">to Carol Ng</small></h1>" in page and unlabelled(page) == []
    response = as_alice.post(contact_url(carol_phone, "sms"), {"text": "Plain post"}, follow=True)
    assert response.redirect_chain == [(contact_url(carol_phone), 302)]
    assert f"Text sent to Carol Ng ({CAROL_PHONE})." in text(response)


def test_teammate_can_text_alices_contact(as_bob, bob, carol_phone, twilio_api):
    assert as_bob.post(contact_url(carol_phone, "sms"), {"text": "Hi from Bob"}, **HTMX).status_code == 200
    assert Sms.objects.get().user_id == bob.user.id


# --- call log -----------------------------------------------------------------------------------


def test_the_call_log_lists_every_call_also_those_not_in_activity(as_alice, alice, bob, carol_phone, twilio, django_capture_on_commit_callbacks):
    User.objects.filter(id=alice.user.id).update(time_zone="America/Los_Angeles", first_name="Alice", last_name="Ames")
    base = datetime(2024, 5, 1, 17, 0, tzinfo=UTC)  # 10:00 in Los Angeles (PDT)
    done = services.do_log_call(alice.user, contact_id=carol_phone["carol"], status="completed", occurred_at=base, duration_seconds=754, notes="Pricing questions")
    for i, status in enumerate(("busy", "no_answer", "failed", "canceled"), start=1):
        services.do_log_call(bob.user, contact_id=carol_phone["carol"], status=status, direction="inbound", occurred_at=base + timedelta(hours=i))
    params = voice("CArec", "completed", duration=61) | {"RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1"}
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("voice-status", params)
    recorded = Call.objects.get(provider_call_id="CArec")
    assert recorded.contact_id == carol_phone["carol"]

    response = as_alice.get(contact_url(carol_phone, "call-log"), **HTMX)
    page = text(response)
    rows = re.findall(r'<li class="call" data-testid="call-(\d+)" data-status="([a-z_]+)">', page)
    assert [s for _, s in rows] == ["completed", "canceled", "failed", "no_answer", "busy", "completed"]  # newest first
    for label in ("Busy", "No Answer", "Failed", "Canceled", "Completed"):
        assert f">{label}</span>" in page
    row = page[page.index(f'data-testid="call-{done.id}"') :]
    row = row[: row.index("</li>")]
    assert "Wed 2024-05-01 10:00" in row  # in Alice's zone
    assert "Outbound · 12 min 34 s" in row and f"to {CAROL_PHONE}" in row and "Alice Ames" in row and "logged by hand" in row
    assert "Pricing questions" in row and "not in Activity" not in row
    busy = page[page.index('data-status="busy"') :]
    busy = busy[: busy.index("</li>")]
    assert "Inbound" in busy and f"from {CAROL_PHONE}" in busy and "bob" in busy and "not in Activity" in busy
    assert 'href="https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1"' in page and "Twilio" in page
    # Activity has only the calls that reached Carol.
    assert len(timeline_titles(text(as_alice.get(contact_url(carol_phone, "activity"))))) == 2


def test_a_recording_link_is_only_an_http_url(as_alice, alice, carol_phone, twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("voice-status", voice("CAjs", "completed", duration=61) | {"RecordingUrl": "javascript:alert(1)"})
    assert "javascript:" not in text(as_alice.get(contact_url(carol_phone, "call-log"), **HTMX))


def test_the_call_log_pages_by_cursor(as_alice, alice, carol_phone):
    base = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(13):
        services.do_log_call(alice.user, contact_id=carol_phone["carol"], status="busy", occurred_at=base + timedelta(minutes=i), notes=f"Try {i:02d}")
    url = contact_url(carol_phone, "call-log")
    first = text(as_alice.get(url, **HTMX))
    assert re.findall(r"Try (\d+)", first) == [f"{i:02d}" for i in range(12, 2, -1)]
    more = re.search(r'<a class="button" rel="next" href="([^"]+)" hx-get="\1" hx-target="closest li" hx-swap="outerHTML">Older calls</a>', first)
    second = as_alice.get(more.group(1).replace("&amp;", "&"), **HTMX)
    rows = text(second)
    assert not rows.lstrip().startswith("<ol") and re.findall(r"Try (\d+)", rows) == ["02", "01", "00"]
    assert "Older calls" not in rows and "No calls yet." not in rows
    # Without JavaScript: pages of their own.
    page = text(as_alice.get(more.group(1).replace("&amp;", "&")))
    assert "<h1>Calls <small" in page and "Newest calls</a>" in page and re.findall(r"Try (\d+)", page) == ["02", "01", "00"]
    assert "not valid" in text(as_alice.get(url + "?cursor=garbage"))
    assert "reload the page" in text(as_alice.get(url + "?cursor=garbage", **HTMX))


def test_an_empty_call_log(as_alice, carol_phone):
    assert "No calls yet." in text(as_alice.get(contact_url(carol_phone, "call-log"), **HTMX))


def test_a_live_call_polls_and_its_end_reloads_activity(as_alice, carol_phone, my_phone, twilio_api, twilio, django_capture_on_commit_callbacks):
    as_alice.post(contact_url(carol_phone, "call"), **HTMX)
    call = Call.objects.get()
    page = text(as_alice.get(contact_url(carol_phone, "call-log"), **HTMX))
    poll = re.search(r'<div hidden hx-get="([^"]+)" hx-trigger="every 5s" hx-target="#call-log"></div>', page)
    assert poll and poll.group(1).endswith(f"?live={call.id}")
    still = as_alice.get(poll.group(1), **HTMX)
    assert not still.has_header("HX-Trigger")
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("voice-status", voice("CAleg", "completed", frm=OUR_NUMBER, to=CAROL_PHONE, direction="outbound-dial", duration=95), query=f"?call={call.id}&leg=contact")
    ended = as_alice.get(poll.group(1), **HTMX)
    assert ended["HX-Trigger"] == "touchpoints-changed"  # Activity and Last Contacted reload
    assert "every 5s" not in text(ended) and '<span class="badge badge-good">Completed</span>' in text(ended)


# --- outsiders -------------------------------------------------------------------------------


def test_outsider_gets_404_on_alices_contact_and_changes_nothing(as_charlie, charlie, carol_phone, twilio_api):
    assert as_charlie.post(contact_url(carol_phone, "call"), **HTMX).status_code == 404
    assert as_charlie.get(contact_url(carol_phone, "sms"), **HTMX).status_code == 404
    assert as_charlie.post(contact_url(carol_phone, "sms"), {"text": "snooping"}, **HTMX).status_code == 404
    assert as_charlie.get(contact_url(carol_phone, "call-log"), **HTMX).status_code == 404
    assert as_charlie.get(contact_url(carol_phone, "call-log")).status_code == 404
    assert as_charlie.post("/me/phone", {"phone": MY_PHONE, "contact": carol_phone["carol"]}, **HTMX).status_code == 404
    assert User.objects.get(id=charlie.user.id).phone == ""
    assert twilio_api.requests == [] and not Call.objects.exists() and not Sms.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in_and_change_nothing(client, carol_phone, twilio_api):
    for url in (contact_url(carol_phone, "sms"), contact_url(carol_phone, "call-log"), "/settings/telephony/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    posts = [
        (contact_url(carol_phone, "call"), {}), (contact_url(carol_phone, "sms"), {"text": "x"}),
        ("/me/phone", {"phone": MY_PHONE, "contact": carol_phone["carol"]}), ("/settings/telephony/plivo", {"account_id": "x", "auth_token": "y", "from_number": OUR_NUMBER}),
    ]  # fmt: skip
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    assert twilio_api.requests == [] and not Sms.objects.exists() and not ProviderAccount.objects.filter(provider="plivo").exists()


# --- Log a call (the touchpoints quick action, now through do_log_call) ------------------------


def test_log_a_call_is_in_the_call_log_also_when_not_in_activity(as_alice, carol_phone):
    data = {"status": "canceled", "direction": "outbound", "occurred_at": "2024-05-01T10:00", "summary": "Dropped before ringing"}
    response = as_alice.post(contact_url(carol_phone, "calls"), data, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    call = Call.objects.get()
    assert (call.provider, call.status, call.notes, call.to_number) == ("manual", "canceled", "Dropped before ringing", CAROL_PHONE)
    assert timeline_titles(text(as_alice.get(contact_url(carol_phone, "activity")))) == []
    log = text(as_alice.get(contact_url(carol_phone, "call-log"), **HTMX))
    assert '<span class="badge badge-neutral">Canceled</span>' in log and "not in Activity" in log


def test_log_a_call_on_an_organization_names_the_contact(as_alice, world):
    org_page = text(as_alice.get(record_path("organization", world["org"])))
    assert '<select id="call_contact" name="contact" required>' in org_page and "Carol Ng</option>" in org_page
    data = {"status": "completed", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}
    response = as_alice.post(record_path("organization", world["org"], "calls"), data, **HTMX)
    assert response.status_code == 422 and field_error(text(response), "call_contact") == "This field is required."
    assert not Call.objects.exists()
    response = as_alice.post(record_path("organization", world["org"], "calls"), data | {"contact": world["carol"]}, **HTMX)
    assert response.status_code == 200
    assert Call.objects.get().contact_id == world["carol"]
    activity = text(as_alice.get(record_path("organization", world["org"], "activity")))
    assert timeline_titles(activity) == ["Call to Carol Ng"] and "via Carol Ng" in activity


def test_log_a_call_on_a_deal_may_name_one_of_its_contacts(as_alice, world):
    deal_page = text(as_alice.get(record_path("deal", world["deal"])))
    assert "— the deal only —" in deal_page and "Carol Ng</option>" in deal_page and "Dave Ito</option>" not in deal_page
    data = {"status": "completed", "direction": "inbound", "occurred_at": "2024-05-01T10:00", "contact": world["carol"]}
    assert as_alice.post(record_path("deal", world["deal"], "calls"), data, **HTMX).status_code == 200
    call = Call.objects.get()
    assert (call.contact_id, call.deal_id, call.direction) == (world["carol"], world["deal"], "inbound")
    # Not one of the deal's contacts: refused by the picker.
    response = as_alice.post(record_path("deal", world["deal"], "calls"), data | {"contact": world["dave"]}, **HTMX)
    assert response.status_code == 422 and "Select a valid choice" in field_error(text(response), "call_contact")
    # The deal alone.
    assert as_alice.post(record_path("deal", world["deal"], "calls"), data | {"contact": ""}, **HTMX).status_code == 200
    assert Call.objects.filter(deal_id=world["deal"], contact__isnull=True).count() == 1


def test_log_a_call_offers_every_final_status(as_alice, world):
    page = text(as_alice.get(record_path("contact", world["dave"])))
    options = re.search(r'<select name="status" id="call_status">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", options) == ["Completed", "Hangup", "Busy", "No Answer", "Failed", "Canceled"]


# --- provider settings (admins) -------------------------------------------------------------------


@pytest.fixture
def as_admin(admin):
    return browser(admin)


def test_settings_page_shows_each_provider_and_the_webhook_urls_to_paste(as_admin, twilio, settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    page = text(as_admin.get("/settings/telephony/"))
    for provider in ("twilio", "plivo"):
        for kind in ("voice-status", "sms-status", "sms-inbound"):
            assert f'<code class="copy" data-testid="webhook-{provider}-{kind}">https://crm.example.com/webhooks/{provider}/{kind}</code>' in page
    assert 'value="AC00000000000000000000000000000000"' in page and f'value="{OUR_NUMBER}"' in page
    assert TWILIO_TOKEN not in page and 'name="auth_token"' in page
    assert "Stored encrypted and never shown: leave empty to keep it" in page
    assert "SMS and click-to-call use <strong>Twilio</strong>." in page
    assert "Not set up" in page  # Plivo
    assert 'href="/settings/telephony/" aria-current="page">Telephony</a>' in page  # the top bar
    assert unlabelled(page) == []


def test_only_admins_open_the_settings_page(as_alice, as_charlie, as_admin, alice):
    assert as_alice.get("/settings/telephony/").status_code == 403
    assert as_charlie.get("/settings/telephony/").status_code == 403
    assert as_alice.post("/settings/telephony/twilio", {"account_id": "AC1", "auth_token": "t", "from_number": OUR_NUMBER}).status_code == 403
    assert not ProviderAccount.objects.exists()
    assert "/settings/telephony/" not in text(as_alice.get("/"))  # no link in the top bar
    assert 'href="/settings/telephony/"' in text(as_admin.get("/"))
    assert as_admin.post("/settings/telephony/skype", {}).status_code == 404


def test_an_admin_sets_up_plivo_as_the_default(as_admin, twilio):
    data = {"account_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-secret", "from_number": "(202) 555-0199", "enabled": "on", "is_default": "on", "api_base": ""}
    response = as_admin.post("/settings/telephony/plivo", data)
    assert response.status_code == 302 and response["Location"] == "/settings/telephony/#provider-plivo"
    plivo = ProviderAccount.objects.get(provider="plivo")
    assert (plivo.account_id, plivo.from_number, plivo.enabled, plivo.is_default) == ("MAXXXXXXXXXXXXXXXXXX", "+12025550199", True, True)
    assert crypto.decrypt(plivo.auth_token_encrypted) == "plivo-secret"
    assert ProviderAccount.objects.get(provider="twilio").is_default is False
    page = text(as_admin.get("/settings/telephony/"))
    assert "Saved the Plivo account." in page and "SMS and click-to-call use <strong>Plivo</strong>." in page and "plivo-secret" not in page


def test_saving_without_a_token_keeps_the_stored_one(as_admin, twilio):
    data = {"account_id": "AC" + "1" * 32, "auth_token": "", "from_number": OUR_NUMBER, "enabled": "on", "api_base": "https://edge.example"}
    assert as_admin.post("/settings/telephony/twilio", data).status_code == 302
    account = ProviderAccount.objects.get(provider="twilio")
    assert crypto.decrypt(account.auth_token_encrypted) == TWILIO_TOKEN
    assert (account.account_id, account.api_base, account.is_default) == ("AC" + "1" * 32, "https://edge.example", False)


def test_provider_errors_show_under_their_fields(as_admin, twilio):
    response = as_admin.post("/settings/telephony/plivo", {"account_id": "", "auth_token": "", "from_number": "", "enabled": "on"})
    assert response.status_code == 422
    page = text(response)
    for name in ("account_id", "auth_token", "from_number"):
        assert field_error(page, f"plivo_{name}") == "This field is required."
    # The service's rule, under its field.
    response = as_admin.post("/settings/telephony/plivo", {"account_id": "MA1", "auth_token": "t", "from_number": "12", "enabled": "on"})
    assert response.status_code == 422
    assert "is not a possible phone number" in field_error(text(response), "plivo_from_number")
    assert not ProviderAccount.objects.filter(provider="plivo").exists()
    # Editing a saved account: its ID cannot be emptied.
    response = as_admin.post("/settings/telephony/twilio", {"account_id": "", "from_number": OUR_NUMBER, "enabled": "on"})
    assert response.status_code == 422 and field_error(text(response), "twilio_account_id") == "This field is required."


def test_a_disabled_provider_is_said_so(as_admin, twilio):
    data = {"account_id": "AC" + "0" * 32, "from_number": OUR_NUMBER, "is_default": "on"}
    response = as_admin.post("/settings/telephony/twilio", data, follow=True)
    assert "It is disabled: nothing is sent through it and its webhooks are refused." in text(response)
    assert ProviderAccount.objects.get().enabled is False


def test_a_local_public_base_url_is_flagged_on_the_settings_page(as_admin, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert "this one is a local address, so they cannot" in text(as_admin.get("/settings/telephony/"))
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    assert "this one is a local address" not in text(as_admin.get("/settings/telephony/"))
