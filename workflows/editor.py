"""The workflow page's form: its fields, the ordered actions' inputs, and
turning them into the data workflows.services checks.

Action inputs are named ``a-<n>-type`` and ``a-<n>-<param>``; adding,
removing, moving an action and changing its type re-render the actions
block on the server (htmx ``POST /workflows/actions``) from the form's own
values, as the condition builder does, so nothing is stored until the
page's form is saved and the page needs no script of its own.
"""
from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict

from activities.models import EventType
from automation.builder import tree_from_form
from crm.models import DealStage
from emails.models import EmailTemplate
from workflows.actions import ACTION_LABELS, ACTION_TYPES, ASSIGNEES, MAX_ACTIONS, PARAMS, UPDATABLE
from workflows.models import Trigger

ACTION_KEY = re.compile(r"^a-(?P<index>\d{1,2})-type$")
INTEGER_PARAMS = {"due_in_days", "start_in_days", "duration_minutes"}
ASSIGNEE_LABELS = {"record_owner": "The record's owner", "deal_owners": "The owners of its open deals"}
FIELD_LABELS = {
    "name": "Name",
    "industry": "Industry",
    "website": "Website",
    "phone": "Phone",
    "owner_id": "Owner",
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Title",
    "stage": "Stage",
    "amount": "Amount",
    "expected_close_date": "Expected close date",
}
DEFAULTS = {
    "update_field": {"field": "", "value": ""},
    "create_task": {"title": "", "description": "", "due_in_days": 0, "assign_to": "deal_owners"},
    "create_event": {"subject": "", "description": "", "event_type": "meeting", "start_in_days": 1, "start_time": "09:00", "duration_minutes": 30, "assign_to": "deal_owners"},
    "send_email": {"template_id": "", "subject": "", "body": ""},
    "send_sms": {"text": ""},
    "notify": {"to": "record_owner", "title": "", "body": ""},
    "webhook": {"url": ""},
}


def _integer(raw: str) -> Any:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else raw  # not a number: kept for the check to name


def actions_from_form(data: QueryDict) -> list[dict]:
    """The raw actions the inputs describe, in order (not yet checked)."""
    found = sorted(int(m["index"]) for key in data if (m := ACTION_KEY.match(key)))
    actions = []
    for index in found[:MAX_ACTIONS]:
        kind = data.get(f"a-{index}-type", "")
        params: dict[str, Any] = {}
        for name in sorted(PARAMS.get(kind, ())):
            key = f"a-{index}-{name}"
            if key not in data:
                continue
            raw = data.get(key, "")
            if name in INTEGER_PARAMS:
                params[name] = _integer(raw)
            elif name == "template_id":
                params[name] = _integer(raw) if raw.strip() else None
            elif name == "to":
                params[name] = raw if raw in ASSIGNEES else _integer(raw)
            else:
                params[name] = raw
        if kind == "update_field":
            params["value"] = _field_value(params.get("field", ""), params.get("value", ""))
        actions.append({"type": kind, "params": params})
    return actions


def _field_value(field: str, raw: str) -> Any:
    if field == "owner_id":
        return _integer(raw) if raw else None
    if field in ("amount", "expected_close_date"):
        return raw.strip() or None  # empty clears it
    return raw


def workflow_from_form(data: QueryDict) -> dict:
    """The page's form as the service's data (``active``/``reenroll``
    are checkboxes: absent is off)."""
    trigger = data.get("trigger", "")
    return {
        "name": data.get("name", ""),
        "record_type": data.get("record_type", ""),
        "trigger": trigger,
        "schedule_time": (data.get("schedule_time") or "")[:5] or None if trigger == Trigger.SCHEDULE else None,
        "conditions": tree_from_form(data),
        "actions": actions_from_form(data),
        "active": data.get("active") == "on",
        "reenroll": data.get("reenroll") == "on",
    }


