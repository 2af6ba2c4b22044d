"""Plivo: Voice and Messaging through the ``plivo`` SDK.

Webhooks (fields as Plivo documents them; numbers come with the country
code and without a plus, ``14155552671``)
    * Call callbacks (``ring_url`` / ``hangup_url`` of a call we start, the
      answer/hangup URLs of an inbound call): CallUUID, RequestUUID (calls
      made through the API), Direction (inbound | outbound), From, To,
      CallStatus, Duration (talk seconds; BillDuration is rounded to the
      billing increment and only a fallback), HangupCause / HangupCauseName /
      HangupCauseCode / HangupSource, StartTime / AnswerTime / EndTime
      ("YYYY-MM-DD HH:MM:SS", UTC), RecordUrl when a Record element's
      callback reaches the same URL.
      https://www.plivo.com/docs/voice/api/call/make-a-call (callbacks)
      https://www.plivo.com/docs/voice/use-cases/dial-status-reporting
    * Dial ``callbackUrl`` events about the dialed (B) leg, which is how the
      contact's leg of a click-to-call reports (``connect_markup``): DialAction
      (answer | connected | hangup | digits), DialALegUUID, DialBLegUUID,
      DialBLegStatus, DialBLegFrom, DialBLegTo, DialBLegDuration,
      DialBLegBillDuration, DialBLegHangupCause.
      https://www.plivo.com/docs/voice/xml/dial
    * Message status (``url`` of a message we send): MessageUUID, Status,
      ErrorCode, From, To, MessageTime when present.
    * Incoming message: MessageUUID, From, To, Text, Type.
      https://www.plivo.com/docs/messaging/api/message (callbacks)

Call statuses (CallStatus -> CRM)
    ringing -> ringing; in-progress -> in_progress; completed -> completed,
    or hangup when Duration is under the Hangup threshold
    (base.answered_status); busy -> busy; no-answer -> no_answer; timeout ->
    no_answer (Plivo: the call could not be connected in time; to the rep the
    contact did not pick up); cancel -> canceled; failed -> failed. Error
    code for an unsuccessful call: HangupCauseCode, else HangupCause.

    A Dial callback's B leg: answer/connected -> in_progress; hangup -> from
    its duration and hangup cause: answered (duration > 0) -> completed /
    hangup by the threshold; USER_BUSY, CALL_REJECTED -> busy; NO_ANSWER,
    NO_USER_RESPONSE, ALLOTTED_TIMEOUT, RECOVERY_ON_TIMER_EXPIRE -> no_answer;
    ORIGINATOR_CANCEL -> canceled (the agent hung up first); NORMAL_CLEARING
    with no talk time -> hangup; anything else -> failed.

Signatures
    V3 first (X-Plivo-Signature-V3 + X-Plivo-Signature-V3-Nonce, or the
    main-account X-Plivo-Signature-Ma-V3): ``validate_v3_signature(method,
    url, nonce, auth_token, signature, params)`` -- HMAC-SHA256 over the URL
    with its query sorted, a ".", the sorted POST fields, then ".nonce"; the
    header may hold several comma-separated signatures. Only when no V3
    header came, V2 (X-Plivo-Signature-V2 + -Nonce): ``validate_signature(url,
    nonce, signature, auth_token)``, which signs the URL without its query
    and no fields.

REST
    ``plivo.RestClient(auth_id, auth_token)`` resets its base URI to the
    module constants (https://api.plivo.com/v1/Account) before every request,
    so setting ``base_uri`` does not stick. With ``Credentials.api_base`` a
    small subclass rewrites the prepared request's URL instead
    (``https://api.plivo.com`` -> api_base): Message/ and Call/ go to
    ``{api_base}/v1/Account/{auth_id}/...`` with the SDK's own body and auth.
    Plivo wants numbers as digits with the country code, so a leading "+" is
    dropped on the way out.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

import plivo
import requests
from plivo import exceptions as plivo_exceptions
from plivo import plivoxml
from plivo.rest import client as plivo_rest
from plivo.utils import validate_signature
from plivo.utils.signature_v3 import validate_v3_signature

from telephony.providers.base import (
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

V3_HEADER = "X-Plivo-Signature-V3"
V3_MAIN_ACCOUNT_HEADER = "X-Plivo-Signature-Ma-V3"
V3_NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"
V2_HEADER = "X-Plivo-Signature-V2"
V2_NONCE_HEADER = "X-Plivo-Signature-V2-Nonce"
TIMEOUT_SECONDS = 15

CALL_STATUS_MAP = {
    "queued": "queued",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "busy": "busy",
    "no-answer": "no_answer",
    "timeout": "no_answer",
    "cancel": "canceled",
    "canceled": "canceled",
    "failed": "failed",
    # "completed": answered_status(Duration)
}
UNSUCCESSFUL = frozenset({"busy", "no_answer", "failed", "canceled"})
TERMINAL_PROVIDER_STATUSES = frozenset({"completed", "busy", "no-answer", "timeout", "cancel", "canceled", "failed"})

B_LEG_CAUSES = {
    "USER_BUSY": "busy",
    "CALL_REJECTED": "busy",
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
    "RECOVERY_ON_TIMER_EXPIRE": "no_answer",
    "ORIGINATOR_CANCEL": "canceled",
    "NORMAL_CLEARING": "hangup",  # only reached with no talk time
}

_E164 = re.compile(r"^\+\d+$")


def _plivo_number(number: str) -> str:
    """Plivo's format: digits with the country code, no plus."""
    number = (number or "").strip()
    return number[1:] if _E164.match(number) else number


