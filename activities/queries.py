"""Reads of planned work: event/task lists and Up Next."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from activities.models import OPEN_TASK_STATUSES, Event, EventStatus, Task, TaskStatus
from activities.permissions import visible_events, visible_tasks
from config.errors import NotFound
from config.pagination import Page, keyset_page
from crm.models import CLOSED_STAGES, QUIET_SINCE, Contact, Deal, DealContact, Organization
from crm.permissions import visible

LIST_ORDER = ("-id",)


@dataclass
class ActivityFilters:
    status: str | None = None
    owner_id: int | None = None
    deal_id: int | None = None
    organization_id: int | None = None
    contact_id: int | None = None


def list_events(user: User, f: ActivityFilters, cursor: str | None, limit: int) -> Page:
    qs = visible_events(user).prefetch_related("contacts")
    for name in ("status", "owner_id", "deal_id", "organization_id"):
        if getattr(f, name):
            qs = qs.filter(**{name: getattr(f, name)})
    if f.contact_id:
        qs = qs.filter(id__in=Event.contacts.through.objects.filter(contact_id=f.contact_id).values("event_id"))
    return keyset_page(qs, LIST_ORDER, cursor, limit)


def list_tasks(user: User, f: ActivityFilters, cursor: str | None, limit: int) -> Page:
    qs = visible_tasks(user)
    for name in ("status", "owner_id", "deal_id", "organization_id", "contact_id"):
        if getattr(f, name):
            qs = qs.filter(**{name: getattr(f, name)})
    return keyset_page(qs, LIST_ORDER, cursor, limit)


def get_visible_event(user: User, event_id: int) -> Event:
    """The event if the user may see it; otherwise a 404 (NotFound), the
    same as for one that never existed."""
    event = visible_events(user).filter(id=event_id).first()
    if event is None:
        raise NotFound(f"event {event_id} not found")
    return event


def event_out(event: Event) -> dict:
    fields = ("id", "subject", "event_type", "status", "start_at", "end_at", "description", "emoticon")
    return {
        **{f: getattr(event, f) for f in fields},
        **{f: getattr(event, f) for f in ("owner_id", "deal_id", "organization_id", "touchpoint_id")},
        "contact_ids": [c.id for c in event.contacts.all()],
    }


# --- Up Next -----------------------------------------------------------------------


def _scope(record_type: str, record_id: int) -> tuple[Q, Q]:
    """Which events and tasks belong on a record's Up Next, following the
    same rollup as timelines: a deal's own; a contact's own and those of
    its deals; an organization's own, its deals' and its contacts'."""
    if record_type == "deal":
        return Q(deal_id=record_id), Q(deal_id=record_id)
    if record_type == "contact":
        deals = DealContact.objects.filter(contact_id=record_id).values("deal_id")
        on_contact = Event.contacts.through.objects.filter(contact_id=record_id).values("event_id")
        return Q(id__in=on_contact) | Q(deal_id__in=deals), Q(contact_id=record_id) | Q(deal_id__in=deals)
    # Shaped for the busiest organizations (bench/scale.py: 4,000 open
    # activities among 62,000, at 10M touchpoints). An OR across joined
    # tables joined every task to its deal and contact before filtering
    # (25 ms a query). Tasks: the organization's deal and contact ids as
    # literal lists (few, even for a large account), so each branch of the
    # OR is an index range (a page 13.5 -> 4.4 ms, a count 14.5 -> 4.7 ms).
    # Events: the ids of the three branches as one UNION ALL, each an index
    # range (a count 10.8 -> 3.9 ms).
    deals = _ids_or_subquery(Deal.objects.filter(organization_id=record_id))
    people = _ids_or_subquery(Contact.objects.filter(organization_id=record_id))
    events = (
        Event.objects.filter(organization_id=record_id).values("id")
        .union(Event.objects.filter(deal_id__in=deals).values("id"), Event.contacts.through.objects.filter(contact_id__in=people).values("event_id"), all=True)
    )  # fmt: skip
    return Q(id__in=events), Q(organization_id=record_id) | Q(deal_id__in=deals) | Q(contact_id__in=people)


LITERAL_IDS = 1000


def _ids_or_subquery(qs: QuerySet):
    """The records' ids as a list when there are at most LITERAL_IDS of
    them (the planner can then use each index), else as a subquery."""
    ids = list(qs.values_list("id", flat=True)[: LITERAL_IDS + 1])
    return ids if len(ids) <= LITERAL_IDS else qs.values("id")


