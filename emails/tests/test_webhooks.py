"""Provider webhooks: requests signed for real (SendGrid ECDSA P-256,
Mailgun HMAC-SHA256) and sample payloads written from the providers'
documented formats. No database."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured

from emails.webhooks import (
    EVENT_TYPES,
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    WebhookPayloadError,
    parse_mailgun,
    parse_sendgrid,
    verify_mailgun,
    verify_sendgrid,
)

# --- SendGrid signing, as SendGrid does it ----------------------------------


@pytest.fixture(scope="module")
def sendgrid_key():
    return ec.generate_private_key(ec.SECP256R1())


def dashboard_key(private_key) -> str:
    """The verification key as SendGrid's dashboard shows it: base64 DER
    SubjectPublicKeyInfo, no PEM armour."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sendgrid_sign(private_key, body: bytes, timestamp: str) -> str:
    """ECDSA-SHA256 over timestamp + body; DER signature, base64."""
    return base64.b64encode(private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def now_ts(offset: int = 0) -> str:
    return str(int(time.time()) + offset)


SENDGRID_BATCH = [
    {
        "email": "Carol@Grasspods.example",
        "timestamp": 1717430400,
        "smtp-id": "<20240603160000.1.abc@crm.example.com>",
        "event": "processed",
        "category": ["renewal"],
        "sg_event_id": "cHJvY2Vzc2VkLTQ1NjctYQ",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "tp_recipient": "77",
    },
    {
        "email": "carol@grasspods.example",
        "timestamp": 1717430403,
        "smtp-id": "<20240603160000.1.abc@crm.example.com>",
        "event": "delivered",
        "ip": "168.1.1.1",
        "response": "250 2.0.0 OK 1717430403 - gsmtp",
        "tls": 1,
        "sg_event_id": "ZGVsaXZlcmVkLTAtNDU2Nw",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "nobody@grasspods.example",
        "timestamp": 1717430404,
        "smtp-id": "<20240603160000.2.def@crm.example.com>",
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "bounce_classification": "Invalid Address",
        "sg_event_id": "Ym91bmNlLTAtNDU2Nw",
        "sg_message_id": "x2.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "blocked@bigcorp.example",
        "timestamp": 1717430405,
        "smtp-id": "<20240603160000.3.ghi@crm.example.com>",
        "event": "bounce",
        "type": "blocked",
        "status": "5.7.1",
        "reason": "554 5.7.1 Message rejected by policy",
        "sg_event_id": "YmxvY2tlZC0wLTQ1Njc",
        "sg_message_id": "x3.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "old@grasspods.example",
        "timestamp": 1717430406,
        "smtp-id": "<20240603160000.4.jkl@crm.example.com>",
        "event": "dropped",
        "reason": "Bounced Address",
        "sg_event_id": "ZHJvcHBlZC0wLTQ1Njc",
        "sg_message_id": "x4.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "slow@grasspods.example",
        "timestamp": 1717430407,
        "smtp-id": "<20240603160000.5.mno@crm.example.com>",
        "event": "deferred",
        "attempt": "1",
        "response": "400 try again later",
        "sg_event_id": "ZGVmZXJyZWQtMC00NTY3",
        "sg_message_id": "x5.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "carol@grasspods.example",
        "timestamp": 1717430410,
        "event": "open",
        "sg_machine_open": True,
        "useragent": "Mozilla/5.0",
        "ip": "17.58.1.2",
        "sg_event_id": "b3Blbi0wLTQ1NjctbWFjaGluZQ",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "carol@grasspods.example",
        "timestamp": 1717434000,
        "event": "open",
        "sg_machine_open": False,
        "useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0",
        "ip": "81.153.20.7",
        "sg_event_id": "b3Blbi0xLTQ1Njc",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "carol@grasspods.example",
        "timestamp": 1717434060,
        "event": "click",
        "url": "https://grasspods.example/pricing?plan=pro&utm_source=crm",
        "url_offset": {"index": 0, "type": "html"},
        "useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0",
        "ip": "81.153.20.7",
        "sg_event_id": "Y2xpY2stMC00NTY3",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "carol@grasspods.example",
        "timestamp": 1717434100,
        "event": "spamreport",
        "sg_event_id": "c3BhbS0wLTQ1Njc",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "carol@grasspods.example",
        "timestamp": 1717434200,
        "event": "unsubscribe",
        "sg_event_id": "dW5zdWItMC00NTY3",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "dave@grasspods.example",
        "timestamp": 1717434300,
        "event": "group_unsubscribe",
        "asm_group_id": 10,
        "sg_event_id": "Z3JvdXAtdW5zdWItMA",
        "sg_message_id": "x6.filter0001.16648.5515E0B88.0",
    },
    {  # an account event: no recipient at all
        "event": "account_status_change",
        "type": "compliance_suspend",
        "timestamp": 1717434400,
        "sg_event_id": "YWNjb3VudC0wLTQ1Njc",
    },
]


def test_sendgrid_header_names():
    assert SENDGRID_SIGNATURE_HEADER == "X-Twilio-Email-Event-Webhook-Signature"
    assert SENDGRID_TIMESTAMP_HEADER == "X-Twilio-Email-Event-Webhook-Timestamp"


def test_sendgrid_signed_request_verifies(sendgrid_key):
    body = json.dumps(SENDGRID_BATCH).encode()
    ts = now_ts()
    assert verify_sendgrid(body, sendgrid_sign(sendgrid_key, body, ts), ts, dashboard_key(sendgrid_key))


def test_sendgrid_key_pasted_with_pem_armour_still_works(sendgrid_key):
    body = b'[{"event":"delivered"}]'
    ts = now_ts()
    pem = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert verify_sendgrid(body, sendgrid_sign(sendgrid_key, body, ts), ts, pem)


def test_sendgrid_forgeries_are_refused(sendgrid_key):
    key = dashboard_key(sendgrid_key)
    body = json.dumps(SENDGRID_BATCH).encode()
    ts = now_ts()
    sig = sendgrid_sign(sendgrid_key, body, ts)
    assert not verify_sendgrid(body.replace(b"delivered", b"bounce"), sig, ts, key)  # body changed
    assert not verify_sendgrid(body, sendgrid_sign(sendgrid_key, b"[]", ts), ts, key)  # signature of another body
    assert not verify_sendgrid(body, sig, now_ts(1), key)  # timestamp changed
    assert not verify_sendgrid(body, "bm90IGEgc2lnbmF0dXJl", ts, key)  # not DER
    assert not verify_sendgrid(body, "%%% not base64 %%%", ts, key)
    assert not verify_sendgrid(body, None, ts, key)
    assert not verify_sendgrid(body, sig, None, key)
    assert not verify_sendgrid(body, sig, "yesterday", key)
    other = ec.generate_private_key(ec.SECP256R1())
    assert not verify_sendgrid(body, sendgrid_sign(other, body, ts), ts, key)  # someone else's key


def test_sendgrid_stale_or_future_timestamps_are_refused(sendgrid_key):
    key = dashboard_key(sendgrid_key)
    body = b"[]"
    for ts in (now_ts(-16 * 60), now_ts(+16 * 60), "0"):
        assert not verify_sendgrid(body, sendgrid_sign(sendgrid_key, body, ts), ts, key), ts
    ts = now_ts(-20 * 60)
    assert verify_sendgrid(body, sendgrid_sign(sendgrid_key, body, ts), ts, key, max_age_seconds=3600)


def test_sendgrid_body_that_is_not_utf8_is_refused(sendgrid_key):
    body, ts = b"\xff\xfe[]", now_ts()
    assert not verify_sendgrid(body, sendgrid_sign(sendgrid_key, body, ts), ts, dashboard_key(sendgrid_key))


@pytest.mark.parametrize("key", ["", "   ", "not-a-key", base64.b64encode(b"garbage der").decode()])
def test_sendgrid_missing_or_broken_key_is_a_configuration_error(key):
    with pytest.raises(ImproperlyConfigured):
        verify_sendgrid(b"[]", "sig", now_ts(), key)


def test_parse_sendgrid_batch():
    events = parse_sendgrid(json.dumps(SENDGRID_BATCH).encode())
    assert [e.type for e in events] == [
        "other", "delivered", "bounced", "bounced", "dropped", "deferred",
        "open", "open", "click", "spam", "unsubscribe", "unsubscribe", "other",
    ]
    assert all(e.provider == "sendgrid" and e.type in EVENT_TYPES for e in events)
    processed, delivered, bounce, blocked, dropped, deferred, mpp, human, click, spam, _, _, account = events

    assert processed.event_id == "cHJvY2Vzc2VkLTQ1NjctYQ"
    assert processed.recipient == "carol@grasspods.example"
    assert processed.message_id == "20240603160000.1.abc@crm.example.com"
    assert processed.provider_message_id == "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"
    assert processed.raw["tp_recipient"] == "77"  # custom args come back at the top level
    assert delivered.occurred_at == datetime(2024, 6, 3, 16, 0, 3, tzinfo=UTC)
    assert delivered.reason is None

    assert bounce.reason == "550 5.1.1 The email account that you tried to reach does not exist."
    assert blocked.raw["type"] == "blocked" and blocked.reason == "554 5.7.1 Message rejected by policy"
    assert dropped.reason == "Bounced Address"
    assert deferred.reason == "400 try again later"

    assert mpp.machine_open and mpp.ip == "17.58.1.2" and mpp.user_agent == "Mozilla/5.0"
    assert mpp.message_id is None  # SendGrid engagement events carry no smtp-id
    assert not human.machine_open and human.ip == "81.153.20.7"
    assert click.url == "https://grasspods.example/pricing?plan=pro&utm_source=crm"
    assert click.user_agent.startswith("Mozilla/5.0 (Windows NT 10.0")
    assert spam.url is None and spam.ip is None

    assert account.recipient == "" and account.raw["type"] == "compliance_suspend"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b'{"event": "delivered"}', "body"),
        (b'["delivered"]', "[0]"),
        (b'[{"event": "delivered", "email": "a@example.com", "timestamp": 1717430400}]', "[0].sg_event_id"),
        (b'[{"sg_event_id": "x", "email": "a@example.com", "timestamp": 1717430400}]', "[0].event"),
        (b'[{"event": "open", "sg_event_id": "x", "email": "a@example.com"}]', "[0].timestamp"),
        (b'[{"event": "open", "sg_event_id": "x", "email": "a@example.com", "timestamp": "soon"}]', "[0].timestamp"),
        (b'[{"event": "open", "sg_event_id": "x", "email": "a@example.com", "timestamp": 1e300}]', "[0].timestamp"),
        (b'[{"event": "processed", "sg_event_id": "a", "email": "a@example.com", "timestamp": 1},'
         b' {"event": "delivered", "sg_event_id": "x", "timestamp": 1717430400}]', "[1].email"),
    ],
)
def test_parse_sendgrid_names_the_bad_field(body, field):
    with pytest.raises(WebhookPayloadError) as err:
        parse_sendgrid(body)
    assert err.value.field == field


