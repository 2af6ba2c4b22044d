"""Writes of the telephony channel the CRM starts: provider credentials
(admins), sending SMS, click-to-call and calls logged by hand. Each ends in
telephony.processing, the same path the provider webhooks take."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import do_set_my_phone  # noqa: F401 - the pages call it from here
from config import crypto
from config.errors import Forbidden, Invalid, NotFound, ServiceError, error
from crm.models import Contact, ContactPhone, Deal
from crm.permissions import get_visible, visible
from crm.services import normalize_phone
from telephony.models import Call, Provider, ProviderAccount
from telephony.processing import CALL_RANK, FINAL_CALL_STATUSES, Context, apply_call_events, apply_sms_events, opted_out
from telephony.providers.base import CallEvent, Credentials, ProviderError, SmsEvent, get_provider
from touchpoints.rules import Direction

CREDENTIALS_CACHE_SECONDS = 60
MAX_SMS_LENGTH = 1600  # both providers split longer text into segments up to this


class ProviderUnavailable(ServiceError):
    status = 502


# --- provider accounts (admins) -----------------------------------------------------


def check_admin(actor: User) -> None:
    if not (actor.role == "admin" or actor.is_superuser):
        raise Forbidden("only an admin may manage telephony providers")


@transaction.atomic
def do_set_provider_account(actor: User, provider: str, data: dict) -> ProviderAccount:
    """Create or change one provider's credentials. The auth token is kept
    when not sent (it is never shown back)."""
    check_admin(actor)
    if provider not in Provider.values:
        raise NotFound(f"provider {provider} not found")
    account = ProviderAccount.objects.select_for_update().filter(provider=provider).first()
    errors = []
    if account is None and not data.get("auth_token"):
        errors.append(error(("auth_token",), "is required"))
    if account is None and not data.get("account_id"):
        errors.append(error(("account_id",), "is required"))
    from_number = data.get("from_number")
    if from_number is not None or account is None:
        try:
            from_number = normalize_phone(from_number or "", ("from_number",))
        except Invalid as exc:
            errors.extend(exc.errors)
    api_base = (data.get("api_base") or "").strip()
    if api_base and not api_base.startswith(("http://", "https://")):
        errors.append(error(("api_base",), "must be an http(s) URL, or empty for the provider's own API"))
    if errors:
        raise Invalid(errors)
    account = account or ProviderAccount(provider=provider)
    for name in ("account_id", "api_base", "enabled", "is_default"):
        if data.get(name) is not None:
            setattr(account, name, data[name].strip() if isinstance(data[name], str) else data[name])
    if from_number:
        account.from_number = from_number
    if data.get("auth_token"):
        account.auth_token_encrypted = crypto.encrypt(data["auth_token"])
    account.save()
    if account.is_default:
        ProviderAccount.objects.exclude(id=account.id).update(is_default=False)
    # Now (this process reads its own write) and after commit (a reader that
    # cached the old row meanwhile).
    cache.delete(_cache_key(provider))
    transaction.on_commit(lambda: cache.delete(_cache_key(provider)))
    return account


def _cache_key(provider: str) -> str:
    return f"telephony-credentials:{provider}"


def credentials(provider: str) -> Credentials | None:
    """The enabled account's credentials, decrypted, cached in this process
    for a minute so a webhook is verified without a database query (it must
    answer fast when the database is busy)."""
    key = _cache_key(provider)
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    account = ProviderAccount.objects.filter(provider=provider, enabled=True).first()
    creds = Credentials(account.account_id, crypto.decrypt(account.auth_token_encrypted), account.api_base or None) if account else None
    cache.set(key, creds or False, CREDENTIALS_CACHE_SECONDS)
    return creds


def default_account() -> ProviderAccount:
    account = (
        ProviderAccount.objects.filter(enabled=True).order_by("-is_default", "provider").first()
    )
    if account is None:
        raise Invalid.field("provider", "no telephony provider is set up: an admin adds Twilio or Plivo credentials first")
    return account


def webhook_url(provider: str, kind: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/webhooks/{provider}/{kind}"


# --- SMS ------------------------------------------------------------------------------


@dataclass
class SmsResult:
    to: str
    contact_id: int | None
    status: str  # dispatched | queued | failed | refused
    sms_id: int | None = None
    touchpoint_id: int | None = None
    error: str | None = None


@dataclass
class SendSms:
    body: str
    contact_ids: Sequence[int] = ()
    numbers: Sequence[str] = ()
    results: list[SmsResult] = field(default_factory=list)


def check_sms(actor: User, body: str, contact_ids: Sequence[int], numbers: Sequence[str]) -> list[tuple[str, Contact | None]]:
    """(E.164, contact) per recipient; Invalid naming every bad field:
    a contact not visible or without a mobile number, a bad number, a
    recipient who texted STOP, an empty or too long body."""
    errors: list[dict] = []
    if not body.strip():
        errors.append(error(("text",), "must not be empty"))
    elif len(body) > MAX_SMS_LENGTH:
        errors.append(error(("text",), f"at most {MAX_SMS_LENGTH} characters"))
    if not contact_ids and not numbers:
        errors.append(error(("contact_ids",), "name at least one contact (or a number in numbers)"))
    found = {c.id: c for c in visible(Contact, actor).filter(id__in=contact_ids)}
    first_phone: dict[int, str] = {}
    for row in ContactPhone.objects.filter(contact_id__in=found).order_by("contact_id", "position", "id"):
        first_phone.setdefault(row.contact_id, row.number)
    recipients: list[tuple[str, Contact | None, tuple]] = []
    for i, cid in enumerate(contact_ids):
        if cid not in found:
            errors.append(error(("contact_ids", i), f"contact {cid} not found"))
        elif cid not in first_phone:
            errors.append(error(("contact_ids", i), f"contact {cid} has no phone number"))
        else:
            recipients.append((first_phone[cid], found[cid], ("contact_ids", i)))
    for i, raw in enumerate(numbers):
        try:
            recipients.append((normalize_phone(raw, ("numbers", i)), None, ("numbers", i)))
        except Invalid as exc:
            errors.extend(exc.errors)
    stopped = opted_out(number for number, _, _ in recipients)
    for number, contact, loc in recipients:
        if number in stopped:
            who = contact.full_name if contact else number
            errors.append(error(loc, f"{who} ({number}) opted out of SMS (texted STOP); they must text START to receive messages again"))
    if errors:
        raise Invalid(errors)
    return [(number, contact) for number, contact, _ in dict((r[0], r) for r in recipients).values()]


def do_send_sms(actor: User, body: str, contact_ids: Sequence[int] = (), numbers: Sequence[str] = ()) -> list[SmsResult]:
    """Send one text to each recipient through the default provider. Each
    accepted message is an SMS touchpoint at once (Dispatched); the
    provider's status callbacks take it to Delivered or Failed. A message
    the provider refuses is kept as a Failed SMS with its error."""
    recipients = check_sms(actor, body, contact_ids, numbers)
    account = default_account()
    provider = get_provider(account.provider)
    creds = credentials(account.provider)
    results = []
    for number, contact in recipients:
        context = Context(user_id=actor.id, contact_id=contact.id if contact else None)
        try:
            message_id, status = provider.send_sms(
                creds,
                from_number=account.from_number,
                to_number=number,
                body=body,
                status_callback_url=webhook_url(account.provider, "sms-status"),
            )
            error_text = None
        except ProviderError as exc:
            message_id, status, error_text = f"refused-{uuid.uuid4().hex}", "failed", str(exc)
        event = SmsEvent(
            provider=account.provider,
            message_id=message_id,
            direction=Direction.OUTBOUND,
            from_number=account.from_number,
            to_number=number,
            body=body,
            status=status,
            provider_status="refused" if error_text else status,
            error_code=(error_text or "")[:40] or None,
            occurred_at=timezone.now(),
            raw={},
        )
        (sms,) = apply_sms_events([event], context)
        results.append(SmsResult(number, context.contact_id, sms.status, sms.id, sms.touchpoint_id, error_text))
    return results


# --- calls -----------------------------------------------------------------------------


def do_start_call(actor: User, contact_id: int, agent_number: str | None = None, deal_id: int | None = None) -> Call:
    """Click-to-call: the provider rings the user's phone, then dials the
    contact (telephony.webhooks.voice_connect answers with the dial
    markup). The call is in the log at once (queued); its status callbacks
    complete it."""
    contact = get_visible(Contact, actor, contact_id, loc=("contact_id",))
    deal = get_visible(Deal, actor, deal_id, loc=("deal_id",)) if deal_id else None
    number = ContactPhone.objects.filter(contact=contact).order_by("position", "id").values_list("number", flat=True).first()
    if number is None:
        raise Invalid.field("contact_id", f"contact {contact_id} has no phone number")
    raw_agent = agent_number or actor.phone
    if not raw_agent:
        raise Invalid.field("agent_number", "set your phone number (or send agent_number): it is called first")
    agent = normalize_phone(raw_agent, ("agent_number",))
    account = default_account()
    provider = get_provider(account.provider)
    local_id = f"pending-{uuid.uuid4().hex}"
    with transaction.atomic():
        call = Call.objects.create(
            provider=account.provider,
            provider_call_id=local_id,
            direction=Direction.OUTBOUND,
            from_number=account.from_number,
            to_number=number,
            status="queued",
            started_at=timezone.now(),
            contact=contact,
            user=actor,
            deal=deal,
        )
    try:
        call_id = provider.start_call(
            credentials(account.provider),
            from_number=account.from_number,
            agent_number=agent,
            answer_url=f"{webhook_url(account.provider, 'voice-connect')}?call={call.id}",
            status_callback_url=f"{webhook_url(account.provider, 'voice-status')}?call={call.id}",
        )
    except ProviderError as exc:
        # The code in error_code, the provider's words in notes (the log shows both).
        Call.objects.filter(id=call.id).update(
            status="failed", status_rank=CALL_RANK["failed"], error_code=str(exc.code or exc.status or "")[:40], notes=str(exc)[:2000]
        )
        call.refresh_from_db()
        raise ProviderUnavailable(f"{account.get_provider_display()} could not start the call: {exc}") from exc
    # The first status callback may have named the row already (inbox._adopt_pending_call).
    if not Call.objects.filter(provider_call_id=call_id).exists():
        Call.objects.filter(id=call.id, provider_call_id__startswith="pending-").update(provider_call_id=call_id)
    call.refresh_from_db()
    return call


LOGGABLE = tuple(sorted(FINAL_CALL_STATUSES))


def do_log_call(
    actor: User,
    *,
    contact_id: int | None,
    deal_id: int | None = None,
    status: str,
    direction: str = Direction.OUTBOUND,
    occurred_at: datetime | None = None,
    duration_seconds: int | None = None,
    number: str | None = None,
    notes: str = "",
) -> Call:
    """A call logged by hand goes through apply_call_events like a
    provider's callback: same log row, same touchpoint rules."""
    errors = []
    if status not in FINAL_CALL_STATUSES:
        errors.append(error(("status",), f"must be one of {', '.join(LOGGABLE)}"))
    if direction not in (Direction.INBOUND, Direction.OUTBOUND):
        errors.append(error(("direction",), "must be inbound or outbound"))
    if occurred_at is not None and occurred_at > timezone.now():
        errors.append(error(("occurred_at",), "a call that was made is not in the future"))
    if contact_id is None and deal_id is None:
        errors.append(error(("contact_id",), "name the contact (or deal) the call was with"))
    if errors:
        raise Invalid(errors)
    contact = get_visible(Contact, actor, contact_id, loc=("contact_id",)) if contact_id else None
    deal = get_visible(Deal, actor, deal_id, loc=("deal_id",)) if deal_id else None
    if number is None and contact is not None:
        number = ContactPhone.objects.filter(contact=contact).order_by("position", "id").values_list("number", flat=True).first()
    number = normalize_phone(number, ("number",)) if number else ""
    mine = actor.phone or "CRM user"
    event = CallEvent(
        provider="manual",
        call_id=f"manual-{uuid.uuid4().hex}",
        direction=direction,
        from_number=number if direction == Direction.INBOUND else mine,
        to_number=mine if direction == Direction.INBOUND else number,
        status=status,
        provider_status=status,
        duration_seconds=duration_seconds,
        recording_url=None,
        error_code=None,
        occurred_at=occurred_at or timezone.now(),
        sequence=None,
        raw={},
    )
    context = Context(user_id=actor.id, contact_id=contact.id if contact else None, deal_id=deal.id if deal else None, notes=notes)
    (call,) = apply_call_events([event], context)
    return call


# --- the user's own phone (pages) ------------------------------------------------------
