"""Property tests of raw email parsing (emails.parsing) and the raw upload
endpoint, for bytes from outside: any bytes at all, and real messages with
random damage (bytes inserted, deleted or replaced, extra headers with
binary values, bare CRs, broken encoded words, 8-bit and NUL bytes).

Invariants:
- ``parse`` never raises: it returns a ``ParsedEmail`` or a ``Rejected``
  with a reason code;
- what a ``ParsedEmail`` holds fits its columns and every database stores
  it: no NUL, valid UTF-8 (no lone surrogates), addresses lower-cased with
  an "@" and no whitespace, ids and subjects within their lengths;
- the addresses and subject of a well-formed message come back as written,
  whatever the display names hold (unicode, quotes, commas, "@", header
  injection attempts);
- ``POST /api/v1/emails/raw`` with any bytes is a 201 (stored), 200
  (already stored, or internal-only), 422 naming ``body`` or 413, never a
  5xx; the same bytes again are the same email.

Derandomized, bounded, no deadline.
"""
from __future__ import annotations

from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from django.db import transaction
from django.test import Client
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from config.tests.properties import property_settings

from emails import parsing
from emails.models import EmailMessage as StoredEmail
from emails.models import EmailParticipant

PROPERTY = property_settings(150)

MESSAGE = (
    b"From: Carol Ng <carol@grasspods.example>\r\n"
    b"To: alice@ourco.example, =?utf-8?q?J=C3=B6rg?= <jorg@grasspods.example>\r\n"
    b"Subject: =?utf-8?b?UHJpY2luZyDinJM=?=\r\n"
    b"Date: Fri, 01 Mar 2024 10:00:00 +0000\r\n"
    b"Message-ID: <m1@grasspods.example>\r\n"
    b"References: <m0@ourco.example>\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =E2=9C=93\r\n"
    b"--b\r\nContent-Type: text/html; charset=latin-1\r\n\r\n<p>Hi</p>\r\n"
    b'--b\r\nContent-Type: application/pdf; name="q.pdf"\r\nContent-Disposition: attachment; filename="q.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    b"--b--\r\n"
)
HEADER_NAMES = [
    b"From", b"To", b"Cc", b"Bcc", b"Sender", b"Subject", b"Date", b"Message-ID", b"In-Reply-To", b"References",
    b"Content-Type", b"Content-Transfer-Encoding", b"Content-Disposition", b"Auto-Submitted", b"Return-Path", b"List-Id",
]
PIECES = [b"\x00", b"\xff", b"\r", b"\n", b"\r\n ", b":", b"<", b">", b"@", b"=?utf-8?b?", b"=?x-unknown?q?", b"?=", b'"', b",", b";", b"\xed\xa0\x80", b"\\"]


@st.composite
def damaged_messages(draw) -> bytes:
    raw = bytearray(MESSAGE)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "header"]))
        if action == "insert":
            raw[where:where] = draw(st.binary(max_size=16))
        elif action == "delete":
            del raw[where : where + draw(st.integers(1, 16))]
        elif action == "replace":
            raw[where : where + 1] = draw(st.sampled_from(PIECES))
        else:  # an extra header (first, so it is a header) with any value
            value = draw(st.one_of(st.binary(max_size=40), st.lists(st.sampled_from(PIECES + [b"x", b"a@b.example"]), max_size=8).map(b"".join)))
            raw[0:0] = draw(st.sampled_from(HEADER_NAMES)) + b": " + value + b"\r\n"
    return bytes(raw)


RAW = st.one_of(damaged_messages(), damaged_messages(), st.binary(max_size=300))


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


@PROPERTY
@given(raw=RAW)
# Found by this test: a From header the stdlib's structured parser raises
# on (IndexError); the fallback read it through the same parser again.
@example(raw=b"From: Carol Ng <\rarol@grasspods.example>\r\nTo: alice@ourco.example\r\n\r\nHello")
@example(raw=b"From: <\r\nTo: alice@ourco.example\r\n\r\nHello")
@example(raw=MESSAGE)
def test_any_bytes_parse_to_a_storable_email_or_a_rejection_with_a_reason(raw):
    parsed = parsing.parse(raw)
    if isinstance(parsed, parsing.Rejected):
        assert parsed.reason
        return
    texts = [parsed.subject, parsed.message_id, parsed.body_text, parsed.in_reply_to or "", *parsed.references, parsed.automated]
    texts += [a.address for a in parsed.participants] + [a.name for a in parsed.participants] + [a.filename for a in parsed.attachments]
    assert all(_storable(t) for t in texts), [t for t in texts if not _storable(t)]
    assert parsed.message_id and len(parsed.message_id) <= StoredEmail._meta.get_field("message_id").max_length
    assert len(parsed.subject) <= 255
    assert all(len(r) <= 255 for r in [*parsed.references, parsed.in_reply_to or "", parsed.bounced_message_id or ""])
    for a in parsed.participants:
        assert a.address == a.address.lower() and "@" in a.address and not any(c.isspace() for c in a.address), a
        assert len(a.address) <= EmailParticipant._meta.get_field("address").max_length
        assert len(a.name) <= EmailParticipant._meta.get_field("name").max_length
    assert len({a.address for a in parsed.participants}) == len(parsed.participants)
    assert parsing.parse(raw) == parsed  # the same bytes, the same email (deduplication relies on it)


