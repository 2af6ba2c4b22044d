"""REST endpoints for documents: upload (multipart), download, share.

``GET /documents/{id}`` is the file itself (as it was for email
attachments since issue #4); the document's description and whom it is
shared with are ``GET /documents/{id}/shares``; every answer that names a
document carries its ``download_url``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from config.errors import Invalid
from config.schemas import Cursor, Id, InputSchema, Limit, LongText, RecordId, Text, ValidationErrors, responses
from crm.permissions import MODEL_OF, get_visible
from documents import files, queries, services
from documents.models import Document

router = Router(tags=["documents"])


class DocumentShareOut(Schema):
    id: int
    document_id: int
    contact_id: int | None
    contact_name: str
    organization_id: int | None
    organization_name: str
    deal_id: int | None
    deal_name: str
    shared_by_id: int | None
    shared_at: datetime
    touchpoint_id: int | None


class DocumentOut(Schema):
    id: int
    title: str
    filename: str
    content_type: str
    size: int
    sha256: str
    stored: bool
    description: str
    owner_id: int | None
    uploaded_by_id: int | None
    email_touchpoint_id: int | None
    created_at: datetime
    download_url: str
    shares: list[DocumentShareOut]


class DocumentPage(Schema):
    items: list[DocumentOut]
    next_cursor: str | None


class RecordDocumentOut(DocumentShareOut):
    document: DocumentOut
    path: Literal["direct", "contact", "deal"]


class RecordDocumentPage(Schema):
    items: list[RecordDocumentOut]
    next_cursor: str | None


class UploadForm(InputSchema):
    # Form fields are text: an optional id is left out, never "null".
    title: Text(200) = ""
    description: LongText = ""
    owner_id: Id = None
    contact_ids: Annotated[list[Id], Field(max_length=100)] = []
    organization_ids: Annotated[list[Id], Field(max_length=100)] = []
    deal_id: Id = None


class DocumentShareIn(InputSchema):
    contact_id: Id | None = None
    organization_id: Id | None = None
    deal_id: Id | None = None


def _out(request, document: Document) -> dict:
    return queries.document_with_shares(request.auth, document)


@router.post("/documents", response=responses({201: DocumentOut, 413: ValidationErrors}))
def upload_document(request, file: File[UploadedFile], data: Form[UploadForm]):
    """Upload a file (multipart/form-data, field ``file``; at most
    DOCUMENT_MAX_BYTES, 413 above it) and share it with the contacts and
    organizations named, optionally in the context of a deal. The type is
    detected from the bytes; a file whose name says another type is 422."""
    document = services.do_upload_document(
        request.auth,
        services.Upload(content=file, filename=file.name or "", declared_type=file.content_type),
        **data.dict(),
    )
    return Status(201, _out(request, document))


@router.get("/documents", response=responses({200: DocumentPage}))
def list_documents(request, cursor: Cursor = None, limit: Limit = 50, owner_id: Id | None = None, q: Text(100) | None = None):
    """Uploaded documents the caller may see, newest first."""
    page = queries.list_documents(request.auth, cursor, limit, owner_id=owner_id, q=q)
    return {"items": queries.documents_with_shares(request.auth, page.items), "next_cursor": page.next_cursor}


@router.get("/documents/{document_id}", response=responses({200: None}))
def download_document(request, document_id: RecordId):
    """The file's bytes (``Content-Disposition: attachment``), to whoever may
    see a record it is shared with, its owner's team, or, for an email's
    attachment, whoever may see the email."""
    document = queries.get_visible_document(request.auth, document_id)
    if not document.stored:
        raise Invalid.field(("path", "document_id"), "this attachment was over MAX_ATTACHMENT_BYTES and was not kept")
    return files.download_response(document)


@router.delete("/documents/{document_id}", response=responses({204: None}))
def delete_document(request, document_id: RecordId):
    services.do_delete_document(request.auth, document_id)
    return Status(204, None)


@router.get("/documents/{document_id}/shares", response=responses({200: DocumentOut}))
def get_document_shares(request, document_id: RecordId):
    """The document's details and the records it is shared with (those the caller may open)."""
    return _out(request, queries.get_visible_document(request.auth, document_id))


@router.post("/documents/{document_id}/shares", response=responses({200: DocumentShareOut, 201: DocumentShareOut}))
def share_document(request, document_id: RecordId, payload: DocumentShareIn):
    """Share with one contact or organization (optionally in the context of
    a deal): a touchpoint of kind ``document`` on it. Sharing again with the
    same record answers 200 with the existing share."""
    share, created = services.do_share_document(request.auth, document_id, **payload.dict())
    (out,) = [s for s in _out(request, share.document)["shares"] if s["id"] == share.id]
    return Status(201 if created else 200, out)


@router.delete("/documents/{document_id}/shares/{share_id}", response=responses({204: None}))
def unshare_document(request, document_id: RecordId, share_id: RecordId):
    services.do_unshare_document(request.auth, document_id, share_id)
    return Status(204, None)


def _record_documents(record_type: str):
    def handler(request, record_id: RecordId, cursor: Cursor = None, limit: Limit = 50):
        get_visible(MODEL_OF[record_type], request.auth, record_id)
        page = queries.record_documents(request.auth, record_type, record_id, cursor, limit)
        return {"items": page.items, "next_cursor": page.next_cursor}

    handler.__doc__ = (
        f"The {record_type}'s Documents widget: documents shared with it, and rolled up to it like its timeline"
        " (a document shared with a deal's contact shows on the deal), newest first."
    )
    return handler


for _record_type, _plural in (("organization", "organizations"), ("contact", "contacts"), ("deal", "deals")):
    router.get(f"/{_plural}/{{record_id}}/documents", response=responses({200: RecordDocumentPage}), operation_id=f"{_record_type}_documents")(
        _record_documents(_record_type)
    )
