"""Property tests of the SendGrid and Mailgun event webhooks with payloads a
provider (or anyone holding the key) could send: the providers' real
fields with values that are right, odd or junk (NUL, unicode, any JSON
type, timestamps at the ends of time, 300-character ids, unknown events).

Signed for real (SendGrid: ECDSA P-256 over timestamp + body; Mailgun:
HMAC-SHA256 of timestamp + token) and posted to the real endpoints, about
a real stored email to Carol:

- a signed payload is a 200 with every event counted (applied, duplicate
  or unmatched) or a 400 naming the field in ``body``; never a 5xx;
- the same payload delivered again (providers retry until they see a 2xx)
  applies nothing: no event stored twice, no engagement counted twice;
- the same bytes with another signature, or none, are a 401 and change nothing.

Derandomized, bounded, no deadline.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.test import Client
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from config.tests.properties import property_settings

from emails.ingest import Arrival, do_ingest
from emails.models import Engagement, EmailParticipant, ProviderEvent
from emails.tests.conftest import make_mail
from emails.webhooks import SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER
from touchpoints.rules import Source

PROPERTY = property_settings(40)
MESSAGE_ID = "m1@ourco.example"
CAROL = "carol@grasspods.example"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())

JSON_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["", " ", "\x00", "a\x00b", "x" * 300, "é" * 40, [], {}, [1], {"a": None}]),
)


def value(*good) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(good), st.sampled_from(good), JSON_JUNK)


def now() -> int:
    return int(time.time())


TIMES = value(now(), now() - 3600, str(now()), float(now()) + 0.25, 0, 253402300799, 253402300799.9, 1e30, -1, "soon")
SENDGRID_EVENT = st.fixed_dictionaries(
    {
        "event": value("processed", "delivered", "deferred", "bounce", "dropped", "open", "click", "spamreport", "unsubscribe", "group_resubscribe", "exploded"),
        "sg_event_id": value("e1", "e2", "e3"),
        "timestamp": TIMES,
    },
    optional={
        "email": value(CAROL, CAROL.upper(), " carol@grasspods.example ", "erin@partner.example"),
        "smtp-id": value(f"<{MESSAGE_ID}>", MESSAGE_ID, "<other@x.example>"),
        "url": value("https://example.com/pricing?a=1&b=2", "javascript:alert(1)"),
        "ip": value("203.0.113.9", "::1", "not-an-ip"),
        "useragent": value("Mozilla/5.0 (Windows NT 10.0)", "GoogleImageProxy"),
        "reason": value("550 5.1.1 no such user"),
        "response": value("250 OK"),
        "sg_machine_open": value(True, False),
        "sg_message_id": value("14c5d75ce93.dfd.64b469.filter0001"),
        "type": value("bounce", "blocked"),
    },
)
SENDGRID_BODY = st.one_of(
    st.lists(SENDGRID_EVENT, min_size=1, max_size=4).map(json.dumps),
    st.lists(st.one_of(SENDGRID_EVENT, JSON_JUNK), max_size=3).map(json.dumps),
    JSON_JUNK.map(json.dumps),
    st.sampled_from(["", "[", "{\"a\":", "[{}]", "\ufeff[]"]),
).map(str.encode)

MAILGUN_DATA = st.fixed_dictionaries(
    {
        "event": value("accepted", "delivered", "failed", "rejected", "opened", "clicked", "complained", "unsubscribed", "stored", "exploded"),
        "id": value("g1", "g2", "g3"),
        "timestamp": TIMES,
    },
    optional={
        "recipient": value(CAROL, CAROL.upper(), "erin@partner.example"),
        "severity": value("permanent", "temporary", "fatal"),
        "reason": value("suppress-bounce", "generic", "bounce"),
        "message": st.fixed_dictionaries({}, optional={"headers": st.fixed_dictionaries({}, optional={"message-id": value(MESSAGE_ID, f"<{MESSAGE_ID}>"), "to": value(f"Carol <{CAROL}>", "nobody")})}) | JSON_JUNK,
        "delivery-status": st.fixed_dictionaries({}, optional={"description": value("No such user"), "message": value("550 5.1.1")}) | JSON_JUNK,
        "client-info": st.fixed_dictionaries({}, optional={"user-agent": value("Mozilla/5.0"), "bot": value("apple", "")}) | JSON_JUNK,
        "url": value("https://example.com/pricing"),
        "ip": value("203.0.113.9", "nope"),
    },
)


@pytest.fixture
def sent_to_carol(alice_mail, world, settings):
    """A stored email from Alice to Carol (a contact): what the events are about."""
    der = PRIVATE_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = MAILGUN_KEY
    raw = make_mail(sender="alice@ourco.example", to=f"Carol Ng <{CAROL}>", message_id=f"<{MESSAGE_ID}>", when="2024-03-01 10:00")
    (outcome,) = do_ingest(alice_mail.user, [Arrival(raw=raw)], source=Source.API)
    assert outcome.status == "stored", outcome
    return outcome


def sendgrid_post(body: bytes, *, signed: bytes | None = None):
    timestamp = str(now())
    signature = base64.b64encode(PRIVATE_KEY.sign(timestamp.encode() + (body if signed is None else signed), ec.ECDSA(hashes.SHA256()))).decode()
    headers = {
        f"HTTP_{SENDGRID_SIGNATURE_HEADER.upper().replace('-', '_')}": signature,
        f"HTTP_{SENDGRID_TIMESTAMP_HEADER.upper().replace('-', '_')}": timestamp,
    }
    return Client().post("/hooks/sendgrid/events", body, content_type="application/json", **headers)


def mailgun_post(event_data, *, key: str = MAILGUN_KEY):
    timestamp, token = str(now()), secrets.token_hex(25)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = json.dumps({"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data})
    return Client().post("/hooks/mailgun/events", body, content_type="application/json")


def state() -> tuple:
    """What an event can change."""
    return (
        ProviderEvent.objects.count(),
        sorted(Engagement.objects.values_list("participant_id", "kind", "count")),
        sorted(EmailParticipant.objects.values_list("id", "delivered_at", "bounced_at")),
    )


def check_answer(response, events: int | None) -> None:
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    body = response.json()
    if response.status_code == 400:
        (problem,) = body["detail"]
        assert problem["loc"][0] == "body" and problem["msg"], problem
    elif events is not None:
        assert sum(body.values()) == events, body


class Rollback(Exception):
    pass


@PROPERTY
@given(body=SENDGRID_BODY)
@example(body=json.dumps([{"event": "click", "sg_event_id": "e\x00", "timestamp": now(), "email": CAROL, "smtp-id": f"<{MESSAGE_ID}>", "url": "https://x.example/\x00", "useragent": "a\x00"}]).encode())
@example(body=json.dumps([{"event": "open", "sg_event_id": "e9", "timestamp": 253402300799, "email": CAROL, "smtp-id": f"<{MESSAGE_ID}>"}]).encode())
def test_a_signed_sendgrid_batch_is_applied_once_or_refused_naming_the_field(sent_to_carol, body):
    try:
        events = json.loads(body)
    except ValueError:
        events = None
    count = len(events) if isinstance(events, list) else None
    try:
        with transaction.atomic():
            first = sendgrid_post(body)
            note(f"{first.status_code} {first.content[:300]!r}")
            check_answer(first, count)
            after = state()
            again = sendgrid_post(body)
            check_answer(again, count)
            assert again.status_code == first.status_code
            if again.status_code == 200:
                assert again.json()["applied"] == 0, again.json()
            assert state() == after
            # The same bytes under a signature of other bytes: refused, nothing changes.
            assert sendgrid_post(body, signed=body + b" ").status_code == 401
            assert state() == after
            raise Rollback
    except Rollback:
        pass


@PROPERTY
@given(event_data=st.one_of(MAILGUN_DATA, MAILGUN_DATA, JSON_JUNK))
@example(event_data={"event": "clicked", "id": "g\x00", "timestamp": now(), "recipient": CAROL, "url": "https://x.example/\x00", "message": {"headers": {"message-id": MESSAGE_ID}}})
@example(event_data={"event": "opened", "id": "g9", "timestamp": 253402300799.9, "recipient": CAROL, "message": {"headers": {"message-id": MESSAGE_ID}}})
def test_a_signed_mailgun_event_is_applied_once_or_refused_naming_the_field(sent_to_carol, event_data):
    try:
        with transaction.atomic():
            first = mailgun_post(event_data)
            note(f"{first.status_code} {first.content[:300]!r}")
            check_answer(first, 1)
            after = state()
            again = mailgun_post(event_data)
            check_answer(again, 1)
            if again.status_code == 200:
                assert again.json()["applied"] == 0, again.json()
            assert state() == after
            assert mailgun_post(event_data, key="key-not-ours").status_code == 401
            assert state() == after
            raise Rollback
    except Rollback:
        pass


def test_a_body_nested_thousands_deep_is_a_400_not_a_500(sent_to_carol):
    """Mailgun's body is JSON read before its signature (which is inside it)
    is checked, so these are anyone's bytes; json raised RecursionError."""
    deep = b"[" * 100_000 + b"]" * 100_000
    response = Client().post("/hooks/mailgun/events", deep, content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body"]
    response = sendgrid_post(deep)
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "body"]