def test_sendgrid_odd_informational_fields_do_not_sink_the_batch():
    body = json.dumps([{"event": "open", "sg_event_id": "x", "email": "a@example.com", "timestamp": 1, "useragent": 7}])
    (event,) = parse_sendgrid(body.encode())
    assert event.user_agent is None


def test_verify_then_parse_the_same_bytes(sendgrid_key):
    body = json.dumps(SENDGRID_BATCH, indent=1).encode()
    ts = now_ts()
    assert verify_sendgrid(body, sendgrid_sign(sendgrid_key, body, ts), ts, dashboard_key(sendgrid_key))
    assert len(parse_sendgrid(body)) == len(SENDGRID_BATCH)


# --- Mailgun signing, as Mailgun does it ----------------------------------------

SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def mailgun_signed(event_data: dict, *, key: str = SIGNING_KEY, timestamp: str | None = None) -> dict:
    """A JSON webhook body: hex HMAC-SHA256(signing key, timestamp + token)."""
    timestamp = timestamp or now_ts()
    token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}


def mg_event(event: str, **fields) -> dict:
    data = {
        "event": event,
        "id": f"{event}-G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": 1717430403.285742,
        "recipient": "Carol@Grasspods.example",
        "recipient-domain": "grasspods.example",
        "log-level": "info",
        "tags": [],
        "user-variables": {"tp_recipient": "77"},
        "message": {"headers": {"message-id": "20240603160000.1.abc@crm.example.com"}},
    }
    data.update(fields)
    return data


