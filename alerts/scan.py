"""The Smart Alerts scan: conditional updates that raise and clear alerts.

Every raise is one ``UPDATE ... SET <state> = <current value> WHERE <due>
AND <state> IS DISTINCT FROM <current value> RETURNING ...``: the row's
state column records what the alert was raised for (a deal's quiet-since
moment, a task's due date, an event's end), so

* a second scan, or two scans at once, find nothing more to raise (on
  PostgreSQL the loser of a row lock re-checks the WHERE against the row the
  winner wrote and skips it; SQLite runs one writer at a time);
* a touchpoint that moves Last Contacted On (or a new due date) starts a new
  period without anyone touching the state, and a later silence alerts again;
* the partial indexes (crm.models.Deal, activities.models) hold only rows
  whose state differs from their current value, so in the steady state the
  raise reads the newly due rows only, whatever the table's size.

The notifications are written in the raise's transaction: a worker killed
mid-scan loses neither (the state rolls back with them). Nothing here loops
over rows in Python except the rows an UPDATE returned: the newly raised
and the newly cleared.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from typing import NamedTuple
from operator import or_
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import User
from activities.models import EVENT_ALERT_STALE, EVENT_IS_PLANNED, TASK_ALERT_STALE, TASK_IS_OPEN, Event, Task
from alerts.models import AlertConfig, Notification, NotificationKind
from crm.models import CLOSED_STAGES, IDLE_PERIOD_CHANGED, IS_CLOSED, QUIET_SINCE, Deal, DealStage

OPEN_STAGES = tuple(s for s in DealStage.values if s not in CLOSED_STAGES)
NOTIFICATION_BATCH = 2000
SCAN_BATCH = 5000
INSERT_ROWS = 500  # 4,500 parameters a statement: within SQLite's 32,766


@dataclass
class ScanResult:
    raised: dict[str, int] = field(default_factory=lambda: {"idle_deal": 0, "overdue_task": 0, "overdue_event": 0})
    cleared: dict[str, int] = field(default_factory=lambda: {"idle_deal": 0, "overdue_task": 0, "overdue_event": 0})
    # user id -> keys of the notifications raised for them (for the mail job).
    delivered: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


# --- one conditional UPDATE ... RETURNING -------------------------------------------


def update_sql(qs: QuerySet, assignments: dict[str, str], returning: list[str], set_params: tuple = ()) -> tuple[str, list]:
    """``UPDATE <table> SET col = <sql> ... WHERE <qs's WHERE> RETURNING ...``.
    The queryset must filter its own table only (subqueries are fine, joins
    are not): its WHERE is compiled by the ORM, so it is the SQL the partial
    indexes were built from. ``assignments`` are SQL over the row's own
    columns (``%s`` for ``set_params``, given as the database takes them:
    get_db_prep_value)."""
    connection = connections[router.db_for_write(qs.model)]
    query = qs.query
    where, params = query.get_compiler(connection=connection).compile(query.where)
    joined = [alias for alias in query.alias_map if query.alias_refcount[alias] and alias != query.base_table]
    assert not joined, f"update_sql: the queryset must not join ({joined})"
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(column)} = {sql}" for column, sql in assignments.items())
    columns = ", ".join(quote(c) for c in returning)
    return f"UPDATE {quote(qs.model._meta.db_table)} SET {sets} WHERE {where} RETURNING {columns}", [*set_params, *params]


def update_returning(qs: QuerySet, assignments: dict[str, str], returning: list[str], set_params: tuple = ()) -> list[tuple]:
    """The rows one conditional UPDATE changed (PostgreSQL; SQLite 3.35+)."""
    sql, params = update_sql(qs, assignments, returning, set_params)
    with connections[router.db_for_write(qs.model)].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def update_in_batches(qs: QuerySet, assignments: dict[str, str], returning: list[str], handle: Callable[[list[tuple]], None]) -> int:
    """The conditional update, SCAN_BATCH rows at a time, each batch with
    ``handle(rows)`` (its notifications) in its own transaction: a cold
    first scan that alerts 400,000 deals never holds their row locks (and a
    touchpoint waiting on one) for more than a batch.

    A batch is two statements: the ids, read in the order of the partial
    index ``qs`` is ordered by (a LIMIT without that order lets PostgreSQL
    pick a table scan it expects to stop early), then the UPDATE of those
    ids that still meet ``qs``'s WHERE. Each batch leaves the index it was
    read from, so the next one starts where it ended."""
    total = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:SCAN_BATCH])
        if not ids:
            return total
        with transaction.atomic():
            rows = update_returning(qs.filter(pk__in=ids), assignments, returning)
            handle(rows)
        total += len(rows)
        if len(ids) < SCAN_BATCH:
            return total


def _as_datetime(value) -> datetime:
    # SQLite returns the stored text; PostgreSQL an aware datetime.
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_date(value) -> date:
    return parse_date(value) if isinstance(value, str) else value


NOTIFICATION_COLUMNS = ("user_id", "kind", "title", "body", "url", "record_type", "record_id", "key", "created_at")


class Alert(NamedTuple):
    """A notification to write (plain values: thousands at a cold start)."""

    user_id: int
    kind: str
    title: str
    body: str
    url: str
    record_type: str
    record_id: int
    key: str
    created_at: datetime


def _deliver(rows: list[Alert], result: ScanResult) -> None:
    """Insert the alerts' notifications. ON CONFLICT DO NOTHING: a key
    already delivered (a state reset by hand, a replayed scan) adds nothing,
    as do_notify would answer None. Multi-row INSERTs of plain values: the
    ORM's bulk_create spent more time building SQL than the database spent
    storing the rows, and executemany costs a round trip a row (a cold scan
    alerts hundreds of thousands)."""
    if not rows:
        return
    connection = connections[router.db_for_write(Notification)]
    quote = connection.ops.quote_name
    created = Notification._meta.get_field("created_at").get_db_prep_value(rows[0].created_at, connection)
    head = f"INSERT INTO {quote(Notification._meta.db_table)} ({', '.join(quote(c) for c in NOTIFICATION_COLUMNS)}) VALUES "
    one = f"({', '.join(['%s'] * len(NOTIFICATION_COLUMNS))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            params = [v for n in chunk for v in (n.user_id, n.kind, n.title, n.body, n.url, n.record_type, n.record_id, n.key, created)]
            cursor.execute(head + ", ".join([one] * len(chunk)) + " ON CONFLICT DO NOTHING", params)
    for row in rows:
        result.delivered[row.user_id].append(row.key)


def _resolve(record_type: str, kind: str, ids: list[int], now: datetime) -> None:
    """The open alerts of records whose cause went away: resolved and read."""
    for start in range(0, len(ids), NOTIFICATION_BATCH):
        Notification.objects.filter(
            record_type=record_type, record_id__in=ids[start : start + NOTIFICATION_BATCH], kind=kind, resolved_at__isnull=True
        ).update(resolved_at=now, read_at=Coalesce(F("read_at"), now))


# --- idle deals ------------------------------------------------------------------------


def company_zone() -> ZoneInfo:
    """The zone whose calendar the "only deals matching" conditions count
    days in: the company's (workflows use the same setting)."""
    return ZoneInfo(settings.COMPANY_TIME_ZONE)


