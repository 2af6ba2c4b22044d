"""Writes for organizations, contacts, deals and deal contacts.

Each ``do_*`` runs in one transaction and keeps the touchpoint rollup
truthful when a relationship changes (see touchpoints.rollup).
"""
from __future__ import annotations

from collections.abc import Sequence

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from alerts.services import do_resolve_alerts_of
from audit import log as audit
from config.errors import Forbidden, Invalid
from crm.models import CLOSED_STAGES, Contact, ContactEmail, ContactPhone, Deal, DealContact, Organization, Share
from crm.permissions import RECORD_TYPE_OF, can_delete, check_can_reassign, check_owner, get_visible
from insights import marks as insight_marks
from touchpoints import rollup
from workflows import triggers as workflow_triggers

ORGANIZATION_FIELDS = ("name", "website", "phone", "industry", "external_id")
CONTACT_FIELDS = ("first_name", "last_name", "title", "external_id")
DEAL_FIELDS = ("name", "stage", "amount", "expected_close_date", "external_id")


def normalize_phone(raw: str, loc: tuple) -> str:
    """E.164 via libphonenumber; numbers without a +country code are read in
    the DEFAULT_PHONE_REGION setting."""
    try:
        parsed = phonenumbers.parse(raw, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise Invalid.field(loc, f"{raw!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise Invalid.field(loc, f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


MAX_EMAIL_LENGTH = ContactEmail._meta.get_field("email").max_length  # 254: RFC 5321's limit on a path


def normalize_email(raw: str, loc: tuple) -> str:
    value = raw.strip().lower()
    if len(value) > MAX_EMAIL_LENGTH:
        # Django's validator allows 320; no mail system delivers to more than 254.
        raise Invalid.field(loc, f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    try:
        validate_email(value)
    except ValidationError as exc:
        raise Invalid.field(loc, f"{raw!r} is not an email address") from exc
    return value


def _set_emails_and_phones(contact: Contact, emails: Sequence[str] | None, phones: Sequence[str] | None, *, new: bool = False) -> None:
    """Replace the contact's addresses and numbers (``new``: it has none yet,
    nothing to delete; an import creates thousands)."""
    if emails is not None:
        normalized = list(dict.fromkeys(normalize_email(e, ("emails", i)) for i, e in enumerate(emails)))
        if not new:
            contact.emails.all().delete()
        if normalized:
            ContactEmail.objects.bulk_create(ContactEmail(contact=contact, email=e, position=i) for i, e in enumerate(normalized))
    if phones is not None:
        normalized = list(dict.fromkeys(normalize_phone(p, ("phones", i)) for i, p in enumerate(phones)))
        if not new:
            contact.phones.all().delete()
        if normalized:
            ContactPhone.objects.bulk_create(ContactPhone(contact=contact, number=p, position=i) for i, p in enumerate(normalized))


def _apply(record, data: dict, fields: Sequence[str]) -> None:
    """Set the given fields; ``null`` for a field that cannot be empty (a
    name, a stage) leaves it unchanged, as PATCH of events and tasks does."""
    for name in fields:
        if name in data and (data[name] is not None or record._meta.get_field(name).null):
            setattr(record, name, data[name])


def _check_can_change_owner(actor: User, record, data: dict) -> None:
    if "owner_id" in data and data["owner_id"] != record.owner_id:
        check_can_reassign(actor, record)
        record.owner_id = check_owner(actor, data["owner_id"])


# --- organizations -----------------------------------------------------------


@transaction.atomic
def do_create_organization(actor: User, data: dict) -> Organization:
    org = Organization(owner_id=check_owner(actor, data.get("owner_id")))
    _apply(org, data, ORGANIZATION_FIELDS)
    org.save()
    audit.log_created(actor, "organization", org)
    workflow_triggers.record_created("organization", org.id)
    return org


@transaction.atomic
def do_update_organization(actor: User, org_id: int, data: dict) -> Organization:
    org = get_visible(Organization, actor, org_id, for_update=True)
    before = audit.snapshot("organization", org)
    _check_can_change_owner(actor, org, data)
    _apply(org, data, ORGANIZATION_FIELDS)
    org.save()
    audit.log_updated(actor, "organization", org, before)
    workflow_triggers.record_updated("organization", org)
    return org


# --- contacts -------------------------------------------------------------------


@transaction.atomic
def do_create_contact(actor: User, data: dict) -> Contact:
    contact = Contact(owner_id=check_owner(actor, data.get("owner_id")))
    if data.get("organization_id") is not None:
        contact.organization = get_visible(Organization, actor, data["organization_id"], loc=("organization_id",))
    _apply(contact, data, CONTACT_FIELDS)
    contact.save()
    _set_emails_and_phones(contact, data.get("emails"), data.get("phones"), new=True)
    audit.log_created(actor, "contact", contact)
    workflow_triggers.record_created("contact", contact.id)
    return contact


@transaction.atomic
def do_update_contact(actor: User, contact_id: int, data: dict) -> Contact:
    contact = get_visible(Contact, actor, contact_id, for_update=True)
    before = audit.snapshot("contact", contact)
    _check_can_change_owner(actor, contact, data)
    old_org = contact.organization_id
    if "organization_id" in data:
        new_org = data["organization_id"]
        if new_org is not None:
            get_visible(Organization, actor, new_org, loc=("organization_id",))
        contact.organization_id = new_org
    _apply(contact, data, CONTACT_FIELDS)
    contact.save()
    _set_emails_and_phones(contact, data.get("emails"), data.get("phones"))
    audit.log_updated(actor, "contact", contact, before)
    if old_org is None and contact.organization_id is not None:
        rollup.on_contact_got_organization(contact.id, contact.organization_id)
    workflow_triggers.record_updated("contact", contact)
    return contact


# --- deals ------------------------------------------------------------------------


def _apply_stage(deal: Deal, data: dict) -> None:
    """Entering Closed Won / Closed Lost stamps closed_at (now, unless the
    writer gives the real date); reopening clears it."""
    if "stage" not in data and "closed_at" not in data:
        return
    closed = deal.stage in CLOSED_STAGES
    if closed:
        deal.closed_at = data.get("closed_at") or deal.closed_at or timezone.now()
    elif data.get("closed_at") is not None:
        raise Invalid.field(("closed_at",), "only a deal in a closed stage has a closing time")
    else:
        deal.closed_at = None


@transaction.atomic
def do_create_deal(actor: User, data: dict) -> Deal:
    deal = Deal(owner_id=check_owner(actor, data.get("owner_id")))
    if data.get("organization_id") is not None:
        deal.organization = get_visible(Organization, actor, data["organization_id"], loc=("organization_id",))
    _apply(deal, data, DEAL_FIELDS)
    if data.get("created_at") is not None:
        deal.created_at = data["created_at"]
    _apply_stage(deal, data)
    deal.save()
    for i, link in enumerate(data.get("contacts") or ()):
        _link_contact(actor, deal, link["contact_id"], link.get("role") or "other", loc=("contacts", i, "contact_id"))
    if deal.closed_at is not None:
        insight_marks.mark_deals([deal.id], with_days=False)  # created closed: it counts in Activity Efficiency
    audit.log_created(actor, "deal", deal)
    workflow_triggers.record_created("deal", deal.id)
    return deal


@transaction.atomic
def do_update_deal(actor: User, deal_id: int, data: dict) -> Deal:
    deal = get_visible(Deal, actor, deal_id, for_update=True)
    before = audit.snapshot("deal", deal)
    # Before _check_can_change_owner, which already sets the new owner.
    insights_before = (deal.stage, deal.closed_at, deal.owner_id)
    _check_can_change_owner(actor, deal, data)
    old_org = deal.organization_id
    if "organization_id" in data:
        if data["organization_id"] is not None:
            get_visible(Organization, actor, data["organization_id"], loc=("organization_id",))
        deal.organization_id = data["organization_id"]
    _apply(deal, data, DEAL_FIELDS)
    _apply_stage(deal, data)
    deal.save()
    audit.log_updated(actor, "deal", deal, before)
    if (deal.stage, deal.closed_at, deal.owner_id) != insights_before:
        # Sales Insights: its activities change stage, its totals their
        # closing window, its closing the day and rep it counts for.
        insight_marks.mark_deals([deal.id], with_days=(deal.stage, deal.closed_at) != insights_before[:2])
    if old_org is None and deal.organization_id is not None:
        rollup.on_deal_got_organization(deal.id, deal.organization_id)
    workflow_triggers.record_updated("deal", deal)
    return deal


def _link_contact(actor: User, deal: Deal, contact_id: int, role: str, loc: tuple) -> DealContact:
    _lock_contact_then_deal(actor, contact_id, deal.id, loc)
    link, created = DealContact.objects.get_or_create(deal=deal, contact_id=contact_id, defaults={"role": role})
    if created:
        rollup.on_contact_joined_deal(contact_id, deal.id)
    elif link.role != role:
        link.role = role
        link.save(update_fields=["role"])
    return link


def _lock_contact_then_deal(actor: User, contact_id: int, deal_id: int, loc: tuple | None) -> None:
    """Relationship changes lock the contact, then the deal, FOR UPDATE: the
    order every writer uses (ingest holds contacts before it touches
    deals), and the lock an ingest's FOR KEY SHARE waits for (see
    touchpoints.rollup.lock_relationships)."""
    # A contact the actor may not see is "not found" (404, or 422 naming
    # ``loc`` in a request body), for unlinking as for linking.
    get_visible(Contact, actor, contact_id, loc=loc, for_update=True)
    Deal.objects.select_for_update().filter(id=deal_id).first()


@transaction.atomic
def do_link_contact_to_deal(actor: User, deal_id: int, contact_id: int, role: str) -> DealContact:
    deal = get_visible(Deal, actor, deal_id)
    before = audit.snapshot("deal", deal)
    link = _link_contact(actor, deal, contact_id, role, loc=("contact_id",))
    audit.log_updated(actor, "deal", deal, before)
    return link


@transaction.atomic
def do_unlink_contact_from_deal(actor: User, deal_id: int, contact_id: int) -> None:
    deal = get_visible(Deal, actor, deal_id)
    _lock_contact_then_deal(actor, contact_id, deal.id, None)
    before = audit.snapshot("deal", deal)
    deleted, _ = DealContact.objects.filter(deal=deal, contact_id=contact_id).delete()
    if deleted:
        rollup.on_contact_left_deal(contact_id, deal.id)
        audit.log_updated(actor, "deal", deal, before)


# --- deletion -----------------------------------------------------------------------


@transaction.atomic
def do_delete_record(actor: User, model, record_id: int) -> None:
    """Deleting a record removes its timeline links; the touchpoints stay in
    the log for the other records they concern. Orphaned touchpoints stay
    too: the log is the history of what happened, not of what we still
    have records for."""
    record = get_visible(model, actor, record_id, for_update=True)
    if not can_delete(actor, record):
        raise Forbidden(f"only the owner, an admin or a manager may delete this {model._meta.verbose_name}")
    do_resolve_alerts_of(model._meta.model_name, record.id)
    if model is Deal:
        insight_marks.mark_deals([record.id])  # its activities lose the deal's stage
    audit.log_deleted(actor, RECORD_TYPE_OF[model], record)
    # Shares name the record by type and id, not by a foreign key: nothing
    # cascades, and they would linger in every "shared with me" query.
    Share.objects.filter(record_type=RECORD_TYPE_OF[model], record_id=record.id).delete()
    record.delete()