def test_mailgun_signed_request_verifies():
    assert verify_mailgun(mailgun_signed(mg_event("delivered")), SIGNING_KEY)


def test_mailgun_forgeries_are_refused():
    payload = mailgun_signed(mg_event("delivered"), key="someone-elses-key")
    assert not verify_mailgun(payload, SIGNING_KEY)
    good = mailgun_signed(mg_event("delivered"))
    tampered = {**good, "signature": {**good["signature"], "token": "f" * 50}}
    assert not verify_mailgun(tampered, SIGNING_KEY)
    assert not verify_mailgun({"event-data": good["event-data"]}, SIGNING_KEY)
    assert not verify_mailgun({**good, "signature": {**good["signature"], "timestamp": "soon"}}, SIGNING_KEY)
    assert not verify_mailgun({**good, "signature": "abc"}, SIGNING_KEY)


def test_mailgun_stale_or_future_signatures_are_refused():
    for offset in (-16 * 60, +16 * 60):
        assert not verify_mailgun(mailgun_signed(mg_event("delivered"), timestamp=now_ts(offset)), SIGNING_KEY)
    stale = mailgun_signed(mg_event("delivered"), timestamp=now_ts(-20 * 60))
    assert verify_mailgun(stale, SIGNING_KEY, max_age_seconds=3600)


