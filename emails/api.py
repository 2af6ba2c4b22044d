"""REST endpoints of the email channel. Provider webhooks and the tracking
pixel/redirect are not here: they are authenticated by a provider signature
or a signed token, not a user's credentials (emails.views)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status

from config.errors import Invalid, NotFound, TooLarge, error
from config.pagination import Page
from config.schemas import Cursor, Id, InputSchema, Limit, RecordId, Timestamp, responses
from crm.models import Contact, Deal, Organization
from crm.permissions import get_visible
from emails import imap, ingest, queries, sending, services
from emails.models import Campaign, EmailTemplate
from emails.schemas import (
    CampaignIn,
    CampaignOut,
    ConnectionTestOut,
    ContactFromAddressIn,
    ContactFromAddressOut,
    DropAddressOut,
    EmailOut,
    EngagementKindName,
    EngagementPage,
    IngestOut,
    JourneyPoint,
    MailboxIn,
    MailboxOut,
    MailboxPatch,
    RejectionOut,
    RuleIn,
    RuleOut,
    SendFailedOut,
    SendIn,
    SendOut,
    SyncOut,
    TemplateIn,
    TemplateOut,
    ThreadPage,
    UnmatchedPage,
)
from touchpoints.queries import emotional_journey
from touchpoints.rules import Source

router = Router(tags=["email"])

RAW_TYPES = ("message/rfc822", "application/octet-stream")
RAW_BODY = {
    "required": True,
    "description": "One email exactly as on the wire (RFC 5322), at most MAX_RAW_EMAIL_BYTES.",
    "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES},
}


@router.post(
    "/emails/raw",
    response=responses({200: IngestOut, 201: IngestOut}),
    openapi_extra={"requestBody": RAW_BODY},
)
def upload_raw_email(request: HttpRequest):
    """Store one raw RFC 822 message as the caller's email touchpoint: 201
    stored, 200 when this Message-ID is already stored (or skipped as
    internal-only mail), 422 naming ``body`` with the reason when it is not
    an email we can store (the reason is also kept for the mailbox page)."""
    content_type = (request.content_type or "").lower()
    if content_type not in RAW_TYPES:
        raise Invalid.field(("header", "Content-Type"), f"must be one of {', '.join(RAW_TYPES)}")
    # Read from the stream, not request.body: a message may be larger than
    # what Django reads into memory for a form (REQUEST_MAX_BYTES); the body
    # was already limited to MAX_RAW_EMAIL_BYTES (config.security).
    raw = request.read()
    if not raw.strip():
        raise Invalid.field(("body",), "is empty: send the message's bytes")
    (outcome,) = ingest.do_ingest(request.auth, [ingest.Arrival(raw=raw)], source=Source.API)
    answer = {
        "status": outcome.status,
        "email_id": outcome.email_id,
        "touchpoint_id": outcome.touchpoint_id,
        "message_id": outcome.message_id,
        "reason": outcome.reason or None,
    }
    if outcome.status == "rejected":
        if outcome.reason == "too-large":
            raise TooLarge([error(("body",), f"the message is over MAX_RAW_EMAIL_BYTES ({settings.MAX_RAW_EMAIL_BYTES} bytes)", "too_large")])
        raise Invalid.field(("body",), f"not stored: {outcome.reason}")
    return Status(201 if outcome.status == "stored" else 200, answer)


# --- unmatched senders and auto-create rules -------------------------------------------


@router.get("/emails/unmatched", response=responses({200: UnmatchedPage}))
def list_unmatched(request, cursor: Cursor = None, limit: Limit = 50):
    """Addresses on visible emails that are not (yet) a contact or a user."""
    page = queries.unmatched_addresses(request.auth, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/emails/unmatched/contact", response=responses({201: ContactFromAddressOut}))
def contact_from_address(request, payload: ContactFromAddressIn):
    """Make the address a contact; its stored emails move onto the contact's
    timeline (and its organization's and deals')."""
    data = payload.dict()
    address = data.pop("address")
    contact = services.do_create_contact_from_address(request.auth, address, data)
    linked = queries.visible_emails(request.auth).filter(participants__contact=contact).distinct().count()
    return Status(201, {"contact_id": contact.id, "emails_linked": linked})


@router.get("/email-rules", response=responses({200: list[RuleOut]}))
def list_rules(request):
    """Auto-create rules: unknown senders from a domain become contacts of an organization."""
    return list(services.visible_rules(request.auth).order_by("domain")[:500])


@router.post("/email-rules", response=responses({201: RuleOut}))
def create_rule(request, payload: RuleIn):
    return Status(201, services.do_create_auto_contact_rule(request.auth, payload.domain, payload.organization_id))


@router.delete("/email-rules/{rule_id}", response=responses({204: None}))
def delete_rule(request, rule_id: RecordId):
    services.do_delete_auto_contact_rule(request.auth, rule_id)
    return Status(204, None)


@router.get("/emails/threads/{thread_id}", response=responses({200: ThreadPage}))
def get_thread(request, thread_id: RecordId, cursor: Cursor = None, limit: Limit = 50):
    """The emails of one conversation the caller may see, in the order they
    were stored (a first sync may store a reply before its original; each
    item has its ``occurred_at``)."""
    page = queries.thread_page(request.auth, thread_id, cursor, limit)
    if not page.items and cursor is None:
        raise NotFound(f"thread {thread_id} not found")
    items = [
        {
            "id": e.id,
            "touchpoint_id": e.touchpoint_id,
            "subject": e.touchpoint.subject,
            "occurred_at": e.touchpoint.occurred_at,
            "from_address": e.from_address,
        }
        for e in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor}


# --- sending -------------------------------------------------------------------------


@router.post("/emails/send", response=responses({201: SendOut, 502: SendFailedOut}))
def send_email(request, payload: SendIn):
    """Send an email through the configured SMTP server: each recipient (Bcc
    included) gets their own tracked copy. The touchpoint exists at once;
    502 when the server accepted no copy (the touchpoint is then ``failed``)."""
    try:
        result = sending.do_send_email(request.auth, sending.Outgoing(**payload.dict()))
    except sending.SendFailed as exc:
        return Status(502, {"detail": str(exc), "touchpoint_id": exc.touchpoint_id})
    return Status(201, result.__dict__)


def _campaign_out(campaign: Campaign, skipped=()) -> dict:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "subject": campaign.subject,
        "recipients": campaign.recipients,
        "sent": campaign.sent,
        "failed": campaign.failed,
        "created_at": campaign.created_at,
        "skipped": list(skipped),
    }


@router.post("/campaigns", response=responses({201: CampaignOut}))
def create_campaign(request, payload: CampaignIn):
    """One message to a list of contacts; each recipient's copy is an
    ``email_campaign`` touchpoint, sent by the worker right after."""
    result = sending.do_create_campaign(request.auth, **payload.dict())
    return Status(201, _campaign_out(Campaign.objects.get(id=result.campaign_id), result.skipped))


@router.get("/campaigns/{campaign_id}", response=responses({200: CampaignOut}))
def get_campaign(request, campaign_id: RecordId):
    campaign = queries.visible_campaigns(request.auth).filter(id=campaign_id).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return _campaign_out(campaign)


@router.get("/email-templates", response=responses({200: list[TemplateOut]}))
def list_templates(request):
    """Every template (they are shared by the team), newest first; at most 200."""
    return list(EmailTemplate.objects.order_by("-id")[:200])


@router.post("/email-templates", response=responses({201: TemplateOut}))
def create_template(request, payload: TemplateIn):
    return Status(201, services.do_create_template(request.auth, payload.name, payload.subject, payload.body_html))


# --- engagement ----------------------------------------------------------------------


class EngagementFilters(InputSchema):
    kind: EngagementKindName | None = None
    owner_id: Id | None = None
    contact_id: Id | None = None
    touchpoint_id: Id | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    include_automated: bool = False


@router.get("/engagements", response=responses({200: EngagementPage}))
def list_engagements(request, filters: Query[EngagementFilters], cursor: Cursor = None, limit: Limit = 50):
    """Opens and clicks per recipient (Bcc recipients included), most recent
    first. Automated opens and clicks (proxy prefetches, link scanners) are
    left out unless ``include_automated`` or asked for by ``kind``."""
    page: Page = queries.engagements_page(request.auth, **filters.dict(), cursor=cursor, limit=limit)
    return {"items": queries.engagements_out(request.auth, page.items), "next_cursor": page.next_cursor}


# --- mailboxes --------------------------------------------------------------------------


@router.get("/mailboxes", response=responses({200: list[MailboxOut]}))
def list_mailboxes(request):
    """The caller's own mailbox connections (passwords are never returned)."""
    return [queries.mailbox_out(m) for m in queries.mailboxes_of(request.auth)]


