"""A plain-Python reading of a checked condition tree, for the tests only.

It judges one record, given as a dict of its field values (the values the
test itself wrote to the database, counts included), and follows the
semantics written in the ``automation.conditions`` module docstring. It is
deliberately written without the compiler's helpers (no ``_compile``, no
``_condition``, no ``Context.midnight``): local calendar days come from
converting each stored instant to the zone, not from comparing with
computed midnights, so the two readings can disagree when one is wrong.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from automation.conditions import REGISTRY, Context

# Field types, spelled out here rather than imported, so a renamed type in
# the engine shows up as a failing test rather than a silently shared bug.
TEXT, CHOICE, NUMBER, COUNT, DATETIME, DATE, USER = "text", "choice", "number", "count", "datetime", "date", "user"


def evaluate(record_type: str, tree: dict, values: dict[str, Any], ctx: Context) -> bool:
    """Whether the record whose field values are ``values`` satisfies the
    checked ``tree`` for ``ctx``."""
    if "all" in tree:
        return all(evaluate(record_type, child, values, ctx) for child in tree["all"])
    if "any" in tree:
        return any(evaluate(record_type, child, values, ctx) for child in tree["any"])
    field_type = REGISTRY[record_type][tree["field"]].type
    return holds(field_type, tree["operator"], tree["value"], values[tree["field"]], ctx)


def holds(field_type: str, operator: str, value: Any, actual: Any, ctx: Context) -> bool:
    if operator in ("is_empty", "is_not_empty"):
        empty = actual is None or (field_type == TEXT and actual == "")
        return empty if operator == "is_empty" else not empty
    if field_type == TEXT:
        return _text(operator, value, actual)
    if field_type in (DATETIME, DATE):
        return _calendar(field_type, operator, value, actual, ctx)
    if field_type == USER:
        value = [_user(v, ctx) for v in value] if operator == "in" else _user(value, ctx)
    if field_type == NUMBER:
        value = Decimal(value)
        actual = None if actual is None else Decimal(actual)
    if operator == "not_equals":
        # An empty value differs from everything (and "me" with nobody signed
        # in is nobody: every record's owner differs from it).
        return actual is None or value is None or actual != value
    if actual is None:
        return False
    if operator == "equals":
        return value is not None and actual == value
    if operator == "in":
        return actual in [v for v in value if v is not None]
    if operator == "greater_than":
        return actual > value
    if operator == "less_than":
        return actual < value
    raise AssertionError(f"unexpected operator {operator} for {field_type}")


def _user(value: Any, ctx: Context) -> int | None:
    return ctx.user_id if value == "me" else value


def _fold(text: str) -> str:
    # ASCII letters only: what SQLite's LOWER and LIKE fold (the docstring's
    # promise where both databases agree). The tests keep to ASCII.
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _text(operator: str, value: Any, actual: str | None) -> bool:
    if operator == "not_equals":
        return actual is None or _fold(actual) != _fold(value)
    if actual is None:
        return False
    if operator == "equals":
        return _fold(actual) == _fold(value)
    if operator == "in":
        return _fold(actual) in {_fold(v) for v in value}
    if operator == "contains":
        return _fold(value) in _fold(actual)
    raise AssertionError(f"unexpected text operator {operator}")


def local_day(field_type: str, actual: date | datetime, ctx: Context) -> date:
    """The calendar day of a stored value in the context's zone."""
    if field_type == DATE:
        return actual
    assert actual.tzinfo is not None, "stored datetimes are aware"
    return actual.astimezone(ctx.tz).date()


def _calendar(field_type: str, operator: str, value: Any, actual: date | datetime | None, ctx: Context) -> bool:
    if actual is None:
        return False
    day = local_day(field_type, actual, ctx)
    today = ctx.now.astimezone(ctx.tz).date()
    if operator == "before":
        return day < date.fromisoformat(value)
    if operator == "after":
        return day > date.fromisoformat(value)
    if operator == "today":
        return day == today
    if operator == "within_last_days":
        return today - timedelta(days=value) <= day <= today
    if operator == "more_than_days_ago":
        return day < today - timedelta(days=value)
    raise AssertionError(f"unexpected date operator {operator}")
