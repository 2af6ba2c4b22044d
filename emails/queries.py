"""Reads of the email channel, each limited to what the viewer may see: an
email, its engagements and its documents are visible exactly when its
touchpoint is (touchpoints.services.visible_touchpoints)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet, Sum

from accounts.models import User
from config.errors import NotFound
from config.pagination import Page, decode_cursor, encode_cursor, keyset_page
from crm.models import Contact, ContactEmail, DealContact
from crm.permissions import owner_condition, visible
from crm.queries import name_match
from documents.models import Document
from emails.models import Campaign, EmailMessage, EmailParticipant, EmailTemplate, Engagement, EngagementKind, Mailbox, Rejection
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
    # An address may belong to a contact the viewer cannot open: show the
    # address, not that contact's id.
    seen = visible_contact_ids(viewer, {p.contact_id for p in participants if p.contact_id})
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
                # A hidden contact's name would name them as the CRM knows them (mail sent from the CRM).
                "name": p.name if not p.contact_id or p.contact_id in seen else "",
                "contact_id": p.contact_id if p.contact_id in seen else None,
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


def visible_contact_ids(viewer: User, contact_ids: set[int]) -> set[int]:
    if viewer.sees_everything or not contact_ids:
        return set(contact_ids)
    return set(visible(Contact, viewer).filter(id__in=contact_ids).values_list("id", flat=True))


def engagements_out(viewer: User, engagements: list[Engagement]) -> list[dict]:
    """The page's rows; a contact the viewer may not open is not named."""
    seen = visible_contact_ids(viewer, {e.contact_id for e in engagements if e.contact_id})
    rows = [engagement_out(e) for e in engagements]
    for row in rows:
        if row["contact_id"] not in seen:
            row["contact_id"] = row["contact_name"] = None
    return rows


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


def visible_campaigns(viewer: User) -> QuerySet[Campaign]:
    """Campaigns of the viewer's team (owner_condition), all for managers and admins."""
    qs = Campaign.objects.all()
    return qs if viewer.sees_everything else qs.filter(owner_condition(viewer))


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


# --- web pages (emails.views) -------------------------------------------------------------

EMAIL_KINDS = ("email", "email_campaign")


def timeline_engagement(items: list[dict]) -> dict[int, dict[str, int]]:
    """Engagement totals of the emails on one Activity page (timeline dicts):
    one query for the page, none when it shows no email."""
    return engagement_counts([item["id"] for item in items if item["kind"] in EMAIL_KINDS])


def recipient_choices(viewer: User, record_type: str, record_id: int, limit: int = 100) -> list[tuple[str, str]]:
    """(address, "Name <address>") of the record's contacts the viewer may see,
    for the composer on an organization or deal page (a contact's first
    address first)."""
    contacts = visible(Contact, viewer)
    if record_type == "organization":
        contacts = contacts.filter(organization_id=record_id)
    elif record_type == "deal":
        contacts = contacts.filter(id__in=DealContact.objects.filter(deal_id=record_id).values("contact_id"))
    else:
        contacts = contacts.filter(id=record_id)
    rows = (
        ContactEmail.objects.filter(contact__in=contacts.values("id"))
        .select_related("contact")
        .order_by("contact__last_name", "contact__first_name", "contact_id", "position", "id")[:limit]
    )
    return [(row.email, f"{row.contact.full_name} <{row.email}>") for row in rows]


def template_choices(limit: int = 200) -> list[tuple[int, str]]:
    """Email templates are shared by the team (as the API lists them)."""
    return list(EmailTemplate.objects.order_by("name", "id").values_list("id", "name")[:limit])


def get_template(template_id: int) -> EmailTemplate:
    template = EmailTemplate.objects.filter(id=template_id).first()
    if template is None:
        raise NotFound(f"template {template_id} not found")
    return template


def campaign_contacts(viewer: User, contact_ids: list[int], limit: int = 5000) -> list[Contact]:
    """The visible contacts among ``contact_ids`` with their addresses, by name."""
    if not contact_ids:
        return []
    qs = visible(Contact, viewer).filter(id__in=contact_ids).prefetch_related("emails")
    return list(qs.order_by("last_name", "first_name", "id")[:limit])


