"""Provider event webhooks (SendGrid, Mailgun): verify the request with the
provider's own SDK verifier, then turn its payload into ``ProviderEvent``s.

Pure functions, no models: the API view verifies, parses, and hands the
events to the services, which store each (provider, event_id) once
(providers retry until they get a 2xx) and apply it: a bounce marks the
recipient's email bounced so it no longer counts for Last Contacted.

Verification failures are a ``False`` (the view answers 401/403); a key
that is missing or unusable is ``ImproperlyConfigured`` (a deployment bug
that must not look like "every provider request is forged"); a verified
payload with a missing or invalid field is ``WebhookPayloadError`` naming
the field (the view answers 400 naming it).

Payload formats: SendGrid Event Webhook reference
(https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event),
Mailgun webhook payloads
(https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads).
Only Mailgun's current JSON webhooks are read, not the legacy form-encoded ones.

Required per event: the event name, the provider's event id, the timestamp
and (except for events we map to "other") the recipient; a failed Mailgun
event also needs its severity. Everything else is informational and read
leniently: a SendGrid batch refused over one odd field would be retried for
days and then dropped whole. Unknown event names become "other".
"""
from __future__ import annotations

import binascii
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured
from mailgun.security import SecurityGuard
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

SENDGRID = "sendgrid"
MAILGUN = "mailgun"

# Request headers of SendGrid's Signed Event Webhook.
SENDGRID_SIGNATURE_HEADER: str = EventWebhookHeader.SIGNATURE  # X-Twilio-Email-Event-Webhook-Signature
SENDGRID_TIMESTAMP_HEADER: str = EventWebhookHeader.TIMESTAMP  # X-Twilio-Email-Event-Webhook-Timestamp

# Replay window for signed requests, both ways (clock skew). 15 minutes is
# the Mailgun SDK's default; SendGrid documents none, so we use the same.
DEFAULT_MAX_AGE_SECONDS = 900

EVENT_TYPES = ("delivered", "bounced", "open", "click", "dropped", "deferred", "spam", "unsubscribe", "other")
_FAILURES = ("bounced", "dropped", "deferred")  # the types that get a reason
MAX_EVENT_ID_LENGTH = 255  # ProviderEvent.event_id


