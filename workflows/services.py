"""Every write of workflow definitions.

Admins and managers create, edit and delete workflows (they act on every
record, as their editor: workflows.runner.actor_of); everyone may read
them and their run log (docs/automation.md, "Workflows").
"""
from __future__ import annotations

import secrets
from datetime import time

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from automation.conditions import RECORD_TYPES, check_tree
from config.errors import Forbidden, Invalid, NotFound, error
from workflows.actions import check_actions
from workflows.models import Trigger, Workflow
from workflows.runner import company_tz, latest_slot

FIELDS = ("name", "record_type", "trigger", "schedule_time", "conditions", "actions", "active", "reenroll")


def check_can_edit(actor: User) -> None:
    if not actor.sees_everything:
        raise Forbidden("only admins and managers create, change or delete workflows")


def _parse_time(value, errors: list) -> time | None:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str) and len(value) == 5:
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    errors.append(error(("schedule_time",), "must be a time of day HH:MM (24-hour)"))
    return None


def _storable(value, loc: tuple) -> list[dict]:
    """Strings PostgreSQL's jsonb can store: no NUL, no lone surrogate
    (walked without recursion: the tree's depth is the client's)."""
    errors, stack = [], [(value, loc)]
    while stack and len(errors) < 10:
        item, here = stack.pop()
        if isinstance(item, dict):
            stack += [(v, (*here, str(k))) for k, v in item.items()] + [(k, here) for k in item]
        elif isinstance(item, list):
            stack += [(v, (*here, i)) for i, v in enumerate(item)]
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                errors.append(error(here, "must be valid Unicode text"))
                continue
            if "\x00" in item:
                errors.append(error(here, "must not contain NUL characters"))
    return errors


def check_workflow(data: dict) -> dict:
    """The definition normalized, or Invalid naming every bad field
    (``conditions.all.0.value``, ``actions.1.params.title``)."""
    errors: list[dict] = []
    clean = dict(data)
    name = (data.get("name") or "").strip()
    if not name:
        errors.append(error(("name",), "must not be empty"))
    elif len(name) > 200:
        errors.append(error(("name",), "at most 200 characters"))
    clean["name"] = name
    record_type = data.get("record_type")
    if record_type not in RECORD_TYPES:
        raise Invalid([*errors, error(("record_type",), f"must be one of: {', '.join(RECORD_TYPES)}")])
    if data.get("trigger") not in Trigger.values:
        errors.append(error(("trigger",), f"must be one of: {', '.join(Trigger.values)}"))
    if data.get("trigger") == Trigger.SCHEDULE:
        if data.get("schedule_time") is None:
            errors.append(error(("schedule_time",), "a scheduled workflow needs its time of day, HH:MM"))
        else:
            clean["schedule_time"] = _parse_time(data["schedule_time"], errors)
    else:
        clean["schedule_time"] = None
    for name_ in ("conditions", "actions"):
        bad = _storable(data.get(name_), (name_,))
        if bad:
            raise Invalid([*errors, *bad])
    for name_, check in (("conditions", lambda: check_tree(record_type, data.get("conditions"))), ("actions", lambda: check_actions(record_type, data.get("actions")))):
        try:
            clean[name_] = check()
        except Invalid as exc:
            errors.extend(exc.errors)
    if not errors and not clean["actions"]:
        errors.append(error(("actions",), "a workflow does at least one thing"))
    if errors:
        raise Invalid(errors)
    return clean


def _take_current_slot(workflow: Workflow) -> None:
    # A schedule starts with its next slot: saving at 10:00 a workflow due
    # "daily at 09:00" (or turning it back on) does not run it at once for
    # this morning's slot, nor for the days it was off.
    if workflow.trigger == Trigger.SCHEDULE and workflow.active and workflow.schedule_time is not None:
        workflow.last_slot = latest_slot(workflow, timezone.now(), company_tz())


@transaction.atomic
def do_create_workflow(actor: User, data: dict) -> Workflow:
    check_can_edit(actor)
    clean = check_workflow({"conditions": {}, "active": True, "reenroll": False, **data})
    workflow = Workflow(created_by=actor, updated_by=actor, secret=secrets.token_hex(32))
    for name in FIELDS:
        setattr(workflow, name, clean[name])
    _take_current_slot(workflow)
    workflow.save()
    return workflow


def get_workflow(workflow_id: int, *, for_update: bool = False) -> Workflow:
    qs = Workflow.objects.select_for_update() if for_update else Workflow.objects
    workflow = qs.filter(id=workflow_id).first()
    if workflow is None:
        raise NotFound(f"workflow {workflow_id} not found")
    return workflow


@transaction.atomic
def do_update_workflow(actor: User, workflow_id: int, data: dict) -> Workflow:
    """Only the given fields change; the whole definition is checked again
    (a new record type must suit the conditions and actions)."""
    workflow = get_workflow(workflow_id, for_update=True)
    check_can_edit(actor)
    current = {name: getattr(workflow, name) for name in FIELDS}
    clean = check_workflow({**current, **{k: v for k, v in data.items() if k in FIELDS}})
    rescheduled = any(clean[k] != current[k] for k in ("trigger", "schedule_time")) or (clean["active"] and not current["active"])
    for name in FIELDS:
        setattr(workflow, name, clean[name])
    if rescheduled:
        _take_current_slot(workflow)
    workflow.updated_by = actor
    workflow.save()
    return workflow


@transaction.atomic
def do_delete_workflow(actor: User, workflow_id: int) -> None:
    """Its runs and their log go with it."""
    workflow = get_workflow(workflow_id, for_update=True)
    check_can_edit(actor)
    workflow.delete()
