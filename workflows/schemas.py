"""Request and response schemas of the workflows API."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool

from automation.conditions import RECORD_TYPES
from config.schemas import ConditionTree, InputSchema, JsonObject, Name
from workflows.actions import ACTION_TYPES, MAX_ACTIONS, PARAMS
from workflows.models import RunStatus, StepOutcome, Trigger

RecordTypeName = Literal[RECORD_TYPES]  # type: ignore[valid-type]
TriggerName = Literal[tuple(Trigger.values)]  # type: ignore[valid-type]
ActionType = Literal[ACTION_TYPES]  # type: ignore[valid-type]
TimeOfDay = Annotated[str, Field(max_length=5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, 24-hour, in the company time zone")]
# Each action type takes a few named params (workflows.actions.PARAMS, checked on save).
ActionParams = JsonObject(max(len(names) for names in PARAMS.values()))


class ActionIn(InputSchema):
    """One action; ``params`` depend on the type (docs/automation.md), checked on save."""

    type: ActionType
    params: ActionParams = {}


Actions = Annotated[list[ActionIn], Field(max_length=MAX_ACTIONS)]


class WorkflowIn(InputSchema):
    name: Name
    record_type: RecordTypeName
    trigger: TriggerName
    schedule_time: TimeOfDay | None = None
    conditions: ConditionTree = {}
    actions: Actions
    active: StrictBool = True
    reenroll: StrictBool = False


class WorkflowPatch(InputSchema):
    name: Name | None = None
    record_type: RecordTypeName | None = None
    trigger: TriggerName | None = None
    schedule_time: TimeOfDay | None = None
    conditions: ConditionTree | None = None
    actions: Actions | None = None
    active: StrictBool | None = None
    reenroll: StrictBool | None = None


class ActionOut(Schema):
    type: str
    params: dict[str, Any]


class WorkflowOut(Schema):
    id: int
    name: str
    record_type: str
    trigger: str
    schedule_time: str | None
    conditions: dict[str, Any]
    conditions_text: str
    actions: list[ActionOut]
    actions_text: list[str]
    active: bool
    reenroll: bool
    secret: str | None = Field(description="The webhook signing key; shown to admins and managers only")
    last_slot: datetime | None
    created_by_id: int | None
    updated_by_id: int | None
    created_at: datetime
    updated_at: datetime


class WorkflowPage(Schema):
    items: list[WorkflowOut]
    next_cursor: str | None


class RunOut(Schema):
    id: int
    workflow_id: int
    event_key: str
    trigger: str
    record_type: str
    status: Literal[tuple(RunStatus.values)]  # type: ignore[valid-type]
    attempts: int
    matched_count: int
    acted_count: int
    error: str
    step_counts: dict[str, int]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None


class StepOut(Schema):
    id: int
    record_type: str
    record_id: int
    action_index: int
    action_type: str
    outcome: Literal[tuple(StepOutcome.values)]  # type: ignore[valid-type]
    detail: str
    attempts: int
    created_at: datetime
    updated_at: datetime


class RunDetail(RunOut):
    matched_record_ids: list[int] = Field(description="The records that met the criteria (the first 1,000), those the caller may see")
    steps: list[StepOut]
    hidden_steps: int = Field(description="Steps on records the caller may not see")
    next_cursor: str | None
