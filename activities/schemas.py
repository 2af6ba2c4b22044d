from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from activities.models import EventStatus, EventType, TaskStatus
from config.schemas import Day, Id, IdList, InputSchema, LongText, Name, Timestamp

EventTypeName = Literal[tuple(EventType.values)]  # type: ignore[valid-type]
EventStatusName = Literal[tuple(EventStatus.values)]  # type: ignore[valid-type]
TaskStatusName = Literal[tuple(TaskStatus.values)]  # type: ignore[valid-type]
EmoticonValue = Annotated[int, Field(ge=1, le=5, description="1 very unhappy .. 5 very happy")]


class EventIn(InputSchema):
    subject: Name
    event_type: EventTypeName = "meeting"
    status: EventStatusName = "planned"
    start_at: Timestamp
    end_at: Timestamp
    description: LongText = ""
    emoticon: EmoticonValue | None = None
    owner_id: Id | None = None
    deal_id: Id | None = None
    organization_id: Id | None = None
    contact_ids: IdList = []


class EventPatch(InputSchema):
    subject: Name | None = None
    event_type: EventTypeName | None = None
    status: EventStatusName | None = None
    start_at: Timestamp | None = None
    end_at: Timestamp | None = None
    description: LongText | None = None
    emoticon: EmoticonValue | None = None
    owner_id: Id | None = None
    deal_id: Id | None = None
    organization_id: Id | None = None
    contact_ids: IdList | None = None


class EventOut(Schema):
    id: int
    subject: str
    event_type: str
    status: str
    start_at: Timestamp
    end_at: Timestamp
    description: str
    emoticon: int | None
    owner_id: int | None
    deal_id: int | None
    organization_id: int | None
    contact_ids: list[int]
    touchpoint_id: int | None


class TaskIn(InputSchema):
    title: Name
    description: LongText = ""
    due_date: Day
    status: TaskStatusName = "not_started"
    owner_id: Id | None = None
    deal_id: Id | None = None
    organization_id: Id | None = None
    contact_id: Id | None = None


class TaskPatch(InputSchema):
    title: Name | None = None
    description: LongText | None = None
    due_date: Day | None = None
    status: TaskStatusName | None = None
    owner_id: Id | None = None
    deal_id: Id | None = None
    organization_id: Id | None = None
    contact_id: Id | None = None


class TaskOut(Schema):
    id: int
    title: str
    description: str
    due_date: date
    status: str
    completed_at: Timestamp | None
    owner_id: int | None
    deal_id: int | None
    organization_id: int | None
    contact_id: int | None


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None


class UpNextItem(Schema):
    type: Literal["event", "task"]
    id: int
    title: str
    status: str
    event_type: str | None = None
    start_at: Timestamp | None = None
    end_at: Timestamp | None = None
    due_date: date | None = None
    owner_id: int | None
    overdue: bool


class UpNextOut(Schema):
    time_zone: str
    today: date
    overdue: list[UpNextItem]
    upcoming: list[UpNextItem]
    overdue_count: int
    upcoming_count: int
