"""Twilio's voice and SMS callbacks against the real endpoints, signed with
Twilio's own RequestValidator.compute_signature: statuses, exactly-once,
every arrival order, forged requests, Last Contacted and opt-outs."""
from __future__ import annotations

import itertools

import pytest

from telephony.models import Call, OptOut, Sms, WebhookEvent
from telephony.tests.conftest import CAROL_PHONE, sms_inbound, sms_status, voice
from touchpoints.models import Touchpoint


@pytest.fixture
def carol_phone(alice, world):
    response = alice.patch(f"contacts/{world['carol']}", {"phones": [CAROL_PHONE]})
    assert response.status_code == 200, response.content
    return world


def post_all(twilio, kind, sequence, django_capture_on_commit_callbacks):
    for params in sequence:
        with django_capture_on_commit_callbacks(execute=True):
            response = twilio.post(kind, params)
        assert response.status_code == 200, response.content


def contact(alice, world) -> dict:
    return alice.get(f"contacts/{world['carol']}").json()


def timeline_ids(alice, world) -> list[int]:
    return [i["id"] for i in alice.get(f"contacts/{world['carol']}/timeline").json()["items"]]


CALL_SEQUENCE = ("queued", "ringing", "in-progress", "completed")


def test_completed_call_is_a_touchpoint_with_duration_and_moves_last_contacted(twilio, alice, carol_phone, django_capture_on_commit_callbacks):
    post_all(twilio, "voice-status", [voice("CA1", s, duration=95 if s == "completed" else None) for s in CALL_SEQUENCE], django_capture_on_commit_callbacks)
    call = Call.objects.get(provider_call_id="CA1")
    assert (call.status, call.duration_seconds, call.direction, call.contact_id) == ("completed", 95, "inbound", carol_phone["carol"])
    assert call.touchpoint_id in timeline_ids(alice, carol_phone)
    tp = alice.get(f"touchpoints/{call.touchpoint_id}").json()
    assert (tp["kind"], tp["status"], tp["duration_seconds"], tp["source"]) == ("phone_call", "completed", 95, "twilio")
    assert contact(alice, carol_phone)["last_contacted_via"] == "Phone Call"


@pytest.mark.parametrize("order", list(itertools.permutations(CALL_SEQUENCE)))
def test_every_arrival_order_of_a_call_ends_the_same(twilio, alice, carol_phone, django_capture_on_commit_callbacks, order):
    post_all(twilio, "voice-status", [voice("CAperm", s, duration=95 if s == "completed" else None) for s in order], django_capture_on_commit_callbacks)
    call = Call.objects.get(provider_call_id="CAperm")
    assert (call.status, call.duration_seconds) == ("completed", 95)
    assert Touchpoint.objects.filter(kind="phone_call").count() == 1
    assert contact(alice, carol_phone)["last_contacted_via"] == "Phone Call"


@pytest.mark.parametrize("status,crm", [("busy", "busy"), ("no-answer", "no_answer"), ("failed", "failed"), ("canceled", "canceled")])
def test_unanswered_calls_stay_in_the_call_log_only(twilio, alice, carol_phone, django_capture_on_commit_callbacks, status, crm):
    post_all(twilio, "voice-status", [voice("CAx", "ringing"), voice("CAx", status)], django_capture_on_commit_callbacks)
    log = alice.get("calls", contact_id=carol_phone["carol"]).json()["items"]
    assert [(c["provider_call_id"], c["status"]) for c in log] == [("CAx", crm)]
    assert Call.objects.get().touchpoint_id not in timeline_ids(alice, carol_phone)
    assert contact(alice, carol_phone)["last_contacted_on"] is None


def test_a_call_answered_and_ended_at_once_is_a_hangup_and_shows(twilio, alice, carol_phone, django_capture_on_commit_callbacks):
    post_all(twilio, "voice-status", [voice("CAh", "in-progress"), voice("CAh", "completed", duration=2)], django_capture_on_commit_callbacks)
    call = Call.objects.get()
    assert call.status == "hangup" and call.touchpoint_id in timeline_ids(alice, carol_phone)


