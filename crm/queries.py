"""Reads of organizations, contacts and deals (lists are keyset-paginated)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from config.pagination import Page, keyset_page
from crm.models import Contact, ContactEmail, Deal, DealContact, Organization
from crm.permissions import visible

LIST_ORDER = ("-id",)


@dataclass
class RecordFilters:
    q: str | None = None
    owner_id: int | None = None
    organization_id: int | None = None
    stage: str | None = None
    email: str | None = None
    phone: str | None = None
    contact_id: int | None = None


def contacts_with_details(qs: QuerySet) -> QuerySet:
    return qs.prefetch_related("emails", "phones")


def deals_with_details(qs: QuerySet) -> QuerySet:
    return qs.prefetch_related(Prefetch("deal_contacts", queryset=DealContact.objects.order_by("id")))


def list_organizations(user: User, f: RecordFilters, cursor: str | None, limit: int) -> Page:
    qs = visible(Organization, user)
    if f.q:
        qs = qs.filter(name__icontains=f.q)
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    return keyset_page(qs, LIST_ORDER, cursor, limit)


def list_contacts(user: User, f: RecordFilters, cursor: str | None, limit: int) -> Page:
    qs = visible(Contact, user)
    if f.q:
        qs = qs.filter(Q(last_name__icontains=f.q) | Q(first_name__icontains=f.q))
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.organization_id:
        qs = qs.filter(organization_id=f.organization_id)
    if f.email:
        qs = qs.filter(id__in=_contact_ids_with_email(f.email))
    if f.phone:
        qs = qs.filter(phones__number=f.phone)
    return keyset_page(contacts_with_details(qs), LIST_ORDER, cursor, limit)


def _contact_ids_with_email(email: str):
    return ContactEmail.objects.filter(email=email.strip().lower()).values("contact_id")


def list_deals(user: User, f: RecordFilters, cursor: str | None, limit: int) -> Page:
    qs = visible(Deal, user)
    if f.q:
        qs = qs.filter(name__icontains=f.q)
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.organization_id:
        qs = qs.filter(organization_id=f.organization_id)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.contact_id:
        qs = qs.filter(id__in=DealContact.objects.filter(contact_id=f.contact_id).values("deal_id"))
    return keyset_page(deals_with_details(qs), LIST_ORDER, cursor, limit)


def contact_out(contact: Contact) -> dict:
    return {
        **{f: getattr(contact, f) for f in ("id", "first_name", "last_name", "title", "organization_id", "owner_id")},
        **{f: getattr(contact, f) for f in ("created_at", "updated_at", "last_contacted_via", "last_contacted_on")},
        "emails": [e.email for e in contact.emails.all()],
        "phones": [p.number for p in contact.phones.all()],
    }


def deal_out(deal: Deal) -> dict:
    fields = ("id", "name", "organization_id", "owner_id", "stage", "amount", "expected_close_date", "closed_at")
    return {
        **{f: getattr(deal, f) for f in fields},
        **{f: getattr(deal, f) for f in ("created_at", "updated_at", "last_contacted_via", "last_contacted_on")},
        "contacts": [{"contact_id": dc.contact_id, "role": dc.role} for dc in deal.deal_contacts.all()],
    }
