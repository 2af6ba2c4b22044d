"""Twilio: Programmable Voice and Messaging through the ``twilio`` SDK.

Webhooks (fields as Twilio documents them)
    * Voice status callback (``StatusCallback`` of a call we start, and of
      the ``<Number>`` we dial): CallSid, AccountSid, From, To, Direction
      (inbound | outbound-api | outbound-dial | trunking-*), CallStatus,
      CallDuration (seconds; ``Duration`` is billed *minutes* and is not
      used), RecordingUrl, Timestamp (RFC 2822), SequenceNumber,
      CallbackSource, ParentCallSid, SipResponseCode.
      https://www.twilio.com/docs/voice/api/call-resource#statuscallback
      https://www.twilio.com/docs/voice/twiml#request-parameters
    * Message status callback: MessageSid (SmsSid), MessageStatus
      (SmsStatus), ErrorCode, From, To, RawDlrDoneDate (YYMMDDhhmm, when the
      carrier sent a delivery receipt).
      https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
    * Incoming message: MessageSid, From, To, Body, NumMedia, SmsStatus=received.
      https://www.twilio.com/docs/messaging/guides/webhook-request

Call statuses (CallStatus -> CRM)
    queued, initiated -> queued; ringing -> ringing; in-progress (the
    ``answered`` event) -> in_progress; completed -> completed, or hangup
    when CallDuration is under the Hangup threshold (base.answered_status);
    busy -> busy; no-answer -> no_answer; failed -> failed; canceled ->
    canceled. Error code: Twilio's ErrorCode when present, else for a busy /
    unanswered / failed / canceled call the SipResponseCode (486, 487...).

Signatures
    ``RequestValidator(auth_token).validate(url, params, X-Twilio-Signature)``:
    HMAC over the full URL (query string included, with and without the
    port) followed by the sorted POST fields. For a GET the query is already
    in the URL and no fields are appended, so ``params`` is ignored. When
    Twilio signs with a SharedKey it says so in
    X-Twilio-Webhooks-Signature-Settings (``algorithm=HMAC_SHA256``): the
    algorithm is taken from there and ``Credentials.auth_token`` must then be
    that key's secret.

REST
    ``twilio.rest.Client(account_sid, auth_token)``; ``Credentials.api_base``
    replaces the Api domain's ``base_url`` (``client.api.base_url``, read by
    ``Domain.absolute_url`` on every request), so Messages.json and
    Calls.json go to ``{api_base}/2010-04-01/Accounts/{sid}/...``; region and
    edge are cleared then, or the SDK would rewrite the host.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from twilio import request_validator as _validator
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from telephony.providers.base import (
    CALL_PROGRESS_EVENTS,
    INBOUND,
    OUTBOUND,
    XML_CONTENT_TYPE,
    CallEvent,
    Credentials,
    PayloadError,
    Provider,
    ProviderError,
    SmsEvent,
    answered_status,
    error_code,
    flat_params,
    header,
    multi_params,
    normalize_number,
    optional,
    parse_int,
    required,
    sms_status,
    utc,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
TIMEOUT_SECONDS = 15
_SDK_PREFIX = re.compile(r"^Unable to \w+ record: ")

CALL_STATUS_MAP = {
    "queued": "queued",
    "initiated": "queued",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "answered": "in_progress",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
    # "completed": answered_status(CallDuration)
}
UNSUCCESSFUL = frozenset({"busy", "no_answer", "failed", "canceled"})


class _Fields(dict):
    """dict of name -> list of values with the ``getlist`` RequestValidator
    looks for, so repeated fields are signed the way Twilio signs them."""

    def getlist(self, key):
        return self[key]


def _direction(value: str) -> str:
    value = value.strip().lower()
    if value == "inbound" or value == "trunking-terminating":
        return INBOUND
    if value.startswith("outbound") or value == "trunking-originating":
        return OUTBOUND
    raise PayloadError("Direction", f"unknown direction {value!r}")


def _timestamp(params: Mapping[str, str], name: str) -> datetime | None:
    value = optional(params, name)
    if value is None:
        return None
    try:
        return utc(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        raise PayloadError(name, f"not an RFC 2822 date: {value!r}") from None


def _dlr_date(params: Mapping[str, str]) -> datetime | None:
    """RawDlrDoneDate, the carrier's delivery time, YYMMDDhhmm (UTC)."""
    value = optional(params, "RawDlrDoneDate")
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None  # carriers' receipts vary; the time is optional


