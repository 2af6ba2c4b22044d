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

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from telephony.models import Call, WebhookEvent, WebhookKind
from telephony.processing import apply_call_events, apply_sms_events
from telephony.providers.base import PayloadError, get_provider

DRAIN_BATCH = 500
# One scheduled drain per process per this many seconds covers a burst.
DRAIN_DEBOUNCE_SECONDS = 0.5


def do_receive_webhook(provider: str, kind: str, params: dict, replay_key: str | None) -> bool:
    """Store one verified request; False when it repeats one already stored."""
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                provider=provider, kind=kind, replay_key=(replay_key or None) and replay_key[:200], payload=params, received_at=timezone.now()
            )
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
                parsed = provider.parse_voice_status(event.payload)
                _adopt_pending_call(event.payload.get("_call"), parsed.call_id)
                calls.append(parsed)
            elif event.kind == WebhookKind.SMS_STATUS:
                messages.append(provider.parse_sms_status(event.payload))
            else:
                messages.append(provider.parse_sms_inbound(event.payload))
        except PayloadError as exc:
            errors[event.id] = f"{exc.field}: {exc.message}"
    apply_call_events(calls)
    apply_sms_events(messages)
    now = timezone.now()
    WebhookEvent.objects.filter(id__in=[e.id for e in events if e.id not in errors]).update(processed_at=now)
    for event_id, text in errors.items():
        WebhookEvent.objects.filter(id=event_id).update(processed_at=now, error=text[:2000])


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
