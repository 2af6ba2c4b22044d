"""The condition builder: the web form for a condition tree, shared by
custom lists, workflow entry criteria and the Smart Alerts configuration.

It shows a tree the way Vtiger's list and workflow editors do: two
sections, "All of these conditions" (every one must hold) and "Any of
these conditions" (at least one must hold, when there are any), i.e. the
tree ``{"all": [a1, a2, ..., {"any": [b1, b2, ...]}]}``. The API accepts
any nesting; a tree the two sections cannot show (deeper groups) is kept
as it is (a hidden JSON input) and shown as text, with a pointer to the API.

Use in a page: ``builder = builder_context(record_type, tree, user=request.user)``
and, inside the page's ``<form>``, ``{% include "automation/_builder.html"
with builder=builder %}``; on POST, ``tree_from_form(request.POST)`` gives
the raw tree to pass to ``automation.conditions.check_tree``; on ``Invalid``
render again with ``builder_context(..., tree=raw, errors=exc.errors)`` and
each message shows on its row.

Adding or removing a row and changing a field re-render the builder on the
server (htmx ``POST /automation/builder``, the form's own values included),
so the operator and value inputs always fit the field, without page script.
A page whose record type can change (a new list) points its record-type
select at the same URL (see ``automation/_builder.html``'s docstring).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from automation.conditions import (
    CHOICE,
    COUNT,
    DATE,
    DATETIME,
    DAY_COUNT,
    NO_VALUE,
    NUMBER,
    OPERATOR_LABELS,
    OPERATORS,
    REGISTRY,
    TEXT,
    USER,
    describe,
)

SECTIONS = ("all", "any")
ROW_KEY = re.compile(r"^(?P<prefix>[a-z]+)-(?P<section>all|any)-(?P<index>\d{1,3})-field$")
MAX_ROWS = 50


@dataclass
class Row:
    section: str
    index: int
    field: str
    operator: str
    value: Any
    errors: list[str] = field(default_factory=list)


def _rows_of(tree: dict | None) -> tuple[list[dict], list[dict]] | None:
    """(all conditions, any conditions) of a tree the two sections can show,
    or None when it nests deeper."""
    if not tree:
        return [], []
    if "any" in tree and all("field" in c for c in tree["any"]):
        return [], list(tree["any"])
    if "all" not in tree:
        return None
    every, some = [], []
    for child in tree["all"]:
        if "field" in child:
            every.append(child)
        elif "any" in child and not some and all("field" in c for c in child["any"]):
            some = list(child["any"])
        else:
            return None
    return every, some


def form_record_type(data: QueryDict, prefix: str) -> str:
    """The record type the builder's inputs are about: its own hidden input,
    else the page's record-type select."""
    return data.get(f"{prefix}-record_type") or data.get("record_type") or ""


def tree_from_form(data: QueryDict, prefix: str = "c") -> dict:
    """The raw tree the builder's inputs describe (not yet checked)."""
    kept = data.get(f"{prefix}-json")
    if kept:
        try:
            return json.loads(kept)
        except ValueError:
            return {"all": [None]}  # check_tree names it
    record_type = form_record_type(data, prefix)
    fields = REGISTRY.get(record_type, {})
    rows = _form_rows(data, prefix, fields)
    every = [_condition(r, fields) for r in rows if r.section == "all"]
    some = [_condition(r, fields) for r in rows if r.section == "any"]
    return {"all": every + ([{"any": some}] if some else [])}


def _form_rows(data: QueryDict, prefix: str, fields: dict) -> list[Row]:
    rows = []
    for key in data:
        m = ROW_KEY.match(key)
        if not m or m["prefix"] != prefix:
            continue
        section, index = m["section"], int(m["index"])
        base = f"{prefix}-{section}-{index}"
        name = data.get(key, "")
        if not name or data.get(f"{base}-remove"):
            continue  # the blank "add a condition" row, or one ticked for removal (pages without JavaScript)
        operator = data.get(f"{base}-operator", "")
        spec = fields.get(name)
        multiple = operator == "in" and spec is not None and spec.type in (CHOICE, USER)
        value: Any = data.getlist(f"{base}-value") if multiple else data.get(f"{base}-value", "")
        rows.append(Row(section, index, name, operator, value))
    rows.sort(key=lambda r: (SECTIONS.index(r.section), r.index))
    return rows[:MAX_ROWS]