class TwilioProvider(Provider):
    name = "twilio"

    # --- webhooks -------------------------------------------------------------

    def verify(self, creds: Credentials, *, url: str, method: str, params: Mapping, headers: Mapping[str, str]) -> bool:
        signature = header(headers, SIGNATURE_HEADER)
        if not signature or not creds.auth_token or not url:
            return False
        algorithm = None
        get_algorithm = getattr(_validator, "get_signature_algorithm", None)
        settings_header = header(headers, SIGNATURE_SETTINGS_HEADER)
        if get_algorithm is not None and settings_header:
            algorithm = get_algorithm(settings_header)
        fields = _Fields() if (method or "").upper() == "GET" else _Fields(multi_params(params))
        validator = _validator.RequestValidator(creds.auth_token)
        try:
            if algorithm is None:
                return bool(validator.validate(url, fields, signature))
            return bool(validator.validate(url, fields, signature, algorithm))
        except Exception:
            return False

    def replay_key(self, headers: Mapping[str, str], params: Mapping) -> str | None:
        return header(headers, IDEMPOTENCY_HEADER)

    def parse_voice_status(self, params: Mapping) -> CallEvent:
        p = flat_params(params)
        call_id = required(p, "CallSid")
        provider_status = required(p, "CallStatus").lower()
        duration = parse_int(p, "CallDuration")
        if provider_status == "completed":
            status = answered_status(duration)
        else:
            try:
                status = CALL_STATUS_MAP[provider_status]
            except KeyError:
                raise PayloadError("CallStatus", f"unknown call status {provider_status!r}") from None
        code = error_code(p.get("ErrorCode"))
        if code is None and status in UNSUCCESSFUL:
            code = error_code(p.get("SipResponseCode"))
        return CallEvent(
            provider=self.name,
            call_id=call_id,
            direction=_direction(required(p, "Direction")),
            from_number=normalize_number(p.get("From")),
            to_number=normalize_number(p.get("To")),
            status=status,
            provider_status=provider_status,
            duration_seconds=duration,
            recording_url=optional(p, "RecordingUrl"),
            error_code=code,
            occurred_at=_timestamp(p, "Timestamp"),
            sequence=parse_int(p, "SequenceNumber"),
            raw=p,
            parent_call_id=optional(p, "ParentCallSid"),
        )

    def parse_sms_status(self, params: Mapping) -> SmsEvent:
        p = flat_params(params)
        message_id = required(p, "MessageSid", "SmsSid")
        field = "MessageStatus" if optional(p, "MessageStatus") else "SmsStatus"
        provider_status = required(p, "MessageStatus", "SmsStatus").lower()
        return SmsEvent(
            provider=self.name,
            message_id=message_id,
            direction=OUTBOUND,
            from_number=normalize_number(p.get("From")),
            to_number=normalize_number(p.get("To")),
            body=p.get("Body") or None,
            status=sms_status(provider_status, field=field),
            provider_status=provider_status,
            error_code=error_code(p.get("ErrorCode")),
            occurred_at=_dlr_date(p),
            raw=p,
        )

    def parse_sms_inbound(self, params: Mapping) -> SmsEvent:
        p = flat_params(params)
        return SmsEvent(
            provider=self.name,
            message_id=required(p, "MessageSid", "SmsMessageSid", "SmsSid"),
            direction=INBOUND,
            from_number=normalize_number(required(p, "From")),
            to_number=normalize_number(required(p, "To")),
            body=p.get("Body", ""),
            status="received",
            provider_status=(optional(p, "SmsStatus", "MessageStatus") or "received").lower(),
            error_code=None,
            occurred_at=None,  # Twilio sends no time with an incoming message
            raw=p,
        )

    # --- REST -----------------------------------------------------------------

    def _client(self, creds: Credentials) -> Client:
        if not creds.account_id or not creds.auth_token:
            raise ProviderError("Twilio credentials are missing (Account SID and Auth Token)")
        client = Client(creds.account_id, creds.auth_token, http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS))
        if creds.api_base:
            client.edge = None
            client.region = None
            client.api.base_url = creds.api_base.rstrip("/")
        return client

    def _call_api(self, creds: Credentials, action):
        client = self._client(creds)
        try:
            return action(client)
        except TwilioRestException as exc:
            # The SDK prefixes Twilio's message with "Unable to create record: ".
            message = _SDK_PREFIX.sub("", str(exc.msg or "")) or f"Twilio returned HTTP {exc.status}"
            raise ProviderError(
                message,
                code=str(exc.code) if exc.code is not None else None,
                status=exc.status,
            ) from exc
        except (TwilioException, requests.RequestException) as exc:
            raise ProviderError(f"Twilio request failed: {exc}") from exc
        finally:
            session = getattr(client.http_client, "session", None)
            if session is not None:
                session.close()

    def send_sms(self, creds: Credentials, *, from_number: str, to_number: str, body: str, status_callback_url: str | None) -> tuple[str, str]:
        kwargs = {"to": to_number, "from_": from_number, "body": body}
        if status_callback_url:
            kwargs["status_callback"] = status_callback_url
        message = self._call_api(creds, lambda client: client.messages.create(**kwargs))
        status = (message.status or "queued").lower()
        try:
            mapped = sms_status(status, field="status")
        except PayloadError:
            mapped = "dispatched"  # accepted by the API, in a state we do not know yet
        return message.sid, mapped

    def start_call(self, creds: Credentials, *, from_number: str, agent_number: str, answer_url: str, status_callback_url: str | None) -> str:
        kwargs = {"to": agent_number, "from_": from_number, "url": answer_url, "method": "POST"}
        if status_callback_url:
            kwargs.update(
                status_callback=status_callback_url,
                status_callback_method="POST",
                status_callback_event=list(CALL_PROGRESS_EVENTS),
            )
        call = self._call_api(creds, lambda client: client.calls.create(**kwargs))
        return call.sid

    # --- markup -----------------------------------------------------------------

    def connect_markup(self, *, contact_number: str, caller_id: str, status_callback_url: str | None) -> tuple[str, str]:
        """TwiML: ``<Dial callerId=..><Number statusCallback=..>contact</Number></Dial>``.
        The dialed leg is its own call (Direction outbound-dial,
        ParentCallSid = the agent's call) with its own status callbacks."""
        response = VoiceResponse()
        dial = response.dial(caller_id=caller_id)
        number_kwargs = {}
        if status_callback_url:
            number_kwargs = {
                "status_callback": status_callback_url,
                "status_callback_method": "POST",
                "status_callback_event": " ".join(CALL_PROGRESS_EVENTS),
            }
        dial.number(contact_number, **number_kwargs)
        return str(response), XML_CONTENT_TYPE

    def empty_markup(self) -> tuple[str, str]:
        return str(MessagingResponse()), XML_CONTENT_TYPE