def test_duplicate_deliveries_and_retries_make_one_touchpoint(twilio, alice, carol_phone, django_capture_on_commit_callbacks):
    done = voice("CAd", "completed", duration=30)
    for idempotency in ("same", "same", None, None):
        with django_capture_on_commit_callbacks(execute=True):
            assert twilio.post("voice-status", done, idempotency=idempotency).status_code == 200
    assert WebhookEvent.objects.count() == 3  # the retry with the same token was stored once
    assert Call.objects.count() == 1 and Touchpoint.objects.filter(kind="phone_call").count() == 1


@pytest.mark.parametrize(
    "kind,tamper",
    [
        ("forged", {"signature": "bm90IGEgc2lnbmF0dXJl"}),
        ("unsigned", {"signature": None}),
        ("wrong key", {"token": "another-token"}),
    ],
)
def test_forged_unsigned_or_wrongly_signed_requests_are_403_and_store_nothing(twilio, carol_phone, kind, tamper):
    response = twilio.post("voice-status", voice("CAf", "completed", duration=30), **tamper)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists() and not Call.objects.exists()


def test_a_tampered_field_breaks_the_signature(twilio, carol_phone):
    from twilio.request_validator import RequestValidator

    from telephony.tests.conftest import TWILIO_TOKEN

    params = voice("CAt", "completed", duration=30)
    signature = RequestValidator(TWILIO_TOKEN).compute_signature("http://testserver/webhooks/twilio/voice-status", params)
    response = twilio.post("voice-status", {**params, "CallDuration": "9999"}, signature=signature)
    assert response.status_code == 403 and not WebhookEvent.objects.exists()


def test_no_account_configured_means_nothing_can_be_verified(client, db):
    assert client.post("/webhooks/twilio/voice-status", voice("CAz", "completed")).status_code == 403
    assert client.post("/webhooks/nope/voice-status", {}).status_code == 404


def test_an_unknown_number_is_kept_unmatched(twilio, alice, admin, carol_phone, django_capture_on_commit_callbacks):
    post_all(twilio, "voice-status", [voice("CAu", "completed", frm="+12025550199", duration=40)], django_capture_on_commit_callbacks)
    unmatched = admin.get("calls", unmatched=True).json()["items"]
    assert [(c["from_number"], c["contact_id"]) for c in unmatched] == [("+12025550199", None)]


# --- SMS ---------------------------------------------------------------------------

SMS_SEQUENCE = ("queued", "sending", "sent", "delivered")


@pytest.mark.parametrize("order", list(itertools.permutations(SMS_SEQUENCE)))
def test_every_arrival_order_of_sms_statuses_ends_delivered(twilio, alice, carol_phone, django_capture_on_commit_callbacks, order):
    post_all(twilio, "sms-status", [sms_status("SMperm", s) for s in order], django_capture_on_commit_callbacks)
    sms = Sms.objects.get()
    assert sms.status == "delivered"
    tp = alice.get(f"touchpoints/{sms.touchpoint_id}").json()
    assert (tp["kind"], tp["status"]) == ("sms", "delivered")
    assert contact(alice, carol_phone)["last_contacted_via"] == "SMS"


@pytest.mark.parametrize("order", list(itertools.permutations(("queued", "sent", "undelivered"))))
def test_a_failed_sms_keeps_its_error_code_and_never_counts(twilio, alice, carol_phone, django_capture_on_commit_callbacks, order):
    post_all(twilio, "sms-status", [sms_status("SMf", s, error="30003" if s == "undelivered" else None) for s in order], django_capture_on_commit_callbacks)
    sms = Sms.objects.get()
    assert (sms.status, sms.error_code) == ("failed", "30003")
    assert contact(alice, carol_phone)["last_contacted_on"] is None
    assert sms.touchpoint_id in timeline_ids(alice, carol_phone)  # shown with its badge


