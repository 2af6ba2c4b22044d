"""Raw RFC 822 bytes -> a ``ParsedEmail``, or a ``Rejected`` with its reason.

Real mail is messy, so every step here degrades instead of failing:
- Headers come from the stdlib parser with ``policy.default``; a header
  whose structured parse raises falls back to its raw, RFC 2047-decoded text.
- A body part in an unknown or lying charset is decoded by
  ``charset_normalizer``'s guess, then as UTF-8 with replacement characters.
- HTML-only mail gets its text from ``inscriptis`` (layout-aware, keeps
  paragraphs and list items apart), never from a regex.
- Lines over 998 octets, missing Date or Message-ID, 8-bit headers: the
  stdlib parser already accepts them; we record what we had to guess.

What the parser cannot turn into an email at all (no headers, no sender and
no recipients, not a message) is a ``Rejected`` with a short reason code;
the caller stores that reason instead of stopping the sync.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

import charset_normalizer
from inscriptis import get_text

MAX_BODY_CHARS = 200_000  # text kept per email; the raw message is not stored
MAX_ID_LENGTH = 255


@dataclass
class Address:
    address: str  # lower-cased
    name: str = ""


@dataclass
class Attachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass
class ParsedEmail:
    message_id: str  # without angle brackets; synthesized when missing
    subject: str
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    date: datetime | None  # None when missing or unreadable
    in_reply_to: str | None
    references: list[str]
    body_text: str
    has_html: bool
    attachments: list[Attachment] = field(default_factory=list)
    # Why this looks machine-sent ("auto-submitted: auto-replied", "list",
    # "bounce"...), or "" for a person's mail.
    automated: str = ""
    # A delivery status notification names the message that bounced.
    bounced_message_id: str | None = None
    defects: list[str] = field(default_factory=list)
    size: int = 0

    @property
    def participants(self) -> list[Address]:
        seen: dict[str, Address] = {}
        for a in ([self.sender] if self.sender else []) + self.to + self.cc + self.bcc:
            seen.setdefault(a.address, a)
        return list(seen.values())


@dataclass
class Rejected:
    reason: str  # short code: "not-a-message", "no-participants", ...
    detail: str = ""
    message_id: str | None = None
    subject: str = ""


_PARSER = BytesParser(policy=policy.default)
MSGID_RE = re.compile(r"<([^<>\s]+)>")


def parse(raw: bytes) -> ParsedEmail | Rejected:
    try:
        msg = _PARSER.parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a last resort
        return Rejected("unparseable", f"{type(exc).__name__}: {exc}")
    if not any(k for k in msg.keys()):
        return Rejected("not-a-message", "no headers found")
    subject = _header_text(msg, "Subject")[:255]
    sender = _first(_addresses(msg, "From")) or _first(_addresses(msg, "Sender"))
    to, cc, bcc = _addresses(msg, "To"), _addresses(msg, "Cc"), _addresses(msg, "Bcc")
    message_id = _message_id(msg, raw)
    if sender is None and not (to or cc or bcc):
        return Rejected("no-participants", "no From, To, Cc or Bcc address", message_id, subject)
    try:
        text, has_html, attachments, defects = _body(msg)
    except Exception as exc:
        return Rejected("unreadable-body", f"{type(exc).__name__}: {exc}", message_id, subject)
    parsed = ParsedEmail(
        message_id=message_id,
        subject=subject,
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        date=_date(msg),
        in_reply_to=_first(_message_ids(_header_text(msg, "In-Reply-To"))),
        references=_message_ids(_header_text(msg, "References"))[-50:],
        body_text=text[:MAX_BODY_CHARS],
        has_html=has_html,
        attachments=attachments,
        defects=defects + [type(d).__name__ for d in msg.defects],
        size=len(raw),
    )
    parsed.automated = automated_reason(msg, parsed)
    if parsed.automated == "bounce":
        parsed.bounced_message_id = _bounced_message_id(msg)
    return parsed


# --- headers ------------------------------------------------------------------


def clean(text: str) -> str:
    """Text every database stores: no NUL (PostgreSQL refuses it) and no
    lone surrogates (the parser's stand-ins for undeclared 8-bit header
    bytes, read back here as UTF-8, else as Windows-1252)."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", "replace").encode("utf-8", "replace").decode("utf-8")