def _number(value: str | None) -> str:
    return normalize_number(value, international_digits=True)


def _time(params: Mapping[str, str], name: str) -> datetime | None:
    value = optional(params, name)
    if value is None:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        raise PayloadError(name, f"not a date and time: {value!r}") from None


def _direction(value: str) -> str:
    value = value.strip().lower()
    if value == "inbound":
        return INBOUND
    if value == "outbound":
        return OUTBOUND
    raise PayloadError("Direction", f"unknown direction {value!r}")


def _sdk_params(params: Mapping | None) -> dict:
    """Form fields as the V3 helper takes them: a str per field, a list for
    a repeated one. A fresh dict: the helper updates it in place."""
    return {key: values[0] if len(values) == 1 else values for key, values in multi_params(params).items()}


class _RestClient(plivo.RestClient):
    """plivo.RestClient whose requests go to ``api_base`` instead of
    https://api.plivo.com (see the module docstring)."""

    _ORIGINS = tuple(
        sorted(
            {plivo_rest.PLIVO_API, plivo_rest.API_VOICE, plivo_rest.API_VOICE_FALLBACK_1, plivo_rest.API_VOICE_FALLBACK_2},
            key=len,
            reverse=True,
        )
    )

    def __init__(self, auth_id: str, auth_token: str, api_base: str | None):
        super().__init__(auth_id, auth_token, timeout=TIMEOUT_SECONDS)
        self._api_base = api_base.rstrip("/") if api_base else None

    def _rebase(self, prepared):
        if self._api_base:
            for origin in self._ORIGINS:
                if prepared.url.startswith(origin):
                    prepared.url = self._api_base + prepared.url[len(origin):]
                    break
        return prepared

    def create_request(self, method, path=None, data=None, **kwargs):
        return self._rebase(super().create_request(method, path, data, **kwargs))

    def create_multipart_request(self, method, path=None, data=None, files=None):
        return self._rebase(super().create_multipart_request(method, path, data, files))


