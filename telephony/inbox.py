"""Provider webhooks: store first, process after.

A verified request is stored as it came (``WebhookEvent``, one INSERT) and
answered; the worker drains stored events in batches through
telephony.processing. The request never waits on call/SMS processing, and
a crash between the two loses nothing (the periodic drain picks up what a
lost job left). A retried delivery carries the same replay key (Twilio's
I-Twilio-Idempotency-Token, Plivo's signature nonce) and is stored once;
one without a key is stored again and changes nothing when processed
(the provider ids are unique, statuses only move forward).
"""
from __future__ import annotations

from dataclasses import replace

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from telephony.models import Call, WebhookEvent, WebhookKind
from telephony.processing import apply_call_events, apply_sms_events
from telephony.providers.base import CallEvent, PayloadError, check_storable, get_provider

DRAIN_BATCH = 500
# One scheduled drain per process per this many seconds covers a burst.
DRAIN_DEBOUNCE_SECONDS = 0.5


def do_receive_webhook(provider: str, kind: str, params: dict, replay_key: str | None) -> bool:
    """Store one verified request; False when it repeats one already stored.
    NUL characters are dropped from its fields: PostgreSQL stores them in
    neither JSON nor text, and no call or message field means anything by one."""
    params = {key.replace("\x00", ""): value.replace("\x00", "") if isinstance(value, str) else value for key, value in params.items()}
    event = WebhookEvent(provider=provider, kind=kind, replay_key=(replay_key or None) and replay_key[:200], payload=params, received_at=timezone.now())
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a repeat must not break the caller's transaction
                event.save(force_insert=True)
        else:
            # One autocommit INSERT: no BEGIN/COMMIT round trips, and SQLite's
            # write lock is held only inside that statement, never while this
            # thread waits for the GIL between statements (8 request threads
            # queue on that lock). A failed INSERT leaves nothing to roll back.
            event.save(force_insert=True)
    except IntegrityError:
        return False
    transaction.on_commit(_drain_soon)
    return True


def _drain_soon() -> None:
    from huey.contrib.djhuey import HUEY

    from telephony.tasks import drain_webhooks

    if HUEY.immediate:
        drain_webhooks()  # tests and HUEY_IMMEDIATE: process now
    elif cache.add("telephony-drain-scheduled", 1, DRAIN_DEBOUNCE_SECONDS):
        # Scheduled after the debounce window, so an event stored while the
        # key is held is committed before that drain looks for work.
        drain_webhooks.schedule(delay=1)


def do_drain(limit: int = DRAIN_BATCH, max_batches: int | None = None) -> int:
    """Process stored events in id order, a batch per transaction, until
    none is left. Returns how many were processed. On PostgreSQL several
    workers drain side by side (SKIP LOCKED); SQLite has one writer anyway."""
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            pending = WebhookEvent.objects.filter(processed_at__isnull=True).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            events = list(pending[:limit])
            if not events:
                break
            _process(events)
        done += len(events)
        batches += 1
    return done


def _process(events: list[WebhookEvent]) -> None:
    calls, messages, errors = [], [], {}
    for event in events:
        provider = get_provider(event.provider)
        try:
            if event.kind == WebhookKind.VOICE_STATUS:
                calls.append(_click_to_call_leg(event.payload, check_storable(provider.parse_voice_status(event.payload))))
            elif event.kind == WebhookKind.SMS_STATUS:
                messages.append(check_storable(provider.parse_sms_status(event.payload)))
            else:
                messages.append(check_storable(provider.parse_sms_inbound(event.payload)))
        except PayloadError as exc:
            errors[event.id] = f"{exc.field}: {exc.message}"
    apply_call_events(calls)
    apply_sms_events(messages)
    now = timezone.now()
    WebhookEvent.objects.filter(id__in=[e.id for e in events if e.id not in errors]).update(processed_at=now)
    for event_id, text in errors.items():
        WebhookEvent.objects.filter(id=event_id).update(processed_at=now, error=text[:2000])


def _click_to_call_leg(payload: dict, parsed: CallEvent) -> CallEvent:
    """A click-to-call is two legs: the provider rings our user, then dials
    the contact. The CRM's call is the conversation with the contact, so:
    - the contact's leg (``leg=contact`` on its callback URL) reports on our
      Call row, whatever the provider calls that leg;
    - the user's leg names the row (``_adopt_pending_call``); its failures
      (the user did not answer) end the call, but its "completed" only says
      the user hung up: it becomes ``canceled``, which any status the
      contact's leg reported outranks (processing.CALL_RANK)."""
    call_pk = payload.get("_call")
    if not call_pk or not str(call_pk).isdigit():
        return parsed
    if payload.get("_leg") == "contact":
        row_id = Call.objects.filter(id=int(call_pk)).values_list("provider_call_id", flat=True).first()
        return replace(parsed, call_id=row_id) if row_id else parsed
    _adopt_pending_call(call_pk, parsed.call_id)
    if parsed.status in ("completed", "hangup"):
        return replace(parsed, status="canceled", duration_seconds=None)
    return parsed


def _adopt_pending_call(call_pk, provider_call_id: str) -> None:
    """Click-to-call stores its Call before the provider names the call
    (Twilio answers with the CallSid, Plivo only with a RequestUUID; the
    callbacks carry the CallUUID). The status callback URL carries our
    row's id (?call=), so the first callback gives that row the id the
    callbacks use, whichever of the two comes first."""
    if not call_pk or not str(call_pk).isdigit():
        return
    if Call.objects.filter(provider_call_id=provider_call_id).exists():
        return
    Call.objects.filter(id=int(call_pk)).update(provider_call_id=provider_call_id)
