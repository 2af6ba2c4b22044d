"""Reads of documents: who may see one, a record's Documents widget, lists.

Visibility. A user may see (and download) a document when they see
everything (admins, managers), when they or their team own it, when it is
an attachment of an email they may see, or when it is shared with a record
they may see — through the share touchpoint's links, so a document shared
with a deal's contact is visible to whoever may open the deal, exactly as
the deal's timeline shows it.
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User
from config.errors import NotFound
from config.pagination import MAX_LIMIT, Page, encode_cursor, keyset_page
from crm.models import Contact, Deal, Organization
from crm.permissions import owner_condition, visible
from documents.models import Document, DocumentShare
from touchpoints.models import TouchpointLink
from touchpoints.queries import link_page_tail, rollup_visible_sql
from touchpoints.rules import Kind
from touchpoints.services import visible_touchpoints

LIST_ORDER = ("-id",)


def visible_documents(user: User) -> QuerySet:
    qs = Document.objects.all()
    if user.sees_everything:
        return qs
    on_visible_record = TouchpointLink.objects.filter(
        Q(contact_id__in=visible(Contact, user).values("id"))
        | Q(organization_id__in=visible(Organization, user).values("id"))
        | Q(deal_id__in=visible(Deal, user).values("id")),
        kind=Kind.DOCUMENT,
    ).values("touchpoint_id")
    shared = DocumentShare.objects.filter(touchpoint_id__in=on_visible_record).values("document_id")
    return qs.filter(
        (owner_condition(user) & Q(owner__isnull=False))
        | Q(id__in=shared)
        | Q(touchpoint_id__in=visible_touchpoints(user).values("id"))
    )


def get_visible_document(user: User, document_id: int, *, for_update: bool = False) -> Document:
    qs = visible_documents(user).filter(id=document_id)
    if for_update:
        # Lock only the row (PostgreSQL refuses FOR UPDATE with the subqueries' outer joins otherwise).
        if not qs.exists():
            raise NotFound(f"document {document_id} not found")
        qs = Document.objects.select_for_update().filter(id=document_id)
    document = qs.first()
    if document is None:
        raise NotFound(f"document {document_id} not found")
    return document


def list_documents(user: User, cursor: str | None, limit: int, *, owner_id: int | None = None, q: str | None = None) -> Page:
    """Uploaded documents the user may see, newest first (email attachments
    are listed with their emails)."""
    qs = visible_documents(user).filter(touchpoint__isnull=True)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(filename__icontains=q))
    return keyset_page(qs, LIST_ORDER, cursor, limit)


def _names(viewer: User, shares: list[DocumentShare]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Names of the contacts, organizations and deals the shares name, only
    those the viewer may open (three queries at most, whatever the count)."""
    contact_ids = {s.contact_id for s in shares if s.contact_id}
    organization_ids = {s.organization_id for s in shares if s.organization_id}
    deal_ids = {s.deal_id for s in shares if s.deal_id}
    contacts = {c.id: c.full_name for c in visible(Contact, viewer).filter(id__in=contact_ids).only("id", "first_name", "last_name")} if contact_ids else {}
    organizations = dict(visible(Organization, viewer).filter(id__in=organization_ids).values_list("id", "name")) if organization_ids else {}
    deals = dict(visible(Deal, viewer).filter(id__in=deal_ids).values_list("id", "name")) if deal_ids else {}
    return contacts, organizations, deals


def share_out(share: DocumentShare, names: tuple[dict, dict, dict]) -> dict:
    contacts, organizations, deals = names
    return {
        "id": share.id,
        "document_id": share.document_id,
        # A record the viewer may not open is neither named nor identified.
        "contact_id": share.contact_id if share.contact_id in contacts else None,
        "contact_name": contacts.get(share.contact_id, ""),
        "organization_id": share.organization_id if share.organization_id in organizations else None,
        "organization_name": organizations.get(share.organization_id, ""),
        "deal_id": share.deal_id if share.deal_id in deals else None,
        "deal_name": deals.get(share.deal_id, ""),
        "shared_by_id": share.shared_by_id,
        "shared_at": share.shared_at,
        "touchpoint_id": share.touchpoint_id,
    }


