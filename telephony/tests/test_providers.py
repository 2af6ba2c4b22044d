"""The provider adapters on their own (no database): signatures made with the
providers' own SDK functions, the providers' documented webhook payloads,
and REST calls answered by the loopback stand-in (telephony.tests.standin).
"""
from __future__ import annotations

import base64
import hmac
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from hashlib import sha256

import pytest
from django.http import QueryDict
from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3
from twilio.request_validator import RequestValidator

from telephony.providers import (
    CALL_STATUSES,
    SMS_STATUSES,
    Credentials,
    PayloadError,
    ProviderError,
    get_provider,
)
from telephony.providers.base import normalize_number
from telephony.tests.standin import ProviderStandin, provider_standin  # noqa: F401 (fixture)

twilio = get_provider("twilio")
plivo = get_provider("plivo")

TWILIO_SID = "AC3f7b5e2c9d1a4b6e8f0a2c4e6b8d0f1a"
TWILIO_TOKEN = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
PLIVO_ID = "MAODZKMDFJZTIZZTJLMZ"
PLIVO_TOKEN = "ZmY0YzRkNGQ5ZDAxYjM3MGQ5ZWY5OGYxYTkwNWQ4"

CRM_NUMBER = "+14155550142"
AGENT = "+14155550123"
CONTACT = "+14155552671"


# --- signing with the SDKs ------------------------------------------------------------


def twilio_headers(url: str, params: dict, token: str = TWILIO_TOKEN, **extra) -> dict:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params), **extra}


def plivo_v3_headers(url: str, params: dict, token: str = PLIVO_TOKEN, nonce: str = "60917391548734551203", method: str = "POST") -> dict:
    base = construct_post_url(url, dict(params)) if method == "POST" else construct_get_url(url, dict(params))
    signature = get_signature_v3(token, base.decode("utf-8"), nonce).decode("utf-8")
    return {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce}


def plivo_v2_headers(url: str, token: str = PLIVO_TOKEN, nonce: str = "05429567804466091622") -> dict:
    # V2 (Plivo's documented scheme): HMAC-SHA256 of the URL without its query, then the nonce.
    signed = url.split("?")[0] + nonce
    digest = hmac.new(token.encode(), signed.encode(), sha256).digest()
    return {"X-Plivo-Signature-V2": base64.b64encode(digest).decode(), "X-Plivo-Signature-V2-Nonce": nonce}


TWILIO_CREDS = Credentials(TWILIO_SID, TWILIO_TOKEN)
PLIVO_CREDS = Credentials(PLIVO_ID, PLIVO_TOKEN)

# --- realistic payloads (the providers' documented webhook fields) -----------------------

TWILIO_VOICE_COMPLETED = {
    "AccountSid": TWILIO_SID,
    "ApiVersion": "2010-04-01",
    "CallSid": "CA5f0e1d2c3b4a59687766554433221100",
    "CallStatus": "completed",
    "CallDuration": "42",
    "Duration": "1",
    "Called": AGENT,
    "Caller": CRM_NUMBER,
    "Direction": "outbound-api",
    "From": CRM_NUMBER,
    "To": AGENT,
    "CallbackSource": "call-progress-events",
    "SequenceNumber": "3",
    "Timestamp": "Tue, 12 Mar 2024 15:30:09 +0000",
    "SipResponseCode": "200",
    "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC3f/Recordings/RE12ab",
    "RecordingSid": "RE12ab",
    "RecordingDuration": "40",
}

TWILIO_SMS_STATUS = {
    "AccountSid": TWILIO_SID,
    "ApiVersion": "2010-04-01",
    "MessageSid": "SM1f2e3d4c5b6a79887766554433221100",
    "SmsSid": "SM1f2e3d4c5b6a79887766554433221100",
    "MessageStatus": "delivered",
    "SmsStatus": "delivered",
    "From": CRM_NUMBER,
    "To": CONTACT,
    "RawDlrDoneDate": "2403121531",
}

TWILIO_SMS_INBOUND = {
    "AccountSid": TWILIO_SID,
    "ApiVersion": "2010-04-01",
    "MessageSid": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
    "SmsMessageSid": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
    "SmsSid": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
    "SmsStatus": "received",
    "From": CONTACT,
    "To": CRM_NUMBER,
    "Body": "Yes, Thursday works for the demo.",
    "NumMedia": "0",
    "NumSegments": "1",
    "FromCity": "SAN FRANCISCO",
    "FromState": "CA",
    "FromCountry": "US",
    "FromZip": "94105",
    "ToCountry": "US",
}

PLIVO_HANGUP = {
    "ALegRequestUUID": "9b7ec2d4-2f63-11ef-a0a6-0242ac110002",
    "ALegUUID": "a4f0c1b2-2f63-11ef-9c3c-0242ac110002",
    "AnswerTime": "2024-03-12 15:29:27",
    "BillDuration": "60",
    "BillRate": "0.0085",
    "CallStatus": "completed",
    "CallUUID": "a4f0c1b2-2f63-11ef-9c3c-0242ac110002",
    "Direction": "outbound",
    "Duration": "42",
    "EndTime": "2024-03-12 15:30:09",
    "Event": "Hangup",
    "From": "14155550142",
    "HangupCause": "NORMAL_CLEARING",
    "HangupCauseCode": "4000",
    "HangupCauseName": "Normal Hangup",
    "HangupSource": "Callee",
    "RequestUUID": "9b7ec2d4-2f63-11ef-a0a6-0242ac110002",
    "SessionStart": "2024-03-12 15:29:20.531541",
    "StartTime": "2024-03-12 15:29:20",
    "To": "14155550123",
    "TotalCost": "0.00850",
}

