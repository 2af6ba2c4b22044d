"""Reads of the telephony channel, limited to what the viewer may see: a
call or message is visible with its contact, or to its user's team;
managers and admins see all. Calls and messages nobody owns (an unknown
number called in) are visible to everyone, so someone can act on them."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from config.pagination import Page, keyset_page
from crm.models import Contact, ContactPhone
from crm.permissions import owner_condition, visible
from telephony.models import Call, OptOut, ProviderAccount, Sms
from touchpoints.rules import Kind, is_shown


def _visible(qs: QuerySet, viewer: User) -> QuerySet:
    if viewer.sees_everything:
        return qs
    return qs.filter(owner_condition(viewer, "user") | Q(contact_id__in=visible(Contact, viewer).values("id")))


def visible_calls(viewer: User) -> QuerySet[Call]:
    return _visible(Call.objects.all(), viewer)


def visible_messages(viewer: User) -> QuerySet[Sms]:
    return _visible(Sms.objects.all(), viewer)


def call_log(viewer: User, *, contact_id: int | None, unmatched: bool, cursor: str | None, limit: int) -> Page:
    """Every call, newest first, including those that are not touchpoints
    (busy, no answer, failed, canceled, still ringing)."""
    qs = visible_calls(viewer)
    if contact_id:
        qs = qs.filter(contact_id=contact_id)
    if unmatched:
        qs = qs.filter(contact__isnull=True)
    return keyset_page(qs, ("-started_at", "-id"), cursor, limit)


def message_log(viewer: User, *, contact_id: int | None, cursor: str | None, limit: int) -> Page:
    qs = visible_messages(viewer)
    if contact_id:
        qs = qs.filter(contact_id=contact_id)
    return keyset_page(qs, ("-sent_at", "-id"), cursor, limit)


CALL_FIELDS = (
    "id", "provider", "provider_call_id", "direction", "from_number", "to_number", "status", "provider_status",
    "duration_seconds", "recording_url", "error_code", "started_at", "contact_id", "user_id", "deal_id", "touchpoint_id", "notes",
)  # fmt: skip
SMS_FIELDS = (
    "id", "provider", "provider_message_id", "direction", "from_number", "to_number", "body", "status", "provider_status",
    "error_code", "sent_at", "contact_id", "user_id", "touchpoint_id",
)  # fmt: skip


def call_out(call: Call) -> dict:
    return {f: getattr(call, f) for f in CALL_FIELDS}


def sms_out(sms: Sms) -> dict:
    return {f: getattr(sms, f) for f in SMS_FIELDS}


def provider_accounts() -> list[ProviderAccount]:
    return list(ProviderAccount.objects.order_by("provider"))


# --- reads for the pages (telephony/views.py) --------------------------------------------

LIVE_STATUSES = ("queued", "ringing", "in_progress")


def contact_calls(viewer: User, contact_id: int, cursor: str | None, limit: int) -> Page:
    """One page of a contact's call log (call_log), each call with
    ``user_name`` (who made or took it), ``in_activity`` and ``live`` (not
    ended yet): two queries."""
    page = call_log(viewer, contact_id=contact_id, unmatched=False, cursor=cursor, limit=limit)
    ids = {c.user_id for c in page.items if c.user_id}
    names = {}
    if ids:
        for uid, first, last, username in User.objects.filter(id__in=ids).values_list("id", "first_name", "last_name", "username"):
            names[uid] = f"{first} {last}".strip() or username
    for call in page.items:
        call.user_name = names.get(call.user_id, "")
        # Busy, unanswered, failed and canceled calls are touchpoints that Activity does not show.
        call.in_activity = is_shown(Kind.PHONE_CALL, call.status)
        call.live = call.status in LIVE_STATUSES
    return page


def calls_finished(viewer: User, call_ids: list[int]) -> bool:
    """Whether any of these calls (shown as live a moment ago) has ended."""
    return bool(call_ids) and visible_calls(viewer).filter(id__in=call_ids).exclude(status__in=LIVE_STATUSES).exists()


def first_phone(contact_id: int) -> str | None:
    """The number SMS and click-to-call use: the contact's first (E.164)."""
    return ContactPhone.objects.filter(contact_id=contact_id).order_by("position", "id").values_list("number", flat=True).first()


def opt_out_of(number: str) -> OptOut | None:
    """The STOP that keeps this number from being texted, if any (when and which word)."""
    return OptOut.objects.filter(number=number).first()


def provider_ready() -> bool:
    """Whether an enabled provider account exists (else nothing can be sent)."""
    return ProviderAccount.objects.filter(enabled=True).exists()