def idle_deals(config: AlertConfig, now: datetime) -> QuerySet:
    """Open deals, owned, quiet for their stage's N days and not yet alerted
    for this quiet period: the raise's WHERE (and the candidates' index)."""
    days = {stage: config.days_for(stage) for stage in OPEN_STAGES}
    by_days: dict[int, list[str]] = defaultdict(list)
    for stage, n in days.items():
        by_days[n].append(stage)
    # The widest cutoff bounds the index range; per-stage cutoffs narrow it.
    quiet = Q(quiet_since__lt=now - timedelta(days=min(days.values())))
    if len(by_days) > 1:
        quiet &= reduce(or_, (Q(stage__in=stages, quiet_since__lt=now - timedelta(days=n)) for n, stages in sorted(by_days.items())))
    qs = Deal.objects.alias(quiet_since=QUIET_SINCE).filter(~Q(IS_CLOSED), IDLE_PERIOD_CHANGED, quiet, owner__isnull=False).order_by(QUIET_SINCE.asc())
    tree = config.deal_conditions or {"all": []}
    if tree != {"all": []}:  # the empty tree watches every deal
        from automation.conditions import Context, filter_records

        matching = filter_records(Deal.objects.all(), "deal", tree, Context(now=now, tz=company_zone()))
        qs = qs.filter(id__in=matching.order_by().values("id"))
    return qs