PLIVO_DIAL_HANGUP = {
    "CallUUID": "a4f0c1b2-2f63-11ef-9c3c-0242ac110002",
    "DialAction": "hangup",
    "DialALegUUID": "a4f0c1b2-2f63-11ef-9c3c-0242ac110002",
    "DialBLegUUID": "c7d8e9f0-2f63-11ef-b1b2-0242ac110002",
    "DialBLegStatus": "hangup",
    "DialBLegFrom": "14155550142",
    "DialBLegTo": "14155552671",
    "DialBLegDuration": "38",
    "DialBLegBillDuration": "60",
    "DialBLegHangupCause": "NORMAL_CLEARING",
    "Direction": "outbound",
    "From": "14155550142",
    "To": "14155550123",
    "CallStatus": "in-progress",
    "Event": "DialHangup",
}

PLIVO_SMS_STATUS = {
    "From": "14155550142",
    "To": "14155552671",
    "MessageUUID": "e6f1d2c4-2f63-11ef-8d8e-0242ac110003",
    "Status": "delivered",
    "ErrorCode": "",
    "TotalAmount": "0.00500",
    "TotalRate": "0.00500",
    "Units": "1",
    "MCC": "310",
    "MNC": "004",
    "PartInfo": "1 of 1",
    "Sequence": "1",
    "ParentMessageUUID": "e6f1d2c4-2f63-11ef-8d8e-0242ac110003",
    "MessageTime": "2024-03-12 15:31:02",
}

PLIVO_SMS_INBOUND = {
    "From": "14155552671",
    "To": "14155550142",
    "Text": "Yes, Thursday works for the demo.",
    "Type": "sms",
    "MessageUUID": "f0a1b2c3-2f63-11ef-8d8e-0242ac110003",
    "TotalAmount": "0",
    "TotalRate": "0",
    "Units": "1",
    "MessageIntent": "",
    "PowerpackUUID": "",
}

STATUS_URL = "https://crm.example.com/webhooks/twilio/voice-status"
PLIVO_STATUS_URL = "https://crm.example.com/webhooks/plivo/voice-status"


# --- get_provider --------------------------------------------------------------------------


def test_get_provider_knows_both_and_nothing_else():
    assert twilio.name == "twilio" and plivo.name == "plivo"
    assert get_provider("Twilio") is twilio
    with pytest.raises(KeyError):
        get_provider("nexmo")


# --- Twilio signatures ------------------------------------------------------------------------


def test_twilio_accepts_a_request_signed_with_the_sdk():
    headers = twilio_headers(STATUS_URL, TWILIO_VOICE_COMPLETED)
    assert twilio.verify(TWILIO_CREDS, url=STATUS_URL, method="POST", params=TWILIO_VOICE_COMPLETED, headers=headers)


def test_twilio_accepts_djangos_querydict_and_lowercase_headers():
    form = QueryDict(mutable=True)
    form.update(TWILIO_VOICE_COMPLETED)
    headers = {k.lower(): v for k, v in twilio_headers(STATUS_URL, TWILIO_VOICE_COMPLETED).items()}
    assert twilio.verify(TWILIO_CREDS, url=STATUS_URL, method="POST", params=form, headers=headers)


def test_twilio_signs_the_query_string_and_tolerates_the_default_port():
    url = f"{STATUS_URL}?call=17"
    headers = twilio_headers(url, TWILIO_VOICE_COMPLETED)
    assert twilio.verify(TWILIO_CREDS, url=url, method="POST", params=TWILIO_VOICE_COMPLETED, headers=headers)
    with_port = "https://crm.example.com:443/webhooks/twilio/voice-status?call=17"
    assert twilio.verify(TWILIO_CREDS, url=with_port, method="POST", params=TWILIO_VOICE_COMPLETED, headers=headers)
    assert not twilio.verify(TWILIO_CREDS, url=f"{STATUS_URL}?call=18", method="POST", params=TWILIO_VOICE_COMPLETED, headers=headers)


def test_twilio_get_requests_are_signed_on_the_url_alone():
    url = f"{STATUS_URL}?" + "&".join(f"{k}={v}" for k, v in [("CallSid", "CA1"), ("CallStatus", "ringing")])
    headers = {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, {})}
    query = {"CallSid": "CA1", "CallStatus": "ringing"}
    assert twilio.verify(TWILIO_CREDS, url=url, method="GET", params=query, headers=headers)