def _condition(row: Row, fields: dict) -> dict:
    spec = fields.get(row.field)
    operator = row.operator
    if spec is None:
        return {"field": row.field, "operator": operator, "value": row.value or None}
    if operator not in OPERATORS[spec.type]:  # kept as sent: check_tree names it
        return {"field": row.field, "operator": operator, "value": row.value or None}
    if operator in NO_VALUE:
        return {"field": row.field, "operator": operator, "value": None}
    return {"field": row.field, "operator": operator, "value": _typed(spec.type, operator, row.value)}


def _typed(kind: str, operator: str, raw: Any) -> Any:
    """The JSON value for a form string; what cannot be converted stays a
    string, for check_tree to name."""
    if operator == "in":
        # A multiple select sends one value each; a text input (and the
        # page without JavaScript) a comma-separated line.
        items = [p.strip() for item in (raw if isinstance(raw, list) else [raw]) for p in str(item).split(",")]
        return [_typed(kind, "equals", item) for item in items if item != ""] or None
    raw = raw.strip() if isinstance(raw, str) else raw
    if raw == "":
        return None
    if operator in DAY_COUNT or kind == COUNT or (kind == USER and raw != "me"):
        return int(raw) if isinstance(raw, str) and raw.isdigit() else raw
    return raw


def _value_input(kind: str, operator: str) -> str:
    if operator in NO_VALUE:
        return "none"
    if operator in DAY_COUNT:
        return "days"
    if operator in ("before", "after"):
        return "date"
    if kind in (CHOICE, USER):
        return "multiple" if operator == "in" else "select"
    if kind in (NUMBER, COUNT):
        return "number"
    return "text"


def builder_context(
    record_type: str,
    tree: dict | None = None,
    *,
    prefix: str = "c",
    errors: list[dict] | None = None,
    user=None,
    rows: list[Row] | None = None,
    zone: str = "",
) -> dict:
    """What ``automation/_builder.html`` renders. ``zone`` names whose
    calendar the date operators count in, when it is not the viewer's (a
    workflow's and an alert's: the company time zone)."""
    fields = REGISTRY.get(record_type, {})
    context: dict = {"prefix": prefix, "record_type": record_type, "known_type": bool(fields), "zone": zone[:80]}
    if rows is None:
        shown = _rows_of(tree)
        if shown is None:  # deeper than two sections: kept whole, shown as text
            context.update(kept_json=json.dumps(tree), kept_text=describe(record_type, tree) if fields else "")
            context["errors"] = [e["msg"] for e in errors or ()]
            return context
        rows = [Row("all", i, c.get("field", ""), c.get("operator", ""), c.get("value")) for i, c in enumerate(shown[0])]
        rows += [Row("any", i, c.get("field", ""), c.get("operator", ""), c.get("value")) for i, c in enumerate(shown[1])]
    general = _attach_errors(rows, errors or [])
    users = _user_choices(user) if any(fields.get(r.field) and fields[r.field].type == USER for r in rows) else []
    context.update(
        sections=[
            {"name": name, "title": title, "hint": hint, "rows": [_row_context(r, fields, prefix, users) for r in rows if r.section == name]}
            for name, title, hint in (
                ("all", "All of these conditions", "every one must hold"),
                ("any", "Any of these conditions", "at least one must hold"),
            )
        ],
        fields=[(f.name, f.label) for f in fields.values()],
        errors=general,
        # Without JavaScript the add/remove buttons cannot work: each section
        # offers a blank row to fill instead, and each row a Remove box.
        all_operators=list(OPERATOR_LABELS.items()),
    )
    for section in context["sections"]:
        section["next"] = f"{prefix}-{section['name']}-{max((r.index for r in rows if r.section == section['name']), default=-1) + 1}"
    return context


