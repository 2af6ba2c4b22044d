"""Fixtures for telephony: a configured Twilio account, signed webhook
requests made with the providers' own SDK functions, Huey in-process."""
from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache
from django.test import Client
from huey.contrib.djhuey import HUEY
from twilio.request_validator import RequestValidator

from telephony.services import do_set_provider_account
from telephony.tests.standin import provider_standin  # noqa: F401 - a fixture

TWILIO_TOKEN = "twilio-auth-token-for-tests"
OUR_NUMBER = "+12025550100"
CAROL_PHONE = "+12025550143"
_tokens = itertools.count(1)


@pytest.fixture(autouse=True)
def huey_in_process():
    before = HUEY.immediate
    HUEY.immediate = True
    cache.clear()  # credentials are cached per process (telephony.services.credentials)
    yield
    HUEY.immediate = before
    cache.clear()


@pytest.fixture
def twilio(admin, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    do_set_provider_account(admin.user, "twilio", {"account_id": "AC" + "0" * 32, "auth_token": TWILIO_TOKEN, "from_number": OUR_NUMBER, "is_default": True})
    return TwilioHooks()


class TwilioHooks:
    """Posts Twilio's form-encoded callbacks, signed as Twilio signs them."""

    def __init__(self):
        self.client = Client()

    def post(self, kind: str, params: dict, *, token: str = TWILIO_TOKEN, idempotency: str | None = "auto", query: str = "", signature: str | None = "auto"):
        path = f"/webhooks/twilio/{kind}{query}"
        headers = {}
        if signature == "auto":
            signature = RequestValidator(token).compute_signature(f"http://testserver{path}", params)
        if signature is not None:
            headers["HTTP_X_TWILIO_SIGNATURE"] = signature
        if idempotency == "auto":
            idempotency = f"idem-{next(_tokens)}"
        if idempotency:
            headers["HTTP_I_TWILIO_IDEMPOTENCY_TOKEN"] = idempotency
        return self.client.post(path, params, **headers)


def voice(call_sid: str, status: str, *, frm: str = CAROL_PHONE, to: str = OUR_NUMBER, direction: str = "inbound", duration: int | None = None, seq: int = 0) -> dict:
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": direction,
        "From": frm,
        "To": to,
        "SequenceNumber": str(seq),
        "Timestamp": "Tue, 01 Dec 2026 10:00:00 +0000",
        "ApiVersion": "2010-04-01",
    }
    if duration is not None:
        params["CallDuration"] = str(duration)
    return params


def sms_status(message_sid: str, status: str, *, to: str = CAROL_PHONE, frm: str = OUR_NUMBER, error: str | None = None) -> dict:
    params = {"AccountSid": "AC" + "0" * 32, "MessageSid": message_sid, "SmsSid": message_sid, "MessageStatus": status, "SmsStatus": status, "To": to, "From": frm, "ApiVersion": "2010-04-01"}
    if error:
        params["ErrorCode"] = error
    return params


def sms_inbound(message_sid: str, body: str, *, frm: str = CAROL_PHONE, to: str = OUR_NUMBER) -> dict:
    return {"AccountSid": "AC" + "0" * 32, "MessageSid": message_sid, "SmsSid": message_sid, "SmsStatus": "received", "Body": body, "From": frm, "To": to, "NumMedia": "0", "ApiVersion": "2010-04-01"}


@pytest.fixture
def twilio_api(twilio, admin, provider_standin):
    """The Twilio account pointed at the loopback stand-in of Twilio's REST API."""
    do_set_provider_account(admin.user, "twilio", {"api_base": provider_standin.base_url})
    return provider_standin