def test_twilio_sha256_shared_key_signatures_follow_the_settings_header():
    validator = RequestValidator(TWILIO_TOKEN)
    signature = validator.compute_signature(STATUS_URL, TWILIO_VOICE_COMPLETED, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    assert twilio.verify(TWILIO_CREDS, url=STATUS_URL, method="POST", params=TWILIO_VOICE_COMPLETED, headers=headers)
    headers["X-Twilio-Webhooks-Signature-Settings"] = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA1"
    assert not twilio.verify(TWILIO_CREDS, url=STATUS_URL, method="POST", params=TWILIO_VOICE_COMPLETED, headers=headers)


@pytest.mark.parametrize(
    "case",
    ["tampered", "added", "removed", "wrong_token", "no_header", "empty_header", "other_url", "other_scheme", "empty_token"],
)
def test_twilio_rejects_forged_or_unsigned_requests(case):
    params = dict(TWILIO_VOICE_COMPLETED)
    headers = twilio_headers(STATUS_URL, params)
    url, creds = STATUS_URL, TWILIO_CREDS
    if case == "tampered":
        params["CallDuration"] = "4200"
    elif case == "added":
        params["RecordingUrl2"] = "https://evil.example/x"
    elif case == "removed":
        del params["RecordingUrl"]
    elif case == "wrong_token":
        headers = twilio_headers(STATUS_URL, params, token="0" * 32)
    elif case == "no_header":
        headers = {}
    elif case == "empty_header":
        headers = {"X-Twilio-Signature": ""}
    elif case == "other_url":
        url = "https://crm.example.com/webhooks/twilio/sms-status"
    elif case == "other_scheme":
        url = STATUS_URL.replace("https://", "http://")
    elif case == "empty_token":
        creds = Credentials(TWILIO_SID, "")
    assert twilio.verify(creds, url=url, method="POST", params=params, headers=headers) is False


def test_twilio_replay_key_is_the_idempotency_token():
    assert twilio.replay_key({"I-Twilio-Idempotency-Token": "abc-123"}, {}) == "abc-123"
    assert twilio.replay_key({"i-twilio-idempotency-token": "abc-123"}, {}) == "abc-123"
    assert twilio.replay_key({}, {}) is None


# --- Plivo signatures -------------------------------------------------------------------------


def test_plivo_accepts_a_v3_signature_made_with_the_sdk():
    headers = plivo_v3_headers(PLIVO_STATUS_URL, PLIVO_HANGUP)
    assert plivo.verify(PLIVO_CREDS, url=PLIVO_STATUS_URL, method="POST", params=PLIVO_HANGUP, headers=headers)


def test_plivo_v3_covers_the_query_string_and_querydict_forms():
    url = f"{PLIVO_STATUS_URL}?call=17&b=2"
    headers = plivo_v3_headers(url, PLIVO_HANGUP)
    form = QueryDict(mutable=True)
    form.update(PLIVO_HANGUP)
    assert plivo.verify(PLIVO_CREDS, url=url, method="POST", params=form, headers=headers)
    assert not plivo.verify(PLIVO_CREDS, url=f"{PLIVO_STATUS_URL}?call=18&b=2", method="POST", params=form, headers=headers)


def test_plivo_v3_get_requests():
    url = f"{PLIVO_STATUS_URL}?CallUUID=a4f0&CallStatus=ringing"
    headers = plivo_v3_headers(url, {}, method="GET")
    assert plivo.verify(PLIVO_CREDS, url=url, method="GET", params={"CallUUID": "a4f0", "CallStatus": "ringing"}, headers=headers)
    forged = url.replace("ringing", "completed")
    assert not plivo.verify(PLIVO_CREDS, url=forged, method="GET", params={"CallUUID": "a4f0", "CallStatus": "completed"}, headers=headers)


def test_plivo_v3_accepts_any_of_several_signatures_and_the_main_account_header():
    good = plivo_v3_headers(PLIVO_STATUS_URL, PLIVO_HANGUP)
    other = plivo_v3_headers(PLIVO_STATUS_URL, PLIVO_HANGUP, token="x" * 40)
    combined = {**good, "X-Plivo-Signature-V3": other["X-Plivo-Signature-V3"] + "," + good["X-Plivo-Signature-V3"]}
    assert plivo.verify(PLIVO_CREDS, url=PLIVO_STATUS_URL, method="POST", params=PLIVO_HANGUP, headers=combined)
    main = {"X-Plivo-Signature-Ma-V3": good["X-Plivo-Signature-V3"], "X-Plivo-Signature-V3-Nonce": good["X-Plivo-Signature-V3-Nonce"]}
    assert plivo.verify(PLIVO_CREDS, url=PLIVO_STATUS_URL, method="POST", params=PLIVO_HANGUP, headers=main)


@pytest.mark.parametrize(
    "case",
    ["tampered", "added", "wrong_token", "no_headers", "no_nonce", "other_nonce", "other_url", "other_scheme", "empty_token"],
)
def test_plivo_rejects_forged_or_unsigned_requests(case):
    params = dict(PLIVO_HANGUP)
    headers = plivo_v3_headers(PLIVO_STATUS_URL, params)
    url, creds = PLIVO_STATUS_URL, PLIVO_CREDS
    if case == "tampered":
        params["Duration"] = "4200"
    elif case == "added":
        params["RecordUrl"] = "https://evil.example/x.mp3"
    elif case == "wrong_token":
        headers = plivo_v3_headers(PLIVO_STATUS_URL, params, token="y" * 40)
    elif case == "no_headers":
        headers = {}
    elif case == "no_nonce":
        del headers["X-Plivo-Signature-V3-Nonce"]
    elif case == "other_nonce":
        headers["X-Plivo-Signature-V3-Nonce"] = "11111111111111111111"
    elif case == "other_url":
        url = "https://crm.example.com/webhooks/plivo/sms-status"
    elif case == "other_scheme":
        url = PLIVO_STATUS_URL.replace("https://", "http://")
    elif case == "empty_token":
        creds = Credentials(PLIVO_ID, "")
    assert plivo.verify(creds, url=url, method="POST", params=params, headers=headers) is False


def test_plivo_falls_back_to_v2_only_without_v3():
    v2 = plivo_v2_headers(PLIVO_STATUS_URL)
    assert plivo.verify(PLIVO_CREDS, url=PLIVO_STATUS_URL, method="POST", params=PLIVO_HANGUP, headers=v2)
    assert not plivo.verify(PLIVO_CREDS, url=PLIVO_STATUS_URL, method="POST", params=PLIVO_HANGUP, headers=plivo_v2_headers(PLIVO_STATUS_URL, token="z" * 40))
    # A V3 header that fails is not rescued by a V2 one.
    bad_v3 = plivo_v3_headers(PLIVO_STATUS_URL, PLIVO_HANGUP, token="z" * 40)
    assert not plivo.verify(PLIVO_CREDS, url=PLIVO_STATUS_URL, method="POST", params=PLIVO_HANGUP, headers={**v2, **bad_v3})


def test_plivo_replay_key_is_the_nonce():
    assert plivo.replay_key(plivo_v3_headers(PLIVO_STATUS_URL, {}, nonce="123"), {}) == "123"
    assert plivo.replay_key(plivo_v2_headers(PLIVO_STATUS_URL, nonce="456"), {}) == "456"
    assert plivo.replay_key({}, {}) is None


# --- Twilio payloads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_status", "duration", "expected"),
    [
        ("queued", None, "queued"),
        ("initiated", None, "queued"),
        ("ringing", None, "ringing"),
        ("in-progress", None, "in_progress"),
        ("completed", "42", "completed"),
        ("completed", "5", "completed"),
        ("completed", "4", "hangup"),
        ("completed", "0", "hangup"),
        ("completed", None, "completed"),
        ("busy", "0", "busy"),
        ("no-answer", "0", "no_answer"),
        ("failed", "0", "failed"),
        ("canceled", "0", "canceled"),
    ],
)
def test_twilio_call_statuses(provider_status, duration, expected):
    params = dict(TWILIO_VOICE_COMPLETED, CallStatus=provider_status)
    params.pop("CallDuration")
    if duration is not None:
        params["CallDuration"] = duration
    event = twilio.parse_voice_status(params)
    assert event.status == expected and event.status in CALL_STATUSES
    assert event.provider_status == provider_status
    assert event.duration_seconds == (int(duration) if duration is not None else None)