def _attach_errors(rows: list[Row], errors: list[dict]) -> list[str]:
    """Put each error on its row; the ones naming no row are returned."""
    n_all = sum(1 for r in rows if r.section == "all")
    by_place = {(r.section, position): r for section in SECTIONS for position, r in enumerate(x for x in rows if x.section == section)}
    general = []
    for e in errors:
        loc = [p for p in e.get("loc", ()) if p not in ("body", "conditions")]
        place = None
        if len(loc) >= 2 and loc[0] == "all" and isinstance(loc[1], int):
            if loc[1] < n_all:
                place = ("all", loc[1])
            elif len(loc) >= 4 and loc[2] == "any" and isinstance(loc[3], int):
                place = ("any", loc[3])
        elif len(loc) >= 2 and loc[0] == "any" and isinstance(loc[1], int):
            place = ("any", loc[1])
        row = by_place.get(place) if place else None
        if row is None:
            general.append(e.get("msg", ""))
        else:
            what = next((p for p in reversed(loc) if p in ("field", "operator", "value")), None)
            row.errors.append(f"{what}: {e.get('msg', '')}" if what else e.get("msg", ""))
    return general


def _row_context(row: Row, fields: dict, prefix: str, users: list[tuple[Any, str]]) -> dict:
    spec = fields.get(row.field)
    operators = [(op, OPERATOR_LABELS[op]) for op in OPERATORS[spec.type]] if spec else []
    operator = row.operator if spec and row.operator in OPERATORS[spec.type] else (operators[0][0] if operators else "")
    kind = spec.type if spec else TEXT
    widget = _value_input(kind, operator) if spec else "none"
    value = row.value
    values = [str(v) for v in value] if isinstance(value, list) else ([] if value is None else [str(value)])
    options: list[tuple[str, str]] = []
    if spec and spec.type == CHOICE:
        options = [(c, label) for c, label in spec.choices]
    elif spec and spec.type == USER:
        options = [("me", "Me (whoever views it)"), *((str(i), name) for i, name in users)]
    return {
        "base": f"{prefix}-{row.section}-{row.index}",
        "section": row.section,
        "index": row.index,
        "field": row.field,
        "operators": operators,
        "operator": operator,
        "widget": widget,
        "text_value": ", ".join(values) if widget in ("text", "number", "days", "date") else "",
        "values": values,
        "options": options,
        "step": "any" if kind == NUMBER else "1",
        "date_kind": kind in (DATE, DATETIME),
        "errors": row.errors,
    }


def _user_choices(user) -> list[tuple[int, str]]:
    if user is None:
        return []
    from crm.queries import owner_choices

    return owner_choices(user)


def apply_edit(data: QueryDict, prefix: str, action: str) -> list[Row]:
    """The builder's rows after an edit button: ``add:all``, ``add:any``,
    ``remove:all:3``; anything else just re-renders (a field changed)."""
    record_type = form_record_type(data, prefix)
    fields = REGISTRY.get(record_type, {})
    rows = _form_rows(data, prefix, fields)
    parts = action.split(":")
    if parts[0] == "add" and len(parts) == 2 and parts[1] in SECTIONS and len(rows) < MAX_ROWS:
        index = max((r.index for r in rows if r.section == parts[1]), default=-1) + 1
        first = next(iter(fields), "")
        rows.append(Row(parts[1], index, first, "", None))
    elif parts[0] == "remove" and len(parts) == 3 and parts[2].isdigit():
        rows = [r for r in rows if not (r.section == parts[1] and r.index == int(parts[2]))]
    for r in rows:  # a field changed: keep the operator only if the new field has it
        spec = fields.get(r.field)
        if spec and r.operator not in OPERATORS[spec.type]:
            r.operator, r.value = OPERATORS[spec.type][0], None
    return rows
