"""The product rules for touchpoints, as data: kinds, statuses, what shows in
the Activity section, what counts as contact, and where a touchpoint rolls up.

Source: the product description ("Customer Touchpoints", shared/seeds/),
quoted where a rule comes from it.

Activity section (``SHOWN``)
    "Touchpoints that establish a direct connection with the customers –
    Events, Phone Calls, Emails, and SMS – are shown in the Activity section".
    - "Events that are related to a deal and marked as Held or Not Held are
      recorded in the Activity section" -> events: held, not_held.
    - "Phone Calls with the status set to Completed or Hangup are logged in
      the Activity section as touchpoints" -> calls: completed, hangup.
    - "Emails that are sent to or received from a deal-related contact" ->
      emails and campaigns: sent, received; a bounced email was sent, and a
      rep wants to see that it bounced, so it shows (with its badge) but
      does not count as contact. Automated mail (bounces, auto-replies,
      mailing lists: emails.parsing.AUTOMATED_HEADER_RULES) is stored with
      status ``automated``: shown with its badge, never contact. Mail the
      SMTP server refused (``failed``) shows too, like a failed SMS, so the
      rep sees it did not go out.
    - "Messages sent ... via SMS are recorded ... along with the SMS status –
      Dispatched, Delivered, and Failed" -> sms: dispatched, delivered,
      failed, and received for inbound messages.
    - Chats are named as a channel of interaction; they show.
    - Notes (internal) show on the timeline; they are never contact.
    - Documents and cases are "indirect touchpoints"; portal logins and
      logouts are "logged in the Activity section of the contact record".
      They show, and the kind filter turns them off like any other kind.
    Anything else (a planned event, a busy or unanswered call, a queued SMS,
    a draft email) is stored but not shown.

Counts as contact (``COUNTS``) — what moves Last Contacted Via / On
    "Last Contacted Via can take the following values: Email, SMS, Phone
    Call, Email Campaign, Meeting, Call, Onsite Meeting, and Onsite Service."
    Only kinds with a Via value can count, and only when a contact really
    happened: a held event, a completed or hangup call, a sent or received
    email that did not bounce, an SMS that did not fail (dispatched,
    delivered or received). Chats have no Via value in that list, so they
    do not move Last Contacted; notes, documents, cases and portal visits are
    not contact either.

Rollup (``rollup_targets``) — which records' timelines carry a touchpoint
    - Direct links (the records the writer names) always.
    - "Events that are related to a deal" / "Deal-related Phone Calls": an
      event or phone call on a deal also appears on the deal's contacts and
      its organization.
    - "Emails that are sent to or received from a deal-related contact or
      organization are logged in the Activity section of the deal": a
      touchpoint with a contact appears on the contact, on the contact's
      organization, and on the deals the contact is linked to that were
      open when it happened (created at or before ``occurred_at`` and not
      closed before it). This applies to every kind but portal visits.
    - Any touchpoint on a deal appears on the deal's organization.
    - "Documents and Cases" follow the same rules.
    - "When a customer logs in to or logs out of the customer portal, the
      activity is logged in the Activity section of the contact record":
      portal visits appear on the contact only.

    Resolution happens at write time (fan-out into TouchpointLink), not at
    read time. Reasons: a timeline page must be one index range scan on
    (record, occurred_at) to stay fast for an organization with a million
    touchpoints, which a read-time union over all its contacts and deals
    cannot be; and write time records the truth of the moment — an email a
    contact exchanged while at organization A belongs to A's history even
    after the contact moves to B. touchpoints.rollup keeps the links
    truthful when relationships change (a contact joins or leaves a deal,
    a contact or deal gets its first organization).
"""
from __future__ import annotations

from django.db import models


class Kind(models.TextChoices):
    EVENT = "event"
    PHONE_CALL = "phone_call"
    EMAIL = "email"
    EMAIL_CAMPAIGN = "email_campaign"
    SMS = "sms"
    CHAT = "chat"
    NOTE = "note"
    DOCUMENT = "document"
    CASE = "case"
    PORTAL_LOGIN = "portal_login"
    PORTAL_LOGOUT = "portal_logout"