def test_twilio_hangup_threshold_is_a_setting(settings):
    settings.TELEPHONY_HANGUP_SECONDS = 10
    assert twilio.parse_voice_status(dict(TWILIO_VOICE_COMPLETED, CallDuration="9")).status == "hangup"
    settings.TELEPHONY_HANGUP_SECONDS = 0
    assert twilio.parse_voice_status(dict(TWILIO_VOICE_COMPLETED, CallDuration="0")).status == "completed"


def test_twilio_call_event_fields():
    event = twilio.parse_voice_status(TWILIO_VOICE_COMPLETED)
    assert event.provider == "twilio"
    assert event.call_id == "CA5f0e1d2c3b4a59687766554433221100"
    assert (event.direction, event.from_number, event.to_number) == ("outbound", CRM_NUMBER, AGENT)
    assert event.duration_seconds == 42  # CallDuration (seconds), not Duration (minutes)
    assert event.recording_url.endswith("/Recordings/RE12ab")
    assert event.occurred_at == datetime(2024, 3, 12, 15, 30, 9, tzinfo=UTC)
    assert event.sequence == 3
    assert event.error_code is None
    assert event.raw["CallbackSource"] == "call-progress-events"


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("inbound", "inbound"), ("outbound-api", "outbound"), ("outbound-dial", "outbound"), ("trunking-originating", "outbound")],
)
def test_twilio_directions(direction, expected):
    assert twilio.parse_voice_status(dict(TWILIO_VOICE_COMPLETED, Direction=direction)).direction == expected


def test_twilio_dialed_leg_names_its_parent_and_unsuccessful_calls_keep_the_sip_code():
    event = twilio.parse_voice_status(
        dict(
            TWILIO_VOICE_COMPLETED,
            CallSid="CA99",
            ParentCallSid="CA5f0e1d2c3b4a59687766554433221100",
            Direction="outbound-dial",
            From=CRM_NUMBER,
            To="(415) 555-2671",
            CallStatus="busy",
            CallDuration="0",
            SipResponseCode="486",
        )
    )
    assert event.parent_call_id == "CA5f0e1d2c3b4a59687766554433221100"
    assert (event.status, event.error_code, event.to_number) == ("busy", "486", CONTACT)
    failed = twilio.parse_voice_status(dict(TWILIO_VOICE_COMPLETED, CallStatus="failed", ErrorCode="13224", SipResponseCode="404"))
    assert failed.error_code == "13224"


