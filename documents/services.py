"""Every write of documents and their shares.

Uploading validates everything first (size, type, every record named), then
stores the bytes and the rows, so a refused upload leaves nothing behind.
Sharing is a touchpoint of kind ``document`` on the record it is shared
with (and, in the context of a deal, on the deal), recorded through
touchpoints.services like every other touchpoint, so it rolls up and shows
in Activity; it never moves Last Contacted (touchpoints.rules: documents
are indirect touchpoints, not contact).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, error
from crm.models import Contact, Deal, DealContact, Organization
from crm.permissions import can_delete, check_owner, owned_by_team_of, visible
from documents import files
from documents.models import Document, DocumentShare
from documents.queries import get_visible_document
from touchpoints import services as touchpoint_services
from touchpoints.rules import Direction, Kind, Source


@dataclass
class Upload:
    """A file as it arrived: the bytes (an UploadedFile, any Django File, or
    bytes), the name the client gave, and the type it declared."""

    content: File | bytes
    filename: str
    declared_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.content) if isinstance(self.content, bytes) else self.content.size

    def head(self, size: int = 8192) -> bytes:
        if isinstance(self.content, bytes):
            return self.content[:size]
        self.content.seek(0)
        head = self.content.read(size)
        self.content.seek(0)
        return head


@dataclass
class ShareTarget:
    contact_id: int | None = None
    organization_id: int | None = None


def too_large_message(setting: str = "DOCUMENT_MAX_BYTES") -> str:
    return f"is larger than the limit of {getattr(settings, setting):,} bytes ({setting})"


def check_upload(upload: Upload, loc: tuple = ("file",)) -> tuple[str, str]:
    """(clean file name, content type) or Invalid / TooLarge naming ``loc``."""
    if upload.size > settings.DOCUMENT_MAX_BYTES:
        raise TooLarge([error(loc, too_large_message(), "too_large")])
    try:
        content_type = files.resolve_content_type(upload.head(), upload.filename, upload.declared_type)
    except files.TypeMismatch as exc:
        raise Invalid.field(loc, f"{exc}: upload it under a name that matches what it is", "type_mismatch") from exc
    return files.clean_filename(upload.filename), content_type


def check_share_targets(actor: User, contact_ids: Sequence[int], organization_ids: Sequence[int], deal_id: int | None) -> tuple[list[ShareTarget], Deal | None]:
    """The records to share with, each visible to the actor (a hidden one is
    "not found", as everywhere). In the context of a deal, a contact must be
    on the deal or at its organization, and an organization must be the
    deal's: the share shows on the deal's page, so it must concern it."""
    errors = []
    deal = None
    if deal_id is not None:
        deal = visible(Deal, actor).filter(id=deal_id).first()
        if deal is None:
            errors.append(error(("deal_id",), f"deal {deal_id} not found"))
    contacts = {c.id: c for c in visible(Contact, actor).filter(id__in=contact_ids).only("id", "organization_id")}
    organizations = set(visible(Organization, actor).filter(id__in=organization_ids).values_list("id", flat=True))
    on_deal = set(DealContact.objects.filter(deal=deal, contact_id__in=contact_ids).values_list("contact_id", flat=True)) if deal else set()
    for i, cid in enumerate(contact_ids):
        contact = contacts.get(cid)
        if contact is None:
            errors.append(error(("contact_ids", i), f"contact {cid} not found"))
        elif deal is not None and cid not in on_deal and (deal.organization_id is None or contact.organization_id != deal.organization_id):
            errors.append(error(("contact_ids", i), f"contact {cid} is neither on deal {deal.id} nor at its organization"))
    for i, oid in enumerate(organization_ids):
        if oid not in organizations:
            errors.append(error(("organization_ids", i), f"organization {oid} not found"))
        elif deal is not None and oid != deal.organization_id:
            errors.append(error(("organization_ids", i), f"organization {oid} is not deal {deal.id}'s organization"))
    if errors:
        raise Invalid(errors)
    targets = [ShareTarget(contact_id=c) for c in dict.fromkeys(contact_ids)]
    targets += [ShareTarget(organization_id=o) for o in dict.fromkeys(organization_ids)]
    return targets, deal


def can_change(actor: User, document: Document) -> bool:
    """Seeing a document (through a record it is shared with) is not
    changing it: that takes its owner's team, its uploader, or an admin or
    manager, as for touchpoints."""
    return actor.sees_everything or actor.id == document.uploaded_by_id or owned_by_team_of(actor, document.owner_id)


# --- upload -------------------------------------------------------------------------------


@transaction.atomic
def do_upload_document(
    actor: User,
    upload: Upload,
    *,
    title: str = "",
    description: str = "",
    owner_id: int | None = None,
    contact_ids: Sequence[int] = (),
    organization_ids: Sequence[int] = (),
    deal_id: int | None = None,
    shared_at: datetime | None = None,
) -> Document:
    """Store a file and share it with the records named (none: it is kept in
    the owner's documents until shared). ``shared_at`` backdates the shares
    (imports, the demo); now by default."""
    filename, content_type = check_upload(upload)
    owner = check_owner(actor, owner_id)
    targets, deal = check_share_targets(actor, contact_ids, organization_ids, deal_id)
    if deal_id is not None and not targets:
        raise Invalid.field(("deal_id",), "name the deal's contacts or organization to share with (contact_ids, organization_ids)")
    stored = files.store(upload.content)
    document = Document.objects.create(
        title=title.strip()[:200],
        description=description,
        filename=filename,
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
        owner_id=owner,
        uploaded_by=actor,
    )
    for target in targets:
        _share(actor, document, target, deal, shared_at)
    return document


def store_attachment(touchpoint_id: int, filename: str, content_type: str, payload: bytes) -> Document:
    """An email's attachment (emails.ingest): kept with the email, visible
    with it. Over MAX_ATTACHMENT_BYTES only the row is kept, to say it existed."""
    kept = len(payload) <= settings.MAX_ATTACHMENT_BYTES
    if kept:
        stored = files.store(payload)
        sha256 = stored.sha256
    else:
        sha256 = hashlib.sha256(payload).hexdigest()
    return Document(
        touchpoint_id=touchpoint_id,
        filename=files.clean_filename(filename, "attachment"),
        content_type=content_type[:127],
        size=len(payload),
        sha256=sha256,
        stored=kept,
    )


# --- sharing --------------------------------------------------------------------------------


def _share(actor: User | None, document: Document, target: ShareTarget, deal: Deal | None, at: datetime | None = None) -> tuple[DocumentShare, bool]:
    existing = DocumentShare.objects.filter(document=document, contact_id=target.contact_id, organization_id=target.organization_id).first()
    if existing is not None:
        return existing, False
    now = at or timezone.now()
    share = DocumentShare.objects.create(
        document=document,
        contact_id=target.contact_id,
        organization_id=target.organization_id,
        deal=deal,
        shared_by=actor,
        shared_at=now,
    )
    recorded = touchpoint_services.record_touchpoint(
        actor,
        touchpoint_services.NewTouchpoint(
            kind=Kind.DOCUMENT,
            status="shared",
            direction=Direction.OUTBOUND,
            occurred_at=now,
            subject=f"Shared “{document.display_name}”"[:255],
            summary=document.description,
            source=Source.DOCUMENT,
            external_id=f"share-{share.id}",
            owner_id=actor.id if actor is not None else document.owner_id,
            contact_ids=[target.contact_id] if target.contact_id else [],
            organization_ids=[target.organization_id] if target.organization_id else [],
            deal_ids=[deal.id] if deal is not None else [],
        ),
    )
    DocumentShare.objects.filter(id=share.id).update(touchpoint_id=recorded.touchpoint_id)
    share.touchpoint_id = recorded.touchpoint_id
    return share, True


@transaction.atomic
def do_share_document(
    actor: User, document_id: int, *, contact_id: int | None = None, organization_id: int | None = None, deal_id: int | None = None
) -> tuple[DocumentShare, bool]:
    """Share a document the actor may see with one contact or organization.
    Sharing again with the same record answers with the existing share
    (created=False): one touchpoint per share, however often it is asked."""
    document = get_visible_document(actor, document_id, for_update=True)
    if (contact_id is None) == (organization_id is None):
        raise Invalid.field(("contact_id",), "name exactly one of contact_id and organization_id")
    if not document.stored:
        raise Invalid.field(("path", "document_id"), "this attachment was over MAX_ATTACHMENT_BYTES and was not kept")
    targets, deal = check_share_targets(actor, [contact_id] if contact_id else [], [organization_id] if organization_id else [], deal_id)
    # Locs from check_share_targets name lists; this endpoint takes single ids.
    return _share(actor, document, targets[0], deal)


@transaction.atomic
def do_unshare_document(actor: User, document_id: int, share_id: int) -> None:
    """Take a share back (shared by mistake): the share and its touchpoint go."""
    document = get_visible_document(actor, document_id, for_update=True)
    share = DocumentShare.objects.filter(id=share_id, document=document).first()
    if share is None:
        raise NotFound(f"share {share_id} not found")
    if not (can_change(actor, document) or share.shared_by_id == actor.id):
        raise Forbidden("only the document's owner's team, whoever shared it, an admin or a manager may take this share back")
    _delete_share(share)


def _delete_share(share: DocumentShare) -> None:
    touchpoint_id = share.touchpoint_id
    share.delete()
    if touchpoint_id is not None:
        touchpoint_services.delete_touchpoint(None, touchpoint_id, checked=True)


@transaction.atomic
def do_delete_document(actor: User, document_id: int) -> None:
    """Delete a document, its shares and their touchpoints; the bytes go
    when no other document has the same content. An email's attachment
    goes with its email, not on its own."""
    document = get_visible_document(actor, document_id, for_update=True)
    if document.touchpoint_id is not None:
        raise Conflict("this is an email's attachment: it is kept with the email")
    if not (can_delete(actor, document) or actor.id == document.uploaded_by_id):
        raise Forbidden("only the owner, an admin or a manager may delete this document")
    for share in list(document.shares.all()):
        _delete_share(share)
    sha256 = document.sha256
    document.delete()
    transaction.on_commit(lambda: files.purge_content(sha256))
