"""Reads of documents: who may see one, a record's Documents widget, lists.

Visibility. A user may see (and download) a document when they see
everything (admins, managers), when they or their team own it, when it is
an attachment of an email they may see, or when it is shared with a record
they may see — through the share touchpoint's links, so a document shared
with a deal's contact is visible to whoever may open the deal, exactly as
the deal's timeline shows it.
"""
from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from config.errors import NotFound
from config.pagination import Page, keyset_page
from crm.models import Contact, Deal, Organization
from crm.permissions import owner_condition, visible
from documents.models import Document, DocumentShare
from touchpoints.models import TouchpointLink
from touchpoints.rules import Kind
from touchpoints.services import visible_touchpoints

WIDGET_ORDER = ("-occurred_at", "-touchpoint_id")
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


def document_out(document: Document, shares: list[dict] | None = None) -> dict:
    return {
        "id": document.id,
        "title": document.display_name,
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "stored": document.stored,
        "description": document.description,
        "owner_id": document.owner_id,
        "uploaded_by_id": document.uploaded_by_id,
        "email_touchpoint_id": document.touchpoint_id,
        "created_at": document.created_at,
        "download_url": f"/api/v1/documents/{document.id}",
        "shares": shares if shares is not None else [],
    }


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


def record_documents(viewer: User, record_type: str, record_id: int, cursor: str | None, limit: int) -> Page:
    """The Documents widget of a record: every document share whose
    touchpoint is on the record's timeline (directly, or rolled up: shared
    with a deal's contact while the deal was open), newest first, as dicts
    of the share with its document. One index range scan on the partial
    document-link index, then two queries for the page's shares and names.
    The caller has checked that the viewer may see the record."""
    if record_type not in ("organization", "contact", "deal"):
        raise ValueError(record_type)
    links = TouchpointLink.objects.filter(**{f"{record_type}_id": record_id, f"{record_type}__isnull": False}, kind=Kind.DOCUMENT)
    page = keyset_page(links.only("touchpoint_id", "occurred_at", "path"), WIDGET_ORDER, cursor, limit)
    tp_ids = [link.touchpoint_id for link in page.items]
    shares = {s.touchpoint_id: s for s in DocumentShare.objects.filter(touchpoint_id__in=tp_ids).select_related("document")}
    ordered = [shares[t] for t in tp_ids if t in shares]
    names = _names(viewer, ordered)
    path_of = {link.touchpoint_id: link.path for link in page.items}
    items = [{**share_out(s, names), "document": document_out(s.document), "path": path_of[s.touchpoint_id]} for s in ordered]
    return Page(items, page.next_cursor)


# --- the customer portal -------------------------------------------------------------------------


def portal_documents(contact: Contact) -> QuerySet:
    """What a contact sees in the portal: documents shared with them, or
    with their organization (shared "with them" as one of its people) —
    never what was shared with another contact."""
    shared = Q(shares__contact_id=contact.id)
    if contact.organization_id:
        shared |= Q(shares__organization_id=contact.organization_id)
    return Document.objects.filter(shared, stored=True).distinct()