def test_twilio_voice_payload_errors_name_the_field():
    for missing in ("CallSid", "CallStatus", "Direction"):
        params = dict(TWILIO_VOICE_COMPLETED)
        del params[missing]
        with pytest.raises(PayloadError) as err:
            twilio.parse_voice_status(params)
        assert err.value.field == missing
    for name, value in [("CallStatus", "teleported"), ("CallDuration", "long"), ("Timestamp", "yesterday"), ("Direction", "sideways")]:
        with pytest.raises(PayloadError) as err:
            twilio.parse_voice_status(dict(TWILIO_VOICE_COMPLETED, **{name: value}))
        assert err.value.field == name


@pytest.mark.parametrize(
    ("provider_status", "expected"),
    [
        ("accepted", "dispatched"),
        ("queued", "dispatched"),
        ("sending", "dispatched"),
        ("sent", "dispatched"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("failed", "failed"),
        ("undelivered", "failed"),
        ("canceled", "failed"),
        ("scheduled", "queued"),
    ],
)
def test_twilio_sms_statuses(provider_status, expected):
    event = twilio.parse_sms_status(dict(TWILIO_SMS_STATUS, MessageStatus=provider_status, SmsStatus=provider_status))
    assert event.status == expected and event.status in SMS_STATUSES
    assert event.provider_status == provider_status


def test_twilio_sms_status_fields_and_error_code():
    event = twilio.parse_sms_status(TWILIO_SMS_STATUS)
    assert (event.provider, event.message_id, event.direction) == ("twilio", "SM1f2e3d4c5b6a79887766554433221100", "outbound")
    assert (event.from_number, event.to_number, event.body) == (CRM_NUMBER, CONTACT, None)
    assert event.occurred_at == datetime(2024, 3, 12, 15, 31, tzinfo=UTC)
    assert event.error_code is None
    undelivered = twilio.parse_sms_status(dict(TWILIO_SMS_STATUS, MessageStatus="undelivered", SmsStatus="undelivered", ErrorCode="30003"))
    assert (undelivered.status, undelivered.error_code) == ("failed", "30003")
    # Older callbacks carry SmsSid/SmsStatus only.
    legacy = twilio.parse_sms_status({"SmsSid": "SM1", "SmsStatus": "sent", "From": CRM_NUMBER, "To": CONTACT})
    assert (legacy.message_id, legacy.status) == ("SM1", "dispatched")
    with pytest.raises(PayloadError) as err:
        twilio.parse_sms_status(dict(TWILIO_SMS_STATUS, MessageStatus="lost"))
    assert err.value.field == "MessageStatus"


def test_twilio_inbound_sms():
    event = twilio.parse_sms_inbound(TWILIO_SMS_INBOUND)
    assert (event.provider, event.direction, event.status) == ("twilio", "inbound", "received")
    assert event.message_id == "SMa1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert (event.from_number, event.to_number) == (CONTACT, CRM_NUMBER)
    assert event.body == "Yes, Thursday works for the demo."
    assert event.raw["FromCity"] == "SAN FRANCISCO"
    with pytest.raises(PayloadError) as err:
        twilio.parse_sms_inbound({k: v for k, v in TWILIO_SMS_INBOUND.items() if k != "From"})
    assert err.value.field == "From"


def test_numbers_that_are_not_phone_numbers_are_kept_as_sent():
    event = twilio.parse_voice_status(dict(TWILIO_VOICE_COMPLETED, From="client:alice", To="sip:bob@crm.example.com"))
    assert (event.from_number, event.to_number) == ("client:alice", "sip:bob@crm.example.com")
    assert normalize_number("12345") == "12345"  # a short code
    assert normalize_number("ACME") == "ACME"  # an alphanumeric sender id
    assert normalize_number("") == ""


# --- Plivo payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_status", "duration", "expected"),
    [
        ("ringing", None, "ringing"),
        ("in-progress", None, "in_progress"),
        ("completed", "42", "completed"),
        ("completed", "3", "hangup"),
        ("completed", "0", "hangup"),
        ("busy", "0", "busy"),
        ("no-answer", "0", "no_answer"),
        ("timeout", "0", "no_answer"),
        ("cancel", "0", "canceled"),
        ("failed", "0", "failed"),
    ],
)
def test_plivo_call_statuses(provider_status, duration, expected):
    params = dict(PLIVO_HANGUP, CallStatus=provider_status)
    params.pop("Duration")
    if duration is not None:
        params["Duration"] = duration
    else:
        params.pop("BillDuration")
    event = plivo.parse_voice_status(params)
    assert event.status == expected and event.status in CALL_STATUSES
    assert event.provider_status == provider_status