def test_inbound_sms_is_a_touchpoint_and_stop_opts_the_number_out(twilio, alice, carol_phone, django_capture_on_commit_callbacks):
    post_all(twilio, "sms-inbound", [sms_inbound("SMin1", "Can we move the call to 3pm?")], django_capture_on_commit_callbacks)
    sms = Sms.objects.get(provider_message_id="SMin1")
    assert (sms.direction, sms.status, sms.contact_id) == ("inbound", "received", carol_phone["carol"])
    assert contact(alice, carol_phone)["last_contacted_via"] == "SMS"
    post_all(twilio, "sms-inbound", [sms_inbound("SMin2", " stop ")], django_capture_on_commit_callbacks)
    assert OptOut.objects.filter(number=CAROL_PHONE).exists()
    refused = alice.post("sms", {"text": "Reminder", "contact_ids": [carol_phone["carol"]]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "contact_ids", 0] and "opted out" in refused.json()["detail"][0]["msg"]
    post_all(twilio, "sms-inbound", [sms_inbound("SMin3", "START")], django_capture_on_commit_callbacks)
    assert not OptOut.objects.exists()


def test_inbound_sms_is_answered_with_empty_twiml(twilio, carol_phone, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = twilio.post("sms-inbound", sms_inbound("SMx", "hi"))
    assert response["Content-Type"].startswith("text/xml") and b"<Response" in response.content


# --- calls logged by hand and who sees what ---------------------------------------------


def test_a_call_logged_by_hand_takes_the_webhooks_path(alice, carol_phone):
    done = alice.post("calls/log", {"contact_id": carol_phone["carol"], "status": "completed", "duration_seconds": 300, "notes": "Talked pricing"})
    assert done.status_code == 201, done.content
    assert done.json()["touchpoint_id"] in timeline_ids(alice, carol_phone)
    busy = alice.post("calls/log", {"contact_id": carol_phone["carol"], "status": "busy"}).json()
    assert busy["touchpoint_id"] not in timeline_ids(alice, carol_phone)
    assert [c["status"] for c in alice.get("calls", contact_id=carol_phone["carol"]).json()["items"]] == ["busy", "completed"]
    bad = alice.post("calls/log", {"contact_id": carol_phone["carol"], "status": "ringing"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]


def test_outsiders_do_not_see_the_call_log_of_contacts_they_cannot_see(twilio, alice, bob, charlie, carol_phone, django_capture_on_commit_callbacks):
    post_all(twilio, "voice-status", [voice("CAp", "completed", duration=20)], django_capture_on_commit_callbacks)
    call_id = Call.objects.get().id
    assert [c["id"] for c in bob.get("calls").json()["items"]] == [call_id]
    assert charlie.get("calls").json()["items"] == []
    assert charlie.get(f"calls/{call_id}").status_code == 404
    assert charlie.post("calls/log", {"contact_id": carol_phone["carol"], "status": "completed"}).status_code == 422


@pytest.mark.django_db(transaction=True)
def test_a_retry_outside_any_transaction_is_stored_once(admin, settings):
    """The webhook stores with one autocommit INSERT (telephony.inbox): a
    retry with the same token fails that INSERT alone and changes nothing."""
    from telephony.inbox import do_receive_webhook

    assert do_receive_webhook("twilio", "voice-status", voice("CAauto", "ringing"), "token-1") is True
    assert do_receive_webhook("twilio", "voice-status", voice("CAauto", "ringing"), "token-1") is False
    assert do_receive_webhook("twilio", "voice-status", voice("CAauto", "completed", duration=9), "token-2") is True
    assert WebhookEvent.objects.count() == 2
    assert Call.objects.get(provider_call_id="CAauto").status == "completed"  # drained in-process (Huey immediate)