@router.post("/mailboxes", response=responses({201: MailboxOut}))
def connect_mailbox(request, payload: MailboxIn):
    """Connect a mailbox; the worker syncs it every MAILBOX_SYNC_MINUTES."""
    return Status(201, queries.mailbox_out(services.do_connect_mailbox(request.auth, payload.dict())))


@router.post("/mailboxes/test", response=responses({200: ConnectionTestOut}))
def test_unsaved_mailbox(request, payload: MailboxIn):
    """Try settings before saving them: log in and find INBOX and Sent."""
    return services.test_mailbox(request.auth, data=payload.dict())


@router.get("/mailboxes/{mailbox_id}", response=responses({200: MailboxOut}))
def get_mailbox(request, mailbox_id: RecordId):
    return queries.mailbox_out(services.get_own_mailbox(request.auth, mailbox_id))


@router.patch("/mailboxes/{mailbox_id}", response=responses({200: MailboxOut}))
def update_mailbox(request, mailbox_id: RecordId, payload: MailboxPatch):
    return queries.mailbox_out(services.do_update_mailbox(request.auth, mailbox_id, payload.dict(exclude_unset=True)))


@router.delete("/mailboxes/{mailbox_id}", response=responses({204: None}))
def delete_mailbox(request, mailbox_id: RecordId):
    """Disconnect; emails already stored stay."""
    services.do_delete_mailbox(request.auth, mailbox_id)
    return Status(204, None)


