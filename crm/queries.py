"""Reads of organizations, contacts and deals (lists are keyset-paginated)."""
from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db.models import BooleanField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value

from accounts.models import User
from config.pagination import Page, keyset_page, sorted_page
from crm.models import Contact, ContactEmail, Deal, DealContact, Organization
from crm.permissions import assignable_users, visible

LIST_ORDER = ("-id",)
# Columns a list may be sorted by (web UI): name, Last Contacted, and a few
# per record type. Anything else falls back to newest first.
SORTS = {
    Organization: ("name", "last_contacted_on", "last_contacted_via", "industry", "created_at"),
    Contact: ("last_name", "last_contacted_on", "last_contacted_via", "title", "created_at"),
    Deal: ("name", "stage", "amount", "expected_close_date", "last_contacted_on", "last_contacted_via", "created_at"),
}


def with_organization_visible(qs: QuerySet, user: User) -> QuerySet:
    """Annotate ``organization_visible`` on contacts or deals: whether the
    user may open the row's organization. A contact or deal shared with
    someone does not share its organization, so pages name it only when
    this is true (one correlated EXISTS per row, no N+1)."""
    if user.sees_everything:
        return qs.annotate(organization_visible=Value(True, output_field=BooleanField()))
    return qs.annotate(organization_visible=Exists(visible(Organization, user).filter(id=OuterRef("organization_id"))))


def _page(qs: QuerySet, sort: str | None, cursor: str | None, limit: int) -> Page:
    if sort and sort.lstrip("-") in SORTS[qs.model]:
        return sorted_page(qs, sort, cursor, limit)
    return keyset_page(qs, LIST_ORDER, cursor, limit)


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


def list_organizations(user: User, f: RecordFilters, cursor: str | None, limit: int, sort: str | None = None) -> Page:
    qs = visible(Organization, user)
    if f.q:
        qs = qs.filter(name__icontains=f.q)
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    return _page(qs.select_related("owner"), sort, cursor, limit)


def name_match(q: str) -> Q:
    """A contact whose first or last name holds every word of ``q``
    ("carol ng" finds Carol Ng; at most four words count)."""
    match = Q()
    for word in q.split()[:4]:
        match &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return match


def list_contacts(user: User, f: RecordFilters, cursor: str | None, limit: int, sort: str | None = None) -> Page:
    qs = visible(Contact, user)
    if f.q:
        qs = qs.filter(name_match(f.q))
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.organization_id:
        qs = qs.filter(organization_id=f.organization_id)
    if f.email:
        qs = qs.filter(id__in=_contact_ids_with_email(f.email))
    if f.phone:
        qs = qs.filter(phones__number=f.phone)
    return _page(with_organization_visible(contacts_with_details(qs).select_related("organization", "owner"), user), sort, cursor, limit)


def _contact_ids_with_email(email: str):
    return ContactEmail.objects.filter(email=email.strip().lower()).values("contact_id")


def list_deals(user: User, f: RecordFilters, cursor: str | None, limit: int, sort: str | None = None) -> Page:
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
    return _page(with_organization_visible(deals_with_details(qs).select_related("organization", "owner"), user), sort, cursor, limit)


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


# --- web UI: global search and related records ---------------------------------------

RELATED_LIMIT = 50


def _phone_condition(q: str) -> Q | None:
    """A query that looks like a phone number matches stored E.164 numbers:
    exactly once normalized in DEFAULT_PHONE_REGION (so "020 7946 0000" finds
    +442079460000 for a UK install), or by its digits anywhere in the number
    (so "555-0102" finds +12025550102)."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) < 4 or any(ch.isalpha() for ch in q):
        return None
    condition = Q(phones__number__contains=digits)
    try:
        parsed = phonenumbers.parse(q, settings.DEFAULT_PHONE_REGION)
        condition |= Q(phones__number=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    return condition


def search(user: User, q: str, limit: int = 5) -> dict[str, list]:
    """Organizations, contacts and deals the user may see whose name, email
    or phone matches ``q``; at most ``limit`` of each, best-known first
    (most recently contacted). Three queries whatever the input."""
    q = q.strip()[:100]
    if len(q) < 2:
        return {"organizations": [], "contacts": [], "deals": []}
    recent = (F("last_contacted_on").desc(nulls_last=True), "-id")
    organizations = visible(Organization, user).filter(name__icontains=q).order_by(*recent)[:limit]
    contact_match = name_match(q) | Q(emails__email__icontains=q.lower())
    phone = _phone_condition(q)
    if phone is not None:
        contact_match |= phone
    matching = Contact.objects.filter(contact_match).values("id")
    contacts = with_organization_visible(
        contacts_with_details(visible(Contact, user).filter(id__in=matching)).select_related("organization"), user
    ).order_by(*recent)[:limit]
    deals = with_organization_visible(visible(Deal, user).filter(name__icontains=q).select_related("organization"), user).order_by(*recent)[:limit]
    return {"organizations": list(organizations), "contacts": list(contacts), "deals": list(deals)}


def deal_contacts(user: User, deal: Deal) -> list[DealContact]:
    """The deal's contacts with their roles, only those the user may see."""
    contacts = visible(Contact, user).values("id")
    return list(deal.deal_contacts.filter(contact_id__in=contacts).select_related("contact").order_by("id")[:RELATED_LIMIT])


def organization_hidden(user: User, record: Contact | Deal) -> bool:
    """A contact or deal shared with someone whose organization was not:
    pages show no organization rather than name one they may not open."""
    return bool(record.organization_id) and not visible(Organization, user).filter(id=record.organization_id).exists()


def organization_contacts(user: User, org: Organization) -> list[Contact]:
    return list(visible(Contact, user).filter(organization=org).order_by(F("last_contacted_on").desc(nulls_last=True), "-id")[:RELATED_LIMIT])


def organization_deals(user: User, org: Organization) -> list[Deal]:
    return list(visible(Deal, user).filter(organization=org).order_by("-id")[:RELATED_LIMIT])


def contact_deals(user: User, contact: Contact) -> list[DealContact]:
    deals = visible(Deal, user).values("id")
    return list(contact.deal_contacts.filter(deal_id__in=deals).select_related("deal").order_by("-deal_id")[:RELATED_LIMIT])


def organization_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of every organization the user may pick in a form."""
    return list(visible(Organization, user).order_by("name", "id").values_list("id", "name"))


def contact_choices(user: User, q: str | None, organization_id: int | None, limit: int = 30) -> list[Contact]:
    """Contacts to offer when linking one to a deal: matching ``q`` by name or
    email, else those of the deal's organization."""
    qs = visible(Contact, user)
    if q:
        qs = qs.filter(name_match(q) | Q(id__in=ContactEmail.objects.filter(email__icontains=q.lower()).values("contact_id")))
    elif organization_id:
        qs = qs.filter(organization_id=organization_id)
    else:
        return []
    return list(with_organization_visible(qs.select_related("organization"), user).order_by("last_name", "first_name", "id")[:limit])


def owner_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of everyone the user may assign a record to."""
    users = assignable_users(user).order_by("first_name", "last_name", "username").only("id", "first_name", "last_name", "username")
    return [(u.id, u.get_full_name() or u.username) for u in users]