def apply_edit(actions: list[dict], edit: str) -> list[dict]:
    """``add:<type>``, ``remove:<n>``, ``up:<n>``; anything else (a type
    changed) re-renders as they are."""
    parts = edit.split(":")
    if parts[0] == "add" and len(parts) == 2 and parts[1] in ACTION_TYPES and len(actions) < MAX_ACTIONS:
        actions = [*actions, {"type": parts[1], "params": dict(DEFAULTS[parts[1]])}]
    elif parts[0] in ("remove", "up") and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) < len(actions):
        index = int(parts[1])
        actions = list(actions)
        if parts[0] == "remove":
            del actions[index]
        elif index > 0:
            actions[index - 1], actions[index] = actions[index], actions[index - 1]
    return actions


def _errors_by_action(errors: list[dict]) -> tuple[dict[int, dict[str, list[str]]], list[str]]:
    """Errors of ``actions.<n>...`` by action and input, and those naming no action."""
    by_action: dict[int, dict[str, list[str]]] = {}
    general = []
    for e in errors:
        loc = [p for p in e["loc"] if p != "body"]
        if len(loc) >= 2 and loc[0] == "actions" and isinstance(loc[1], int):
            name = str(loc[3]) if len(loc) >= 4 and loc[2] == "params" else (str(loc[2]) if len(loc) >= 3 else "type")
            by_action.setdefault(loc[1], {}).setdefault(name, []).append(e["msg"])
        elif loc[:1] == ["actions"]:
            general.append(e["msg"])
    return by_action, general


def actions_context(record_type: str, actions: list[dict], *, errors: list[dict] | None = None, users: list[tuple[int, str]] = ()) -> dict:
    """What ``workflows/_actions.html`` renders."""
    by_action, general = _errors_by_action(errors or [])
    fields = [(name, FIELD_LABELS[name]) for name in UPDATABLE.get(record_type, {})]
    rows = []
    for index, action in enumerate(actions):
        kind = action.get("type") if action.get("type") in ACTION_TYPES else "notify"
        params = {**DEFAULTS[kind], **{k: v for k, v in (action.get("params") or {}).items() if k in DEFAULTS[kind]}}
        params = {k: "" if v is None else str(v) for k, v in params.items()}
        mine = by_action.get(index, {})
        rows.append(
            {
                "index": index,
                "type": kind,
                "label": ACTION_LABELS[kind],
                "params": params,
                "errors": {name: mine.get(name, []) for name in [*DEFAULTS[kind], "type"]},
                "other_errors": [m for name, msgs in mine.items() if name not in DEFAULTS[kind] and name != "type" for m in msgs],
                "first": index == 0,
            }
        )
    return {
        "rows": rows,
        "types": [(t, ACTION_LABELS[t]) for t in ACTION_TYPES],
        "fields": fields,
        "stages": list(DealStage.choices),
        "event_types": list(EventType.choices),
        "assignees": list(ASSIGNEE_LABELS.items()),
        "users": [(str(i), name) for i, name in users],
        "templates": [(str(i), name) for i, name in EmailTemplate.objects.order_by("name", "id").values_list("id", "name")[:500]]
        if any(r["type"] == "send_email" for r in rows)
        else [],
        "record_type": record_type,
        "errors": general,
        "full": len(actions) >= MAX_ACTIONS,
    }


def form_errors(errors: list[dict]) -> tuple[dict[str, list[str]], list[dict]]:
    """The page's own fields' errors by name, and the conditions' errors
    (for the builder: builder_context(errors=...))."""
    fields: dict[str, list[str]] = {name: [] for name in ("name", "record_type", "trigger", "schedule_time")}
    conditions = []
    for e in errors:
        loc = [p for p in e["loc"] if p != "body"]
        if loc[:1] == ["conditions"]:
            conditions.append(e)
        elif loc and loc[0] in fields:
            fields[loc[0]].append(e["msg"])
    return fields, conditions
