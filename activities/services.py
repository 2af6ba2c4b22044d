"""Writes for events and tasks.

An event is planned work until it is marked Held or Not Held; from then on
it is also a touchpoint of kind "event" (source "event", external_id the
event's id), and every later change to the event — status, time, emoticon,
links — is applied to that same touchpoint through touchpoints.services, so
timelines and Last Contacted follow. Setting an event back to Planned takes
its touchpoint out of the log again.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activities.models import Event, EventStatus, Task, TaskStatus
from activities.permissions import visible_events, visible_tasks
from alerts.services import do_resolve_alerts_of
from audit import log as audit
from config.errors import Forbidden, Invalid, NotFound
from crm.models import Contact, Deal, Organization
from crm.permissions import can_delete, check_can_reassign, check_owner, get_visible, visible
from touchpoints import services as touchpoint_services
from touchpoints.rules import Kind, Source

EVENT_FIELDS = ("subject", "event_type", "status", "start_at", "end_at", "description", "emoticon")
TASK_FIELDS = ("title", "description", "due_date", "status")


def _get(qs, record_id: int, name: str):
    record = qs.filter(id=record_id).first()
    if record is None:
        raise NotFound(f"{name} {record_id} not found")
    return record


def _apply(record, data: dict, fields) -> None:
    for name in fields:
        if name in data and data[name] is not None:
            setattr(record, name, data[name])


def _set_event_links(actor: User, event: Event, data: dict) -> None:
    if "deal_id" in data:
        event.deal = get_visible(Deal, actor, data["deal_id"], loc=("deal_id",)) if data["deal_id"] is not None else None
    if "organization_id" in data:
        event.organization = (
            get_visible(Organization, actor, data["organization_id"], loc=("organization_id",)) if data["organization_id"] is not None else None
        )


MAX_EVENT_SECONDS = 10_000_000  # ~115 days, the touchpoint duration bound


def _check_event(event: Event) -> None:
    if event.end_at < event.start_at:
        raise Invalid.field(("end_at",), "must not be before start_at")
    if (event.end_at - event.start_at).total_seconds() > MAX_EVENT_SECONDS:
        raise Invalid.field(("end_at",), "an event lasts at most 115 days")
    if event.emoticon is not None and event.status != EventStatus.HELD:
        # "Emoticons can be attached to events marked as Held"
        raise Invalid.field(("emoticon",), "only a held event carries an emoticon")


def _touchpoint_fields(event: Event, contact_ids: list[int]) -> dict:
    return {
        "status": event.status,
        "occurred_at": event.start_at,
        "duration_seconds": int((event.end_at - event.start_at).total_seconds()),
        "subject": event.subject,
        "summary": event.description,
        "emoticon": event.emoticon,
        "event_type": event.event_type,
        "owner_id": event.owner_id,
        "contact_ids": contact_ids,
        "organization_ids": [event.organization_id] if event.organization_id else [],
        "deal_ids": [event.deal_id] if event.deal_id else [],
    }


def sync_event_touchpoint(event: Event) -> None:
    """Make the log agree with the event (see module docstring)."""
    contact_ids = list(event.contacts.values_list("id", flat=True))
    if event.status == EventStatus.PLANNED:
        if event.touchpoint_id is not None:
            touchpoint_id = event.touchpoint_id
            Event.objects.filter(id=event.id).update(touchpoint=None)
            event.touchpoint_id = None
            touchpoint_services.delete_touchpoint(None, touchpoint_id, checked=True)
        return
    fields = _touchpoint_fields(event, contact_ids)
    new = touchpoint_services.NewTouchpoint(kind=Kind.EVENT, source=Source.EVENT, external_id=str(event.id), **fields)
    touchpoint_id = touchpoint_services.keep_derived_touchpoint(event.touchpoint_id, new, fields)
    if event.touchpoint_id is None:
        event.touchpoint_id = touchpoint_id
        Event.objects.filter(id=event.id).update(touchpoint_id=touchpoint_id)


@transaction.atomic
def do_create_event(actor: User, data: dict) -> Event:
    event = Event(owner_id=check_owner(actor, data.get("owner_id")))
    _apply(event, data, EVENT_FIELDS)
    _set_event_links(actor, event, data)
    _check_event(event)
    event.save()
    if data.get("contact_ids"):
        event.contacts.set(_visible_contacts(actor, data["contact_ids"]))
    sync_event_touchpoint(event)
    audit.log_created(actor, "event", event)
    return event


def _visible_contacts(actor: User, contact_ids: list[int]) -> list[int]:

    found = set(visible(Contact, actor).filter(id__in=contact_ids).values_list("id", flat=True))
    for i, cid in enumerate(contact_ids):
        if cid not in found:
            raise Invalid.field(("contact_ids", i), f"contact {cid} not found")
    return list(dict.fromkeys(contact_ids))


@transaction.atomic
def do_update_event(actor: User, event_id: int, data: dict) -> Event:
    event = _get(visible_events(actor).select_for_update(of=("self",)), event_id, "event")
    before = audit.snapshot("event", event)
    if "owner_id" in data and data["owner_id"] != event.owner_id:
        check_can_reassign(actor, event)
        event.owner_id = check_owner(actor, data["owner_id"])
    if data.get("status") is not None and data["status"] != EventStatus.HELD and "emoticon" not in data:
        event.emoticon = None  # an emoticon belongs to a held event only
    if "emoticon" in data:
        event.emoticon = data["emoticon"]
    _apply(event, data, tuple(f for f in EVENT_FIELDS if f != "emoticon"))
    _set_event_links(actor, event, data)
    _check_event(event)
    event.save()
    if data.get("contact_ids") is not None:
        event.contacts.set(_visible_contacts(actor, data["contact_ids"]))
    sync_event_touchpoint(event)
    audit.log_updated(actor, "event", event, before)
    return event


@transaction.atomic
def do_delete_event(actor: User, event_id: int) -> None:
    """Deleting an event deletes the touchpoint it became: a meeting that is
    deleted was, for the CRM's purposes, entered by mistake."""
    event = _get(visible_events(actor).select_for_update(of=("self",)), event_id, "event")
    if not can_delete(actor, event):
        raise Forbidden("only the owner, an admin or a manager may delete this event")
    touchpoint_id = event.touchpoint_id
    do_resolve_alerts_of("event", event.id)
    audit.log_deleted(actor, "event", event)
    event.delete()
    if touchpoint_id is not None:
        touchpoint_services.delete_touchpoint(None, touchpoint_id, checked=True)