def _header_text(msg: Message, name: str) -> str:
    """The header's decoded text; never raises."""
    try:
        value = msg.get(name)
        return "" if value is None else clean(" ".join(str(value).split()))
    except Exception:
        return _decode_raw(_first(_unparsed_values(msg, name)))


def _decode_raw(raw) -> str:
    if raw is None:
        return ""
    try:
        return clean(" ".join(str(make_header(decode_header(str(raw)))).split()))
    except Exception:
        return clean(" ".join(str(raw).split()))


def _unparsed_values(msg: Message, name: str) -> list[str]:
    """The header's values as they came, without the policy's structured
    parse: ``get``/``get_all`` run it, and it raises on some malformed
    headers (``From: Carol <\\rcarol@...>``: IndexError in the stdlib)."""
    lowered = name.lower()
    return [value for key, value in msg.raw_items() if key.lower() == lowered]


def _raw_values(msg: Message, name: str) -> list[str]:
    # Header objects from policy.default parse lazily; str() of the raw
    # value is safe and getaddresses does its own (lenient) parsing.
    out = []
    try:
        values = msg.get_all(name, []) or []
    except Exception:
        values = _unparsed_values(msg, name)
    for value in values:
        try:
            out.append(str(value))
        except Exception:
            out.append(_decode_raw(value))
    return out


def _addresses(msg: Message, name: str) -> list[Address]:
    out: list[Address] = []
    seen = set()
    try:
        # The header as written, not its str() after the policy's parse: that
        # joins adjacent encoded words with a space (a long non-ASCII name,
        # split over two, gained one); _decode_raw decodes them per RFC 2047.
        pairs = getaddresses(_unparsed_values(msg, name))
    except Exception:
        return out
    for display, addr in pairs:
        addr = clean(addr).strip().strip("<>").lower()
        if "@" not in addr or any(c.isspace() for c in addr) or len(addr) > 254 or addr in seen:
            continue
        seen.add(addr)
        out.append(Address(addr, _decode_raw(display)[:200]))
    return out


def _first(items):
    return items[0] if items else None


def _message_ids(text: str) -> list[str]:
    return [clean(m)[:MAX_ID_LENGTH] for m in MSGID_RE.findall(text or "")]


def _message_id(msg: Message, raw: bytes) -> str:
    found = _message_ids(_header_text(msg, "Message-ID"))
    if found:
        return found[0]
    bare = _header_text(msg, "Message-ID").strip()
    if bare and " " not in bare:
        return bare[:MAX_ID_LENGTH]
    # No Message-ID: a stable one from what identifies the message, so the
    # same mail synced from two folders (or twice) is still one touchpoint.
    basis = "\n".join(_header_text(msg, h) for h in ("Date", "From", "To", "Cc", "Subject")).encode()
    body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
    return "synthetic." + hashlib.sha256(basis + b"\0" + body).hexdigest() + "@touchpoints.invalid"


def _date(msg: Message) -> datetime | None:
    raw = _raw_values(msg, "Date")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(raw[0])
    except Exception:
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322 3.3
        when = when.replace(tzinfo=UTC)
    if not (datetime(1990, 1, 1, tzinfo=UTC) <= when <= datetime.now(UTC) + timedelta(days=1)):
        return None  # a clock at 1970 or in the future is not when it happened
    return when.astimezone(UTC)


# --- body ---------------------------------------------------------------------


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        best = charset_normalizer.from_bytes(payload).best()
        return str(best) if best is not None else payload.decode("utf-8", errors="replace")