# Display names people really have, and what an attacker would try: quotes,
# commas, "@", angle brackets, backslashes, CR/LF (header injection).
DISPLAY_NAME = st.text(
    alphabet=st.one_of(st.sampled_from('aZ ,;:"<>@()\\\r\nÖçé漢字👋'), st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))),
    max_size=20,
)
LOCAL = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._+\-]{0,15}", fullmatch=True).filter(lambda s: ".." not in s and not s.endswith("."))
DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-zA-Z0-9]{1,10}){0,2}\.(example|com|ORG)", fullmatch=True)
ADDRESSES = st.lists(st.tuples(DISPLAY_NAME, LOCAL, DOMAIN), min_size=1, max_size=3, unique_by=lambda t: (t[1] + "@" + t[2]).lower())


def _mailbox(name: str, local: str, domain: str) -> str:
    """One address as a mail program writes it: a non-ASCII name (or one
    with a line break: an injection attempt through an encoded word) as an
    RFC 2047 encoded word, an ASCII one quoted as needed."""
    if name.isascii() and "\r" not in name and "\n" not in name:
        return formataddr((name, f"{local}@{domain}"))
    return f"{Header(name, 'utf-8').encode()} <{local}@{domain}>"


@settings(PROPERTY, max_examples=100)
@given(sender=ADDRESSES.map(lambda a: a[0]), to=ADDRESSES, subject=DISPLAY_NAME)
@example(sender=("x\r\nBcc: eve@evil.example", "carol", "grasspods.example"), to=[("Ng, Carol", "a", "b.example")], subject="Hi\r\nBcc: eve@evil.example")
def test_addresses_and_subject_of_a_well_formed_message_come_back_as_written(sender, to, subject):
    # Written by hand, not by email.message.EmailMessage: the stdlib's folding
    # can put the comma between two addresses inside an encoded word, after
    # which they are (per RFC 2047) one address.
    raw = (
        f"From: {_mailbox(*sender)}\r\n"
        f"To: {', '.join(_mailbox(*a) for a in to)}\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: {format_datetime(datetime(2024, 3, 1, 10, tzinfo=UTC))}\r\n\r\nHello\r\n"
    ).encode()
    note(raw.decode())
    parsed = parsing.parse(raw)
    assert isinstance(parsed, parsing.ParsedEmail), parsed
    name, local, domain = sender
    assert parsed.sender.address == f"{local}@{domain}".lower()
    assert parsed.sender.name == " ".join(name.split())[:200]
    assert [a.address for a in parsed.to] == list(dict.fromkeys(f"{lp}@{d}".lower() for _, lp, d in to))
    assert [a.name for a in parsed.to] == [" ".join(n.split())[:200] for n, _, _ in to]
    assert parsed.subject == " ".join(subject.split())[:255]
    assert not parsed.cc and not parsed.bcc  # nothing injected


class Rollback(Exception):
    pass


@settings(PROPERTY, max_examples=30)
@given(raw=RAW)
@example(raw=MESSAGE)
@example(raw=b"From: Carol Ng <\rarol@grasspods.example>\r\nTo: alice@ourco.example\r\n\r\nHello")
@example(raw=b"From: carol@grasspods.example\r\nTo: alice@ourco.example\r\nSubject: nul\x00here\r\n\r\nbody\x00")
def test_any_bytes_posted_as_a_raw_email_are_stored_or_refused_never_a_5xx(alice_mail, world, raw):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {alice_mail.token}")
    try:
        with transaction.atomic():
            response = client.post("/api/v1/emails/raw", raw, content_type="message/rfc822")
            assert response.status_code in (200, 201, 413, 422), (response.status_code, response.content[:300])
            body = response.json()
            if response.status_code == 422:
                assert body["detail"][0]["loc"][0] == "body"
            if response.status_code == 201:
                assert alice_mail.get(f"emails/{body['email_id']}").status_code == 200
                again = client.post("/api/v1/emails/raw", raw, content_type="message/rfc822")
                assert again.status_code == 200 and again.json()["email_id"] == body["email_id"], again.content
                assert again.json()["status"] == "duplicate"
            raise Rollback
    except Rollback:
        pass