class Direction(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Source(models.TextChoices):
    MANUAL = "manual"
    API = "api"
    EVENT = "event"  # derived from an activities.Event marked held / not held
    IMPORT = "import"
    DEMO = "demo"
    IMAP = "imap"  # synced from a user's mailbox
    BCC = "bcc"  # forwarded or BCC'd to a user's drop address
    SMTP = "smtp"  # sent from the CRM
    TWILIO = "twilio"
    PLIVO = "plivo"
    PORTAL = "portal"  # a contact's portal sign-in or sign-out (portal.services)
    DOCUMENT = "document"  # a document shared with a contact or organization (documents.services)
    CASE = "case"  # a support case (cases.services)


# Touchpoints another record owns and keeps in step (activities, cases,
# documents, portal): written only through that record's service, never
# through POST/PATCH/DELETE /touchpoints, so the two never disagree. The
# value says what to change instead.
DERIVED_SOURCES: dict[str, str] = {
    Source.EVENT: "this touchpoint is an event's: change or delete the event instead",
    Source.CASE: "this touchpoint is a case's: change or delete the case instead",
    Source.DOCUMENT: "this touchpoint is a document share's: take the share back instead (DELETE /documents/{id}/shares/{share_id})",
    Source.PORTAL: "this touchpoint is a customer portal visit, recorded by the portal: it cannot be changed",
}
# The owning row, as the touchpoint's reverse one-to-one. When it is gone (a
# share cascaded away with its contact or email), the touchpoint is the log's
# alone again and may be changed or deleted like any other. Portal visits
# have no owning row: they stay as recorded.
DERIVED_OWNER: dict[str, str] = {Source.EVENT: "event", Source.CASE: "case", Source.DOCUMENT: "document_share"}

# Every status a kind may take, its default first.
STATUSES: dict[str, tuple[str, ...]] = {
    Kind.EVENT: ("held", "not_held"),
    Kind.PHONE_CALL: ("completed", "hangup", "busy", "no_answer", "failed", "canceled", "queued", "ringing", "in_progress"),
    Kind.EMAIL: ("sent", "received", "bounced", "automated", "queued", "draft", "failed"),
    Kind.EMAIL_CAMPAIGN: ("sent", "bounced", "queued", "failed"),
    Kind.SMS: ("dispatched", "delivered", "failed", "received", "queued"),
    Kind.CHAT: ("sent", "received"),
    Kind.NOTE: ("logged",),
    Kind.DOCUMENT: ("shared",),
    Kind.CASE: ("open", "in_progress", "wait_for_response", "resolved", "closed"),
    Kind.PORTAL_LOGIN: ("logged",),
    Kind.PORTAL_LOGOUT: ("logged",),
}

SHOWN: dict[str, frozenset[str]] = {
    Kind.EVENT: frozenset({"held", "not_held"}),
    Kind.PHONE_CALL: frozenset({"completed", "hangup"}),
    Kind.EMAIL: frozenset({"sent", "received", "bounced", "automated", "failed"}),
    Kind.EMAIL_CAMPAIGN: frozenset({"sent", "bounced", "failed"}),
    Kind.SMS: frozenset({"dispatched", "delivered", "failed", "received"}),
    Kind.CHAT: frozenset(STATUSES[Kind.CHAT]),
    Kind.NOTE: frozenset(STATUSES[Kind.NOTE]),
    Kind.DOCUMENT: frozenset(STATUSES[Kind.DOCUMENT]),
    Kind.CASE: frozenset(STATUSES[Kind.CASE]),
    Kind.PORTAL_LOGIN: frozenset(STATUSES[Kind.PORTAL_LOGIN]),
    Kind.PORTAL_LOGOUT: frozenset(STATUSES[Kind.PORTAL_LOGOUT]),
}

COUNTS: dict[str, frozenset[str]] = {
    Kind.EVENT: frozenset({"held"}),
    Kind.PHONE_CALL: frozenset({"completed", "hangup"}),
    Kind.EMAIL: frozenset({"sent", "received"}),
    Kind.EMAIL_CAMPAIGN: frozenset({"sent"}),
    Kind.SMS: frozenset({"dispatched", "delivered", "received"}),
}

# Last Contacted Via for each counting kind; events take their event type.
VIA_BY_KIND: dict[str, str] = {
    Kind.EMAIL: "Email",
    Kind.EMAIL_CAMPAIGN: "Email Campaign",
    Kind.SMS: "SMS",
    Kind.PHONE_CALL: "Phone Call",
}
VIA_BY_EVENT_TYPE: dict[str, str] = {
    "call": "Call",
    "meeting": "Meeting",
    "onsite_meeting": "Onsite Meeting",
    "onsite_service": "Onsite Service",
}

# "an event or call on a deal appears on that deal's contacts"
FANS_OUT_TO_DEAL_CONTACTS = frozenset({Kind.EVENT, Kind.PHONE_CALL})
# "portal logins/logouts appear on the contact" and nowhere else
CONTACT_ONLY = frozenset({Kind.PORTAL_LOGIN, Kind.PORTAL_LOGOUT})


def default_status(kind: str) -> str:
    return STATUSES[kind][0]


def is_shown(kind: str, status: str) -> bool:
    return status in SHOWN.get(kind, ())


def counts_as_contact(kind: str, status: str) -> bool:
    return status in COUNTS.get(kind, ())


def contact_via(kind: str, event_type: str | None) -> str | None:
    if kind == Kind.EVENT:
        return VIA_BY_EVENT_TYPE.get(event_type or "meeting")
    return VIA_BY_KIND.get(kind)