# A document's columns, as document_out reads them from a row or a widget row.
DOCUMENT_COLUMNS = ("title", "filename", "content_type", "size", "sha256", "stored", "description", "owner_id", "uploaded_by_id", "touchpoint_id", "created_at")


def document_out(document: Document, shares: list[dict] | None = None) -> dict:
    return document_fields_out(document.id, {f: getattr(document, f) for f in DOCUMENT_COLUMNS}, shares)


def document_fields_out(document_id: int, fields: dict, shares: list[dict] | None = None) -> dict:
    """The API's document from its DOCUMENT_COLUMNS (a model's, or a widget row's: no instance needed)."""
    out = {"id": document_id, **{k: fields[k] for k in ("filename", "content_type", "size", "sha256", "description", "owner_id", "uploaded_by_id", "created_at")}}
    out |= {
        "title": fields["title"] or fields["filename"], "stored": bool(fields["stored"]), "email_touchpoint_id": fields["touchpoint_id"],
        "download_url": f"/api/v1/documents/{document_id}", "shares": shares if shares is not None else [],
    }  # fmt: skip
    return out


def document_with_shares(viewer: User, document: Document) -> dict:
    """The document and whom it is shared with (only records the viewer may open)."""
    return documents_with_shares(viewer, [document])[0]


def documents_with_shares(viewer: User, documents: list[Document]) -> list[dict]:
    """Each document and whom it is shared with, for a page of documents in
    the same queries as for one: all their shares at once, then the names."""
    shares = list(DocumentShare.objects.filter(document_id__in=[d.id for d in documents]).order_by("id"))
    names = _names(viewer, shares)
    shares_of: dict[int, list[dict]] = {}
    for share in shares:
        out = share_out(share, names)
        if out["contact_id"] or out["organization_id"]:
            shares_of.setdefault(share.document_id, []).append(out)
    return [document_out(d, shares_of.get(d.id, [])) for d in documents]


# The widget's columns: (name in the row dict, SQL expression). Names are
# scalar subqueries, not joins: PostgreSQL planned the six-way join in
# 1.5 ms for a statement that ran in 0.25 (bench/documents.py).
_WIDGET_COLUMNS = (
    ("path", "l.path"), ("touchpoint_id", "l.touchpoint_id"), ("occurred_at", "l.occurred_at"),
    ("id", "s.id"), ("document_id", "s.document_id"), ("contact_id", "s.contact_id"),
    ("first_name", "(SELECT first_name FROM {contact} WHERE id = s.contact_id)"),
    ("last_name", "(SELECT last_name FROM {contact} WHERE id = s.contact_id)"),
    ("organization_id", "s.organization_id"), ("organization_name", "(SELECT name FROM {organization} WHERE id = s.organization_id)"),
    ("deal_id", "s.deal_id"), ("deal_name", "(SELECT name FROM {deal} WHERE id = s.deal_id)"),
    ("shared_by_id", "s.shared_by_id"), ("shared_at", "s.shared_at"),
    *((f"document_{f}", f"d.{f}") for f in DOCUMENT_COLUMNS),
)  # fmt: skip
_WIDGET_DATETIMES = ("occurred_at", "shared_at", "document_created_at")