def test_plivo_call_event_fields():
    event = plivo.parse_voice_status(PLIVO_HANGUP)
    assert (event.provider, event.call_id, event.request_id) == ("plivo", PLIVO_HANGUP["CallUUID"], PLIVO_HANGUP["RequestUUID"])
    assert (event.direction, event.from_number, event.to_number) == ("outbound", CRM_NUMBER, AGENT)  # digits -> E.164
    assert event.duration_seconds == 42  # Duration, not the 60 s BillDuration
    assert event.occurred_at == datetime(2024, 3, 12, 15, 30, 9, tzinfo=UTC)  # EndTime of a finished call
    assert event.error_code is None and event.recording_url is None and event.sequence is None
    ringing = plivo.parse_voice_status({k: v for k, v in PLIVO_HANGUP.items() if k not in ("EndTime", "AnswerTime")} | {"CallStatus": "ringing"})
    assert ringing.occurred_at == datetime(2024, 3, 12, 15, 29, 20, tzinfo=UTC)
    inbound = plivo.parse_voice_status(dict(PLIVO_HANGUP, Direction="inbound", From="442071838750", RecordUrl="https://media.plivo.com/rec.mp3"))
    assert (inbound.direction, inbound.from_number, inbound.recording_url) == ("inbound", "+442071838750", "https://media.plivo.com/rec.mp3")


def test_plivo_unsuccessful_calls_keep_the_hangup_cause():
    busy = plivo.parse_voice_status(dict(PLIVO_HANGUP, CallStatus="busy", Duration="0", HangupCause="USER_BUSY", HangupCauseCode="3010", HangupCauseName="Busy Line"))
    assert (busy.status, busy.error_code) == ("busy", "3010")
    failed = plivo.parse_voice_status({k: v for k, v in PLIVO_HANGUP.items() if k != "HangupCauseCode"} | {"CallStatus": "failed", "HangupCause": "UNALLOCATED_NUMBER"})
    assert (failed.status, failed.error_code) == ("failed", "UNALLOCATED_NUMBER")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"DialAction": "answer", "DialBLegStatus": "answer", "DialBLegDuration": "0"}, "in_progress"),
        ({"DialAction": "connected", "DialBLegStatus": "connected", "DialBLegDuration": "0"}, "in_progress"),
        ({}, "completed"),
        ({"DialBLegDuration": "2"}, "hangup"),
        ({"DialBLegDuration": "0", "DialBLegHangupCause": "USER_BUSY"}, "busy"),
        ({"DialBLegDuration": "0", "DialBLegHangupCause": "NO_ANSWER"}, "no_answer"),
        ({"DialBLegDuration": "0", "DialBLegHangupCause": "ORIGINATOR_CANCEL"}, "canceled"),
        ({"DialBLegDuration": "0", "DialBLegHangupCause": "UNALLOCATED_NUMBER"}, "failed"),
        ({"DialBLegDuration": "0", "DialBLegHangupCause": "NORMAL_CLEARING"}, "hangup"),
    ],
)
def test_plivo_dial_callbacks_report_the_contacts_leg(changes, expected):
    event = plivo.parse_voice_status(dict(PLIVO_DIAL_HANGUP, **changes))
    assert event.status == expected
    assert event.call_id == PLIVO_DIAL_HANGUP["DialBLegUUID"]
    assert event.parent_call_id == PLIVO_DIAL_HANGUP["DialALegUUID"]
    assert (event.direction, event.from_number, event.to_number) == ("outbound", CRM_NUMBER, CONTACT)
    if expected in ("busy", "no_answer", "canceled", "failed"):
        assert event.error_code == changes["DialBLegHangupCause"]
    else:
        assert event.error_code is None


def test_plivo_voice_payload_errors_name_the_field():
    for missing in ("CallUUID", "CallStatus", "Direction"):
        with pytest.raises(PayloadError) as err:
            plivo.parse_voice_status({k: v for k, v in PLIVO_HANGUP.items() if k != missing})
        assert err.value.field == missing
    with pytest.raises(PayloadError) as err:
        plivo.parse_voice_status(dict(PLIVO_HANGUP, EndTime="last tuesday"))
    assert err.value.field == "EndTime"
    with pytest.raises(PayloadError) as err:
        plivo.parse_voice_status({k: v for k, v in PLIVO_DIAL_HANGUP.items() if k != "DialBLegUUID"})
    assert err.value.field == "DialBLegUUID"