class WebhookPayloadError(ValueError):
    """A verified payload we cannot read: ``field`` names the culprit
    (``[2].sg_event_id``, ``event-data.timestamp``) for the 400 response."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class ProviderEvent:
    provider: str  # "sendgrid" | "mailgun"
    event_id: str  # the provider's id, unique per provider (store with provider)
    type: str  # one of EVENT_TYPES
    occurred_at: datetime  # UTC, aware
    recipient: str  # lower-cased address; "" only for an "other" event that names none
    message_id: str | None  # RFC Message-ID without <>; SendGrid omits it on open/click events
    url: str | None  # clicked URL
    ip: str | None
    user_agent: str | None
    raw: dict[str, Any]  # the provider's event object as received (SendGrid: one array item; Mailgun: event-data)
    # The provider says a machine, not a person, made this open (SendGrid
    # sg_machine_open: Apple MPP) or open/click (Mailgun client-info.bot:
    # apple, gmail or generic, the last mostly link scanners).
    machine_open: bool = False
    reason: str | None = None  # why it bounced/was dropped/deferred (SMTP response), for people to read
    # SendGrid sg_message_id: on every event, including opens and clicks that
    # carry no smtp-id; it starts with the X-Message-Id the send API returned.
    provider_message_id: str | None = None


# --- SendGrid ---------------------------------------------------------------

_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) PUBLIC KEY-----|\s+")


@lru_cache(maxsize=8)
def _sendgrid_verifier(public_key: str) -> EventWebhook:
    """The SDK verifier for the key SendGrid's dashboard shows: base64 DER
    (SubjectPublicKeyInfo) without PEM armour. Pasted armour and line
    breaks are tolerated, since the SDK adds the armour itself."""
    bare = _PEM_ARMOUR.sub("", public_key or "")
    if not bare:
        raise ImproperlyConfigured("SendGrid webhook verification key is empty")
    try:
        verifier = EventWebhook(bare)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("SendGrid webhook verification key is not a base64 DER public key") from exc
    if not isinstance(verifier.public_key, ec.EllipticCurvePublicKey):
        raise ImproperlyConfigured("SendGrid webhook verification key is not an elliptic-curve (ECDSA) key")
    return verifier


def _fresh(timestamp: str, max_age_seconds: int) -> bool:
    if max_age_seconds <= 0:
        raise ValueError("max_age_seconds must be positive")
    try:
        sent = int(timestamp.strip())
    except ValueError:
        return False
    return abs(time.time() - sent) <= max_age_seconds


def verify_sendgrid(
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    public_key: str,
    *,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
) -> bool:
    """True when SendGrid signed exactly these bytes at ``timestamp``
    (headers SENDGRID_SIGNATURE_HEADER / SENDGRID_TIMESTAMP_HEADER) and the
    timestamp is within ``max_age_seconds`` of now, either way.

    ``body`` must be the raw request body, before any JSON parsing: SendGrid
    signs ``timestamp + body`` (ECDSA P-256, SHA-256, DER signature in
    base64), and re-serialized JSON would not match.
    """
    verifier = _sendgrid_verifier(public_key)
    if not signature or not timestamp or not isinstance(body, (bytes, bytearray)):
        return False
    if not _fresh(timestamp, max_age_seconds):
        return False
    try:
        payload = bytes(body).decode("utf-8")  # the SDK re-encodes it as UTF-8: identity for valid UTF-8
        return bool(verifier.verify_signature(payload, signature, timestamp))
    except (UnicodeDecodeError, binascii.Error, ValueError, TypeError, InvalidSignature):
        return False


# SendGrid "event" -> our type. "bounce" covers type=bounce and type=blocked:
# neither message reached the inbox and SendGrid does not retry either.
_SENDGRID_TYPES = {
    "processed": "other",
    "delivered": "delivered",
    "deferred": "deferred",
    "bounce": "bounced",
    "dropped": "dropped",
    "open": "open",
    "click": "click",
    "spamreport": "spam",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "group_resubscribe": "other",
}


def parse_sendgrid(body: bytes) -> list[ProviderEvent]:
    """SendGrid posts a JSON array of events (a batch, up to thousands)."""
    try:
        data = without_nul(json.loads(body))
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise WebhookPayloadError("body", "is not valid JSON") from exc
    if not isinstance(data, list):
        raise WebhookPayloadError("body", "must be a JSON array of events")
    return [_sendgrid_event(item, f"[{i}]") for i, item in enumerate(data)]


def _sendgrid_event(item: Any, where: str) -> ProviderEvent:
    if not isinstance(item, dict):
        raise WebhookPayloadError(where, "must be an object")
    name = _required_str(item, "event", where)
    type_ = _SENDGRID_TYPES.get(name, "other")
    return ProviderEvent(
        provider=SENDGRID,
        event_id=_event_id(item, "sg_event_id", where),
        type=type_,
        occurred_at=_timestamp(item.get("timestamp"), f"{where}.timestamp"),
        recipient=_recipient(item.get("email"), f"{where}.email", required=type_ != "other"),
        message_id=_strip_angles(_text(item, "smtp-id")),
        url=_text(item, "url") if type_ == "click" else None,
        ip=_text(item, "ip"),
        user_agent=_text(item, "useragent"),
        raw=item,
        machine_open=type_ == "open" and item.get("sg_machine_open") is True,
        reason=(_text(item, "reason") or _text(item, "response")) if type_ in _FAILURES else None,
        provider_message_id=_text(item, "sg_message_id"),
    )


# --- Mailgun ------------------------------------------------------------------


def verify_mailgun(payload: dict, signing_key: str, *, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> bool:
    """True when the ``signature`` object of a Mailgun JSON webhook
    ({timestamp, token, signature}) is Mailgun's HMAC-SHA256 of
    ``timestamp + token`` under the webhook signing key, and the timestamp
    is within ``max_age_seconds`` of now (checked by the SDK)."""
    if not signing_key:
        # An empty HMAC key would make every signature computable by anyone.
        raise ImproperlyConfigured("Mailgun webhook signing key is empty")
    if max_age_seconds <= 0:
        raise ValueError("max_age_seconds must be positive")
    sig = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(sig, dict):
        return False
    token, timestamp, signature = sig.get("token"), sig.get("timestamp"), sig.get("signature")
    if not (isinstance(token, str) and isinstance(signature, str) and isinstance(timestamp, (str, int))):
        return False
    if isinstance(timestamp, bool):
        return False
    try:
        return SecurityGuard.verify_webhook(signing_key, token, timestamp, signature, max_age_seconds=max_age_seconds)
    except (TypeError, ValueError, OverflowError):
        return False


_MAILGUN_TYPES = {
    "accepted": "other",
    "delivered": "delivered",
    "failed": "bounced",  # refined by severity/reason in _mailgun_type
    "rejected": "dropped",
    "opened": "open",
    "clicked": "click",
    "complained": "spam",
    "unsubscribed": "unsubscribe",
    "stored": "other",
}


def _mailgun_type(name: str, data: dict, where: str) -> str:
    type_ = _MAILGUN_TYPES.get(name, "other")
    if name != "failed":
        return type_
    severity = _required_str(data, "severity", where)
    if severity == "temporary":
        return "deferred"
    if severity != "permanent":
        raise WebhookPayloadError(f"{where}.severity", "must be 'permanent' or 'temporary'")
    # suppress-bounce / suppress-unsubscribe / suppress-complaint: Mailgun
    # did not even try, the address is on a suppression list.
    reason = data.get("reason")
    return "dropped" if isinstance(reason, str) and reason.startswith("suppress-") else "bounced"


def parse_mailgun(payload: dict) -> list[ProviderEvent]:
    """A Mailgun JSON webhook carries one event under ``event-data``."""
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body", "must be a JSON object")
    payload = without_nul(payload)
    where = "event-data"
    data = payload.get(where)
    if not isinstance(data, dict):
        raise WebhookPayloadError(where, "is missing or not an object")
    name = _required_str(data, "event", where)
    type_ = _mailgun_type(name, data, where)
    headers = _object(_object(data, "message"), "headers")
    client = _object(data, "client-info")
    return [
        ProviderEvent(
            provider=MAILGUN,
            event_id=_event_id(data, "id", where),
            type=type_,
            occurred_at=_timestamp(data.get("timestamp"), f"{where}.timestamp"),
            recipient=_mailgun_recipient(data, headers, where, required=type_ != "other"),
            message_id=_strip_angles(_text(headers, "message-id")),
            url=_text(data, "url") if type_ == "click" else None,
            ip=_text(data, "ip"),
            user_agent=_text(client, "user-agent"),
            raw=data,
            machine_open=type_ in ("open", "click") and bool(_text(client, "bot")),
            reason=_mailgun_reason(data) if type_ in _FAILURES else None,
        )
    ]


def _mailgun_recipient(data: dict, headers: dict, where: str, *, required: bool) -> str:
    if data.get("recipient") is not None or not isinstance(headers.get("to"), str):
        return _recipient(data.get("recipient"), f"{where}.recipient", required=required)
    # "rejected" events carry no recipient field; the To header names it.
    addresses = [addr for _, addr in getaddresses([headers["to"]]) if "@" in addr]
    return _recipient(addresses[0] if addresses else None, f"{where}.recipient", required=required)


def _mailgun_reason(data: dict) -> str | None:
    """What a person should read about a failure: the SMTP description or
    message, else a rejection's reason, else Mailgun's reason code."""
    status, reject = _object(data, "delivery-status"), _object(data, "reject")
    return _text(status, "description") or _text(status, "message") or _text(reject, "reason") or _text(data, "reason")


# --- Field readers ------------------------------------------------------------


def without_nul(value: Any) -> Any:
    """The parsed payload with NUL characters dropped from every string:
    PostgreSQL stores them in no text column (the event would be a 500, and
    the provider would retry the batch for days), and no field means
    anything by one. Applied after the signature is verified."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def _required_str(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WebhookPayloadError(f"{where}.{key}", "is missing or not a non-empty string")
    return value.strip()


def _text(obj: dict, key: str) -> str | None:
    """An informational field: None when missing, blank or not a string.
    Refusing a whole SendGrid batch over a user agent would make SendGrid
    retry it for days and then drop every event in it."""
    value = obj.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _object(obj: dict, key: str) -> dict:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _event_id(obj: dict, key: str, where: str) -> str:
    value = _required_str(obj, key, where)
    if len(value) > MAX_EVENT_ID_LENGTH:
        raise WebhookPayloadError(f"{where}.{key}", f"is longer than {MAX_EVENT_ID_LENGTH} characters")
    return value


def _timestamp(value: Any, field_name: str) -> datetime:
    """Unix seconds (SendGrid: int; Mailgun: float; either may be a numeric string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise WebhookPayloadError(field_name, "is missing or not a Unix timestamp")
    try:
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(value)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookPayloadError(field_name, "is not a valid Unix timestamp") from exc


def _recipient(value: Any, field_name: str, *, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or "@" not in value:
        raise WebhookPayloadError(field_name, "is missing or not an email address")
    return value.strip().lower()


def _strip_angles(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip().removeprefix("<").removesuffix(">").strip() or None