def user_today(user: User, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(user.tzinfo).date()


def up_next(user: User, record_type: str, record_id: int, limit: int, now: datetime | None = None) -> dict:
    """Planned events and open tasks, split into overdue and upcoming.

    An event is overdue when it has ended and is still Planned (nobody
    marked it Held or Not Held). A task is overdue when its due date is
    before *today in the viewer's time zone*: a task due on the 25th is not
    overdue for a rep in Los Angeles at 20:00 on the 25th, even though it
    is already the 26th in UTC.
    """
    now = now or timezone.now()
    today = user_today(user, now)
    event_scope, task_scope = _scope(record_type, record_id)
    # Only what the viewer may open: an organization shared with someone
    # does not show them the tasks on contacts they cannot see.
    events: QuerySet = visible_events(user).filter(event_scope, status=EventStatus.PLANNED)
    tasks: QuerySet = visible_tasks(user).filter(task_scope, status__in=OPEN_TASK_STATUSES)

    overdue_events = events.filter(end_at__lt=now)
    upcoming_events = events.filter(end_at__gte=now)
    overdue_tasks = tasks.filter(due_date__lt=today)
    upcoming_tasks = tasks.filter(due_date__gte=today)

    def event_item(e: Event, overdue: bool) -> dict:
        return {
            "type": "event", "id": e.id, "title": e.subject, "status": e.status, "event_type": e.event_type,
            "start_at": e.start_at, "end_at": e.end_at, "owner_id": e.owner_id, "overdue": overdue,
        }  # fmt: skip

    def task_item(t: Task, overdue: bool) -> dict:
        return {"type": "task", "id": t.id, "title": t.title, "status": t.status, "due_date": t.due_date, "owner_id": t.owner_id, "overdue": overdue}

    def when(item: dict):
        # Tasks are due at the start of their day in the viewer's zone.
        if item["type"] == "event":
            return item["start_at"]
        return datetime.combine(item["due_date"], datetime.min.time(), tzinfo=user.tzinfo)

    found = {
        "overdue_events": list(overdue_events.order_by("start_at", "id")[:limit]),
        "overdue_tasks": list(overdue_tasks.order_by("due_date", "id")[:limit]),
        "upcoming_events": list(upcoming_events.order_by("start_at", "id")[:limit]),
        "upcoming_tasks": list(upcoming_tasks.order_by("due_date", "id")[:limit]),
    }
    overdue = [event_item(e, True) for e in found["overdue_events"]] + [task_item(t, True) for t in found["overdue_tasks"]]
    upcoming = [event_item(e, False) for e in found["upcoming_events"]] + [task_item(t, False) for t in found["upcoming_tasks"]]
    overdue.sort(key=when)
    upcoming.sort(key=when)
    querysets = {"overdue_events": overdue_events, "overdue_tasks": overdue_tasks, "upcoming_events": upcoming_events, "upcoming_tasks": upcoming_tasks}
    # A list shorter than the limit is its own count: COUNT only what was cut off.
    counts = {name: len(rows) if len(rows) < limit else querysets[name].count() for name, rows in found.items()}
    return {
        "time_zone": user.time_zone,
        "today": today,
        "overdue": overdue[:limit],
        "upcoming": upcoming[:limit],
        "overdue_count": counts["overdue_events"] + counts["overdue_tasks"],
        "upcoming_count": counts["upcoming_events"] + counts["upcoming_tasks"],
    }


# --- Actions dashboard ("Me" tab) ------------------------------------------------------

DASHBOARD_LIMIT = 20
COMPLETED_DAYS = 14  # "completed" lists what was done in the last two weeks


def _with_records(qs: QuerySet) -> QuerySet:
    if qs.model is Event:
        return qs.select_related("deal", "organization").prefetch_related("contacts")
    return qs.select_related("deal", "organization", "contact")


def _mark_visible_records(user: User, activities: list) -> None:
    """Note on each event or task which of its records the user may open:
    an event of mine may sit on a deal another team owns, and the dashboard
    must not name or link what would be a 404. One query per record type
    for all the lists together (cheaper than an EXISTS per list: the
    dashboard's cost was the ORM compiling those)."""
    def contact_ids(a) -> list[int]:
        return [c.id for c in a.contacts.all()] if isinstance(a, Event) else [a.contact_id] if a.contact_id else []

    wanted = {
        Deal: {a.deal_id for a in activities if a.deal_id},
        Organization: {a.organization_id for a in activities if a.organization_id},
        Contact: {cid for a in activities for cid in contact_ids(a)},
    }
    if user.sees_everything:
        allowed = wanted
    else:
        allowed = {model: set(visible(model, user).filter(id__in=ids).values_list("id", flat=True)) if ids else set() for model, ids in wanted.items()}
    for a in activities:
        a.deal_visible = a.deal_id in allowed[Deal]
        a.organization_visible = a.organization_id in allowed[Organization]
        a.visible_contact_ids = [cid for cid in contact_ids(a) if cid in allowed[Contact]]


def my_actions(user: User, *, idle_days: int | None = None, now: datetime | None = None) -> dict:
    """Everything the Actions dashboard's "Me" tab lists, each list capped
    at DASHBOARD_LIMIT with its full count beside it. Fixed query count.

    Judged in the user's zone like Up Next: a task due today is upcoming
    until midnight where the user is. An idle deal is one of mine, still
    open, with no contact (Last Contacted On) for ``idle_days`` — or, never
    contacted, created that long ago: a deal opened this morning is new,
    not idle. Contact, not any touchpoint: an internal note is not the
    customer hearing from us.
    """
    now = now or timezone.now()
    today = user_today(user, now)
    idle_days = idle_days or settings.IDLE_DEAL_DAYS
    mine_events = Event.objects.filter(owner=user)
    mine_tasks = Task.objects.filter(owner=user)
    planned = mine_events.filter(status=EventStatus.PLANNED)
    open_tasks = mine_tasks.filter(status__in=OPEN_TASK_STATUSES)
    since = now - timedelta(days=COMPLETED_DAYS)
    lists = {
        "overdue_events": planned.filter(end_at__lt=now).order_by("start_at", "id"),
        "overdue_tasks": open_tasks.filter(due_date__lt=today).order_by("due_date", "id"),
        "upcoming_events": planned.filter(end_at__gte=now).order_by("start_at", "id"),
        "upcoming_tasks": open_tasks.filter(due_date__gte=today).order_by("due_date", "id"),
        "completed_events": mine_events.exclude(status=EventStatus.PLANNED).filter(start_at__gte=since, start_at__lte=now).order_by("-start_at", "-id"),
        "completed_tasks": mine_tasks.filter(status=TaskStatus.COMPLETED, completed_at__gte=since).order_by("-completed_at", "-id"),
    }
    cutoff = now - timedelta(days=idle_days)
    idle = (
        Deal.objects.filter(owner=user)
        .exclude(stage__in=CLOSED_STAGES)
        .annotate(quiet_since=QUIET_SINCE)  # the Smart Alerts' definition too (alerts.scan)
        .filter(quiet_since__lt=cutoff)
        .select_related("organization")
        .order_by(F("quiet_since").asc(), "id")
    )
    result: dict = {"today": today, "time_zone": user.time_zone, "idle_days": idle_days}
    for name, qs in lists.items():
        qs = _with_records(qs)
        result[name] = list(qs[:DASHBOARD_LIMIT])
        result[f"{name}_count"] = qs.count() if len(result[name]) == DASHBOARD_LIMIT else len(result[name])
    _mark_visible_records(user, [a for name in lists for a in result[name]])
    result["idle_deals"] = list(idle[:DASHBOARD_LIMIT])
    result["idle_deals_count"] = idle.count() if len(result["idle_deals"]) == DASHBOARD_LIMIT else len(result["idle_deals"])
    return result


def record_of(activity: Event | Task) -> tuple[str, int] | None:
    """The record an event or task is about, for a link: its deal, else its
    organization, else its (first) contact; only one the user may open
    (as marked by _mark_visible_records)."""
    if activity.deal_id and getattr(activity, "deal_visible", True):
        return "deal", activity.deal_id
    if activity.organization_id and getattr(activity, "organization_visible", True):
        return "organization", activity.organization_id
    contact_ids = getattr(activity, "visible_contact_ids", None)
    if contact_ids is None:
        contact_ids = [c.id for c in activity.contacts.all()] if isinstance(activity, Event) else [activity.contact_id] if activity.contact_id else []
    return ("contact", contact_ids[0]) if contact_ids else None
