"""Plivo's callbacks against the real endpoints, signed with Plivo's own V3
signature helpers (plivo.utils.signature_v3): voice and SMS statuses,
inbound SMS with STOP, every arrival order, forged and replayed requests."""
from __future__ import annotations

import itertools

import pytest
from django.test import Client
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3

from telephony.models import Call, OptOut, Sms, WebhookEvent
from telephony.services import do_set_provider_account
from telephony.tests.conftest import CAROL_PHONE, OUR_NUMBER

PLIVO_ID = "MAODZKMDFJZTIZZTJLMZ"
PLIVO_TOKEN = "ZmY0YzRkNGQ5ZDAxYjM3MGQ5ZWY5OGYxYTkwNWQ4"
_nonces = itertools.count(10_000_000_000_000_000_000)


@pytest.fixture
def plivo(admin, alice, world, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    do_set_provider_account(admin.user, "plivo", {"account_id": PLIVO_ID, "auth_token": PLIVO_TOKEN, "from_number": OUR_NUMBER})
    alice.patch(f"contacts/{world['carol']}", {"phones": [CAROL_PHONE]})
    return Client()


def post(client, kind: str, params: dict, *, token: str = PLIVO_TOKEN, nonce: str | None = None, signature: str | None = "auto"):
    url = f"http://testserver/webhooks/plivo/{kind}"
    nonce = nonce or str(next(_nonces))
    headers = {"HTTP_X_PLIVO_SIGNATURE_V3_NONCE": nonce}
    if signature == "auto":
        signature = get_signature_v3(token, construct_post_url(url, dict(params)).decode(), nonce).decode()
    if signature is not None:
        headers["HTTP_X_PLIVO_SIGNATURE_V3"] = signature
    return client.post(f"/webhooks/plivo/{kind}", params, **headers)


def voice(uuid: str, status: str, *, duration: int | None = None) -> dict:
    params = {"CallUUID": uuid, "CallStatus": status, "Direction": "inbound", "From": CAROL_PHONE.lstrip("+"), "To": OUR_NUMBER.lstrip("+"), "Event": "Hangup" if status == "completed" else "StartApp"}
    if duration is not None:
        params.update(Duration=str(duration), BillDuration=str(duration), HangupCause="NORMAL_CLEARING", EndTime="2026-12-01 10:05:00")
    return params


def run(client, django_capture_on_commit_callbacks, kind, sequence):
    for params in sequence:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, kind, params)
        assert response.status_code == 200, response.content


@pytest.mark.parametrize("order", list(itertools.permutations(("ringing", "in-progress", "completed"))))
def test_every_arrival_order_of_a_plivo_call_ends_completed(plivo, alice, world, django_capture_on_commit_callbacks, order):
    run(plivo, django_capture_on_commit_callbacks, "voice-status", [voice("pl-call-1", s, duration=75 if s == "completed" else None) for s in order])
    call = Call.objects.get()
    assert (call.provider, call.status, call.duration_seconds, call.contact_id) == ("plivo", "completed", 75, world["carol"])
    assert alice.get(f"contacts/{world['carol']}").json()["last_contacted_via"] == "Phone Call"


@pytest.mark.parametrize("order", list(itertools.permutations(("queued", "sent", "delivered"))))
def test_every_arrival_order_of_plivo_sms_statuses_ends_delivered(plivo, world, django_capture_on_commit_callbacks, order):
    params = lambda s: {"MessageUUID": "pl-sms-1", "Status": s, "From": OUR_NUMBER.lstrip("+"), "To": CAROL_PHONE.lstrip("+")}  # noqa: E731
    run(plivo, django_capture_on_commit_callbacks, "sms-status", [params(s) for s in order])
    assert Sms.objects.get().status == "delivered"


def test_plivo_inbound_stop_opts_out(plivo, alice, world, django_capture_on_commit_callbacks):
    inbound = {"MessageUUID": "pl-in-1", "From": CAROL_PHONE.lstrip("+"), "To": OUR_NUMBER.lstrip("+"), "Text": "STOP", "Type": "sms"}
    run(plivo, django_capture_on_commit_callbacks, "sms-inbound", [inbound])
    assert OptOut.objects.filter(number=CAROL_PHONE, provider="plivo").exists()
    assert Sms.objects.get().contact_id == world["carol"]


def test_forged_and_replayed_plivo_requests(plivo, django_capture_on_commit_callbacks):
    params = voice("pl-call-2", "completed", duration=10)
    assert post(plivo, "voice-status", params, token="not-the-token").status_code == 403
    assert post(plivo, "voice-status", params, signature=None).status_code == 403
    assert post(plivo, "voice-status", {**params, "Duration": "9999"}, signature=get_signature_v3(PLIVO_TOKEN, b"x".decode(), "1").decode()).status_code == 403
    assert not WebhookEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(plivo, "voice-status", params, nonce="12345678901234567890").status_code == 200
    # The same signed request again (same nonce): stored once, one call.
    with django_capture_on_commit_callbacks(execute=True):
        assert post(plivo, "voice-status", params, nonce="12345678901234567890").status_code == 200
    assert WebhookEvent.objects.count() == 1 and Call.objects.count() == 1
