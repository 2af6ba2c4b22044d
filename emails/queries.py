"""Reads of the email channel, each limited to what the viewer may see: an
email, its engagements and its documents are visible exactly when its
touchpoint is (touchpoints.services.visible_touchpoints)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, QuerySet, Sum

from accounts.models import User
from config.errors import NotFound
from config.pagination import Page, decode_cursor, encode_cursor, keyset_page
from emails.models import Document, EmailMessage, EmailParticipant, Engagement, EngagementKind, Mailbox, Rejection
from touchpoints.services import visible_touchpoints


def visible_emails(viewer: User) -> QuerySet[EmailMessage]:
    if viewer.sees_everything:
        return EmailMessage.objects.all()
    return EmailMessage.objects.filter(touchpoint_id__in=visible_touchpoints(viewer).values("id"))


def get_email(viewer: User, email_id: int) -> EmailMessage:
    email = visible_emails(viewer).select_related("touchpoint", "thread").filter(id=email_id).first()
    if email is None:
        raise NotFound(f"email {email_id} not found")
    return email


def email_detail(viewer: User, email: EmailMessage) -> dict:
    participants = list(email.participants.order_by("id"))
    counts = engagement_counts([email.touchpoint_id]).get(email.touchpoint_id, {})
    return {
        "id": email.id,
        "touchpoint_id": email.touchpoint_id,
        "message_id": email.message_id,
        "thread_id": email.thread_id,
        "in_reply_to": email.in_reply_to or None,
        "subject": email.touchpoint.subject,
        "status": email.touchpoint.status,
        "direction": email.touchpoint.direction,
        "occurred_at": email.touchpoint.occurred_at,
        "from_address": email.from_address,
        "body_text": email.body_text,
        "automated": email.automated or None,
        "sentiment": email.touchpoint.sentiment,
        "emoticon": email.touchpoint.emoticon,
        "tracked": email.tracked,
        "participants": [
            {
                "id": p.id,
                "role": p.role,
                "address": p.address,
                "name": p.name,
                "contact_id": p.contact_id,
                "user_id": p.user_id,
                "delivered_at": p.delivered_at,
                "bounced_at": p.bounced_at,
            }
            for p in participants
        ],
        "documents": [
            {"id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size, "stored": d.stored}
            for d in Document.objects.filter(touchpoint_id=email.touchpoint_id).order_by("id")
        ],
        "engagement": counts,
    }


def thread_page(viewer: User, thread_id: int, cursor: str | None, limit: int) -> Page:
    qs = visible_emails(viewer).filter(thread_id=thread_id).select_related("touchpoint")
    return keyset_page(qs, ("id",), cursor, limit)


def engagement_counts(touchpoint_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per email touchpoint: {"open": n, "click": n, "automated_open": n, ...}
    summed over its recipients; one query for a whole timeline page."""
    out: dict[int, dict[str, int]] = {}
    if not touchpoint_ids:
        return out
    rows = (
        Engagement.objects.filter(touchpoint_id__in=touchpoint_ids)
        .values("touchpoint_id", "kind")
        .annotate(total=Sum("count"))
    )
    for row in rows:
        out.setdefault(row["touchpoint_id"], {})[row["kind"]] = row["total"]
    return out


def engagements_page(
    viewer: User,
    *,
    kind: str | None,
    owner_id: int | None,
    contact_id: int | None,
    touchpoint_id: int | None,
    since: datetime | None,
    until: datetime | None,
    include_automated: bool,
    cursor: str | None,
    limit: int,
) -> Page:
    """Engagements newest activity first, filtered by date (last_at), rep
    (the email's owner), contact and kind; automated ones only when asked."""
    qs = Engagement.objects.select_related("participant", "participant__email", "touchpoint", "contact", "owner")
    if not viewer.sees_everything:
        qs = qs.filter(touchpoint_id__in=visible_touchpoints(viewer).values("id"))
    if kind:
        qs = qs.filter(kind=kind)
    elif not include_automated:
        qs = qs.filter(kind__in=[EngagementKind.OPEN, EngagementKind.CLICK])
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if contact_id:
        qs = qs.filter(contact_id=contact_id)
    if touchpoint_id:
        qs = qs.filter(touchpoint_id=touchpoint_id)
    if since:
        qs = qs.filter(last_at__gte=since)
    if until:
        qs = qs.filter(last_at__lt=until)
    return keyset_page(qs, ("-last_at", "-id"), cursor, limit)


def engagement_out(e: Engagement) -> dict:
    return {
        "id": e.id,
        "kind": e.kind,
        "touchpoint_id": e.touchpoint_id,
        "email_id": e.participant.email_id,
        "subject": e.touchpoint.subject,
        "recipient": e.participant.address,
        "role": e.participant.role,
        "contact_id": e.contact_id,
        "contact_name": e.contact.full_name if e.contact_id else None,
        "owner_id": e.owner_id,
        "first_at": e.first_at,
        "last_at": e.last_at,
        "count": e.count,
        "automated_reason": e.reason or None,
        "last_url": e.last_url or None,
    }


def unmatched_addresses(viewer: User, cursor: str | None, limit: int) -> Page:
    """Addresses on the viewer's visible emails that are neither a contact
    nor a CRM user, alphabetically, with how many emails and when last seen."""
    qs = EmailParticipant.objects.filter(contact__isnull=True, user__isnull=True).exclude(email__automated__gt="")
    if not viewer.sees_everything:
        qs = qs.filter(email__touchpoint_id__in=visible_touchpoints(viewer).values("id"))
    if cursor:
        (after,) = decode_cursor(EmailParticipant, ("address",), cursor)
        qs = qs.filter(address__gt=after)
    rows = list(
        qs.values("address").annotate(emails=Count("email", distinct=True), last_seen=Max("email__touchpoint__occurred_at"), name=Max("name"))
        .order_by("address")[: limit + 1]
    )
    next_cursor = encode_cursor([rows[limit - 1]["address"]]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)


def mailboxes_of(viewer: User) -> QuerySet[Mailbox]:
    return Mailbox.objects.filter(user=viewer).order_by("id")


def mailbox_out(m: Mailbox) -> dict:
    return {
        "id": m.id,
        "email_address": m.email_address,
        "imap_host": m.imap_host,
        "imap_port": m.imap_port,
        "imap_security": m.imap_security,
        "username": m.username,
        "sent_folder": m.sent_folder,
        "enabled": m.enabled,
        "last_sync_status": m.last_sync_status,
        "last_sync_started_at": m.last_sync_started_at,
        "last_sync_finished_at": m.last_sync_finished_at,
        "last_sync_error": m.last_sync_error or None,
        "last_sync_stored": m.last_sync_stored,
        "last_sync_rejected": m.last_sync_rejected,
        "folders": [
            {"name": f.name, "role": f.role, "uidvalidity": f.uidvalidity, "last_uid": f.last_uid, "highest_modseq": f.highest_modseq}
            for f in m.folders.order_by("id")
        ],
    }


def recent_rejections(mailbox: Mailbox, limit: int = 20) -> list[Rejection]:
    return list(Rejection.objects.filter(mailbox=mailbox).order_by("-created_at", "-id")[:limit])


def visible_document(viewer: User, document_id: int) -> Document:
    qs = Document.objects.filter(id=document_id)
    if not viewer.sees_everything:
        qs = qs.filter(touchpoint_id__in=visible_touchpoints(viewer).values("id"))
    doc = qs.first()
    if doc is None:
        raise NotFound(f"document {document_id} not found")
    return doc

