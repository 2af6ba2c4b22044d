"""Writes for what happens to mail after it left: opens and clicks from our
tracking endpoints, and delivery, bounce, open and click events from
SendGrid and Mailgun webhooks. Both paths end in the same ``do_record_hit``
and ``do_mark_bounced``.

Rules (from the issue; where it is silent, what a CRM user would expect):
- One Engagement row per (recipient copy, kind) with first/last/count;
  repeats within an hour count once (emails.tracking.should_count).
- A click implies an open: a human click also records a human open.
- Opens and clicks that look machine-made (image-proxy prefetch, link
  scanners; emails.tracking's rules, or the provider's own machine-open
  flag) are stored as ``automated_open`` / ``automated_click`` and reported
  apart; they never imply anything about the person.
- A bounce marks the recipient bounced; when every external recipient of
  the email has bounced, the touchpoint's status becomes ``bounced``, which
  takes it out of Last Contacted (recomputed through update_touchpoint).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from emails import tracking
from emails.models import EmailMessage, EmailParticipant, Engagement, EngagementKind, ProviderEvent
from emails.webhooks import ProviderEvent as ProviderEventData
from touchpoints.services import update_touchpoint

HUMAN_TO_AUTOMATED = {EngagementKind.OPEN: EngagementKind.AUTOMATED_OPEN, EngagementKind.CLICK: EngagementKind.AUTOMATED_CLICK}


@dataclass
class Hit:
    kind: str  # EngagementKind.OPEN or CLICK
    at: datetime
    ip: str | None = None
    user_agent: str | None = None
    url: str = ""
    # Set when the source already knows it is a machine (SendGrid's
    # sg_machine_open); otherwise our rules decide.
    automated_reason: str | None = None


def do_record_hit(participant_id: int, hit: Hit) -> Engagement | None:
    """Record one open or click of a recipient's copy. Returns the row it
    counted on, or None when the participant is gone."""
    with transaction.atomic():
        participant = (
            EmailParticipant.objects.select_related("email__touchpoint").filter(id=participant_id).first()
        )
        if participant is None:
            return None
        sent_at = participant.email.touchpoint.occurred_at
        seconds = (hit.at - sent_at).total_seconds() if sent_at else None
        classify = tracking.classify_open if hit.kind == EngagementKind.OPEN else tracking.classify_click
        reason = hit.automated_reason or classify(hit.ip, hit.user_agent, seconds)
        kind = HUMAN_TO_AUTOMATED[hit.kind] if reason else hit.kind
        row = _count(participant, kind, hit.at, reason or "", hit.url)
        if kind == EngagementKind.CLICK:
            _count(participant, EngagementKind.OPEN, hit.at, "", "")  # a click implies an open
        return row


def _count(participant: EmailParticipant, kind: str, at: datetime, reason: str, url: str) -> Engagement:
    """Insert or bump the (participant, kind) row. The row is locked while
    counting so two hits at once don't both decide "first in this hour";
    a concurrent first insert loses on the unique constraint and retries as
    an update."""
    for _ in range(2):
        row = Engagement.objects.select_for_update().filter(participant=participant, kind=kind).first()
        if row is None:
            try:
                with transaction.atomic():
                    return Engagement.objects.create(
                        participant=participant,
                        touchpoint_id=participant.email.touchpoint_id,
                        owner_id=participant.email.touchpoint.owner_id,
                        contact_id=participant.contact_id,
                        kind=kind,
                        first_at=at,
                        last_at=at,
                        last_counted_at=at,
                        count=1,
                        reason=reason,
                        last_url=url,
                    )
            except IntegrityError:
                continue
        changes = {"last_at": max(row.last_at, at), "first_at": min(row.first_at, at)}
        if url:
            changes["last_url"] = url
        if tracking.should_count(row.last_counted_at, at):
            changes["count"] = row.count + 1
            changes["last_counted_at"] = at
        Engagement.objects.filter(id=row.id).update(**changes)
        for name, value in changes.items():
            setattr(row, name, value)
        return row
    raise RuntimeError("engagement row vanished while counting")


def do_mark_delivered(participant_id: int, at: datetime) -> None:
    EmailParticipant.objects.filter(id=participant_id, delivered_at__isnull=True).update(delivered_at=at)


def do_mark_bounced(email_id: int, recipient: str | None, at: datetime) -> None:
    """Mark ``recipient`` (every external recipient when None) bounced; when
    none of the email's external recipients is left unbounced, the email
    touchpoint becomes ``bounced`` and stops counting for Last Contacted."""
    with transaction.atomic():
        external = EmailParticipant.objects.filter(email_id=email_id, role__in=["to", "cc", "bcc"], user__isnull=True)
        target = external.filter(address=recipient.lower()) if recipient else external
        target.filter(bounced_at__isnull=True).update(bounced_at=at)
        if external.filter(bounced_at__isnull=True).exists():
            return
        email = EmailMessage.objects.select_related("touchpoint").get(id=email_id)
        if email.touchpoint.status != "bounced":
            update_touchpoint(None, email.touchpoint_id, {"status": "bounced"}, checked=True)


# --- provider webhooks ---------------------------------------------------------


# The custom argument every tracked copy carries (X-SMTPAPI unique_args for
# SendGrid, X-Mailgun-Variables for Mailgun; emails.sending): the
# recipient's signed open token. Providers echo it on every event, which
# matters for SendGrid's opens and clicks that carry no Message-ID.
RECIPIENT_ARG = "tp_recipient"


def find_recipient(event: ProviderEventData) -> EmailParticipant | None:
    """The tracked copy a provider event is about: by our signed custom
    argument, else by our Message-ID (the same on every copy) plus the
    recipient's address."""
    raw = event.raw if isinstance(event.raw, dict) else {}
    token = raw.get(RECIPIENT_ARG) or (raw.get("user-variables") or {}).get(RECIPIENT_ARG)
    if isinstance(token, str):
        try:
            hit = tracking.read_token(token, kind="open")
        except tracking.BadToken:
            hit = None
        if hit is not None:
            return EmailParticipant.objects.filter(id=hit.recipient_id).first()
    if not event.message_id or not event.recipient:
        return None
    return (
        EmailParticipant.objects.filter(email__message_id=event.message_id.strip("<>"), address=event.recipient.lower())
        .filter(~Q(role="from"))
        .first()
    )


def do_apply_provider_events(events: list[ProviderEventData]) -> dict[str, int]:
    """Apply verified webhook events, each (provider, event id) once."""
    counts = {"applied": 0, "duplicate": 0, "unmatched": 0}
    for event in events:
        with transaction.atomic():
            participant = find_recipient(event)
            try:
                with transaction.atomic():
                    ProviderEvent.objects.create(
                        provider=event.provider, event_id=event.event_id[:255], type=event.type, participant=participant
                    )
            except IntegrityError:
                counts["duplicate"] += 1
                continue
            if participant is None:
                counts["unmatched"] += 1
                continue
            _apply(event, participant)
            counts["applied"] += 1
    return counts


def _apply(event: ProviderEventData, participant: EmailParticipant) -> None:
    at = event.occurred_at or timezone.now()
    if event.type == "delivered":
        do_mark_delivered(participant.id, at)
    elif event.type in ("bounced", "dropped"):
        do_mark_bounced(participant.email_id, participant.address, at)
    elif event.type in ("open", "click"):
        machine = "provider: machine open" if getattr(event, "machine_open", False) else None
        do_record_hit(
            participant.id,
            Hit(kind=event.type, at=at, ip=event.ip, user_agent=event.user_agent, url=event.url or "", automated_reason=machine),
        )