def test_mailgun_empty_signing_key_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured):
        verify_mailgun(mailgun_signed(mg_event("delivered"), key=""), "")


def test_parse_mailgun_delivered():
    (event,) = parse_mailgun(mailgun_signed(mg_event(
        "delivered",
        envelope={"sender": "alice@crm.example.com", "targets": "carol@grasspods.example", "transport": "smtp"},
        **{"delivery-status": {"code": 250, "message": "OK", "description": "", "tls": True, "attempt-no": 1}},
    )))
    assert event.provider == "mailgun" and event.type == "delivered"
    assert event.event_id == "delivered-G9Bn5sl1TC6nu79C8C0bwg"
    assert event.recipient == "carol@grasspods.example"
    assert event.message_id == "20240603160000.1.abc@crm.example.com"
    assert event.occurred_at == datetime(2024, 6, 3, 16, 0, 3, 285742, tzinfo=UTC)
    assert event.reason is None
    assert event.raw["user-variables"] == {"tp_recipient": "77"}


@pytest.mark.parametrize(
    ("severity", "reason", "expected"),
    [
        ("permanent", "bounce", "bounced"),
        ("permanent", "generic", "bounced"),
        ("permanent", "suppress-bounce", "dropped"),
        ("permanent", "suppress-unsubscribe", "dropped"),
        ("temporary", "greylisted", "deferred"),
        ("temporary", "generic", "deferred"),
    ],
)
def test_parse_mailgun_failed_by_severity(severity, reason, expected):
    status = {"code": 550, "message": "5.1.1 The email account that you tried to reach does not exist.", "description": ""}
    (event,) = parse_mailgun(mailgun_signed(mg_event(
        "failed", severity=severity, reason=reason, **{"log-level": "error", "delivery-status": status}
    )))
    assert event.type == expected
    assert event.reason == "5.1.1 The email account that you tried to reach does not exist."


