"""SendGrid and Mailgun event webhooks end to end: an email sent through a
real SMTP server, then events about its copies (naming them the way the
providers do: our custom argument from the copy's X-SMTPAPI /
X-Mailgun-Variables header, and/or our Message-ID and the address), signed
for real (SendGrid ECDSA P-256, Mailgun HMAC-SHA256) and POSTed to
/hooks/sendgrid/events and /hooks/mailgun/events."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from emails.models import Engagement, ProviderEvent
from emails.tests.smtpserver import Received, recipient_token, smtp_server  # noqa: F401 - fixture
from emails.webhooks import SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER
from touchpoints.models import Touchpoint
from touchpoints.services import update_touchpoint

CAROL = "carol@grasspods.example"
ERIN = "erin@partner.example"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
LINK = "https://example.com/pricing?a=1&b=2"
BODY = '<p>Hi {{ first_name }}, <a href="https://example.com/pricing?a=1&amp;b=2">pricing</a></p>'


def send(api, **payload) -> dict:
    response = api.post("emails/send", {"subject": "Pricing", "body_html": BODY, **payload})
    assert response.status_code == 201, response.content
    sent = response.json()
    # Sent an hour ago: the provider's opens and clicks then come later
    # than "seconds after sending", when link scanners and prefetchers strike.
    occurred = Touchpoint.objects.get(id=sent["touchpoint_id"]).occurred_at
    update_touchpoint(None, sent["touchpoint_id"], {"occurred_at": occurred - timedelta(hours=1)}, checked=True)
    return sent


def copy_to(server, address: str) -> Received:
    (copy,) = server.to(address)
    return copy


def email(api, sent: dict) -> dict:
    response = api.get(f"emails/{sent['email_id']}")
    assert response.status_code == 200, response.content
    return response.json()


def participant(api, sent: dict, address: str) -> dict:
    return next(p for p in email(api, sent)["participants"] if p["address"] == address)


def engagements(api, **params) -> dict[tuple[str, str], dict]:
    response = api.get("engagements", **params)
    assert response.status_code == 200, response.content
    return {(i["recipient"], i["kind"]): i for i in response.json()["items"]}


def now_ts(offset: int = 0) -> int:
    return int(time.time()) + offset


# --- SendGrid ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sendgrid_private_key():
    return ec.generate_private_key(ec.SECP256R1())


def dashboard_key(private_key) -> str:
    """As SendGrid's dashboard shows it: base64 DER SubjectPublicKeyInfo, no armour."""
    der = private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.fixture
def sendgrid(settings, sendgrid_private_key):
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = dashboard_key(sendgrid_private_key)
    return sendgrid_private_key


