from __future__ import annotations

from typing import Literal

from ninja import Field, Schema

from config.schemas import InputSchema, Timestamp

RecordTypeName = Literal["organizations", "contacts", "deals", "touchpoints"]


class ImportForm(InputSchema):
    record_type: RecordTypeName
    on_duplicate: Literal["skip", "update"] = Field("skip", description="A row matching an existing record (external id, email, phone; see docs/imports.md): skip it or update it.")
    day_first: bool = Field(False, description="Read 03-04-2026 as 3 April (default: March 4). ISO dates are always read as such.")
    mapping: str = Field(
        "",
        max_length=20000,
        description='JSON object of column header to field, overriding the detected mapping; "" ignores a column. '
        'Example: {"Surname": "last_name", "Notes": ""}',
    )


class ImportOut(Schema):
    id: int
    record_type: str
    filename: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(description="0 to 1: the share of the file read and committed")
    rows_done: int = Field(description="data rows read and committed so far")
    created: int
    updated: int
    skipped: int = Field(description="rows matching an existing record, skipped (on_duplicate=skip)")
    failed: int = Field(description="rows refused; the reasons are at errors_url")
    mapping: dict[str, str] = Field(description="column header -> field, as used")
    ignored_columns: list[str]
    on_duplicate: str
    day_first: bool
    error: str = Field(description="why the job stopped, when status is failed")
    errors_url: str
    created_by_id: int
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


class ImportPage(Schema):
    items: list[ImportOut]
    next_cursor: str | None
