"""Reads of cases: who may see one, lists, One View, the portal's.

Visibility follows the records: admins and managers see every case; a rep
sees cases they or their team own, unassigned cases (company-wide, as for
records), and cases of a contact or organization they may see.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from accounts.models import User
from cases.models import OPEN_STATUSES, Case, CaseComment, CaseStatus
from config.errors import NotFound
from config.pagination import MAX_LIMIT, Page, after, decode_cursor, encode_cursor, keyset_page
from crm.models import Contact, Deal, DealContact, Organization
from crm.permissions import owner_condition, visible

LIST_ORDER = ("-id",)
ONE_VIEW_ORDER = ("-created_at", "-id")


def visible_cases(user: User) -> QuerySet:
    qs = Case.objects.all()
    if user.sees_everything:
        return qs
    return qs.filter(
        owner_condition(user) | Q(contact_id__in=visible(Contact, user).values("id")) | Q(organization_id__in=visible(Organization, user).values("id"))
    )


def get_visible_case(user: User, case_id: int, *, for_update: bool = False) -> Case:
    if not visible_cases(user).filter(id=case_id).exists():
        raise NotFound(f"case {case_id} not found")
    qs = Case.objects.filter(id=case_id)
    return (qs.select_for_update() if for_update else qs.select_related("contact", "organization", "owner")).get()


@dataclass
class CaseFilters:
    status: str | None = None  # a status, or "open" for every not yet resolved or closed
    priority: str | None = None
    owner_id: int | None = None
    contact_id: int | None = None
    organization_id: int | None = None
    q: str | None = None


def _filtered(qs: QuerySet, f: CaseFilters) -> QuerySet:
    if f.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif f.status:
        qs = qs.filter(status=f.status)
    for name in ("priority", "owner_id", "contact_id", "organization_id"):
        if getattr(f, name) is not None:
            qs = qs.filter(**{name: getattr(f, name)})
    if f.q:
        qs = qs.filter(title__icontains=f.q)
    return qs


def list_cases(user: User, f: CaseFilters, cursor: str | None, limit: int) -> Page:
    qs = _filtered(visible_cases(user), f).select_related("contact", "organization", "owner")
    return keyset_page(qs, LIST_ORDER, cursor, limit)


def names_for(user: User, cases: list[Case]) -> tuple[set[int], set[int]]:
    """Which of the cases' contacts and organizations the user may open
    (two queries for a page): the others are not named."""
    contact_ids = {c.contact_id for c in cases if c.contact_id}
    organization_ids = {c.organization_id for c in cases if c.organization_id}
    contacts = set(visible(Contact, user).filter(id__in=contact_ids).values_list("id", flat=True)) if contact_ids else set()
    organizations = set(visible(Organization, user).filter(id__in=organization_ids).values_list("id", flat=True)) if organization_ids else set()
    return contacts, organizations


def case_out(case: Case, names: tuple[set[int], set[int]]) -> dict:
    contacts, organizations = names
    contact_ok = case.contact_id in contacts
    organization_ok = case.organization_id in organizations
    return {
        **{f: getattr(case, f) for f in ("id", "title", "description", "status", "priority", "owner_id", "origin", "created_at", "updated_at", "resolved_at", "touchpoint_id")},
        "number": case.number,
        "is_open": case.is_open,
        "contact_id": case.contact_id if contact_ok else None,
        "contact_name": case.contact.full_name if contact_ok else "",
        "organization_id": case.organization_id if organization_ok else None,
        "organization_name": case.organization.name if organization_ok else "",
    }


def cases_out(user: User, cases: list[Case]) -> list[dict]:
    names = names_for(user, cases)
    return [case_out(c, names) for c in cases]


def _deal_case_parts(user: User, deal: Deal) -> list[QuerySet]:
    """Cases of the deal's contacts and of its organization ("Cases related
    to a deal's contacts and organizations are listed in One View"), as
    disjoint parts that each walk one index in One View's order: the
    organization's cases, and the deal's contacts' cases filed elsewhere.
    One OR of the two could use neither index and would sort every related
    case for each page (measured: 20 ms at 20,000 cases, bench/documents.py)."""
    visible = visible_cases(user)
    of_contacts = visible.filter(contact_id__in=DealContact.objects.filter(deal_id=deal.id).values("contact_id"))
    if not deal.organization_id:
        return [of_contacts]
    # exclude() keeps the cases with no organization (NOT (org = x AND org IS NOT NULL)).
    return [visible.filter(organization_id=deal.organization_id), of_contacts.exclude(organization_id=deal.organization_id)]


def one_view(user: User, deal: Deal, cursor: str | None, limit: int, *, status: str | None = None) -> dict:
    """The deal's One View: its related cases newest first (a cursor page)
    with counts by status and of open ones, over every related case the user
    may see, not just the page. Each part is paged on its own index and the
    pages merged, which is exact: both are in the same order and the cursor
    bounds both."""
    parts = _deal_case_parts(user, deal)
    by_status: dict[str, int] = {}
    for part in parts:
        for row in part.order_by().values("status").annotate(n=Count("id")):
            by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
    bound = after(ONE_VIEW_ORDER, decode_cursor(Case, ONE_VIEW_ORDER, cursor)) if cursor else Q()
    limit = max(1, min(limit, MAX_LIMIT))
    rows: list[Case] = []
    for part in parts:
        listed = _filtered(part, CaseFilters(status=status)).filter(bound).select_related("contact", "organization", "owner")
        rows += listed.order_by(*ONE_VIEW_ORDER)[: limit + 1]
    rows.sort(key=lambda c: (c.created_at, c.id), reverse=True)
    next_cursor = encode_cursor([rows[limit - 1].created_at, rows[limit - 1].id]) if len(rows) > limit else None
    return {
        "deal_id": deal.id,
        "open_count": sum(by_status.get(s, 0) for s in OPEN_STATUSES),
        "total": sum(by_status.values()),
        "by_status": {s: by_status.get(s, 0) for s in CaseStatus.values},
        "items": cases_out(user, rows[:limit]),
        "next_cursor": next_cursor,
    }


def comments(case: Case, *, include_internal: bool, cursor: str | None = None, limit: int = 200) -> Page:
    qs = CaseComment.objects.filter(case=case).select_related("author_user", "author_contact")
    if not include_internal:
        qs = qs.filter(internal=False)
    return keyset_page(qs, ("created_at", "id"), cursor, limit)


def comment_out(comment: CaseComment) -> dict:
    user, contact = comment.author_user, comment.author_contact
    return {
        "id": comment.id,
        "case_id": comment.case_id,
        "body": comment.body,
        "internal": comment.internal,
        "author_user_id": comment.author_user_id,
        "author_contact_id": comment.author_contact_id,
        "author_name": (user.get_full_name() or user.username) if user else contact.full_name if contact else "",
        "created_at": comment.created_at,
    }


# --- the customer portal ----------------------------------------------------------------


def portal_cases(contact: Contact) -> QuerySet:
    """A contact's own cases, and nobody else's."""
    return Case.objects.filter(contact=contact)


def get_portal_case(contact: Contact, case_id: int) -> Case:
    case = portal_cases(contact).filter(id=case_id).first()
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


# --- staff pages ------------------------------------------------------------------------


def contact_choices(user: User, case: Case | None = None, preset: int | None = None, limit: int = 500) -> list[tuple[int, str]]:
    """Contacts to offer on a case form: the most recently contacted the user
    may see (bounded: a company with 100,000 contacts gets a usable list, not
    a 100,000-option page), plus the case's own and the one asked for."""
    qs = visible(Contact, user).order_by(F("last_contacted_on").desc(nulls_last=True), "-id").only("id", "first_name", "last_name")
    chosen = list(qs[:limit])
    extra = {i for i in (preset, case.contact_id if case else None) if i} - {c.id for c in chosen}
    if extra:
        chosen += list(visible(Contact, user).filter(id__in=extra).only("id", "first_name", "last_name"))
    return sorted(((c.id, c.full_name) for c in chosen), key=lambda pair: pair[1].lower())


def record_cases(user: User, record_type: str, record_id: int, limit: int = 10) -> dict:
    """A contact's or organization's cases for its page: open ones first."""
    qs = visible_cases(user).filter(**{f"{record_type}_id": record_id})
    open_count = qs.filter(status__in=OPEN_STATUSES).count()
    items = list(qs.select_related("contact", "organization").order_by("-created_at", "-id")[:limit])
    return {"items": cases_out(user, items), "open_count": open_count}
