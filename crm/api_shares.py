"""REST endpoints for sharing organizations, contacts and deals with a user
or a team: ``/{organizations|contacts|deals}/{record_id}/shares``. Rules in
crm.sharing."""
from __future__ import annotations

from ninja import Router, Schema, Status

from config.schemas import Cursor, Id, InputSchema, Limit, RecordId, responses
from crm import sharing

router = Router()

COLLECTIONS = {"organizations": "organization", "contacts": "contact", "deals": "deal"}


class RecordShareIn(InputSchema):
    """Exactly one of ``user_id`` or ``team_id``."""

    user_id: Id | None = None
    team_id: Id | None = None


class RecordShareOut(Schema):
    id: int
    record_type: str
    record_id: int
    user_id: int | None
    team_id: int | None
    name: str  # the user's username or the team's name


class RecordSharePage(Schema):
    items: list[RecordShareOut]
    next_cursor: str | None


def _register(collection: str, record_type: str) -> None:
    # One set of three operations per record type, with distinct names so
    # the OpenAPI operation ids stay unique.
    @router.get(f"/{collection}/{{record_id}}/shares", response=responses({200: RecordSharePage}), tags=[collection], operation_id=f"list_{record_type}_shares")
    def list_shares(request, record_id: RecordId, cursor: Cursor = None, limit: Limit = 50):
        """Whom the record is shared with (beyond its owner's team), oldest first."""
        page = sharing.list_shares(request.auth, record_type, record_id, cursor, limit)
        return {"items": [sharing.share_out(s) for s in page.items], "next_cursor": page.next_cursor}

    @router.post(f"/{collection}/{{record_id}}/shares", response=responses({200: RecordShareOut, 201: RecordShareOut}), tags=[collection], operation_id=f"share_{record_type}")
    def share(request, record_id: RecordId, payload: RecordShareIn):
        """Share the record with a user or a team (its owner's team, admins and
        managers). 201 for a new share; 200 with the existing one for a repeat."""
        found, created = sharing.do_share(request.auth, record_type, record_id, user_id=payload.user_id, team_id=payload.team_id)
        return Status(201 if created else 200, sharing.share_out(found))

    @router.delete(f"/{collection}/{{record_id}}/shares/{{share_id}}", response=responses({204: None}), tags=[collection], operation_id=f"unshare_{record_type}")
    def unshare(request, record_id: RecordId, share_id: RecordId):
        """Take a share back (the same people who may share)."""
        sharing.do_unshare(request.auth, record_type, record_id, share_id)
        return Status(204, None)


for _collection, _record_type in COLLECTIONS.items():
    _register(_collection, _record_type)
