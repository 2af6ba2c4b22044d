"""A corpus of real, messy messages goes through parse -> store -> timeline
with zero crashes: CPython's own test_email data files (the interpreter's
``test`` package ships them), plus hand-made broken messages.

Every message ends either stored (with a text body) or rejected with a
recorded reason; nothing raises, and every stored email shows on a
contact's timeline through the API and on the contact's page.
"""
from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from crm.models import Contact, ContactEmail
from emails import parsing
from emails.ingest import Arrival, do_ingest
from emails.models import EmailMessage, Rejection
from touchpoints.rules import Source


def corpus_dir() -> Path | None:
    for base in (sysconfig.get_paths()["stdlib"], "/usr/lib/python3.11"):
        path = Path(base) / "test" / "test_email" / "data"
        if path.is_dir():
            return path
    return None


def corpus() -> list[tuple[str, bytes]]:
    path = corpus_dir()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CPython's test_email data files are missing from this Python (its `test` package)")
        pytest.skip("!!! SKIPPED: CPython's test_email data files are not installed with this Python !!!")
    return [(p.name, p.read_bytes()) for p in sorted(path.glob("msg_*.txt"))]


MESSY = [
    ("8bit-header", b"From: J\xf6rg <jorg@grasspods.example>\nTo: alice@ourco.example\nSubject: Gr\xfc\xdfe\n\nHallo\n"),
    ("no-blank-line", b"From: carol@grasspods.example\nTo: alice@ourco.example\nSubject: x"),
    ("broken-address", b"From: <<<@@>>>\nTo: alice@ourco.example, ,,; \"unterminated\nSubject: broken\n\nbody\n"),
    ("bad-date", b"From: carol@grasspods.example\nTo: alice@ourco.example\nDate: yesterday-ish\nSubject: when\n\nbody\n"),
    ("future-date", b"From: carol@grasspods.example\nTo: alice@ourco.example\nDate: Fri, 1 Jan 2100 00:00:00 +0000\n\nbody\n"),
    ("long-line", b"From: carol@grasspods.example\nTo: alice@ourco.example\nSubject: long\n\n" + b"x" * 20000 + b"\n"),
    (
        "bad-base64",
        b"From: carol@grasspods.example\nTo: alice@ourco.example\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n\n!!!not base64###\n",
    ),
    (
        "html-only-bad-charset",
        b"From: carol@grasspods.example\nTo: alice@ourco.example\nContent-Type: text/html; charset=klingon\n\n<p>Hi <b>there</b></p>\n",
    ),
    (
        "multipart-no-boundary",
        b"From: carol@grasspods.example\nTo: alice@ourco.example\nContent-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n",
    ),
    ("nul-bytes", b"From: carol@grasspods.example\nTo: alice@ourco.example\nSubject: nul\x00here\n\nbody\x00with nul\n"),
    ("empty", b""),
    ("binary", bytes(range(256)) * 4),
]


def test_every_corpus_message_is_stored_or_rejected_with_a_reason(alice_mail, client):
    messages = corpus() + MESSY
    # Each address in the corpus becomes a contact, so every stored email
    # must show on some contact's timeline.
    addresses = set()
    for _name, raw in messages:
        parsed = parsing.parse(raw)
        if isinstance(parsed, parsing.ParsedEmail):
            addresses.update(a.address for a in parsed.participants)
    for n, address in enumerate(sorted(addresses)):
        contact = Contact.objects.create(last_name=f"Corpus {n}", owner=alice_mail.user)
        ContactEmail.objects.create(contact=contact, email=address)

    outcomes = []
    for name, raw in messages:
        (outcome,) = do_ingest(alice_mail.user, [Arrival(raw=raw)], source=Source.API)
        outcomes.append((name, outcome))
    for name, outcome in outcomes:
        assert outcome.status in ("stored", "duplicate", "skipped", "rejected"), name
        if outcome.status == "rejected":
            assert outcome.reason, name
    stored = [(n, o) for n, o in outcomes if o.status == "stored"]
    # Only what has no sender and no recipient at all (MIME fragments in
    # CPython's data, the empty and binary files) is not an email.
    rejected = {n: o.reason for n, o in outcomes if o.status == "rejected"}
    assert set(rejected.values()) <= {"no-participants", "not-a-message"}, rejected
    assert len(rejected) <= 0.25 * len(messages), rejected
    assert Rejection.objects.count() == sum(1 for _, o in outcomes if o.status == "rejected")

    client.force_login(alice_mail.user)
    for contact in Contact.objects.filter(emails__isnull=False).distinct():
        timeline = alice_mail.get(f"contacts/{contact.id}/timeline")
        assert timeline.status_code == 200
        assert client.get(f"/contacts/{contact.id}/").status_code == 200
    on_timelines = set()
    for contact in Contact.objects.all():
        on_timelines.update(i["id"] for i in alice_mail.get(f"contacts/{contact.id}/timeline", limit=200).json()["items"])
    for name, outcome in stored:
        assert alice_mail.get(f"emails/{outcome.email_id}").status_code == 200, name
        if EmailMessage.objects.get(id=outcome.email_id).participants.filter(contact__isnull=False).exists():
            assert outcome.touchpoint_id in on_timelines, name


def test_messy_messages_keep_what_can_be_read():
    by_name = dict(MESSY)
    eight_bit = parsing.parse(by_name["8bit-header"])
    assert eight_bit.sender.address == "jorg@grasspods.example"
    assert parsing.parse(by_name["bad-date"]).date is None
    assert parsing.parse(by_name["future-date"]).date is None
    html = parsing.parse(by_name["html-only-bad-charset"])
    assert html.body_text.startswith("Hi there") and html.has_html
    assert "\x00" not in parsing.parse(by_name["nul-bytes"]).body_text
    assert isinstance(parsing.parse(by_name["empty"]), parsing.Rejected)
    assert isinstance(parsing.parse(by_name["binary"]), parsing.Rejected)
