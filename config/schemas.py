"""Shared API types: bounded ids, safe strings and datetimes, error bodies.

Every input is bounded so that no request can reach the database with a
value it cannot store: ids within 2**53 (also safe for JavaScript clients),
strings without NUL characters or lone surrogates (PostgreSQL rejects
both), datetimes with an explicit offset between 1900 and 2200.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from ninja import Schema
from ninja.params import P, Path, Query
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints

MAX_ID = 2**53 - 1
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _storable_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 1900-01-01 and 2200-01-01")
    return value.astimezone(UTC)


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length), AfterValidator(_storable_text)]


Name = Text(200, 1)
ShortText = Text(200)
LongText = Text(20_000)
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdList = Annotated[list[Id], Field(max_length=100)]
RecordId = Path[int, P(ge=1, le=MAX_ID)]
Limit = Query[int, P(ge=1, le=200)]
Cursor = Query[str | None, P(max_length=500)]


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


ERRORS = {400: Message, 401: Message, 403: Message, 404: Message, 409: Message, 422: ValidationErrors}


def responses(ok: dict) -> dict:
    return {**ok, **ERRORS}
