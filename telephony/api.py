"""REST endpoints for calls and SMS. Provider webhooks are not here: they
are authenticated by the provider's signature (telephony.webhooks)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from config.errors import NotFound
from config.schemas import Cursor, Id, IdList, InputSchema, Limit, Message, RecordId, Text, Timestamp, responses
from telephony import queries, services
from telephony.models import Provider
from telephony.processing import FINAL_CALL_STATUSES

router = Router(tags=["telephony"])
ProviderName = Literal[tuple(Provider.values)]  # type: ignore[valid-type]
FinalStatus = Literal[tuple(sorted(FINAL_CALL_STATUSES))]  # type: ignore[valid-type]


class CallOut(Schema):
    id: int
    provider: str
    provider_call_id: str
    direction: str
    from_number: str
    to_number: str
    status: str
    provider_status: str
    duration_seconds: int | None
    recording_url: str
    error_code: str
    started_at: datetime
    contact_id: int | None
    user_id: int | None
    deal_id: int | None
    touchpoint_id: int | None
    notes: str


class CallPage(Schema):
    items: list[CallOut]
    next_cursor: str | None


class SmsOut(Schema):
    id: int
    provider: str
    provider_message_id: str
    direction: str
    from_number: str
    to_number: str
    body: str
    status: str
    provider_status: str
    error_code: str
    sent_at: datetime
    contact_id: int | None
    user_id: int | None
    touchpoint_id: int | None


class SmsPage(Schema):
    items: list[SmsOut]
    next_cursor: str | None


class SmsIn(InputSchema):
    # "text", not "body": a 422's loc starts with "body" (the request body).
    text: Text(services.MAX_SMS_LENGTH)
    contact_ids: IdList = []
    numbers: list[Text(32, 1)] = Field(default=[], max_length=100)


class SmsResultOut(Schema):
    to: str
    contact_id: int | None
    status: str
    sms_id: int | None
    touchpoint_id: int | None
    error: str | None


class SmsSent(Schema):
    results: list[SmsResultOut]


class CallIn(InputSchema):
    contact_id: Id
    deal_id: Id | None = None
    agent_number: Text(32, 1) | None = Field(None, description="The phone rung first; default: your own (PATCH /me)")


class CallLogIn(InputSchema):
    contact_id: Id | None = None
    deal_id: Id | None = None
    status: FinalStatus
    direction: Literal["inbound", "outbound"] = "outbound"
    occurred_at: Timestamp | None = None
    duration_seconds: int | None = Field(None, ge=0, le=1_000_000)
    number: Text(32, 1) | None = None
    notes: Text(20_000) = ""


class ProviderIn(InputSchema):
    account_id: Text(100, 1) | None = None
    auth_token: Text(200, 1) | None = None
    from_number: Text(32, 1) | None = None
    api_base: Text(200) | None = None
    enabled: bool | None = None
    is_default: bool | None = None


class ProviderOut(Schema):
    provider: str
    account_id: str
    from_number: str
    api_base: str
    enabled: bool
    is_default: bool
    webhook_urls: dict[str, str]


class CallLogFilters(InputSchema):
    contact_id: Id | None = None
    unmatched: bool = False


def _provider_out(account) -> dict:
    return {
        "provider": account.provider,
        "account_id": account.account_id,
        "from_number": account.from_number,
        "api_base": account.api_base,
        "enabled": account.enabled,
        "is_default": account.is_default,
        "webhook_urls": webhook_urls(account.provider),
    }


def webhook_urls(provider: str) -> dict[str, str]:
    return {kind: services.webhook_url(provider, kind) for kind in ("voice-status", "sms-status", "sms-inbound")}


@router.post("/sms", response=responses({201: SmsSent}))
def send_sms(request: HttpRequest, payload: SmsIn):
    """Text each contact (their first number) or number. 422 names the
    recipient who opted out (texted STOP) and nothing is sent; a message
    the provider refused is kept as a Failed SMS with its error."""
    results = services.do_send_sms(request.auth, payload.text, payload.contact_ids, payload.numbers)
    return Status(201, {"results": [r.__dict__ for r in results]})


@router.get("/sms", response=responses({200: SmsPage}))
def list_sms(request, contact_id: Query[Id | None] = None, cursor: Cursor = None, limit: Limit = 50):
    """Text messages, newest first, with their provider status and error code."""
    page = queries.message_log(request.auth, contact_id=contact_id, cursor=cursor, limit=limit)
    return {"items": [queries.sms_out(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post("/calls", response=responses({201: CallOut, 502: Message}))
def start_call(request, payload: CallIn):
    """Click-to-call: your phone rings first, then the contact's; the call
    is in the log at once and its status callbacks complete it."""
    call = services.do_start_call(request.auth, payload.contact_id, payload.agent_number, payload.deal_id)
    return Status(201, queries.call_out(call))


@router.post("/calls/log", response=responses({201: CallOut}))
def log_call(request, payload: CallLogIn):
    """Log a call made outside the CRM (same path as a provider's callback:
    Completed and Hangup calls become Activity touchpoints)."""
    call = services.do_log_call(request.auth, **payload.dict())
    return Status(201, queries.call_out(call))


@router.get("/calls", response=responses({200: CallPage}))
def list_calls(request, filters: Query[CallLogFilters], cursor: Cursor = None, limit: Limit = 50):
    """The call log, newest first: every call, also the busy, unanswered,
    failed and canceled ones that are not touchpoints."""
    page = queries.call_log(request.auth, **filters.dict(), cursor=cursor, limit=limit)
    return {"items": [queries.call_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/calls/{call_id}", response=responses({200: CallOut}))
def get_call(request, call_id: RecordId):
    call = queries.visible_calls(request.auth).filter(id=call_id).first()
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return queries.call_out(call)


@router.get("/telephony/providers", response=responses({200: list[ProviderOut]}))
def list_providers(request):
    """Admins: the provider accounts (tokens are never shown) and the
    webhook URLs to paste into each provider's console."""
    services.check_admin(request.auth)
    return [_provider_out(a) for a in queries.provider_accounts()]


@router.put("/telephony/providers/{provider}", response=responses({200: ProviderOut}))
def set_provider(request, provider: ProviderName, payload: ProviderIn):
    """Admins: set a provider's credentials (the auth token is stored encrypted)."""
    return _provider_out(services.do_set_provider_account(request.auth, provider, payload.dict()))
