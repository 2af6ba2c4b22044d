"""One adapter interface for telephony/SMS providers (Twilio, Plivo).

Pure code: no models, no ORM; ``django.conf.settings`` is read for
``DEFAULT_PHONE_REGION`` and ``TELEPHONY_HANGUP_SECONDS`` only, with
fallbacks, so the adapters work (and are tested) without the telephony app
being installed.

What an adapter does
    * ``verify``: the provider's own SDK validator on the request as the
      provider sent it (twilio.request_validator.RequestValidator, Plivo's V3
      then V2 signature helpers). A missing header, an empty token or any
      error inside the validator is ``False``: never an exception.
    * ``replay_key``: the provider's per-delivery token (Twilio's
      I-Twilio-Idempotency-Token, Plivo's signature nonce), for dedupe.
    * ``parse_*``: the providers' real form-encoded webhook fields into a
      :class:`CallEvent` / :class:`SmsEvent` in the CRM's vocabulary
      (``CALL_STATUSES``, ``SMS_STATUSES``); a missing or unusable field is a
      :class:`PayloadError` naming it.
    * ``send_sms`` / ``start_call``: through the official SDKs, pointed at
      ``Credentials.api_base`` when set (tests: a loopback stand-in); any
      failure is a :class:`ProviderError` carrying the provider's message.
    * ``connect_markup`` / ``empty_markup``: XML built with the SDKs' own
      builders (TwiML ``VoiceResponse``/``MessagingResponse``, ``plivoxml``).

CRM statuses (touchpoints.rules, Kind.PHONE_CALL / Kind.SMS)
    Calls: queued, ringing, in_progress, then one final status: completed,
    hangup, busy, no_answer, failed, canceled. The product description
    (shared/seeds, "Customer Touchpoints") names "Completed or Hangup" as the
    calls that are logged in Activity, i.e. the calls where the customer was
    really reached, and says nothing more about Hangup. Providers have no
    such status: Twilio and Plivo both report an answered call that ended as
    ``completed``. So **Hangup** here is: *the call was answered (connected)
    but ended almost at once* -- the provider says completed and the talk
    time is under ``TELEPHONY_HANGUP_SECONDS`` (default
    :data:`DEFAULT_HANGUP_SECONDS` = 5 s; 0 turns Hangup off). A connected
    call with an unknown duration stays Completed. Both count as contact,
    so the threshold only decides how the call is labelled, never whether
    it shows. See :func:`answered_status`.

    SMS (the issue's table): queued/accepted/sending/sent -> dispatched;
    delivered/read -> delivered; failed/undelivered/canceled/rejected ->
    failed; inbound messages are ``received``. See :func:`sms_status`.

Numbers
    From/To are normalized to E.164 with ``phonenumbers`` the way the CRM
    stores contact phones (crm.services.normalize_phone: parse with
    ``DEFAULT_PHONE_REGION``, keep if *possible*), so a webhook's number
    matches a contact's. Anything that does not parse (``client:alice``,
    ``sip:...``, short codes, alphanumeric sender ids) is kept as sent.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import phonenumbers

CALL_STATUSES = ("queued", "ringing", "in_progress", "completed", "hangup", "busy", "no_answer", "failed", "canceled")
FINAL_CALL_STATUSES = frozenset({"completed", "hangup", "busy", "no_answer", "failed", "canceled"})
SMS_STATUSES = ("queued", "dispatched", "delivered", "failed", "received")

INBOUND = "inbound"
OUTBOUND = "outbound"

#: An answered call shorter than this (seconds) is a Hangup, not Completed.
DEFAULT_HANGUP_SECONDS = 5

#: Call-progress events asked for on every leg we start or dial.
CALL_PROGRESS_EVENTS = ("initiated", "ringing", "answered", "completed")

#: Content type of the XML the markup helpers return.
XML_CONTENT_TYPE = "text/xml; charset=utf-8"

# Provider SMS statuses -> the CRM's (the table, plus the few
# statuses it does not name, each with its reason):
SMS_STATUS_MAP = {
    # Handed to the provider / on its way: the CRM's "Dispatched".
    "queued": "dispatched",
    "accepted": "dispatched",  # Twilio: accepted by a Messaging Service
    "sending": "dispatched",
    "sent": "dispatched",
    # Reached the handset.
    "delivered": "delivered",
    "read": "delivered",  # WhatsApp/RCS read receipts
    "partially_delivered": "delivered",  # Twilio: some segments delivered; the customer got text
    # Never reached it.
    "failed": "failed",
    "undelivered": "failed",
    "canceled": "failed",
    "cancelled": "failed",
    "rejected": "failed",
    # Not sent yet (Twilio scheduled messages): the CRM's "Queued".
    "scheduled": "queued",
    # Inbound.
    "receiving": "received",
    "received": "received",
}


@dataclass
class Credentials:
    account_id: str  # Twilio Account SID / Plivo Auth ID
    auth_token: str
    api_base: str | None = None  # overrides the REST API base URL (tests: the stand-in)


@dataclass
class CallEvent:
    provider: str
    call_id: str
    direction: str  # "inbound" | "outbound"
    from_number: str
    to_number: str
    status: str  # one of CALL_STATUSES
    provider_status: str
    duration_seconds: int | None
    recording_url: str | None
    error_code: str | None
    occurred_at: datetime | None  # UTC aware, from the payload when it has a time
    sequence: int | None  # Twilio SequenceNumber when present
    raw: dict
    # Extras (defaults, so positional construction of the fields above holds):
    #: The call this leg belongs to: Twilio ParentCallSid (a <Dial>ed leg),
    #: Plivo DialALegUUID (a Dial callback about the B leg).
    parent_call_id: str | None = None
    #: Plivo RequestUUID: what Plivo's Make-a-Call API returns (``start_call``)
    #: before the call has a CallUUID; its callbacks carry both.
    request_id: str | None = None


@dataclass
class SmsEvent:
    provider: str
    message_id: str
    direction: str
    from_number: str
    to_number: str
    body: str | None
    status: str  # one of SMS_STATUSES ("received" for inbound)
    provider_status: str
    error_code: str | None
    occurred_at: datetime | None
    raw: dict


class PayloadError(ValueError):
    """A webhook payload lacks a field we need, or has one we cannot use."""

    def __init__(self, field: str, message: str | None = None):
        self.field = field
        self.message = message or f"missing field {field!r}"
        super().__init__(f"{field}: {self.message}")


class ProviderError(Exception):
    """The provider's REST API refused a request, or could not be reached.

    ``message`` is the provider's own error text; ``code`` its error code
    when it sent one (Twilio: 21211...), ``status`` the HTTP status."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        self.message = message
        self.code = code
        self.status = status
        super().__init__(message)