class PlivoProvider(Provider):
    name = "plivo"

    # --- webhooks -------------------------------------------------------------

    def verify(self, creds: Credentials, *, url: str, method: str, params: Mapping, headers: Mapping[str, str]) -> bool:
        if not creds.auth_token or not url:
            return False
        method = (method or "POST").upper()
        v3_nonce = header(headers, V3_NONCE_HEADER)
        v3_signatures = [s for s in (header(headers, V3_HEADER), header(headers, V3_MAIN_ACCOUNT_HEADER)) if s]
        if v3_signatures:
            if not v3_nonce or method not in ("GET", "POST"):
                return False
            for signature in v3_signatures:
                try:
                    if validate_v3_signature(method, url, v3_nonce, creds.auth_token, signature, _sdk_params(params)):
                        return True
                except Exception:
                    continue
            return False
        v2_signature = header(headers, V2_HEADER)
        v2_nonce = header(headers, V2_NONCE_HEADER)
        if v2_signature and v2_nonce:
            try:
                return bool(validate_signature(url, v2_nonce, v2_signature, creds.auth_token))
            except Exception:
                return False
        return False

    def replay_key(self, headers: Mapping[str, str], params: Mapping) -> str | None:
        return header(headers, V3_NONCE_HEADER) or header(headers, V2_NONCE_HEADER)

    def parse_voice_status(self, params: Mapping) -> CallEvent:
        p = flat_params(params)
        if optional(p, "DialAction"):
            return self._dial_event(p)
        call_id = required(p, "CallUUID")
        provider_status = required(p, "CallStatus").lower()
        duration = parse_int(p, "Duration")
        if duration is None:
            duration = parse_int(p, "BillDuration")
        if provider_status == "completed":
            status = answered_status(duration)
        else:
            try:
                status = CALL_STATUS_MAP[provider_status]
            except KeyError:
                raise PayloadError("CallStatus", f"unknown call status {provider_status!r}") from None
        code = error_code(p.get("ErrorCode"))
        if code is None and status in UNSUCCESSFUL:
            code = error_code(p.get("HangupCauseCode")) or optional(p, "HangupCause", "HangupCauseName")
        if provider_status in TERMINAL_PROVIDER_STATUSES:
            occurred_at = _time(p, "EndTime") or _time(p, "StartTime")
        elif provider_status == "in-progress":
            occurred_at = _time(p, "AnswerTime") or _time(p, "StartTime")
        else:
            occurred_at = _time(p, "StartTime")
        return CallEvent(
            provider=self.name,
            call_id=call_id,
            direction=_direction(required(p, "Direction")),
            from_number=_number(p.get("From")),
            to_number=_number(p.get("To")),
            status=status,
            provider_status=provider_status,
            duration_seconds=duration,
            recording_url=optional(p, "RecordUrl", "RecordingUrl"),
            error_code=code,
            occurred_at=occurred_at,
            sequence=None,
            raw=p,
            parent_call_id=optional(p, "ParentUUID"),
            request_id=optional(p, "RequestUUID"),
        )

    def _dial_event(self, p: dict[str, str]) -> CallEvent:
        """A Dial callbackUrl event: the dialed (B) leg, an outbound call."""
        action = required(p, "DialAction").lower()
        leg_status = (optional(p, "DialBLegStatus") or action).lower()
        duration = parse_int(p, "DialBLegDuration")
        if duration is None:
            duration = parse_int(p, "DialBLegBillDuration")
        cause = (optional(p, "DialBLegHangupCause") or "").upper()
        code = None
        if leg_status != "hangup" and action != "hangup":
            status = "in_progress"  # answer, connected, digits: the contact is on the line
        elif duration:
            status = answered_status(duration)
        else:
            status = B_LEG_CAUSES.get(cause, "failed")
            if status == "hangup":
                status = answered_status(0)
            code = (cause or None) if status in UNSUCCESSFUL else None
        return CallEvent(
            provider=self.name,
            call_id=required(p, "DialBLegUUID"),
            direction=OUTBOUND,
            from_number=_number(optional(p, "DialBLegFrom", "From")),
            to_number=_number(p.get("DialBLegTo")),
            status=status,
            provider_status=f"dial-{leg_status}",
            duration_seconds=duration,
            recording_url=optional(p, "RecordUrl", "RecordingUrl"),
            error_code=code,
            occurred_at=None,
            sequence=None,
            raw=p,
            parent_call_id=optional(p, "DialALegUUID", "CallUUID"),
        )

    def parse_sms_status(self, params: Mapping) -> SmsEvent:
        p = flat_params(params)
        provider_status = required(p, "Status").lower()
        return SmsEvent(
            provider=self.name,
            message_id=required(p, "MessageUUID"),
            direction=OUTBOUND,
            from_number=_number(p.get("From")),
            to_number=_number(p.get("To")),
            body=p.get("Text") or None,
            status=sms_status(provider_status, field="Status"),
            provider_status=provider_status,
            error_code=error_code(p.get("ErrorCode")),
            occurred_at=_time(p, "MessageTime"),
            raw=p,
        )

    def parse_sms_inbound(self, params: Mapping) -> SmsEvent:
        p = flat_params(params)
        return SmsEvent(
            provider=self.name,
            message_id=required(p, "MessageUUID"),
            direction=INBOUND,
            from_number=_number(required(p, "From")),
            to_number=_number(required(p, "To")),
            body=p.get("Text", ""),
            status="received",
            provider_status="received",
            error_code=None,
            occurred_at=_time(p, "MessageTime"),
            raw=p,
        )

    # --- REST -----------------------------------------------------------------

    def _call_api(self, creds: Credentials, action):
        if not creds.account_id or not creds.auth_token:
            raise ProviderError("Plivo credentials are missing (Auth ID and Auth Token)")
        try:
            client = _RestClient(creds.account_id, creds.auth_token, creds.api_base)
        except plivo_exceptions.PlivoRestError as exc:
            raise ProviderError(str(exc)) from exc
        try:
            return action(client)
        except plivo_exceptions.PlivoRestError as exc:
            raise ProviderError(str(exc) or type(exc).__name__, status=_http_status(exc)) from exc
        except requests.RequestException as exc:
            raise ProviderError(f"Plivo request failed: {exc}") from exc
        finally:
            client.session.close()
            client.multipart_session.close()

    def send_sms(self, creds: Credentials, *, from_number: str, to_number: str, body: str, status_callback_url: str | None) -> tuple[str, str]:
        kwargs = {"src": _plivo_number(from_number), "dst": _plivo_number(to_number), "text": body}
        if status_callback_url:
            kwargs.update(url=status_callback_url, method="POST")
        response = self._call_api(creds, lambda client: client.messages.create(**kwargs))
        uuids = getattr(response, "message_uuid", None) or []
        if not uuids:
            raise ProviderError(f"Plivo accepted the message but returned no message_uuid: {response}")
        # "message(s) queued": Plivo has taken it -> Dispatched.
        return str(uuids[0]), sms_status("queued", field="status")

    def start_call(self, creds: Credentials, *, from_number: str, agent_number: str, answer_url: str, status_callback_url: str | None) -> str:
        """Returns Plivo's ``request_uuid``: the Make-a-Call API answers before
        the call exists, so this is not the CallUUID. The agent leg's
        callbacks carry it as RequestUUID (``CallEvent.request_id``)."""
        kwargs = {"from_": _plivo_number(from_number), "to_": _plivo_number(agent_number), "answer_url": answer_url, "answer_method": "POST"}
        if status_callback_url:
            kwargs.update(
                ring_url=status_callback_url,
                ring_method="POST",
                hangup_url=status_callback_url,
                hangup_method="POST",
            )
        response = self._call_api(creds, lambda client: client.calls.create(**kwargs))
        request_uuid = getattr(response, "request_uuid", None)
        if not request_uuid:
            raise ProviderError(f"Plivo accepted the call but returned no request_uuid: {response}")
        return str(request_uuid[0] if isinstance(request_uuid, list) else request_uuid)

    # --- markup -----------------------------------------------------------------

    def connect_markup(self, *, contact_number: str, caller_id: str, status_callback_url: str | None) -> tuple[str, str]:
        """Plivo XML: ``<Dial callerId=.. callbackUrl=..><Number>..</Number></Dial>``;
        the Dial callbackUrl reports the contact's (B) leg."""
        dial = plivoxml.DialElement(
            caller_id=_plivo_number(caller_id),
            callback_url=status_callback_url or None,
            callback_method="POST" if status_callback_url else None,
        )
        dial.add(plivoxml.NumberElement(_plivo_number(contact_number)))
        response = plivoxml.ResponseElement()
        response.add(dial)
        return _xml(response), XML_CONTENT_TYPE

    def empty_markup(self) -> tuple[str, str]:
        return _xml(plivoxml.ResponseElement()), XML_CONTENT_TYPE


def _http_status(exc: Exception) -> int | None:
    """The HTTP status behind a plivo exception (the SDK keeps only the
    class; InvalidRequestError covers 405/409/422 and stays None)."""
    for cls, status in (
        (plivo_exceptions.ValidationError, 400),
        (plivo_exceptions.AuthenticationError, 401),
        (plivo_exceptions.ForbiddenError, 403),
        (plivo_exceptions.GeoPermissionError, 403),
        (plivo_exceptions.ResourceNotFoundError, 404),
        (plivo_exceptions.PlivoServerError, 500),
    ):
        if isinstance(exc, cls):
            return status
    return None


def _xml(element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + element.to_string(pretty=False)