def contact_search(viewer: User, q: str, limit: int = 20) -> list[Contact]:
    """Visible contacts whose name holds every word of ``q`` or whose
    address contains it, with their addresses (the campaign composer)."""
    q = q.strip()[:100]
    if len(q) < 2:
        return []
    match = name_match(q) | Q(id__in=ContactEmail.objects.filter(email__icontains=q.lower()).values("contact_id"))
    return list(visible(Contact, viewer).filter(match).prefetch_related("emails").order_by("last_name", "first_name", "id")[:limit])


def contact_names(viewer: User, contact_ids) -> dict[int, str]:
    """Names of the visible contacts among ``contact_ids`` (nothing about the others)."""
    ids = [i for i in contact_ids if i]
    if not ids:
        return {}
    return {c.id: c.full_name for c in visible(Contact, viewer).filter(id__in=ids).only("id", "first_name", "last_name")}


def get_campaign(viewer: User, campaign_id: int) -> Campaign:
    """A campaign, to its owner's team, a manager or an admin (as the API's
    GET: visible_campaigns)."""
    campaign = visible_campaigns(viewer).filter(id=campaign_id).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


def campaigns_of(viewer: User, limit: int = 10) -> list[Campaign]:
    return list(Campaign.objects.filter(owner=viewer).order_by("-id")[:limit])


def rejections_by_mailbox(mailboxes: list[Mailbox], limit: int = 10) -> dict[int, list[Rejection]]:
    """recent_rejections for each of a user's (few) mailboxes."""
    return {m.id: recent_rejections(m, limit) for m in mailboxes}


# --- email detail and unmatched senders (emails.views) ------------------------------------------

# Sources whose email touchpoints always have an EmailMessage row (synced,
# dropped, sent from the CRM, uploaded raw). Activity links only these to the
# email page, so it needs no query per row; an email logged by hand (or by an
# integration through POST /touchpoints, also source "api") has no message to
# open, and its link answers 404 like any email the viewer may not see.
EMAIL_ROW_SOURCES = frozenset({"imap", "bcc", "smtp", "api"})


def email_id_of_touchpoint(viewer: User, touchpoint_id: int) -> int:
    """The visible email behind an email touchpoint (Activity's links)."""
    email_id = visible_emails(viewer).filter(touchpoint_id=touchpoint_id).values_list("id", flat=True).first()
    if email_id is None:
        raise NotFound(f"no email for touchpoint {touchpoint_id}")
    return email_id


def email_engagements(email: EmailMessage) -> list[Engagement]:
    """Opens and clicks of each recipient of one email (automated ones too),
    by recipient then kind. Visible exactly when the email is."""
    return list(Engagement.objects.filter(participant__email=email).order_by("participant_id", "kind"))


def emails_linked_count(viewer: User, contact_id: int) -> int:
    """How many visible emails name the contact (as the API reports after
    turning an unmatched address into a contact)."""
    return visible_emails(viewer).filter(participants__contact_id=contact_id).distinct().count()


def suggested_organization(viewer: User, address: str) -> int | None:
    """The organization of the auto-create rule for the address's domain, if
    the viewer may see it: the "Make a contact" form starts with it."""
    from crm.models import Organization
    from emails.models import AutoContactRule

    domain = address.rpartition("@")[2].lower()
    rule = AutoContactRule.objects.filter(domain=domain).only("organization_id").first() if domain else None
    if rule is None:
        return None
    return rule.organization_id if visible(Organization, viewer).filter(id=rule.organization_id).exists() else None


def unmatched_participant_ids(email: EmailMessage) -> set[int]:
    """Participants of the email that are neither a contact nor a user. The
    others whose contact email_detail blanks are contacts the viewer may not
    open: shown by address only (no name: for mail sent from the CRM it is
    the contact's), and not offered as a new contact."""
    return set(email.participants.filter(contact__isnull=True, user__isnull=True).values_list("id", flat=True))