# --- tasks ----------------------------------------------------------------------


def _set_task_links(actor: User, task: Task, data: dict) -> None:
    for name, model in (("deal_id", Deal), ("organization_id", Organization), ("contact_id", Contact)):
        if name in data:
            setattr(task, name, get_visible(model, actor, data[name], loc=(name,)).id if data[name] is not None else None)


def _stamp_completion(task: Task) -> None:
    if task.status == TaskStatus.COMPLETED:
        task.completed_at = task.completed_at or timezone.now()
    else:
        task.completed_at = None


@transaction.atomic
def do_create_task(actor: User, data: dict) -> Task:
    task = Task(owner_id=check_owner(actor, data.get("owner_id")))
    _apply(task, data, TASK_FIELDS)
    _set_task_links(actor, task, data)
    _stamp_completion(task)
    task.save()
    audit.log_created(actor, "task", task)
    return task


@transaction.atomic
def do_update_task(actor: User, task_id: int, data: dict) -> Task:
    task = _get(visible_tasks(actor).select_for_update(of=("self",)), task_id, "task")
    before = audit.snapshot("task", task)
    if "owner_id" in data and data["owner_id"] != task.owner_id:
        check_can_reassign(actor, task)
        task.owner_id = check_owner(actor, data["owner_id"])
    _apply(task, data, TASK_FIELDS)
    _set_task_links(actor, task, data)
    _stamp_completion(task)
    task.save()
    audit.log_updated(actor, "task", task, before)
    return task


@transaction.atomic
def do_delete_task(actor: User, task_id: int) -> None:
    task = _get(visible_tasks(actor).select_for_update(of=("self",)), task_id, "task")
    if not can_delete(actor, task):
        raise Forbidden("only the owner, an admin or a manager may delete this task")
    do_resolve_alerts_of("task", task.id)
    audit.log_deleted(actor, "task", task)
    task.delete()
