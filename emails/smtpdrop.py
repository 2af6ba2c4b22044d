"""The BCC/forward drop: an SMTP server (aiosmtpd) on a loopback port.

Each user has a personal drop address (``<key>@BCC_DROP_DOMAIN``,
emails.services.drop_address_of). Mail to it is stored as that user's
email touchpoint through emails.ingest.do_ingest, the same path as the
IMAP sync. RCPT for any other address is refused (550), so the drop is
not an open relay and a typo is reported to the sender at once.

Forwarded mail: when a user forwards a customer's message as an attachment
(message/rfc822), the attached message is what gets stored, not the
forwarding wrapper. An inline forward ("---- Forwarded message ----") is
stored as the forward itself; recovering the original from quoted text is
guesswork we do not do.

It listens on BCC_DROP_HOST:BCC_DROP_PORT (127.0.0.1:2525 by default);
expose it to the internet through your MX/MTA (Postfix relaying the drop
domain to it), not directly.
"""
from __future__ import annotations

from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from emails.ingest import Arrival, do_ingest
from emails.services import user_for_drop_address
from touchpoints.rules import Source


def unwrap_forward(raw: bytes, forwarder_addresses: set[str]) -> bytes:
    """The attached original when a user forwarded exactly one message as an
    attachment; otherwise the message itself."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        sender = (msg.get("From").addresses[0].addr_spec or "").lower() if msg.get("From") else ""
    except Exception:
        return raw
    if sender not in forwarder_addresses:
        return raw
    attached = [part for part in msg.walk() if part.get_content_type() == "message/rfc822"]
    if len(attached) != 1:
        return raw
    inner = attached[0].get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    try:
        return inner.as_bytes(policy=policy.SMTP)
    except Exception:
        return raw


def _own_connection(fn):
    """Run ``fn`` in an executor thread with its own database connection,
    closed afterwards (a thread's connection outlives its work otherwise)."""

    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)


def _ingest_for(address: str, raw: bytes) -> str:
    """Store ``raw`` for the owner of drop ``address``."""
    user = user_for_drop_address(address)
    if user is None:
        return "550 5.1.1 unknown drop address"
    (outcome,) = do_ingest(user, [Arrival(raw=unwrap_forward(raw, {user.email.lower()} if user.email else set()))], source=Source.BCC)
    return f"250 2.0.0 {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else "")


class DropHandler:
    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options):
        user = await _own_connection(user_for_drop_address)(address)
        if user is None:
            return "550 5.1.1 no such drop address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        if len(raw) > settings.MAX_RAW_EMAIL_BYTES:
            return "552 5.3.4 message too big"
        # Every message is accepted once it is ours to judge: a message we
        # could not parse is kept as a Rejection with its reason, like the
        # IMAP sync does, instead of bouncing back to a user who BCC'd us.
        for address in envelope.rcpt_tos:
            await _own_connection(_ingest_for)(address, raw)
        return "250 2.0.0 stored"


def controller(host: str | None = None, port: int | None = None) -> Controller:
    return Controller(
        DropHandler(),
        hostname=host or settings.BCC_DROP_HOST,
        port=port or settings.BCC_DROP_PORT,
        data_size_limit=settings.MAX_RAW_EMAIL_BYTES,
        decode_data=False,
    )