@pytest.mark.parametrize(
    ("provider_status", "expected"),
    [
        ("queued", "dispatched"),
        ("sent", "dispatched"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("failed", "failed"),
        ("undelivered", "failed"),
        ("rejected", "failed"),
    ],
)
def test_plivo_sms_statuses(provider_status, expected):
    event = plivo.parse_sms_status(dict(PLIVO_SMS_STATUS, Status=provider_status))
    assert event.status == expected and event.provider_status == provider_status


def test_plivo_sms_status_fields_and_error_code():
    event = plivo.parse_sms_status(PLIVO_SMS_STATUS)
    assert (event.provider, event.message_id, event.direction) == ("plivo", PLIVO_SMS_STATUS["MessageUUID"], "outbound")
    assert (event.from_number, event.to_number) == (CRM_NUMBER, CONTACT)
    assert event.occurred_at == datetime(2024, 3, 12, 15, 31, 2, tzinfo=UTC)
    assert event.error_code is None
    failed = plivo.parse_sms_status(dict(PLIVO_SMS_STATUS, Status="undelivered", ErrorCode="200"))
    assert (failed.status, failed.error_code) == ("failed", "200")
    assert plivo.parse_sms_status(dict(PLIVO_SMS_STATUS, ErrorCode="000")).error_code is None
    with pytest.raises(PayloadError) as err:
        plivo.parse_sms_status({k: v for k, v in PLIVO_SMS_STATUS.items() if k != "MessageUUID"})
    assert err.value.field == "MessageUUID"


def test_plivo_inbound_sms():
    event = plivo.parse_sms_inbound(PLIVO_SMS_INBOUND)
    assert (event.provider, event.direction, event.status, event.provider_status) == ("plivo", "inbound", "received", "received")
    assert (event.from_number, event.to_number) == (CONTACT, CRM_NUMBER)
    assert event.body == "Yes, Thursday works for the demo."
    assert event.message_id == PLIVO_SMS_INBOUND["MessageUUID"]


def test_a_signed_webhook_round_trip():
    """What the webhook view does: verify, then parse, for each provider."""
    url = "https://crm.example.com/webhooks/twilio/sms-inbound"
    assert twilio.verify(TWILIO_CREDS, url=url, method="POST", params=TWILIO_SMS_INBOUND, headers=twilio_headers(url, TWILIO_SMS_INBOUND))
    assert twilio.parse_sms_inbound(TWILIO_SMS_INBOUND).from_number == CONTACT
    url = "https://crm.example.com/webhooks/plivo/sms-inbound"
    assert plivo.verify(PLIVO_CREDS, url=url, method="POST", params=PLIVO_SMS_INBOUND, headers=plivo_v3_headers(url, PLIVO_SMS_INBOUND))
    assert plivo.parse_sms_inbound(PLIVO_SMS_INBOUND).from_number == CONTACT


# --- REST through the stand-in --------------------------------------------------------------------


def test_twilio_send_sms_goes_to_the_standin(provider_standin):
    creds = Credentials(TWILIO_SID, TWILIO_TOKEN, api_base=provider_standin.base_url)
    provider_standin.tokens[TWILIO_SID] = TWILIO_TOKEN
    message_id, status = twilio.send_sms(
        creds, from_number=CRM_NUMBER, to_number=CONTACT, body="See you Thursday", status_callback_url="https://crm.example.com/webhooks/twilio/sms-status"
    )
    assert message_id.startswith("SM") and status == "dispatched"
    [request] = provider_standin.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    assert request.auth == (TWILIO_SID, TWILIO_TOKEN)
    assert request.form == {
        "To": CONTACT,
        "From": CRM_NUMBER,
        "Body": "See you Thursday",
        "StatusCallback": "https://crm.example.com/webhooks/twilio/sms-status",
    }


def test_twilio_start_call_calls_the_agent_and_asks_for_progress(provider_standin):
    creds = Credentials(TWILIO_SID, TWILIO_TOKEN, api_base=provider_standin.base_url + "/")
    call_id = twilio.start_call(
        creds,
        from_number=CRM_NUMBER,
        agent_number=AGENT,
        answer_url="https://crm.example.com/webhooks/twilio/voice-answer?call=17",
        status_callback_url=f"{STATUS_URL}?call=17",
    )
    assert call_id.startswith("CA")
    [request] = provider_standin.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Calls.json"
    assert request.form["To"] == AGENT and request.form["From"] == CRM_NUMBER
    assert request.form["Url"] == "https://crm.example.com/webhooks/twilio/voice-answer?call=17"
    assert request.form["StatusCallback"] == f"{STATUS_URL}?call=17"
    assert request.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]


