"""Sending SMS and click-to-call through the providers' SDKs, against a
loopback stand-in of their REST APIs (no test leaves the machine)."""
from __future__ import annotations

import re

import pytest

from telephony.models import Call, Sms
from telephony.tests.conftest import CAROL_PHONE, OUR_NUMBER, voice


@pytest.fixture
def carol_phone(alice, world):
    alice.patch(f"contacts/{world['carol']}", {"phones": [CAROL_PHONE]})
    return world


def test_sms_to_a_contact_goes_through_the_provider_and_is_a_dispatched_touchpoint(alice, carol_phone, twilio_api):
    response = alice.post("sms", {"text": "See you at 3pm", "contact_ids": [carol_phone["carol"]]})
    assert response.status_code == 201, response.content
    (result,) = response.json()["results"]
    assert (result["to"], result["status"]) == (CAROL_PHONE, "dispatched")
    (request,) = twilio_api.requests
    assert request.path.endswith("/Messages.json")
    assert (request.form["To"], request.form["From"], request.form["Body"]) == (CAROL_PHONE, OUR_NUMBER, "See you at 3pm")
    assert request.form["StatusCallback"] == "http://testserver/webhooks/twilio/sms-status"
    tp = alice.get(f"touchpoints/{result['touchpoint_id']}").json()
    assert (tp["kind"], tp["status"], tp["direction"], tp["owner_id"]) == ("sms", "dispatched", "outbound", alice.user.id)
    assert alice.get(f"contacts/{carol_phone['carol']}").json()["last_contacted_via"] == "SMS"


def test_a_status_callback_then_completes_the_sent_message(alice, carol_phone, twilio_api, twilio, django_capture_on_commit_callbacks):
    from telephony.tests.conftest import sms_status

    result = alice.post("sms", {"text": "Hi", "contact_ids": [carol_phone["carol"]]}).json()["results"][0]
    sid = Sms.objects.get(id=result["sms_id"]).provider_message_id
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("sms-status", sms_status(sid, "delivered"))
    assert Sms.objects.get(id=result["sms_id"]).status == "delivered"
    assert Sms.objects.count() == 1


def test_a_message_the_provider_refuses_is_kept_as_failed_with_its_error(alice, carol_phone, twilio_api):
    twilio_api.fail_next(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
    result = alice.post("sms", {"text": "Hi", "contact_ids": [carol_phone["carol"]]}).json()["results"][0]
    assert result["status"] == "failed" and "not a valid phone number" in result["error"]
    assert alice.get(f"contacts/{carol_phone['carol']}").json()["last_contacted_on"] is None


def test_sms_needs_a_body_a_phone_and_a_visible_contact(alice, charlie, carol_phone, twilio_api):
    dave = carol_phone["dave"]
    response = alice.post("sms", {"text": " ", "contact_ids": [dave]})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("body", "text"), ("body", "contact_ids", 0)}
    hidden = charlie.post("sms", {"text": "Hi", "contact_ids": [carol_phone["carol"]]})
    assert hidden.status_code == 422 and hidden.json()["detail"][0]["msg"] == f"contact {carol_phone['carol']} not found"
    assert twilio_api.requests == []


def test_without_a_provider_sending_is_a_clear_422(alice, carol_phone):
    response = alice.post("sms", {"text": "Hi", "contact_ids": [carol_phone["carol"]]})
    assert response.status_code == 422 and "no telephony provider" in response.json()["detail"][0]["msg"]