@router.post("/mailboxes/{mailbox_id}/test", response=responses({200: ConnectionTestOut}))
def test_mailbox(request, mailbox_id: RecordId):
    return services.test_mailbox(request.auth, mailbox_id)


@router.post("/mailboxes/{mailbox_id}/sync", response=responses({200: SyncOut}))
def sync_now(request, mailbox_id: RecordId):
    """Sync now, in this request (the periodic job does the same)."""
    mailbox = services.get_own_mailbox(request.auth, mailbox_id)
    report = imap.do_sync_mailbox(mailbox.id)
    mailbox.refresh_from_db()
    if report is None:
        return {"status": "already-running"}
    return {"status": mailbox.last_sync_status, **report.__dict__}


@router.get("/mailboxes/{mailbox_id}/rejections", response=responses({200: list[RejectionOut]}))
def mailbox_rejections(request, mailbox_id: RecordId):
    """The last 20 messages this mailbox's syncs could not store, and why."""
    return queries.recent_rejections(services.get_own_mailbox(request.auth, mailbox_id))


@router.get("/me/drop-address", response=responses({200: DropAddressOut}))
def my_drop_address(request):
    """Your personal address for BCC and forwards: mail sent to it is stored
    as yours (SMTP on BCC_DROP_HOST:BCC_DROP_PORT)."""
    return {"address": services.drop_address_of(request.auth), "smtp_host": settings.BCC_DROP_HOST, "smtp_port": settings.BCC_DROP_PORT}


# --- emotional journey ----------------------------------------------------------------------

def _journey(request, model, record_id: int) -> list[dict]:
    get_visible(model, request.auth, record_id)
    return emotional_journey(model._meta.model_name, record_id, viewer=request.auth)


@router.get("/contacts/{record_id}/emotional-journey", response=responses({200: list[JourneyPoint]}))
def contact_journey(request, record_id: RecordId):
    """Emoticons over time, oldest first: held events and emails (scored
    automatically, or set by a rep)."""
    return _journey(request, Contact, record_id)


@router.get("/deals/{record_id}/emotional-journey", response=responses({200: list[JourneyPoint]}))
def deal_journey(request, record_id: RecordId):
    return _journey(request, Deal, record_id)


@router.get("/organizations/{record_id}/emotional-journey", response=responses({200: list[JourneyPoint]}))
def organization_journey(request, record_id: RecordId):
    return _journey(request, Organization, record_id)


# Last: /emails/{email_id} would otherwise shadow /emails/send, /emails/unmatched...
@router.get("/emails/{email_id}", response=responses({200: EmailOut}))
def get_email(request, email_id: RecordId):
    """One email with its participants, attachments and engagement totals."""
    return queries.email_detail(request.auth, queries.get_email(request.auth, email_id))
