"""REST endpoints for cases, their comments, and a deal's One View."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Query, Router, Schema, Status
from pydantic import StrictBool

from cases import queries, services
from cases.models import CaseOrigin, CasePriority, CaseStatus
from config.schemas import Cursor, Id, InputSchema, Limit, LongText, Name, RecordId, Text, Timestamp, responses
from crm.models import Deal
from crm.permissions import get_visible

router = Router(tags=["cases"])
StatusName = Literal[tuple(CaseStatus.values)]  # type: ignore[valid-type]
StatusFilter = Literal[tuple([*CaseStatus.values, "open"])]  # type: ignore[valid-type]
PriorityName = Literal[tuple(CasePriority.values)]  # type: ignore[valid-type]
OriginName = Literal[tuple(CaseOrigin.values)]  # type: ignore[valid-type]


class CaseOut(Schema):
    id: int
    number: str
    title: str
    description: str
    status: StatusName
    is_open: bool
    priority: PriorityName
    origin: OriginName
    contact_id: int | None
    contact_name: str
    organization_id: int | None
    organization_name: str
    owner_id: int | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    touchpoint_id: int | None


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseIn(InputSchema):
    title: Name
    description: LongText = ""
    contact_id: Id | None = None
    organization_id: Id | None = None
    status: StatusName = "open"
    priority: PriorityName = "normal"
    owner_id: Id | None = None
    created_at: Timestamp | None = None  # when it was registered (imports); now by default


class CasePatch(InputSchema):
    title: Name | None = None
    description: LongText | None = None
    contact_id: Id | None = None
    organization_id: Id | None = None
    status: StatusName | None = None
    priority: PriorityName | None = None
    owner_id: Id | None = None


class CaseFilters(InputSchema):
    status: StatusFilter | None = None
    priority: PriorityName | None = None
    owner_id: Id | None = None
    contact_id: Id | None = None
    organization_id: Id | None = None
    q: Text(100) | None = None


class CommentIn(InputSchema):
    body: Text(services.MAX_COMMENT, 1)
    internal: StrictBool = False


class CommentOut(Schema):
    id: int
    case_id: int
    body: str
    internal: bool
    author_user_id: int | None
    author_contact_id: int | None
    author_name: str
    created_at: datetime


class CommentPage(Schema):
    items: list[CommentOut]
    next_cursor: str | None


class OneViewOut(Schema):
    deal_id: int
    open_count: int
    total: int
    by_status: dict[str, int]
    items: list[CaseOut]
    next_cursor: str | None


def _one(request, case_id: int) -> dict:
    return queries.cases_out(request.auth, [queries.get_visible_case(request.auth, case_id)])[0]


@router.get("/cases", response=responses({200: CasePage}))
def list_cases(request, filters: Query[CaseFilters], cursor: Cursor = None, limit: Limit = 50):
    """Cases the caller may see, newest first; ``status=open`` means not yet resolved or closed."""
    page = queries.list_cases(request.auth, queries.CaseFilters(**filters.dict()), cursor, limit)
    return {"items": queries.cases_out(request.auth, page.items), "next_cursor": page.next_cursor}


@router.post("/cases", response=responses({201: CaseOut}))
def create_case(request, payload: CaseIn):
    """Register a case for a contact and/or an organization (naming only the
    contact files it under the contact's organization too). It is a
    touchpoint of kind ``case`` on both, whose status follows the case's."""
    case = services.do_create_case(request.auth, payload.dict())
    return Status(201, _one(request, case.id))


@router.get("/cases/{case_id}", response=responses({200: CaseOut}))
def get_case(request, case_id: RecordId):
    return _one(request, case_id)


@router.patch("/cases/{case_id}", response=responses({200: CaseOut}))
def update_case(request, case_id: RecordId, payload: CasePatch):
    services.do_update_case(request.auth, case_id, payload.dict(exclude_unset=True))
    return _one(request, case_id)


@router.delete("/cases/{case_id}", response=responses({204: None}))
def delete_case(request, case_id: RecordId):
    services.do_delete_case(request.auth, case_id)
    return Status(204, None)


@router.get("/cases/{case_id}/comments", response=responses({200: CommentPage}))
def list_comments(request, case_id: RecordId, cursor: Cursor = None, limit: Limit = 50):
    """Oldest first, internal notes included (staff see them; the portal never does)."""
    case = queries.get_visible_case(request.auth, case_id)
    page = queries.comments(case, include_internal=True, cursor=cursor, limit=limit)
    return {"items": [queries.comment_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/cases/{case_id}/comments", response=responses({201: CommentOut}))
def add_comment(request, case_id: RecordId, payload: CommentIn):
    comment = services.do_comment_case(request.auth, case_id, payload.body, internal=payload.internal)
    return Status(201, queries.comment_out(comment))


@router.get("/deals/{deal_id}/one-view", response=responses({200: OneViewOut}), tags=["deals"])
def deal_one_view(request, deal_id: RecordId, status: StatusFilter | None = None, cursor: Cursor = None, limit: Limit = 50):
    """The deal's One View: cases of the deal's contacts and of its
    organization with their status, newest first, and counts (open: not
    yet resolved or closed) over all of them the caller may see."""
    deal = get_visible(Deal, request.auth, deal_id)
    return queries.one_view(request.auth, deal, cursor, limit, status=status)
