"""REST endpoints for events, tasks and each record's Up Next."""
from __future__ import annotations


from ninja import Query, Router, Status

from activities import queries, services
from activities.models import Event
from activities.permissions import visible_events, visible_tasks
from activities.schemas import (
    EventIn,
    EventOut,
    EventPage,
    EventPatch,
    EventStatusName,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskStatusName,
    UpNextOut,
)
from config.errors import NotFound
from config.schemas import Cursor, Id, InputSchema, Limit, RecordId, responses
from crm.models import Contact, Deal, Organization
from crm.permissions import get_visible

router = Router()


class ActivityFilters(InputSchema):
    owner_id: Id | None = None
    deal_id: Id | None = None
    organization_id: Id | None = None
    contact_id: Id | None = None


class EventFilters(ActivityFilters):
    status: EventStatusName | None = None


class TaskFilters(ActivityFilters):
    status: TaskStatusName | None = None


def _event(event_id: int) -> dict:
    return queries.event_out(Event.objects.prefetch_related("contacts").get(id=event_id))


@router.get("/events", response=responses({200: EventPage}), tags=["events"])
def list_events(request, filters: Query[EventFilters], cursor: Cursor = None, limit: Limit = 50):
    page = queries.list_events(request.auth, queries.ActivityFilters(**filters.dict()), cursor, limit)
    return {"items": [queries.event_out(e) for e in page.items], "next_cursor": page.next_cursor}


@router.post("/events", response=responses({201: EventOut}), tags=["events"])
def create_event(request, payload: EventIn):
    """Create an event. One created as Held or Not Held (logging a past
    meeting) becomes a touchpoint at once."""
    return Status(201, _event(services.do_create_event(request.auth, payload.dict()).id))


@router.get("/events/{event_id}", response=responses({200: EventOut}), tags=["events"])
def get_event(request, event_id: RecordId):
    if not visible_events(request.auth).filter(id=event_id).exists():
        raise NotFound(f"event {event_id} not found")
    return _event(event_id)


@router.patch("/events/{event_id}", response=responses({200: EventOut}), tags=["events"])
def update_event(request, event_id: RecordId, payload: EventPatch):
    """Update an event; marking it Held or Not Held logs it as a touchpoint,
    and later changes update that touchpoint."""
    services.do_update_event(request.auth, event_id, payload.dict(exclude_unset=True))
    return _event(event_id)


@router.delete("/events/{event_id}", response=responses({204: None}), tags=["events"])
def delete_event(request, event_id: RecordId):
    services.do_delete_event(request.auth, event_id)
    return Status(204, None)


@router.get("/tasks", response=responses({200: TaskPage}), tags=["tasks"])
def list_tasks(request, filters: Query[TaskFilters], cursor: Cursor = None, limit: Limit = 50):
    page = queries.list_tasks(request.auth, queries.ActivityFilters(**filters.dict()), cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/tasks", response=responses({201: TaskOut}), tags=["tasks"])
def create_task(request, payload: TaskIn):
    return Status(201, services.do_create_task(request.auth, payload.dict()))


@router.get("/tasks/{task_id}", response=responses({200: TaskOut}), tags=["tasks"])
def get_task(request, task_id: RecordId):
    task = visible_tasks(request.auth).filter(id=task_id).first()
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


@router.patch("/tasks/{task_id}", response=responses({200: TaskOut}), tags=["tasks"])
def update_task(request, task_id: RecordId, payload: TaskPatch):
    return services.do_update_task(request.auth, task_id, payload.dict(exclude_unset=True))


@router.delete("/tasks/{task_id}", response=responses({204: None}), tags=["tasks"])
def delete_task(request, task_id: RecordId):
    services.do_delete_task(request.auth, task_id)
    return Status(204, None)


# --- Up Next -----------------------------------------------------------------------

RECORD_MODELS = {"organizations": (Organization, "organization"), "contacts": (Contact, "contact"), "deals": (Deal, "deal")}


def _up_next(request, collection: str, record_id: int, limit: int) -> dict:
    model, record_type = RECORD_MODELS[collection]
    get_visible(model, request.auth, record_id)
    return queries.up_next(request.auth, record_type, record_id, limit)


@router.get("/organizations/{record_id}/up-next", response=responses({200: UpNextOut}), tags=["organizations"])
def organization_up_next(request, record_id: RecordId, limit: Limit = 20):
    """Upcoming and overdue events and tasks; "overdue" and "today" in the caller's time zone."""
    return _up_next(request, "organizations", record_id, limit)


@router.get("/contacts/{record_id}/up-next", response=responses({200: UpNextOut}), tags=["contacts"])
def contact_up_next(request, record_id: RecordId, limit: Limit = 20):
    """Upcoming and overdue events and tasks; "overdue" and "today" in the caller's time zone."""
    return _up_next(request, "contacts", record_id, limit)


@router.get("/deals/{record_id}/up-next", response=responses({200: UpNextOut}), tags=["deals"])
def deal_up_next(request, record_id: RecordId, limit: Limit = 20):
    """Upcoming and overdue events and tasks; "overdue" and "today" in the caller's time zone."""
    return _up_next(request, "deals", record_id, limit)