def sg_post(private_key, events: list[dict], *, timestamp: str | None = None, body: bytes | None = None, signed_body: bytes | None = None):
    """POST a batch the way SendGrid does: ECDSA-SHA256 over timestamp + raw
    body, DER signature in base64, in the two X-Twilio headers."""
    body = body if body is not None else json.dumps(events).encode()
    timestamp = timestamp or str(now_ts())
    to_sign = signed_body if signed_body is not None else body
    signature = base64.b64encode(private_key.sign(timestamp.encode() + to_sign, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {
        f"HTTP_{SENDGRID_SIGNATURE_HEADER.upper().replace('-', '_')}": signature,
        f"HTTP_{SENDGRID_TIMESTAMP_HEADER.upper().replace('-', '_')}": timestamp,
    }
    return Client().post("/hooks/sendgrid/events", body, content_type="application/json", **headers)


def sg_event(event: str, copy: Received, *, token: bool = True, smtp_id: bool = True, **fields) -> dict:
    """One SendGrid event about ``copy``: our unique arg tp_recipient at top
    level (SendGrid echoes X-SMTPAPI unique_args) and/or smtp-id."""
    (address,) = copy.rcpt_tos
    data = {
        "email": address,
        "timestamp": now_ts(),
        "event": event,
        "sg_event_id": secrets.token_urlsafe(16),
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    }
    if token:
        data["tp_recipient"] = recipient_token(copy)
    if smtp_id:
        data["smtp-id"] = copy.message["Message-ID"]
    data.update(fields)
    return data


def test_sendgrid_delivered_open_click_and_bounce_are_applied(alice_mail, world, smtp_server, sendgrid):
    sent = send(alice_mail, to=[CAROL], cc=[ERIN])
    carol, erin = copy_to(smtp_server, CAROL), copy_to(smtp_server, ERIN)
    batch = [
        sg_event("processed", carol),
        sg_event("delivered", carol, response="250 2.0.0 OK"),
        # Opens and clicks carry no smtp-id: found by our custom argument alone.
        sg_event("open", carol, smtp_id=False, ip="203.0.113.9", useragent=BROWSER, sg_machine_open=False),
        sg_event("click", carol, smtp_id=False, ip="203.0.113.9", useragent=BROWSER, url=LINK),
        # A bounce found by Message-ID and address alone.
        sg_event("bounce", erin, token=False, type="bounce", status="5.1.1", reason="550 5.1.1 no such user"),
    ]
    response = sg_post(sendgrid, batch)
    assert response.status_code == 200, response.content
    assert response.json() == {"applied": 5, "duplicate": 0, "unmatched": 0}
    assert participant(alice_mail, sent, CAROL)["delivered_at"] is not None
    assert participant(alice_mail, sent, CAROL)["bounced_at"] is None
    assert participant(alice_mail, sent, ERIN)["bounced_at"] is not None
    # One of two recipients bounced: the email was still sent.
    assert email(alice_mail, sent)["status"] == "sent"
    assert alice_mail.get(f"contacts/{world['carol']}").json()["last_contacted_via"] == "Email"
    rows = engagements(alice_mail)
    assert set(rows) == {(CAROL, "open"), (CAROL, "click")}
    assert rows[(CAROL, "click")]["last_url"] == LINK
    assert rows[(CAROL, "open")]["count"] == 1 and rows[(CAROL, "click")]["count"] == 1
    assert email(alice_mail, sent)["engagement"] == {"open": 1, "click": 1}


def test_sendgrid_event_posted_twice_is_a_duplicate_and_counted_once(alice_mail, world, smtp_server, sendgrid):
    send(alice_mail, to=[CAROL])
    carol = copy_to(smtp_server, CAROL)
    event = sg_event("open", carol, smtp_id=False, useragent=BROWSER, ip="203.0.113.9")
    assert sg_post(sendgrid, [event]).json() == {"applied": 1, "duplicate": 0, "unmatched": 0}
    again = sg_post(sendgrid, [event])
    assert again.status_code == 200
    assert again.json() == {"applied": 0, "duplicate": 1, "unmatched": 0}
    # Even with a time that would count as a new open, the same event id is not applied.
    later = {**event, "timestamp": event["timestamp"] + 3 * 3600}
    assert sg_post(sendgrid, [later]).json()["duplicate"] == 1
    assert engagements(alice_mail)[(CAROL, "open")]["count"] == 1
    assert ProviderEvent.objects.filter(event_id=event["sg_event_id"]).count() == 1


@pytest.mark.parametrize("forgery", ["tampered_body", "other_key", "stale", "future", "no_signature"])
def test_sendgrid_request_not_signed_by_sendgrid_is_401_and_applies_nothing(alice_mail, world, smtp_server, sendgrid, forgery):
    sent = send(alice_mail, to=[CAROL])
    carol = copy_to(smtp_server, CAROL)
    events = [sg_event("delivered", carol), sg_event("open", carol, useragent=BROWSER), sg_event("bounce", carol, type="bounce")]
    body = json.dumps(events).encode()
    if forgery == "tampered_body":
        response = sg_post(sendgrid, events, signed_body=json.dumps(events[:1]).encode())
    elif forgery == "other_key":
        response = sg_post(ec.generate_private_key(ec.SECP256R1()), events)
    elif forgery == "stale":
        response = sg_post(sendgrid, events, timestamp=str(now_ts(-20 * 60)))
    elif forgery == "future":
        response = sg_post(sendgrid, events, timestamp=str(now_ts(20 * 60)))
    else:
        response = Client().post("/hooks/sendgrid/events", body, content_type="application/json")
    assert response.status_code == 401, response.content
    assert not ProviderEvent.objects.exists() and not Engagement.objects.exists()
    p = participant(alice_mail, sent, CAROL)
    assert p["delivered_at"] is None and p["bounced_at"] is None
    assert email(alice_mail, sent)["status"] == "sent"


def test_sendgrid_without_a_configured_key_is_503(settings, alice_mail, world, smtp_server, sendgrid_private_key):
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    send(alice_mail, to=[CAROL])
    response = sg_post(sendgrid_private_key, [sg_event("delivered", copy_to(smtp_server, CAROL))])
    assert response.status_code == 503
    assert not ProviderEvent.objects.exists()


def test_sendgrid_signed_but_unreadable_batch_is_400_naming_the_field(alice_mail, world, smtp_server, sendgrid):
    send(alice_mail, to=[CAROL])
    good = sg_event("delivered", copy_to(smtp_server, CAROL))
    bad = {k: v for k, v in sg_event("open", copy_to(smtp_server, CAROL)).items() if k != "sg_event_id"}
    response = sg_post(sendgrid, [good, bad])
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "[1].sg_event_id"]
    assert not ProviderEvent.objects.exists()  # the batch is refused whole, so SendGrid retries it whole


@pytest.mark.parametrize("earlier_email", [True, False], ids=["back_to_earlier_email", "back_to_never"])
def test_sendgrid_bounce_of_the_only_recipient_bounces_the_email_and_last_contacted_moves_back(
    alice_mail, world, smtp_server, sendgrid, mail, earlier_email
):
    if earlier_email:
        raw = mail(when="2024-03-01 10:00")
        assert alice_mail.client.post("/api/v1/emails/raw", raw, content_type="message/rfc822").status_code == 201
    before = alice_mail.get(f"contacts/{world['carol']}").json()
    sent = send(alice_mail, to=[CAROL])
    moved = alice_mail.get(f"contacts/{world['carol']}").json()
    assert moved["last_contacted_on"] != before["last_contacted_on"] and moved["last_contacted_via"] == "Email"

    bounce = sg_event("bounce", copy_to(smtp_server, CAROL), token=False, type="bounce", reason="550 5.1.1 unknown user")
    assert sg_post(sendgrid, [bounce]).json() == {"applied": 1, "duplicate": 0, "unmatched": 0}
    assert email(alice_mail, sent)["status"] == "bounced"
    after = alice_mail.get(f"contacts/{world['carol']}").json()
    assert after["last_contacted_on"] == before["last_contacted_on"]
    if earlier_email:
        assert after["last_contacted_on"].startswith("2024-03-01T10:00") and after["last_contacted_via"] == "Email"
    else:
        assert after["last_contacted_on"] is None and after["last_contacted_via"] is None
    # Still in the Activity section, as bounced.
    items = alice_mail.get(f"contacts/{world['carol']}/timeline").json()["items"]
    assert {i["id"]: i["status"] for i in items}[sent["touchpoint_id"]] == "bounced"


def test_sendgrid_machine_open_is_an_automated_open(alice_mail, world, smtp_server, sendgrid):
    send(alice_mail, to=[CAROL])
    event = sg_event("open", copy_to(smtp_server, CAROL), smtp_id=False, useragent=BROWSER, ip="203.0.113.9", sg_machine_open=True)
    assert sg_post(sendgrid, [event]).json()["applied"] == 1
    assert engagements(alice_mail) == {}
    auto = engagements(alice_mail, include_automated="true")
    assert list(auto) == [(CAROL, "automated_open")]
    assert auto[(CAROL, "automated_open")]["automated_reason"]


def test_sendgrid_event_about_mail_we_did_not_send_is_unmatched(alice_mail, world, smtp_server, sendgrid):
    sent = send(alice_mail, to=[CAROL])
    stranger = {
        "email": CAROL, "timestamp": now_ts(), "event": "bounce", "type": "bounce",
        "sg_event_id": "someone-else-1", "smtp-id": "<not-ours@elsewhere.example>", "tp_recipient": "WyJvIiwyXQ:forged",
    }
    assert sg_post(sendgrid, [stranger]).json() == {"applied": 0, "duplicate": 0, "unmatched": 1}
    assert email(alice_mail, sent)["status"] == "sent"
    assert participant(alice_mail, sent, CAROL)["bounced_at"] is None


# --- Mailgun ---------------------------------------------------------------------------------

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


@pytest.fixture
def mailgun(settings):
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = MAILGUN_KEY
    return MAILGUN_KEY


def mg_post(event_data: dict, *, key: str = MAILGUN_KEY, timestamp: str | None = None, raw: bytes | None = None):
    """POST a Mailgun JSON webhook: signature = hex HMAC-SHA256(key, timestamp + token)."""
    timestamp = timestamp or str(now_ts())
    token = secrets.token_hex(25)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = raw if raw is not None else json.dumps({"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}).encode()
    return Client().post("/hooks/mailgun/events", body, content_type="application/json")


def mg_event(event: str, copy: Received, *, variables: bool = True, **fields) -> dict:
    """One Mailgun event about ``copy``: our X-Mailgun-Variables come back
    as user-variables; message.headers carries our Message-ID."""
    (address,) = copy.rcpt_tos
    data = {
        "event": event,
        "id": secrets.token_urlsafe(16),
        "timestamp": time.time(),
        "recipient": address,
        "recipient-domain": address.split("@")[1],
        "log-level": "info",
        "tags": [],
        "message": {"headers": {"message-id": copy.message["Message-ID"].strip("<>"), "to": copy.message["To"], "from": copy.message["From"]}},
    }
    if variables:
        data["user-variables"] = json.loads(copy.message["X-Mailgun-Variables"])
    data.update(fields)
    return data


def test_mailgun_delivered_opened_clicked_and_permanent_failure_are_applied(alice_mail, world, smtp_server, mailgun):
    sent = send(alice_mail, to=[CAROL], cc=[ERIN])
    carol, erin = copy_to(smtp_server, CAROL), copy_to(smtp_server, ERIN)
    client = {"client-info": {"client-type": "browser", "user-agent": BROWSER}, "ip": "203.0.113.9"}
    for data in (
        mg_event("delivered", carol, **{"delivery-status": {"code": 250, "message": "OK"}}),
        mg_event("opened", carol, **client),
        mg_event("clicked", carol, url=LINK, **client),
        mg_event("failed", erin, variables=False, severity="permanent", reason="bounce", **{"delivery-status": {"code": 550, "message": "no such user"}}),
    ):
        response = mg_post(data)
        assert response.status_code == 200, response.content
        assert response.json() == {"applied": 1, "duplicate": 0, "unmatched": 0}
    assert participant(alice_mail, sent, CAROL)["delivered_at"] is not None
    assert participant(alice_mail, sent, ERIN)["bounced_at"] is not None
    assert email(alice_mail, sent)["status"] == "sent"
    rows = engagements(alice_mail)
    assert set(rows) == {(CAROL, "open"), (CAROL, "click")}
    assert rows[(CAROL, "click")]["last_url"] == LINK


def test_mailgun_permanent_failure_of_the_only_recipient_bounces_the_email(alice_mail, world, smtp_server, mailgun):
    sent = send(alice_mail, to=[CAROL])
    carol = copy_to(smtp_server, CAROL)
    # A temporary failure is a deferral: nothing bounces.
    assert mg_post(mg_event("failed", carol, severity="temporary", reason="generic")).json()["applied"] == 1
    assert email(alice_mail, sent)["status"] == "sent"
    assert mg_post(mg_event("failed", carol, severity="permanent", reason="bounce")).json()["applied"] == 1
    assert email(alice_mail, sent)["status"] == "bounced"
    contact = alice_mail.get(f"contacts/{world['carol']}").json()
    assert contact["last_contacted_on"] is None and contact["last_contacted_via"] is None


def test_mailgun_bot_open_is_an_automated_open(alice_mail, world, smtp_server, mailgun):
    send(alice_mail, to=[CAROL])
    data = mg_event("opened", copy_to(smtp_server, CAROL), ip="17.58.1.2", **{"client-info": {"bot": "apple", "user-agent": "Mozilla/5.0"}})
    assert mg_post(data).json()["applied"] == 1
    assert engagements(alice_mail) == {}
    assert list(engagements(alice_mail, include_automated="true")) == [(CAROL, "automated_open")]


def test_mailgun_event_posted_twice_is_a_duplicate(alice_mail, world, smtp_server, mailgun):
    send(alice_mail, to=[CAROL])
    data = mg_event("opened", copy_to(smtp_server, CAROL), ip="203.0.113.9", **{"client-info": {"user-agent": BROWSER}})
    assert mg_post(data).json()["applied"] == 1
    assert mg_post({**data, "timestamp": data["timestamp"] + 3 * 3600}).json() == {"applied": 0, "duplicate": 1, "unmatched": 0}
    assert engagements(alice_mail)[(CAROL, "open")]["count"] == 1


@pytest.mark.parametrize("forgery", ["other_key", "stale"])
def test_mailgun_wrong_or_stale_signature_is_401_and_applies_nothing(alice_mail, world, smtp_server, mailgun, forgery):
    sent = send(alice_mail, to=[CAROL])
    data = mg_event("failed", copy_to(smtp_server, CAROL), severity="permanent", reason="bounce")
    if forgery == "other_key":
        response = mg_post(data, key="key-someone-else")
    else:
        response = mg_post(data, timestamp=str(now_ts(-20 * 60)))
    assert response.status_code == 401, response.content
    assert not ProviderEvent.objects.exists()
    assert email(alice_mail, sent)["status"] == "sent"


def test_mailgun_without_a_signing_key_is_503(settings, alice_mail, world, smtp_server):
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = ""
    send(alice_mail, to=[CAROL])
    response = mg_post(mg_event("delivered", copy_to(smtp_server, CAROL)))
    assert response.status_code == 503
    assert not ProviderEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timestamp": None}, "event-data.timestamp"),
        ({"id": ""}, "event-data.id"),
        ({"event": "failed"}, "event-data.severity"),
        ({"recipient": "not-an-address"}, "event-data.recipient"),
    ],
)
def test_mailgun_signed_but_malformed_payload_is_400_naming_the_field(alice_mail, world, smtp_server, mailgun, change, field):
    send(alice_mail, to=[CAROL])
    data = {**mg_event("delivered", copy_to(smtp_server, CAROL)), **change}
    response = mg_post(data)
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert not ProviderEvent.objects.exists()


def test_mailgun_body_that_is_not_json_is_400(mailgun, db):
    response = mg_post({}, raw=b"timestamp=1&token=x&signature=y")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body"]