IDLE_RAISE = ({"idle_alerted_for": 'COALESCE("last_contacted_on", "created_at")'}, ["id", "owner_id", "name", "stage", "idle_alerted_for"])
IDLE_CLEAR = ({"idle_alerted_for": "NULL"}, ["id"])


def _url_of(name: str, **placeholder: int):
    """A formatter for ``name``'s URL: one reverse() per scan, not per row."""
    key, value = next(iter(placeholder.items()))
    pattern = reverse(name, kwargs={key: value}).replace(str(value), "{}")
    return pattern.format


def _local(owner_ids: set[int]) -> Callable[[int, datetime], str]:
    """A formatter of an instant in its owner's time zone (the notification
    is read by them): one query per batch of raised rows."""
    zones = {uid: ZoneInfo(tz) for uid, tz in User.objects.filter(id__in=owner_ids).values_list("id", "time_zone")}

    def local(owner_id: int, when: datetime) -> str:
        zone = zones.get(owner_id, UTC)
        return f"{when.astimezone(zone):%Y-%m-%d %H:%M} ({zone})"

    return local


def raise_idle_deals(config: AlertConfig, now: datetime, result: ScanResult) -> None:
    deal_url = _url_of("deal-detail", record_id=987654321)

    def alerts(rows: list[tuple]) -> list[Alert]:
        out = []
        local = _local({row[1] for row in rows})
        for deal_id, owner_id, name, stage, quiet_since in rows:
            quiet_since = _as_datetime(quiet_since).astimezone(UTC)
            out.append(
                Alert(
                    user_id=owner_id,
                    kind=NotificationKind.IDLE_DEAL,
                    title=f"Idle deal: {name}"[:200],
                    body=f"No contact since {local(owner_id, quiet_since)}: idle after {config.days_for(stage)} days.",
                    url=deal_url(deal_id),
                    record_type="deal",
                    record_id=deal_id,
                    key=f"idle:deal:{deal_id}:{quiet_since.isoformat()}",
                    created_at=now,
                )
            )
        return out

    result.raised["idle_deal"] += update_in_batches(idle_deals(config, now), *IDLE_RAISE, lambda rows: _deliver(alerts(rows), result))


def cleared_deals() -> QuerySet:
    """Alerted deals contacted (a new quiet period) or closed since (deal_idle_cleared_idx)."""
    return Deal.objects.filter(Q(idle_alerted_for__isnull=False) & (Q(IS_CLOSED) | Q(IDLE_PERIOD_CHANGED))).order_by("id")


def clear_idle_deals(now: datetime, result: ScanResult) -> None:
    """Alerted deals that were contacted (a new quiet period) or closed:
    state back to NULL, their alert resolved."""
    resolve = lambda rows: _resolve("deal", NotificationKind.IDLE_DEAL, [row[0] for row in rows], now)  # noqa: E731
    result.cleared["idle_deal"] += update_in_batches(cleared_deals(), *IDLE_CLEAR, resolve)


# --- overdue tasks and events ----------------------------------------------------------


