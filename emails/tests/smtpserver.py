"""A real SMTP server on loopback for the sending tests: aiosmtpd's
``Controller`` on 127.0.0.1, a handler that records every transaction
(envelope sender, envelope recipients, the message bytes) and can refuse
chosen recipients at RCPT time, and fixtures that point Django's SMTP
backend at it (pytest-django otherwise forces the locmem backend).

Fixtures (import them into a test module, or list this module in
``pytest_plugins``):

``smtp_server``
    A running server; ``settings.EMAIL_*`` point at it. ``.messages`` are
    the transactions received so far, ``.refuse(address)`` makes RCPT TO
    for that address answer ``550 no such user``.
``closed_smtp_port``
    ``settings.EMAIL_*`` point at a loopback port nobody listens on.
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage as ParsedMessage
from html.parser import HTMLParser

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port that was free a moment ago (Controller cannot bind
    port 0 itself: it needs the port to know where to connect to start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Received:
    """One SMTP transaction as the server saw it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> ParsedMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)

    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content().replace("\r\n", "\n") if part is not None else None

    def text(self) -> str | None:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else None

    def images(self) -> list[str]:
        """Every ``<img src>`` of the HTML part, entity-decoded."""
        return _scan(self.html() or "").images

    def links(self) -> list[str]:
        """Every ``<a href>`` of the HTML part, entity-decoded."""
        return _scan(self.html() or "").links


class _Scanner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img" and values.get("src"):
            self.images.append(values["src"])
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"])


def _scan(html: str) -> _Scanner:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner


@dataclass
class RecordingHandler:
    """aiosmtpd handler: records each accepted transaction; refuses the
    addresses in ``refused`` at RCPT TO (case-insensitive)."""

    messages: list[Received] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self):
        self.handler = RecordingHandler()
        self.controller: Controller | None = None
        self.port: int | None = None

    def start(self) -> SmtpServer:
        last_error: Exception | None = None
        for _ in range(5):  # another process may take the port between probe and bind
            port = free_port()
            controller = Controller(self.handler, hostname=HOST, port=port, ready_timeout=5)
            try:
                controller.start()
            except Exception as exc:  # noqa: BLE001 - retried with another port
                last_error = exc
                continue
            self.controller, self.port = controller, port
            return self
        raise RuntimeError(f"could not start the SMTP test server: {last_error}")

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, address: str) -> None:
        self.handler.refused.add(address.lower())

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()

    def to(self, address: str) -> list[Received]:
        """The transactions whose envelope names ``address``."""
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]


def _point_django_at(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = HOST
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer().start()
    _point_django_at(settings, server.port)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def closed_smtp_port(settings) -> int:
    port = free_port()  # bound and released: nothing listens there now
    _point_django_at(settings, port)
    return port


# --- Reading tracked copies -------------------------------------------------------


def local_path(url: str) -> str:
    """A tracking URL of a sent copy (absolute, on PUBLIC_BASE_URL) as the
    path to GET with Django's test client."""
    from django.conf import settings

    base = settings.PUBLIC_BASE_URL.rstrip("/")
    assert url.startswith(base + "/"), f"{url!r} is not on PUBLIC_BASE_URL {base!r}"
    return url[len(base) :]


def pixel_of(copy: Received) -> str:
    """The path of the one open pixel in a copy."""
    from emails.tracking import OPEN_PATH

    pixels = [local_path(src) for src in copy.images() if OPEN_PATH in src]
    assert len(pixels) == 1, pixels
    return pixels[0]


def tracked_links_of(copy: Received) -> list[str]:
    """The paths of a copy's rewritten (click-tracked) links, in order."""
    from emails.tracking import CLICK_PATH

    return [local_path(href) for href in copy.links() if CLICK_PATH in href]


def recipient_token(copy: Received) -> str:
    """The ``tp_recipient`` custom argument of a copy, from its X-SMTPAPI
    header (SendGrid echoes unique_args on every event)."""
    import json

    return json.loads(copy.message["X-SMTPAPI"])["unique_args"]["tp_recipient"]