def test_click_to_call_rings_the_user_then_dials_the_contact(alice, carol_phone, twilio_api, twilio, django_capture_on_commit_callbacks):
    assert alice.patch("me", {"phone": "(202) 555-0177"}).json()["phone"] == "+12025550177"
    response = alice.post("calls", {"contact_id": carol_phone["carol"]})
    assert response.status_code == 201, response.content
    call = response.json()
    assert (call["status"], call["to_number"], call["contact_id"], call["user_id"]) == ("queued", CAROL_PHONE, carol_phone["carol"], alice.user.id)
    (request,) = twilio_api.requests
    assert request.path.endswith("/Calls.json") and request.form["To"] == "+12025550177" and request.form["From"] == OUR_NUMBER
    answer_url = request.form["Url"]
    # Twilio asks the answer URL (signed) for the markup that dials Carol.
    markup = twilio.post(answer_url.removeprefix("http://testserver/webhooks/twilio/"), {"CallSid": call["provider_call_id"]})
    assert markup.status_code == 200 and CAROL_PHONE.encode() in markup.content and b"<Dial" in markup.content
    # The legs' status callbacks complete the same call record: the user's
    # leg (its URL from the API request), the contact's (from the markup).
    user_leg = request.form["StatusCallback"].removeprefix("http://testserver/webhooks/twilio/voice-status")
    contact_leg = re.search(rb'statusCallback="http://testserver/webhooks/twilio/voice-status([^"]+)"', markup.content).group(1).decode().replace("&amp;", "&")
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("voice-status", voice("CAchild", "in-progress", frm=OUR_NUMBER, to=CAROL_PHONE, direction="outbound-dial"), query=contact_leg)
        twilio.post("voice-status", voice("CAchild", "completed", frm=OUR_NUMBER, to=CAROL_PHONE, direction="outbound-dial", duration=230), query=contact_leg)
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("voice-status", voice(call["provider_call_id"], "completed", frm=OUR_NUMBER, to="+12025550177", direction="outbound-api", duration=240), query=user_leg)
    done = Call.objects.get(id=call["id"])
    assert (done.status, done.duration_seconds, done.contact_id) == ("completed", 230, carol_phone["carol"])
    assert Call.objects.count() == 1
    assert alice.get(f"contacts/{carol_phone['carol']}").json()["last_contacted_via"] == "Phone Call"


def test_a_click_to_call_the_contact_did_not_answer_is_no_answer(alice, carol_phone, twilio_api, twilio, django_capture_on_commit_callbacks):
    call = alice.post("calls", {"contact_id": carol_phone["carol"], "agent_number": "+12025550177"}).json()
    (request,) = twilio_api.requests
    user_leg = request.form["StatusCallback"].removeprefix("http://testserver/webhooks/twilio/voice-status")
    contact_leg = f"?call={call['id']}&leg=contact"
    with django_capture_on_commit_callbacks(execute=True):
        # The user hangs up after hearing it ring out (the user's leg ends "completed").
        twilio.post("voice-status", voice(call["provider_call_id"], "completed", frm=OUR_NUMBER, to="+12025550177", direction="outbound-api", duration=35), query=user_leg)
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post("voice-status", voice("CAchild2", "no-answer", frm=OUR_NUMBER, to=CAROL_PHONE, direction="outbound-dial"), query=contact_leg)
    assert Call.objects.get(id=call["id"]).status == "no_answer"
    assert alice.get(f"contacts/{carol_phone['carol']}").json()["last_contacted_on"] is None


def test_click_to_call_needs_the_users_phone(alice, carol_phone, twilio_api):
    response = alice.post("calls", {"contact_id": carol_phone["carol"]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "agent_number"]


def test_a_provider_refusing_the_call_is_502_and_the_call_is_failed(alice, carol_phone, twilio_api):
    twilio_api.fail_next(401, {"code": 20003, "message": "Authenticate", "status": 401})
    response = alice.post("calls", {"contact_id": carol_phone["carol"], "agent_number": "+12025550177"})
    assert response.status_code == 502 and "Authenticate" in response.json()["detail"]
    assert Call.objects.get().status == "failed"


def test_only_admins_set_providers_and_tokens_are_never_shown(admin, alice, twilio):
    assert alice.get("telephony/providers").status_code == 403
    assert alice.put("telephony/providers/twilio", {"auth_token": "x"}).status_code == 403
    listed = admin.get("telephony/providers").json()
    assert listed[0]["webhook_urls"]["sms-inbound"] == "http://testserver/webhooks/twilio/sms-inbound"
    assert "auth_token" not in listed[0] and "twilio-auth-token" not in str(listed)
