"""Reads of the telephony channel, limited to what the viewer may see: a
call or message is visible with its contact, or to its user's team;
managers and admins see all. Calls and messages nobody owns (an unknown
number called in) are visible to everyone, so someone can act on them."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from config.pagination import Page, keyset_page
from crm.models import Contact
from crm.permissions import owner_condition, visible
from telephony.models import Call, ProviderAccount, Sms


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
