"""Calls and messages from provider events: the one write path for voice
and SMS callbacks, inbound SMS, sends from the CRM, click-to-call and calls
logged by hand.

Exactly once, in order-independent form:
- A provider event names its call or message by the provider's id; the
  ``Call``/``Sms`` row and its touchpoint (source = provider, external_id =
  that id) are unique on it, so retries and duplicate deliveries change
  nothing.
- Statuses only move forward: each has a rank (``CALL_RANK``, ``SMS_RANK``)
  and every update is conditional on the stored rank being lower, so a late
  "sent" never overwrites "delivered". Within a batch, events for one call
  are folded first, so any arrival order of the same events ends in the
  same state (tests try every permutation).
- Final call statuses rank in a fixed order (canceled < failed < no answer <
  busy < hangup < completed): a call has one in practice, and if a provider
  ever sent two, every arrival order still agrees on the result.

A call becomes a touchpoint when its status is final: only then are its
status and duration known, and a ringing call is not yet an interaction.
Only Completed and Hangup calls show in Activity and count for Last
Contacted (touchpoints.rules); the rest stay in the call log. A message is
a touchpoint from the start: a dispatched SMS already counts as contact,
and when one fails later, Last Contacted is recomputed.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import timezone

from crm.models import Contact, ContactPhone
from telephony.models import Call, OptOut, Sms
from telephony.providers.base import CallEvent, SmsEvent
from touchpoints.rules import Direction, Kind
from touchpoints.services import NewTouchpoint, record_touchpoints, set_statuses

CALL_RANK = {
    "queued": 0,
    "ringing": 1,
    "in_progress": 2,
    "canceled": 3,
    "failed": 4,
    "no_answer": 5,
    "busy": 6,
    "hangup": 7,
    "completed": 8,
}
FINAL_CALL_STATUSES = frozenset({"completed", "hangup", "busy", "no_answer", "failed", "canceled"})
SMS_RANK = {"queued": 0, "dispatched": 1, "received": 1, "delivered": 2, "failed": 3}
# CTIA / carrier opt-out and opt-in keywords (Twilio and Plivo honour the same set).
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN"})


@dataclass
class Context:
    """What the CRM knows beyond the provider event: who started it and for
    which records (click-to-call, a send from a contact page, a logged call)."""

    user_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    notes: str = ""


def _external_number(direction: str, from_number: str, to_number: str) -> str:
    return from_number if direction == Direction.INBOUND else to_number


def contacts_by_number(numbers: Iterable[str]) -> dict[str, Contact]:
    """E.164 -> the contact with that number (the oldest when several share
    one); one query. Unknown numbers are simply absent: their calls and
    messages stay in the log, unmatched."""
    found: dict[str, Contact] = {}
    rows = ContactPhone.objects.filter(number__in=set(numbers)).select_related("contact").order_by("contact_id")
    for row in rows:
        found.setdefault(row.number, row.contact)
    return found


# --- calls --------------------------------------------------------------------


def _fold_calls(events: Sequence[CallEvent]) -> dict[tuple[str, str], CallEvent]:
    """One event per call: the highest-ranked status, with the details any
    of its events carried (duration and recording often come on one)."""
    folded: dict[tuple[str, str], CallEvent] = {}
    for event in events:
        key = (event.provider, event.call_id)
        current = folded.get(key)
        if current is None:
            folded[key] = event
            continue
        best, other = (event, current) if CALL_RANK[event.status] > CALL_RANK[current.status] else (current, event)
        folded[key] = replace(
            best,
            duration_seconds=best.duration_seconds if best.duration_seconds is not None else other.duration_seconds,
            recording_url=best.recording_url or other.recording_url,
            error_code=best.error_code or other.error_code,
            occurred_at=min((t for t in (best.occurred_at, other.occurred_at) if t), default=None),
        )
    return folded


@transaction.atomic
def apply_call_events(events: Sequence[CallEvent], context: Context | None = None) -> list[Call]:
    context = context or Context()
    folded = _fold_calls(events)
    if not folded:
        return []
    now = timezone.now()
    fresh = []
    for event, contact in _new_ones(Call, "provider_call_id", folded):
        fresh.append(
            Call(
                provider=event.provider,
                provider_call_id=event.call_id,
                direction=event.direction,
                from_number=event.from_number,
                to_number=event.to_number,
                status="queued",
                status_rank=0,
                started_at=event.occurred_at or now,
                contact_id=context.contact_id or (contact.id if contact else None),
                user_id=context.user_id or (contact.owner_id if contact else None),
                deal_id=context.deal_id,
                notes=context.notes,
            )
        )
    # A concurrent drain may insert the same call: the unique constraint
    # keeps one row, and both go on to the conditional updates below.
    Call.objects.bulk_create(fresh, ignore_conflicts=True)
    calls = {(c.provider, c.provider_call_id): c for c in _calls_for(folded)}
    for key, event in folded.items():
        call = calls[key]
        rank = CALL_RANK[event.status]
        details = {
            name: value
            for name, value in (
                ("duration_seconds", event.duration_seconds),
                ("recording_url", event.recording_url),
                ("error_code", event.error_code),
            )
            if value not in (None, "")
        }
        moved = Call.objects.filter(id=call.id, status_rank__lt=rank).update(
            status=event.status, status_rank=rank, provider_status=event.provider_status[:40], **details
        )
        if not moved and details:
            Call.objects.filter(id=call.id).update(**details)
    calls = {(c.provider, c.provider_call_id): c for c in _calls_for(folded)}
    _call_touchpoints(list(calls.values()))
    return list(calls.values())


def _rows_for(model, id_field: str, keys: Iterable[tuple[str, str]]) -> list:
    """The Call or Sms rows for (provider, provider id) keys; a query per provider."""
    by_provider: dict[str, list[str]] = {}
    for provider, provider_id in keys:
        by_provider.setdefault(provider, []).append(provider_id)
    out: list = []
    for provider, ids in by_provider.items():
        out.extend(model.objects.filter(provider=provider, **{f"{id_field}__in": ids}))
    return out


def _calls_for(folded) -> list[Call]:
    return _rows_for(Call, "provider_call_id", folded)


def _new_ones(model, id_field: str, folded: dict) -> list[tuple]:
    """(event, matched contact or None) for the folded events with no row
    yet; two queries for the batch."""
    existing = {(row.provider, getattr(row, id_field)) for row in _rows_for(model, id_field, folded)}
    new = [event for key, event in folded.items() if key not in existing]
    contacts = contacts_by_number(_external_number(e.direction, e.from_number, e.to_number) for e in new)
    return [(e, contacts.get(_external_number(e.direction, e.from_number, e.to_number))) for e in new]


def _call_touchpoints(calls: list[Call]) -> None:
    """Final calls without a touchpoint get one (batched); a final call
    whose touchpoint has an older status gets it updated."""
    final = [c for c in calls if c.status in FINAL_CALL_STATUSES]
    new = [c for c in final if c.touchpoint_id is None]
    if new:
        contact_names = dict(
            (c.id, c.full_name) for c in Contact.objects.filter(id__in={c.contact_id for c in new if c.contact_id})
        )
        items = [
            NewTouchpoint(
                kind=Kind.PHONE_CALL,
                status=c.status,
                direction=c.direction,
                occurred_at=c.started_at,
                duration_seconds=c.duration_seconds,
                subject=_call_subject(c, contact_names.get(c.contact_id)),
                summary=c.notes,
                source=c.provider if c.provider != "manual" else "manual",
                external_id=c.provider_call_id,
                owner_id=c.user_id,
                contact_ids=[c.contact_id] if c.contact_id else [],
                deal_ids=[c.deal_id] if c.deal_id else [],
            )
            for c in new
        ]
        for call, result in zip(new, record_touchpoints(None, items, checked=True)):
            Call.objects.filter(id=call.id, touchpoint__isnull=True).update(touchpoint_id=result.touchpoint_id)
            call.touchpoint_id = result.touchpoint_id
    set_statuses({c.touchpoint_id: c.status for c in final if c.touchpoint_id}, durations={c.touchpoint_id: c.duration_seconds for c in final if c.touchpoint_id})


def _call_subject(call: Call, contact_name: str | None) -> str:
    other = contact_name or _external_number(call.direction, call.from_number, call.to_number)
    if not other:
        return "Phone call"  # logged on a deal, with no contact or number
    return f"Call {'from' if call.direction == Direction.INBOUND else 'to'} {other}"[:255]


# --- messages ---------------------------------------------------------------------


def _fold_messages(events: Sequence[SmsEvent]) -> dict[tuple[str, str], SmsEvent]:
    folded: dict[tuple[str, str], SmsEvent] = {}
    for event in events:
        key = (event.provider, event.message_id)
        current = folded.get(key)
        if current is None or SMS_RANK[event.status] > SMS_RANK[current.status]:
            merged = event
            if current is not None:
                merged = replace(
                    event,
                    body=event.body or current.body,
                    error_code=event.error_code or current.error_code,
                    from_number=event.from_number or current.from_number,
                    to_number=event.to_number or current.to_number,
                )
            folded[key] = merged
        elif current is not None and not current.body and event.body:
            folded[key] = replace(current, body=event.body)
    return folded


@transaction.atomic
def apply_sms_events(events: Sequence[SmsEvent], context: Context | None = None) -> list[Sms]:
    context = context or Context()
    folded = _fold_messages(events)
    if not folded:
        return []
    now = timezone.now()
    fresh = []
    for event, contact in _new_ones(Sms, "provider_message_id", folded):
        fresh.append(
            Sms(
                provider=event.provider,
                provider_message_id=event.message_id,
                direction=event.direction,
                from_number=event.from_number,
                to_number=event.to_number,
                body=event.body or "",
                status=event.status,
                status_rank=SMS_RANK[event.status],
                provider_status=event.provider_status[:40],
                error_code=event.error_code or "",
                sent_at=event.occurred_at or now,
                contact_id=context.contact_id or (contact.id if contact else None),
                user_id=context.user_id or (contact.owner_id if contact else None),
            )
        )
    Sms.objects.bulk_create(fresh, ignore_conflicts=True)
    for key, event in folded.items():
        rank = SMS_RANK[event.status]
        Sms.objects.filter(provider=key[0], provider_message_id=key[1], status_rank__lt=rank).update(
            status=event.status, status_rank=rank, provider_status=event.provider_status[:40], error_code=event.error_code or ""
        )
    messages = _messages_for(folded)
    _sms_touchpoints(messages)
    _apply_opt_words([e for e in folded.values() if e.direction == Direction.INBOUND])
    return messages


def _messages_for(folded) -> list[Sms]:
    return _rows_for(Sms, "provider_message_id", folded)


def _sms_touchpoints(messages: list[Sms]) -> None:
    new = [m for m in messages if m.touchpoint_id is None]
    if new:
        items = [
            NewTouchpoint(
                kind=Kind.SMS,
                status=m.status,
                direction=m.direction,
                occurred_at=m.sent_at,
                subject=(m.body.splitlines() or [""])[0][:120],
                summary=m.body,
                source=m.provider,
                external_id=m.provider_message_id,
                owner_id=m.user_id,
                contact_ids=[m.contact_id] if m.contact_id else [],
            )
            for m in new
        ]
        for message, result in zip(new, record_touchpoints(None, items, checked=True)):
            Sms.objects.filter(id=message.id, touchpoint__isnull=True).update(touchpoint_id=result.touchpoint_id)
            message.touchpoint_id = result.touchpoint_id
    set_statuses({m.touchpoint_id: m.status for m in messages if m.touchpoint_id})


def _apply_opt_words(inbound: list[SmsEvent]) -> None:
    """STOP and friends mark the sender's number as not to be texted; START
    lifts it (the carriers' keywords, matched on the whole trimmed body)."""
    for event in inbound:
        word = (event.body or "").strip().strip(".!").upper()
        if word in OPT_OUT_WORDS:
            OptOut.objects.get_or_create(number=event.from_number, defaults={"keyword": word, "provider": event.provider})
        elif word in OPT_IN_WORDS:
            OptOut.objects.filter(number=event.from_number).delete()


def opted_out(numbers: Iterable[str]) -> set[str]:
    return set(OptOut.objects.filter(number__in=set(numbers)).values_list("number", flat=True))