class Provider(ABC):
    name: str

    @abstractmethod
    def verify(self, creds: Credentials, *, url: str, method: str, params: Mapping, headers: Mapping[str, str]) -> bool:
        """True when the request carries a valid signature of ``creds``.

        ``url`` is the full absolute URL the provider requested, query string
        included, with the scheme and host the provider used (behind a proxy:
        the public ones). ``params`` are the form fields of a POST (a dict or
        Django's QueryDict), or the query of a GET."""

    @abstractmethod
    def replay_key(self, headers: Mapping[str, str], params: Mapping) -> str | None:
        """The provider's per-delivery token, the same on a retried delivery."""

    @abstractmethod
    def parse_voice_status(self, params: Mapping) -> CallEvent: ...

    @abstractmethod
    def parse_sms_status(self, params: Mapping) -> SmsEvent: ...

    @abstractmethod
    def parse_sms_inbound(self, params: Mapping) -> SmsEvent: ...

    @abstractmethod
    def send_sms(self, creds: Credentials, *, from_number: str, to_number: str, body: str, status_callback_url: str | None) -> tuple[str, str]:
        """Send one SMS: (provider message id, mapped status)."""

    @abstractmethod
    def start_call(self, creds: Credentials, *, from_number: str, agent_number: str, answer_url: str, status_callback_url: str | None) -> str:
        """Click-to-call: the provider calls ``agent_number`` (showing
        ``from_number``); once the agent answers it requests ``answer_url``,
        whose ``connect_markup`` dials the contact. Returns the provider's id
        for the agent leg."""

    @abstractmethod
    def connect_markup(self, *, contact_number: str, caller_id: str, status_callback_url: str | None) -> tuple[str, str]:
        """(XML, content type) that dials ``contact_number`` into the call."""

    @abstractmethod
    def empty_markup(self) -> tuple[str, str]:
        """(XML, content type) answering an inbound-SMS webhook: no reply."""


# --- helpers shared by the adapters ----------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (Django's request.headers already
    is; a plain dict from a test or a queue may not be)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                value = candidate
                break
    return value if value not in (None, "") else None


def multi_params(params: Mapping | None) -> dict[str, list[str]]:
    """Form fields as name -> list of values, whatever the container
    (QueryDict, MultiDict, dict of str or of lists)."""
    out: dict[str, list[str]] = {}
    if not params:
        return out
    getlist = getattr(params, "getlist", None)
    for key in params.keys():
        if getlist is not None:
            values = getlist(key)
        else:
            value = params[key]
            values = list(value) if isinstance(value, (list, tuple)) else [value]
        out[str(key)] = ["" if v is None else str(v) for v in values]
    return out


def flat_params(params: Mapping | None) -> dict[str, str]:
    """Form fields as name -> its (last) value: what the parsers read and
    what goes into ``raw`` (JSON-friendly)."""
    return {key: values[-1] if values else "" for key, values in multi_params(params).items()}