def test_parse_mailgun_opens_and_clicks():
    person = {"client-name": "Chrome", "client-os": "Windows", "client-type": "browser", "device-type": "desktop",
              "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/125.0"}
    (opened,) = parse_mailgun(mailgun_signed(mg_event(
        "opened", ip="81.153.20.7", geolocation={"country": "GB", "region": "ENG", "city": "London"},
        **{"client-info": person},
    )))
    assert opened.type == "open" and not opened.machine_open
    assert opened.ip == "81.153.20.7" and opened.user_agent.endswith("Chrome/125.0")

    apple = {"client-name": "unknown", "client-type": "unknown", "user-agent": "Mozilla/5.0", "device-type": "unknown",
             "client-os": "unknown", "bot": "apple"}
    (mpp,) = parse_mailgun(mailgun_signed(mg_event("opened", ip="17.58.1.2", **{"client-info": apple})))
    assert mpp.machine_open and mpp.user_agent == "Mozilla/5.0"

    (clicked,) = parse_mailgun(mailgun_signed(mg_event(
        "clicked", ip="81.153.20.7", url="https://grasspods.example/pricing?plan=pro", **{"client-info": person}
    )))
    assert clicked.type == "click" and clicked.url == "https://grasspods.example/pricing?plan=pro"
    assert not clicked.machine_open


def test_parse_mailgun_complaints_unsubscribes_rejections_and_others():
    (complained,) = parse_mailgun(mailgun_signed(mg_event("complained")))
    (unsubscribed,) = parse_mailgun(mailgun_signed(mg_event("unsubscribed")))
    (accepted,) = parse_mailgun(mailgun_signed(mg_event("accepted", method="HTTP")))
    assert (complained.type, unsubscribed.type, accepted.type) == ("spam", "unsubscribe", "other")

    rejected_data = mg_event(
        "rejected",
        reject={"reason": "Sandbox subdomains are for test purposes only", "description": ""},
        message={"headers": {"to": "Carol Ng <Carol@Grasspods.example>", "message-id": "<x.1@crm.example.com>"}},
    )
    del rejected_data["recipient"]  # documented: rejected events may lack it
    (rejected,) = parse_mailgun(mailgun_signed(rejected_data))
    assert rejected.type == "dropped" and rejected.recipient == "carol@grasspods.example"
    assert rejected.message_id == "x.1@crm.example.com"
    assert rejected.reason == "Sandbox subdomains are for test purposes only"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "body"),
        ({"signature": {}}, "event-data"),
        ({"event-data": "delivered"}, "event-data"),
        ({"event-data": {k: v for k, v in mg_event("delivered").items() if k != "id"}}, "event-data.id"),
        ({"event-data": {k: v for k, v in mg_event("delivered").items() if k != "event"}}, "event-data.event"),
        ({"event-data": mg_event("delivered", timestamp=None)}, "event-data.timestamp"),
        ({"event-data": mg_event("delivered", timestamp="nan")}, "event-data.timestamp"),
        ({"event-data": mg_event("delivered", recipient="not an address")}, "event-data.recipient"),
        ({"event-data": mg_event("failed")}, "event-data.severity"),
        ({"event-data": mg_event("failed", severity="sometimes")}, "event-data.severity"),
    ],
)
def test_parse_mailgun_names_the_bad_field(payload, field):
    with pytest.raises(WebhookPayloadError) as err:
        parse_mailgun(payload)
    assert err.value.field == field
    assert field in str(err.value)
