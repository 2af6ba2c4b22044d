"""Shared API types: bounded ids, safe strings and datetimes, error bodies.

Every input is bounded so that no request can reach the database with a
value it cannot store: ids within 2**53 (also safe for JavaScript clients),
strings without NUL characters or lone surrogates (PostgreSQL rejects
both), datetimes with an explicit offset in the years 1900-2199.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from ninja import Schema
from ninja.params import P, Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

MAX_ID = 2**53 - 1
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(2200, 1, 1)


def _storable_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


# Dates and times are ISO 8601 strings in years 1900-2199: any later or
# earlier is a typo, and the bound keeps conversions to UTC from overflowing.
# The schema says so with a pattern; _iso_text enforces the same (pydantic
# would otherwise also read a JSON number, or a numeric query string, as a
# Unix timestamp).
YEAR_PATTERN = r"^(19|20|21)[0-9]{2}-"
NO_NUL_PATTERN = r"^[^\x00]*$"


def _iso_text(value):
    if isinstance(value, (date, datetime)):  # a value from Python, not from a request
        return value
    if not isinstance(value, str) or not re.match(YEAR_PATTERN, value):
        raise ValueError("must be an ISO 8601 date between 1900 and 2199")
    return value


def _in_range(value: datetime) -> datetime:
    # Wall-clock time, so the bound is the same whatever the offset and
    # matches YEAR_PATTERN exactly.
    if not EARLIEST <= value.replace(tzinfo=None) < LATEST:
        raise ValueError("must be between 1900-01-01 and 2200-01-01")
    return value.astimezone(UTC)


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length),
        AfterValidator(_storable_text),
        Field(json_schema_extra={"pattern": NO_NUL_PATTERN}),
    ]


Name = Text(200, 1)
ShortText = Text(200)
LongText = Text(20_000)
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}),
]
Day = Annotated[
    date,
    BeforeValidator(_iso_text),
    Field(ge=date(1900, 1, 1), lt=date(2200, 1, 1)),
    WithJsonSchema({"type": "string", "format": "date", "pattern": YEAR_PATTERN}),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdList = Annotated[list[Id], Field(max_length=100)]
RecordId = Path[int, P(ge=1, le=MAX_ID)]
Limit = Query[int, P(ge=1, le=200)]
Cursor = Query[str | None, P(max_length=500)]


def JsonObject(max_properties: int, description: str | None = None):  # noqa: N802 - a type factory
    """A JSON object whose keys and values a service checks on save (a
    condition tree, an action's params). The schema bounds how many keys it
    has; its contents are bounded by the service's own limits (depth, items,
    text length) and the whole body by REQUEST_MAX_BYTES (config.security)."""
    return Annotated[dict[str, Any], Field(max_length=max_properties, description=description)]


# A condition tree (automation.conditions): a group {"all": [...]} / {"any": [...]}
# has one key, a bare condition {field, operator, value} three.
ConditionTree = JsonObject(
    3,
    'A condition tree: {"all": [...]} or {"any": [...]} of groups and conditions '
    '{"field", "operator", "value"} (see docs/automation.md). {} matches every record.',
)


class InputSchema(Schema):
    """Request bodies reject fields they do not know."""

    model_config = ConfigDict(extra="forbid")


class Message(Schema):
    detail: str


class ErrorItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(Schema):
    detail: list[ErrorItem]


# 413: a body over REQUEST_MAX_BYTES (or an upload over its own limit), in
# the 422 shape naming "body" or the upload's field (config.security).
ERRORS = {400: Message, 401: Message, 403: Message, 404: Message, 409: Message, 413: ValidationErrors, 422: ValidationErrors}


def responses(ok: dict) -> dict:
    return {**ok, **ERRORS}
