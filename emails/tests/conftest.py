"""Fixtures for the email channel: personas with addresses, a builder of
raw messages, and Huey running tasks in-process."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from huey.contrib.djhuey import HUEY

from conftest import at  # noqa: F401 - re-exported for the tests


@pytest.fixture(autouse=True)
def huey_in_process():
    """Tasks enqueued after commit run at once, in this process, so a test
    sees their effect (django_capture_on_commit_callbacks(execute=True))."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def _with_address(persona, address: str):
    persona.user.email = address
    persona.user.save(update_fields=["email"])
    return persona


@pytest.fixture
def alice_mail(alice):
    return _with_address(alice, "alice@ourco.example")


@pytest.fixture
def bob_mail(bob):
    return _with_address(bob, "bob@ourco.example")


def make_mail(
    *,
    sender: str = "Carol Ng <carol@grasspods.example>",
    to: str = "alice@ourco.example",
    cc: str | None = None,
    subject: str = "Pricing",
    body: str = "Hello, could you send the price list?",
    html: str | None = None,
    when: str = "2024-03-01 10:00",
    message_id: str | None = "auto",
    headers: dict | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> bytes:
    from datetime import UTC, datetime

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.fromisoformat(when).replace(tzinfo=UTC))
    if message_id == "auto":
        msg["Message-ID"] = make_msgid(domain="grasspods.example")
    elif message_id:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and body is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, ctype, payload in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


@pytest.fixture
def mail():
    return make_mail