def local_todays(now: datetime) -> dict[date, list[str]]:
    """Today's date -> the users' time zones where it is today (at most
    three dates at any moment, from UTC-12 to UTC+14)."""
    todays: dict[date, list[str]] = defaultdict(list)
    for zone in User.objects.order_by().values_list("time_zone", flat=True).distinct():
        todays[now.astimezone(User(time_zone=zone).tzinfo).date()].append(zone)
    return todays


def raise_overdue_tasks(now: datetime, result: ScanResult) -> None:
    """Open tasks due before today *in their owner's zone*: a task due on the
    25th is not overdue for a rep in Auckland until the 26th begins there."""
    dashboard = reverse("dashboard")
    for today, zones in sorted(local_todays(now).items()):
        owners = User.objects.filter(time_zone__in=zones).values("id")
        qs = Task.objects.filter(TASK_IS_OPEN, TASK_ALERT_STALE, owner__isnull=False, due_date__lt=today, owner_id__in=owners).order_by("due_date")

        def alerts(rows: list[tuple]) -> list[Alert]:
            return [
                Alert(
                    user_id=owner_id,
                    kind=NotificationKind.OVERDUE_TASK,
                    title=f"Overdue task: {title}"[:200],
                    body=f"Was due {_as_date(due):%Y-%m-%d}.",
                    url=dashboard,
                    record_type="task",
                    record_id=task_id,
                    key=f"overdue:task:{task_id}:{_as_date(due).isoformat()}",
                    created_at=now,
                )
                for task_id, owner_id, title, due in rows
            ]

        returning = ["id", "owner_id", "title", "due_date"]
        result.raised["overdue_task"] += update_in_batches(qs, {"overdue_alerted_for": '"due_date"'}, returning, lambda rows: _deliver(alerts(rows), result))


def raise_overdue_events(now: datetime, result: ScanResult) -> None:
    """Planned events whose end is past and nobody marked Held or Not Held."""
    qs = Event.objects.filter(EVENT_IS_PLANNED, EVENT_ALERT_STALE, owner__isnull=False, end_at__lt=now).order_by("end_at")
    dashboard = reverse("dashboard")

    def alerts(rows: list[tuple]) -> list[Alert]:
        out = []
        local = _local({row[1] for row in rows})
        for event_id, owner_id, subject, end_at in rows:
            end_at = _as_datetime(end_at).astimezone(UTC)
            out.append(
                Alert(
                    user_id=owner_id,
                    kind=NotificationKind.OVERDUE_EVENT,
                    title=f"Overdue event: {subject}"[:200],
                    body=f"Ended {local(owner_id, end_at)} and is still planned: mark it held or not held.",
                    url=dashboard,
                    record_type="event",
                    record_id=event_id,
                    key=f"overdue:event:{event_id}:{end_at.isoformat()}",
                    created_at=now,
                )
            )
        return out

    returning = ["id", "owner_id", "subject", "end_at"]
    result.raised["overdue_event"] += update_in_batches(qs, {"overdue_alerted_for": '"end_at"'}, returning, lambda rows: _deliver(alerts(rows), result))


def clear_overdue(now: datetime, result: ScanResult) -> None:
    """Tasks done (or moved) and events held, not held (or moved) since their alert."""
    tasks = Task.objects.filter(Q(overdue_alerted_for__isnull=False) & (~Q(TASK_IS_OPEN) | Q(TASK_ALERT_STALE))).order_by("id")
    events = Event.objects.filter(Q(overdue_alerted_for__isnull=False) & (~Q(EVENT_IS_PLANNED) | Q(EVENT_ALERT_STALE))).order_by("id")
    for record_type, kind, qs in (("task", NotificationKind.OVERDUE_TASK, tasks), ("event", NotificationKind.OVERDUE_EVENT, events)):
        resolve = lambda rows, record_type=record_type, kind=kind: _resolve(record_type, kind, [row[0] for row in rows], now)  # noqa: E731
        result.cleared[kind] += update_in_batches(qs, {"overdue_alerted_for": "NULL"}, ["id"], resolve)