def required(params: Mapping[str, str], *names: str) -> str:
    """The first of ``names`` present and non-empty, or PayloadError naming
    the first."""
    for name in names:
        value = (params.get(name) or "").strip()
        if value:
            return value
    raise PayloadError(names[0])


def optional(params: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = (params.get(name) or "").strip()
        if value:
            return value
    return None


#: The largest whole number every database's integer column holds
#: (Call.duration_seconds): a larger one is refused as a PayloadError, not
#: a failed INSERT that rolls back the worker's whole batch.
MAX_INT = 2_147_483_647


def parse_int(params: Mapping[str, str], name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        number = int(float(value))
    except (ValueError, OverflowError):  # OverflowError: "inf", "1e400"
        raise PayloadError(name, f"not a number: {value!r}") from None
    if number < 0:
        raise PayloadError(name, f"negative: {value!r}")
    if number > MAX_INT:
        raise PayloadError(name, f"too large: {value!r}")
    return number


def error_code(value: str | None) -> str | None:
    """A provider error code, or None for 'no error' (absent, empty, or all
    zeros, as some carriers report success)."""
    if value is None:
        return None
    value = str(value).strip()
    if not value or not value.strip("0"):
        return None
    return value


def utc(value: datetime | None) -> datetime | None:
    """In UTC; ValueError for a time that is not one there (9999-12-31
    23:59 -01:00 is in year 10000), so the parsers' ValueError handling
    turns it into a PayloadError naming the field."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{value.isoformat()} is out of range in UTC") from exc


def default_region() -> str:
    try:
        from django.conf import settings

        return getattr(settings, "DEFAULT_PHONE_REGION", None) or "US"
    except Exception:  # settings not configured: pure-library use
        return "US"


def hangup_seconds() -> int:
    try:
        from django.conf import settings

        value = getattr(settings, "TELEPHONY_HANGUP_SECONDS", None)
    except Exception:
        value = None
    return DEFAULT_HANGUP_SECONDS if value is None else int(value)


_DIGITS = re.compile(r"^\d{6,15}$")


def normalize_number(raw: str | None, *, international_digits: bool = False) -> str:
    """E.164 when ``phonenumbers`` can make a possible number of it, else the
    value as sent (stripped).

    ``international_digits``: the provider writes numbers with the country
    code and without the plus (Plivo: ``14155552671``), so a bare string of
    digits is read as international first."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    candidates = []
    if international_digits and _DIGITS.match(raw):
        candidates.append((f"+{raw}", None))
    candidates.append((raw, default_region()))
    for text, region in candidates:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return raw


# The longest text each column of Call / Sms holds (telephony.models).
_COLUMN_LENGTHS = {"call_id": 100, "message_id": 100, "from_number": 32, "to_number": 32, "provider_status": 40, "error_code": 40}


def check_storable(event: CallEvent | SmsEvent) -> CallEvent | SmsEvent:
    """The event, or a PayloadError naming the first value too long for its
    column: PostgreSQL would refuse the row, and with it the worker's whole
    batch, so one odd callback would stop every callback after it."""
    for name, limit in _COLUMN_LENGTHS.items():
        value = getattr(event, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise PayloadError(name, f"longer than {limit} characters: {value[:40]!r}...")
    return event


def answered_status(duration_seconds: int | None) -> str:
    """The CRM status of a call the provider reports as answered and ended
    (Twilio/Plivo ``completed``): ``hangup`` when it lasted under
    ``TELEPHONY_HANGUP_SECONDS``, else ``completed``; unknown duration ->
    ``completed``. (Why: module docstring, "CRM statuses".)"""
    threshold = hangup_seconds()
    if duration_seconds is not None and duration_seconds < threshold:
        return "hangup"
    return "completed"


def sms_status(provider_status: str, *, field: str) -> str:
    status = SMS_STATUS_MAP.get(provider_status.strip().lower())
    if status is None:
        raise PayloadError(field, f"unknown message status {provider_status!r}")
    return status


# --- registry ------------------------------------------------------------------------

_PROVIDERS: dict[str, Provider] = {}


def get_provider(name: str) -> Provider:
    """The adapter for ``"twilio"`` or ``"plivo"`` (one shared, stateless
    instance each); KeyError for anything else."""
    key = (name or "").strip().lower()
    if key not in _PROVIDERS:
        if key == "twilio":
            from telephony.providers.twilio import TwilioProvider

            _PROVIDERS[key] = TwilioProvider()
        elif key == "plivo":
            from telephony.providers.plivo import PlivoProvider

            _PROVIDERS[key] = PlivoProvider()
        else:
            raise KeyError(f"unknown telephony provider {name!r}")
    return _PROVIDERS[key]


PROVIDER_NAMES = ("twilio", "plivo")

__all__ = [
    "CALL_STATUSES",
    "FINAL_CALL_STATUSES",
    "SMS_STATUSES",
    "CallEvent",
    "Credentials",
    "PayloadError",
    "Provider",
    "ProviderError",
    "SmsEvent",
    "get_provider",
]
