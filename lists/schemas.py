"""Request and response schemas of the custom lists API."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool

from automation.conditions import RECORD_TYPES
from config.schemas import ConditionTree, IdList, InputSchema, Name, Text
from lists.columns import MAX_COLUMNS

RecordTypeName = Literal[RECORD_TYPES]  # type: ignore[valid-type]
# Column and sort names are checked against the record type's columns by
# lists.services (a 422 naming ``columns.N`` / ``sort``), so the schema
# only bounds them.
ColumnName = Text(64, 1)
Columns = Annotated[list[ColumnName], Field(min_length=1, max_length=MAX_COLUMNS)]
SortKey = Text(65, 1)
Conditions = ConditionTree


class ListIn(InputSchema):
    name: Name
    record_type: RecordTypeName
    conditions: Conditions = {}
    columns: Columns | None = Field(None, description="Column names; the record type's default columns when left out")
    sort: SortKey | None = Field(None, description='A sortable column, "-" first for descending; default "-last_contacted_on"')
    shared_with_everyone: StrictBool = False
    shared_user_ids: IdList = []
    shared_team_ids: IdList = []


class ListPatch(InputSchema):
    """What to change; a field left out (or null) stays. The record type is
    fixed. ``shared_user_ids``/``shared_team_ids`` replace the set."""

    name: Name | None = None
    conditions: Conditions | None = None
    columns: Columns | None = None
    sort: SortKey | None = None
    shared_with_everyone: StrictBool | None = None
    shared_user_ids: IdList | None = None
    shared_team_ids: IdList | None = None


class ListOut(Schema):
    id: int
    name: str
    record_type: RecordTypeName
    conditions: dict[str, Any]
    description: str  # the tree in words
    columns: list[str]
    sort: str
    owner_id: int | None
    shared_with_everyone: bool
    shared_user_ids: list[int]
    shared_team_ids: list[int]
    can_edit: bool  # the caller may change or delete it (owner, admin)
    created_at: datetime
    updated_at: datetime


class ListPage(Schema):
    items: list[ListOut]
    next_cursor: str | None


class ColumnOut(Schema):
    name: str
    label: str
    type: str


class RecordsPage(Schema):
    list_id: int
    record_type: RecordTypeName
    columns: list[ColumnOut]
    # One object per record: "id" and one key per column. Values are raw:
    # ids (owner), stored choice values, decimals as strings, ISO 8601 dates
    # and datetimes (UTC), counts as integers, null when empty.
    items: list[dict[str, str | int | None]]
    next_cursor: str | None
