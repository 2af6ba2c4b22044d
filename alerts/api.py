"""REST endpoints: the caller's notifications (the bell) and the Smart
Alerts configuration (admins change it; everyone may read it)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Query, Router, Schema
from pydantic import StrictBool

from alerts import queries, services
from alerts.models import NotificationKind
from alerts.scan import OPEN_STAGES
from config.schemas import ConditionTree, Cursor, InputSchema, Limit, RecordId, responses

router = Router(tags=["alerts"])
KindName = Literal[tuple(NotificationKind.values)]  # type: ignore[valid-type]
Days = Annotated[int, Field(ge=1, le=services.MAX_IDLE_DAYS)]


class NotificationOut(Schema):
    id: int
    kind: KindName
    title: str
    body: str
    url: str
    record_type: str
    record_id: int | None
    created_at: datetime
    read_at: datetime | None
    resolved_at: datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class NotificationFilters(InputSchema):
    unread: bool = False


class ReadAllOut(Schema):
    marked: int
    unread_count: int


class StageDays(InputSchema):
    """Per-stage thresholds; a stage left out (or null) uses ``idle_days``.
    Closed stages are never idle, so they have none."""

    prospecting: Days | None = None
    qualification: Days | None = None
    proposal: Days | None = None
    negotiation: Days | None = None


assert set(StageDays.model_fields) == set(OPEN_STAGES)


class AlertConfigIn(InputSchema):
    idle_enabled: StrictBool = True
    idle_days: Days
    stage_idle_days: StageDays = StageDays()
    # A condition tree over deal fields (automation.conditions): only the
    # deals it matches are watched. {} or {"all": []}: every open deal.
    deal_conditions: ConditionTree = {}
    overdue_enabled: StrictBool = True
    email_enabled: StrictBool = False


class AlertConfigOut(Schema):
    idle_enabled: bool
    idle_days: int
    stage_idle_days: dict[str, int]
    deal_conditions: dict[str, Any]
    deal_conditions_text: str
    overdue_enabled: bool
    email_enabled: bool
    updated_at: datetime | None
    updated_by_id: int | None


@router.get("/notifications", response=responses({200: NotificationPage}))
def list_notifications(request, filters: Query[NotificationFilters], cursor: Cursor = None, limit: Limit = 50):
    """The caller's own notifications, newest first (``unread=true``: only
    those not read yet), with the unread count the bell shows."""
    page = queries.notifications_page(request.auth, unread=filters.unread, cursor=cursor, limit=limit)
    return {"items": [queries.notification_out(n) for n in page.items], "next_cursor": page.next_cursor, "unread_count": queries.unread_count(request.auth)}


@router.post("/notifications/read-all", response=responses({200: ReadAllOut}))
def read_all_notifications(request):
    marked = services.do_mark_all_read(request.auth)
    return {"marked": marked, "unread_count": queries.unread_count(request.auth)}


@router.post("/notifications/{notification_id}/read", response=responses({200: NotificationOut}))
def read_notification(request, notification_id: RecordId):
    """Mark one read; another user's answers 404 like a missing one."""
    return queries.notification_out(services.do_mark_read(request.auth, notification_id))


@router.get("/alerts/config", response=responses({200: AlertConfigOut}))
def get_alerts_config(request):
    """Everyone may read the thresholds (a rep may want to know when a deal
    counts as idle); only admins change them."""
    return queries.config_out(services.get_config())


@router.put("/alerts/config", response=responses({200: AlertConfigOut}))
def put_alerts_config(request, payload: AlertConfigIn):
    """Replace the configuration (admins). Raised alerts stay until their
    deal is contacted or closed: new thresholds apply to new quiet periods."""
    data = payload.dict()
    data["stage_idle_days"] = {k: v for k, v in data["stage_idle_days"].items() if v is not None}
    return queries.config_out(services.do_save_config(request.auth, data))