def _body(msg: Message) -> tuple[str, bool, list[Attachment], list[str]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    defects: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        if disposition == "attachment" or (filename and not ctype.startswith("text/")) or not (
            ctype.startswith("text/") or ctype.startswith("message/")
        ):
            payload = part.get_payload(decode=True)
            if payload:
                attachments.append(Attachment(filename or f"attachment.{ctype.split('/')[-1]}", ctype, payload))
            continue
        if ctype == "text/plain":
            plain.append(_decode_part(part))
        elif ctype == "text/html":
            html.append(_decode_part(part))
        elif ctype in ("message/delivery-status", "text/rfc822-headers", "message/rfc822-headers"):
            continue  # machine-readable bounce parts: not text a person wrote
    if plain:
        text = "\n".join(plain)
    elif html:
        try:
            text = "\n".join(get_text(h) for h in html)
        except Exception as exc:
            defects.append(f"html: {type(exc).__name__}")
            text = re.sub(r"<[^>]+>", " ", "\n".join(html))
    else:
        text = ""
    text = clean(text.replace("\r\n", "\n"))
    return text.strip(), bool(html), attachments, defects


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return _decode_raw(name)[:255] if name else ""


# --- automated mail -----------------------------------------------------------

# Conditions as data: (header, test, reason). First match wins.
# Sources: RFC 3834 (Auto-Submitted), RFC 2919 (List-Id), RFC 2369
# (List-Unsubscribe & co.), RFC 3464 (delivery status notifications), and
# de-facto headers of Exchange and common autoresponders.
AUTOMATED_HEADER_RULES: tuple[tuple[str, re.Pattern, str], ...] = (
    ("Content-Type", re.compile(r"multipart/report.*report-type=\"?delivery-status", re.I | re.S), "bounce"),
    ("Auto-Submitted", re.compile(r"^(?!\s*no\s*$).+", re.I), "auto-submitted"),
    ("X-Autoreply", re.compile(r".+"), "auto-reply"),
    ("X-Autorespond", re.compile(r".+"), "auto-reply"),
    ("X-Auto-Response-Suppress", re.compile(r"\b(all|oof|autoreply)\b", re.I), "auto-reply"),
    ("Precedence", re.compile(r"^\s*(bulk|list|junk|auto_reply)\s*$", re.I), "precedence"),
    ("List-Id", re.compile(r".+"), "mailing-list"),
    ("List-Unsubscribe", re.compile(r".+"), "mailing-list"),
    ("Feedback-ID", re.compile(r".+"), "bulk-sender"),
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
AUTO_SUBJECTS = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|undeliverable|undelivered mail|"
    r"delivery status notification|mail delivery (failed|failure|system)|returned mail)\b",
    re.I,
)


def automated_reason(msg: Message, parsed: ParsedEmail) -> str:
    """Why this mail was sent by a machine, or "" (a person wrote it)."""
    for header, test, reason in AUTOMATED_HEADER_RULES:
        value = _header_text(msg, header) if header != "Content-Type" else str(msg.get("Content-Type", ""))
        if value and test.search(value):
            if reason == "auto-submitted":
                return f"auto-submitted: {value.split(';')[0].strip().lower()}"
            return reason
    if parsed.sender and BOUNCE_SENDERS.match(parsed.sender.address):
        return "bounce"
    if "".join(_raw_values(msg, "Return-Path")).strip() == "<>":
        return "null-return-path"
    if AUTO_SUBJECTS.match(parsed.subject):
        return "auto-reply-subject"
    return ""


def _bounced_message_id(msg: Message) -> str | None:
    """The Message-ID of the mail a DSN reports on (RFC 3464: the returned
    message or its headers are the report's third part)."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], (EmailMessage, Message)):
                found = _message_ids(_header_text(inner[0], "Message-ID"))
            else:
                text = _decode_part(part) if not isinstance(inner, list) else ""
                match = re.search(r"^Message-ID:\s*(<[^>]+>)", text, re.I | re.M)
                found = _message_ids(match.group(1)) if match else []
            if found:
                return found[0]
    return None


# --- helpers for matching and threading -----------------------------------------

PLUS_TAG = re.compile(r"\+[^@]*(?=@)")
SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r|ref)\s*(\[\d+\])?\s*:\s*)+", re.I)


def base_address(address: str) -> str:
    """bob+crm@example.com -> bob@example.com (plus-addressing, RFC 5233
    subaddress). Applied to every domain: the + tag is what providers put
    there, and a real local part with a literal + is vanishingly rare."""
    return PLUS_TAG.sub("", address.lower())


def normalized_subject(subject: str) -> str:
    """"Re: Fwd: AW: Pricing" -> "pricing", for threading mail that lost its
    References header."""
    return " ".join(SUBJECT_PREFIX.sub("", subject or "").split()).lower()[:200]