def test_twilio_errors_carry_twilios_message_and_code(provider_standin):
    creds = Credentials(TWILIO_SID, TWILIO_TOKEN, api_base=provider_standin.base_url)
    provider_standin.fail_next(
        400, {"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
    )
    with pytest.raises(ProviderError) as err:
        twilio.send_sms(creds, from_number=CRM_NUMBER, to_number="+1555", body="hi", status_callback_url=None)
    assert err.value.message == "The 'To' number +1555 is not a valid phone number."
    assert (err.value.code, err.value.status) == ("21211", 400)
    provider_standin.tokens[TWILIO_SID] = "the-real-token"
    with pytest.raises(ProviderError) as err:
        twilio.start_call(creds, from_number=CRM_NUMBER, agent_number=AGENT, answer_url="https://crm.example.com/a", status_callback_url=None)
    assert (err.value.message, err.value.status) == ("Authenticate", 401)


def test_plivo_send_sms_goes_to_the_standin(provider_standin):
    creds = Credentials(PLIVO_ID, PLIVO_TOKEN, api_base=provider_standin.base_url)
    provider_standin.tokens[PLIVO_ID] = PLIVO_TOKEN
    message_id, status = plivo.send_sms(
        creds, from_number=CRM_NUMBER, to_number=CONTACT, body="See you Thursday", status_callback_url="https://crm.example.com/webhooks/plivo/sms-status"
    )
    assert status == "dispatched" and len(message_id) == 36
    [request] = provider_standin.requests
    assert (request.method, request.path) == ("POST", f"/v1/Account/{PLIVO_ID}/Message/")
    assert request.auth == (PLIVO_ID, PLIVO_TOKEN)
    assert request.json["src"] == "14155550142" and request.json["dst"] == "14155552671"
    assert request.json["text"] == "See you Thursday"
    assert (request.json["url"], request.json["method"]) == ("https://crm.example.com/webhooks/plivo/sms-status", "POST")


def test_plivo_start_call_returns_the_request_uuid(provider_standin):
    creds = Credentials(PLIVO_ID, PLIVO_TOKEN, api_base=provider_standin.base_url)
    request_uuid = plivo.start_call(
        creds,
        from_number=CRM_NUMBER,
        agent_number=AGENT,
        answer_url="https://crm.example.com/webhooks/plivo/voice-answer?call=17",
        status_callback_url=f"{PLIVO_STATUS_URL}?call=17",
    )
    assert len(request_uuid) == 36
    [request] = provider_standin.requests
    assert request.path == f"/v1/Account/{PLIVO_ID}/Call/"
    assert (request.json["from"], request.json["to"]) == ("14155550142", "14155550123")
    assert request.json["answer_url"] == "https://crm.example.com/webhooks/plivo/voice-answer?call=17"
    assert request.json["hangup_url"] == request.json["ring_url"] == f"{PLIVO_STATUS_URL}?call=17"


def test_plivo_errors_carry_plivos_message(provider_standin):
    creds = Credentials(PLIVO_ID, PLIVO_TOKEN, api_base=provider_standin.base_url)
    provider_standin.fail_next(400, {"api_id": "4e1f954c-baf3-11ec-bafe-0242ac110003", "error": "invalid 'dst' parameter"})
    with pytest.raises(ProviderError) as err:
        plivo.send_sms(creds, from_number=CRM_NUMBER, to_number="+1555", body="hi", status_callback_url=None)
    assert (err.value.message, err.value.status) == ("invalid 'dst' parameter", 400)
    # Voice requests are retried on 5xx (the SDK's fallback hosts): all three fail here.
    provider_standin.fail_next(500, {"api_id": "x", "error": "internal error"}, times=3)
    with pytest.raises(ProviderError) as err:
        plivo.start_call(creds, from_number=CRM_NUMBER, agent_number=AGENT, answer_url="https://crm.example.com/a", status_callback_url=None)
    assert err.value.message == "internal error"
    assert len(provider_standin.requests) == 4


def test_bad_credentials_and_unreachable_apis_are_provider_errors(provider_standin):
    with pytest.raises(ProviderError):
        plivo.send_sms(Credentials("not-an-auth-id", "t", api_base=provider_standin.base_url), from_number=CRM_NUMBER, to_number=CONTACT, body="x", status_callback_url=None)
    provider_standin.tokens[PLIVO_ID] = "the-real-token"
    with pytest.raises(ProviderError) as err:
        plivo.send_sms(Credentials(PLIVO_ID, "wrong", api_base=provider_standin.base_url), from_number=CRM_NUMBER, to_number=CONTACT, body="x", status_callback_url=None)
    assert err.value.status == 401
    closed = ProviderStandin().start()
    closed.stop()
    for provider, account in ((twilio, TWILIO_SID), (plivo, PLIVO_ID)):
        with pytest.raises(ProviderError):
            provider.send_sms(Credentials(account, "t", api_base=closed.base_url), from_number=CRM_NUMBER, to_number=CONTACT, body="x", status_callback_url=None)
    assert not closed.requests


# --- markup -----------------------------------------------------------------------------------------


def test_twilio_connect_markup_dials_the_contact():
    body, content_type = twilio.connect_markup(contact_number=CONTACT, caller_id=CRM_NUMBER, status_callback_url=f"{STATUS_URL}?call=17")
    assert content_type.startswith("text/xml")
    root = ET.fromstring(body)
    assert root.tag == "Response"
    [dial] = root
    assert dial.tag == "Dial" and dial.get("callerId") == CRM_NUMBER
    [number] = dial
    assert number.tag == "Number" and number.text == CONTACT
    assert number.get("statusCallback") == f"{STATUS_URL}?call=17"
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"
    bare, _ = twilio.connect_markup(contact_number=CONTACT, caller_id=CRM_NUMBER, status_callback_url=None)
    assert ET.fromstring(bare).find("Dial/Number").get("statusCallback") is None


def test_plivo_connect_markup_dials_the_contact():
    body, content_type = plivo.connect_markup(contact_number=CONTACT, caller_id=CRM_NUMBER, status_callback_url=PLIVO_STATUS_URL)
    assert content_type.startswith("text/xml")
    root = ET.fromstring(body)
    [dial] = root
    assert (root.tag, dial.tag, dial.get("callerId")) == ("Response", "Dial", "14155550142")
    assert (dial.get("callbackUrl"), dial.get("callbackMethod")) == (PLIVO_STATUS_URL, "POST")
    [number] = dial
    assert (number.tag, number.text) == ("Number", "14155552671")


@pytest.mark.parametrize("provider", [twilio, plivo], ids=["twilio", "plivo"])
def test_empty_markup_is_an_empty_response(provider):
    body, content_type = provider.empty_markup()
    root = ET.fromstring(body)
    assert root.tag == "Response" and len(root) == 0 and content_type.startswith("text/xml")
