"""A list row's values, for the API, the CSV export and the list page.

The API gives raw values (ids, stored choice values, ISO datetimes in UTC);
the export and the page give what a person reads (the owner's name, choice
labels, datetimes in the viewer's zone). A contact's or deal's organization
is named only when the viewer may open it (as on the record lists).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.template.defaultfilters import floatformat

from automation.conditions import DATETIME, NUMBER
from lists.columns import Column, TITLE_COLUMNS

# A spreadsheet reads a cell starting with one of these as a formula (CSV
# injection, OWASP): such text cells get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _get(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else getattr(row, key)


def raw_value(column: Column, row: Any) -> Any:
    if column.name == "organization_name" and not _get(row, "organization_visible"):
        return None
    return _get(row, column.key)


def owner_name(row: Any) -> str:
    if _get(row, "owner_id") is None:
        return ""
    full = f"{_get(row, 'list_owner_first_name')} {_get(row, 'list_owner_last_name')}".strip()
    return full or _get(row, "list_owner_username")


def api_item(columns: list[Column], row: Any) -> dict[str, str | int | None]:
    item: dict[str, str | int | None] = {"id": _get(row, "id")}
    for column in columns:
        value = raw_value(column, row)
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        item[column.name] = value
    return item


def _readable(column: Column, row: Any, tz: ZoneInfo) -> Any:
    """The value as a person reads it, or None when empty."""
    if column.name == "owner":
        return owner_name(row) or None
    value = raw_value(column, row)
    if value is None or value == "":
        return None
    if column.choices:
        return column.choice_labels.get(value, value)
    return value


def csv_cell(column: Column, row: Any, tz: ZoneInfo) -> str:
    value = _readable(column, row, tz)
    if value is None:
        return ""
    if isinstance(value, datetime):
        # ISO 8601 with the viewer's offset: unambiguous, and the viewer's clock.
        return value.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, (date, Decimal, int)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def xlsx_cell(column: Column, row: Any, tz: ZoneInfo) -> Any:
    """The value a spreadsheet cell holds: numbers as numbers, datetimes in
    the viewer's clock (a sheet has no time zones; the header says which),
    text as text (``lists.export`` types it, so it is never a formula)."""
    value = _readable(column, row, tz)
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None)
    if value is None or isinstance(value, (date, Decimal, int, float)):
        return value
    return str(value)


def page_cell(column: Column, row: Any, tz: ZoneInfo) -> dict:
    """{"text", "link"}: the cell's text, and whether it links to the record."""
    value = _readable(column, row, tz)
    if value is None:
        text = ""
    elif column.type == DATETIME and isinstance(value, datetime):
        text = value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    elif column.type == NUMBER:
        text = floatformat(value, "0g")
    else:
        text = str(value)
    return {"text": text, "link": column.name in TITLE_COLUMNS}
