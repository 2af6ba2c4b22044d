"""GET /audit: the audit log (a record's history, or the whole log for
admins and managers; a rep's own actions otherwise). audit.queries says who
may read what."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Query, Router, Schema
from pydantic import Field

from audit import queries
from audit.log import RECORD_TYPES
from audit.models import Action
from config.schemas import MAX_ID, Cursor, Limit, Timestamp, responses

router = Router(tags=["audit"])

RecordType = Literal[RECORD_TYPES]  # type: ignore[valid-type]
ActionName = Literal[tuple(Action.values)]  # type: ignore[valid-type]


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    record_type: str
    record_id: int
    label: str
    changes: dict[str, list[Any]] = Field(description="{field: [old, new]}; null old on create, null new on delete")


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None


class AuditFilters(Schema):
    record_type: RecordType | None = None
    record_id: int | None = Field(None, ge=1, le=MAX_ID)
    actor_id: int | None = Field(None, ge=1, le=MAX_ID)
    action: ActionName | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None


@router.get("/audit", response=responses({200: AuditPage}))
def audit_log(request, filters: Query[AuditFilters], cursor: Cursor = None, limit: Limit = 50):
    """Audit entries, newest first: who created, changed, deleted, exported
    or erased which record, when, and each changed field's old and new
    value. With ``record_type`` and ``record_id``: that record's history
    (404 if you may not see the record; admins and managers also see
    deleted records'). Without: admins and managers read the whole log,
    others their own actions."""
    page = queries.entries(request.auth, **filters.dict(), cursor=cursor, limit=limit)
    return {"items": [queries.entry_out(e) for e in page.items], "next_cursor": page.next_cursor}