def record_documents(viewer: User, record_type: str, record_id: int, cursor: str | None, limit: int) -> Page:
    """The Documents widget of a record: every document share whose
    touchpoint is on the record's timeline (directly, or rolled up: shared
    with a deal's contact while the deal was open), newest first, as dicts
    of the share with its document.

    One statement a page: an index range scan on the partial document-link
    index (tpl_*_documents_idx) from the cursor on, joined to the share, its
    document and the names; for a viewer who does not see everything, up to
    three more to learn which of the named records they may open (the others
    are not named). Written as SQL like touchpoints.queries.timeline: the
    ORM's compile of the six joins cost ten times the statement
    (bench/documents.py). The caller has checked that the viewer may see
    the record."""
    if record_type not in ("organization", "contact", "deal"):
        raise ValueError(record_type)
    limit = max(1, min(limit, MAX_LIMIT))
    names = {"contact": Contact._meta.db_table, "organization": Organization._meta.db_table, "deal": Deal._meta.db_table}
    sqlite = connection.vendor == "sqlite"
    columns = ", ".join(f"CAST({sql} AS TEXT)" if sqlite and name in _WIDGET_DATETIMES else sql.format(**names) for name, sql in _WIDGET_COLUMNS)
    sql = [
        f"SELECT {columns} FROM {TouchpointLink._meta.db_table} l",
        f"LEFT JOIN {DocumentShare._meta.db_table} s ON s.touchpoint_id = l.touchpoint_id LEFT JOIN {Document._meta.db_table} d ON d.id = s.document_id",
        f"WHERE l.{record_type}_id = %s AND l.{record_type}_id IS NOT NULL AND l.kind = %s",
    ]
    params: list = [record_id, Kind.DOCUMENT]
    # A document shared on a record the viewer may not open does not show
    # through a rollup (issue #10), as on the timeline.
    seen, seen_params = rollup_visible_sql(viewer)
    if seen:
        sql.append(f"AND {seen}")
        params += seen_params
    tail, tail_params = link_page_tail(cursor, limit)
    with connection.cursor() as db:
        db.execute(" ".join(sql + tail), params + tail_params)
        rows = [dict(zip((name for name, _ in _WIDGET_COLUMNS), values)) for values in db.fetchall()]
    if sqlite:
        for row in rows:
            for name in _WIDGET_DATETIMES:
                row[name] = datetime.fromisoformat(row[name]).replace(tzinfo=UTC) if row[name] is not None else None
    next_cursor = encode_cursor([rows[limit - 1]["occurred_at"], rows[limit - 1]["touchpoint_id"]]) if len(rows) > limit else None
    rows = [r for r in rows[:limit] if r["id"] is not None]  # a document touchpoint logged without a share (an import) has no file
    if viewer.sees_everything:
        contacts, organizations, deals = ({r[k] for r in rows if r[k]} for k in ("contact_id", "organization_id", "deal_id"))
    else:
        contacts, organizations, deals = _visible_ids(viewer, rows)
    return Page([_widget_item(r, contacts, organizations, deals) for r in rows], next_cursor)


def _visible_ids(viewer: User, rows: list[dict]) -> tuple[set[int], set[int], set[int]]:
    out = []
    for key, model in (("contact_id", Contact), ("organization_id", Organization), ("deal_id", Deal)):
        ids = {r[key] for r in rows if r[key]}
        out.append(set(visible(model, viewer).filter(id__in=ids).values_list("id", flat=True)) if ids else set())
    return out[0], out[1], out[2]


def _widget_item(r: dict, contacts: set[int], organizations: set[int], deals: set[int]) -> dict:
    contact_ok, organization_ok, deal_ok = r["contact_id"] in contacts, r["organization_id"] in organizations, r["deal_id"] in deals
    document = {name.removeprefix("document_"): value for name, value in r.items() if name.startswith("document_") and name != "document_id"}
    return {
        "id": r["id"],
        "document_id": r["document_id"],
        # A record the viewer may not open is neither named nor identified.
        "contact_id": r["contact_id"] if contact_ok else None,
        "contact_name": f"{r['first_name']} {r['last_name']}".strip() if contact_ok else "",
        "organization_id": r["organization_id"] if organization_ok else None,
        "organization_name": r["organization_name"] if organization_ok else "",
        "deal_id": r["deal_id"] if deal_ok else None,
        "deal_name": r["deal_name"] if deal_ok else "",
        "shared_by_id": r["shared_by_id"],
        "shared_at": r["shared_at"],
        "touchpoint_id": r["touchpoint_id"],
        "path": r["path"],
        "document": document_fields_out(r["document_id"], document),
    }


# --- the customer portal -------------------------------------------------------------------------


def portal_documents(contact: Contact) -> QuerySet:
    """What a contact sees in the portal: documents shared with them, or
    with their organization (shared "with them" as one of its people) —
    never what was shared with another contact."""
    shared = Q(shares__contact_id=contact.id)
    if contact.organization_id:
        shared |= Q(shares__organization_id=contact.organization_id)
    return Document.objects.filter(shared, stored=True).distinct()
