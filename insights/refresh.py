"""Keeping the Sales Insights rollup in step with the log.

Writers call insights.marks inside their own transaction (the touchpoint
services, deal changes and deletions, relationship changes); they only
append rows to PendingDay / PendingDeal. ``refresh`` (a periodic Huey job,
insights.tasks) recomputes the marked cells from the log, then the weeks
and months those days belong to from the day cells, and deletes the marks
it read; ``rebuild`` recomputes everything (the ``rebuild_insights``
command).

Why marks are never de-duplicated on insert: on PostgreSQL a writer's
transaction may commit after the refresh read the marks. If its mark had
been folded into an existing one, the refresh would delete that mark
having recomputed without the writer's row, and the change would be lost.
With one row per write, the refresh deletes only the ids it read; anything
later stays for the next run. A recompute that already saw the change is
simply repeated: it is idempotent.
"""
from __future__ import annotations

import time as clock
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import BooleanField, Case, CharField, Count, F, IntegerField, Model, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from insights.marks import chunks
from crm.models import CLOSED_STAGES, Deal, DealStage
from insights.models import ActivityCell, ClosedDealCell, DealActivity, FillState, Grain, PendingDay, PendingDeal, RollupZone
from insights.rules import ACTIVITY_KINDS, ALL, NO_STAGE, completed_q, month_of, week_of
from touchpoints.models import Touchpoint, TouchpointLink

# Marks handled per refresh transaction; a longer backlog takes several.
BATCH = 5_000
# Owner-days (or owner-weeks, owner-months) per recompute statement (each
# becomes a range condition).
RANGES_PER_QUERY = 200
# More pending owner-days than this and a refresh rebuilds instead: one
# pass over the log beats a hundred thousand range queries (a bulk import).
REBUILD_AT = 100_000
# Below this many touchpoints in the log, a report for a time zone that has
# no rollup yet builds it in the request (a few seconds at most); above, the
# worker builds it and the report asks to retry.
SYNC_BUILD_LIMIT = 100_000

CELL = ActivityCell._meta.db_table
CELL_COLUMNS = "zone, grain, start, owner_id, kind, stage, added, completed, completed_seconds"

# The week (its Monday) and month (its 1st) of a date column, per database.
# '%%' because these go through the driver's parameter formatting.
_WEEK_SQL = {
    "postgresql": "({col} - (EXTRACT(ISODOW FROM {col})::int - 1))",
    "sqlite": "date({col}, '-' || ((CAST(strftime('%%w', {col}) AS INTEGER) + 6) %% 7) || ' days')",
}
_MONTH_SQL = {
    "postgresql": "CAST(date_trunc('month', {col}) AS date)",
    "sqlite": "strftime('%%Y-%%m-01', {col})",
}
_PERIOD_SQL = {Grain.WEEK: _WEEK_SQL, Grain.MONTH: _MONTH_SQL}
_PERIOD_OF = {Grain.WEEK: week_of, Grain.MONTH: month_of}
_PERIOD_END = {Grain.WEEK: lambda start: start + timedelta(days=7), Grain.MONTH: lambda start: month_of(start + timedelta(days=31))}


# --- what is rolled up -----------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """One cell table and how its day cells come from their source: the
    source's rows (local day, dimensions..., measures...) for a zone and a
    condition, and the instant column (on the source) that days range on.
    Weeks and months are always sums of the day cells."""

    model: type[Model]
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    instant: str
    source: Callable[[str, Q], QuerySet]
    # A dimension also kept summed over all its values, under ALL: a report
    # that does not filter on it reads those rows (a third of the cells).
    totalled: str | None = None

    @property
    def table(self) -> str:
        return self.model._meta.db_table


def activity_log(zone: str, where: Q) -> QuerySet:
    """The log's activities matching ``where`` as the rollup sees them:
    local day in ``zone``; owner, kind, deal stage; 1, completed 0/1, the
    completed one's duration."""
    first_stage = TouchpointLink.objects.filter(touchpoint_id=OuterRef("pk"), deal__isnull=False).order_by("deal_id").values("deal__stage")[:1]
    done = completed_q()
    return _named(
        Touchpoint.objects.filter(where, owner__isnull=False, kind__in=ACTIVITY_KINDS),
        TruncDate("occurred_at", tzinfo=zoneinfo.ZoneInfo(zone)),
        (F("owner_id"), F("kind"), Coalesce(Subquery(first_stage), Value(NO_STAGE))),
        (
            Value(1, output_field=IntegerField()),
            Case(When(done, then=Value(1)), default=Value(0), output_field=IntegerField()),
            Case(When(done, then=Coalesce(F("duration_seconds"), Value(0))), default=Value(0), output_field=IntegerField()),
        ),
    )


def closed_deals(zone: str, where: Q) -> QuerySet:
    """Closed deals' DealActivity rows matching ``where``: local closing day
    in ``zone``; owner, won, kind; 1 on the deal's own row, activities, duration."""
    return _named(
        DealActivity.objects.filter(where, owner_id__isnull=False, closed_at__isnull=False, stage__in=CLOSED_STAGES),
        TruncDate("closed_at", tzinfo=zoneinfo.ZoneInfo(zone)),
        (F("owner_id"), Case(When(stage=DealStage.CLOSED_WON, then=Value(True)), default=Value(False), output_field=BooleanField()), F("kind")),
        (Case(When(kind="", then=Value(1)), default=Value(0), output_field=IntegerField()), F("activities"), F("duration_seconds")),
    )


def _named(rows: QuerySet, day, dimensions: tuple, measures: tuple) -> QuerySet:
    """A source's rows with the column names _insert_days reads: d, dim0.., m0.."""
    names = {"d": day, **{f"dim{i}": e for i, e in enumerate(dimensions)}, **{f"m{i}": e for i, e in enumerate(measures)}}
    return rows.annotate(**names).values_list(*names).order_by()


ACTIVITIES = Rollup(ActivityCell, ("owner_id", "kind", "stage"), ("added", "completed", "completed_seconds"), "occurred_at", activity_log, totalled="stage")
CLOSED = Rollup(ClosedDealCell, ("owner_id", "won", "kind"), ("deals", "activities", "duration_seconds"), "closed_at", closed_deals)
ROLLUPS = (ACTIVITIES, CLOSED)


# --- recomputing cells --------------------------------------------------------------


def _execute(sql: str, params: Iterable) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, tuple(params))


def _columns(rollup: Rollup) -> str:
    return ", ".join(("zone", "grain", "start", *rollup.dimensions, *rollup.measures))


def _insert_days(rollup: Rollup, zone: str, where: Q) -> None:
    inner, params = rollup.source(zone, where).query.sql_with_params()
    dims = ", ".join(f"x.dim{i}" for i in range(len(rollup.dimensions)))
    sums = ", ".join(f"SUM(x.m{i})" for i in range(len(rollup.measures)))
    _execute(
        f"INSERT INTO {rollup.table} ({_columns(rollup)}) SELECT %s, %s, x.d, {dims}, {sums} FROM ({inner}) x GROUP BY x.d, {dims}",
        (zone, Grain.DAY, *params),
    )


def _insert_totals(rollup: Rollup, zone: str, days: Q) -> None:
    """The ALL rows of ``rollup.totalled`` for the day cells in ``days``."""
    if rollup.totalled is None:
        return
    cells = rollup.model.objects.filter(days, zone=zone, grain=Grain.DAY).exclude(**{rollup.totalled: ALL}).values_list("id").order_by()
    where, params = cells.query.sql_with_params()
    kept = [d for d in rollup.dimensions if d != rollup.totalled]
    dims = ", ".join(f"c.{d}" for d in kept)
    chosen = ", ".join("%s" if d == rollup.totalled else f"c.{d}" for d in rollup.dimensions)
    sums = ", ".join(f"SUM(c.{m})" for m in rollup.measures)
    _execute(
        f"INSERT INTO {rollup.table} ({_columns(rollup)}) "
        f"SELECT %s, %s, c.start, {chosen}, {sums} FROM {rollup.table} c WHERE c.id IN ({where}) GROUP BY c.start, {dims}",
        (zone, Grain.DAY, ALL, *params),
    )


def _insert_periods(rollup: Rollup, zone: str, grain: str, ranges: Q) -> None:
    """The ``grain`` cells of ``zone`` as sums of its day cells in ``ranges``."""
    days = rollup.model.objects.filter(ranges, zone=zone, grain=Grain.DAY).values_list("id").order_by()
    where, params = days.query.sql_with_params()
    period = _PERIOD_SQL[grain][connection.vendor].format(col="c.start")
    dims = ", ".join(f"c.{d}" for d in rollup.dimensions)
    sums = ", ".join(f"SUM(c.{m})" for m in rollup.measures)
    _execute(
        f"INSERT INTO {rollup.table} ({_columns(rollup)}) "
        f"SELECT %s, %s, {period}, {dims}, {sums} FROM {rollup.table} c WHERE c.id IN ({where}) GROUP BY {period}, {dims}",
        (zone, grain, *params),
    )


def _deal_rows(deal_ids: list[int] | None) -> QuerySet:
    """Each deal's own row (kind ""): its owner, stage and closing."""
    deals = Deal.objects.all() if deal_ids is None else Deal.objects.filter(id__in=deal_ids)
    zero = Value(0, output_field=IntegerField())
    return deals.annotate(k=Value("", output_field=CharField()), n=zero, s=zero).values_list("id", "owner_id", "stage", "closed_at", "k", "n", "s").order_by()


def _deal_log(deal_ids: list[int] | None) -> QuerySet:
    """Activities on deals' timelines up to each deal's closing (all of them
    while it is open), per deal and kind, with the deal's owner, stage and closing."""
    links = TouchpointLink.objects.filter(deal__isnull=False, kind__in=ACTIVITY_KINDS)
    if deal_ids is not None:
        links = links.filter(deal_id__in=deal_ids)
    return (
        links.filter(Q(deal__closed_at__isnull=True) | Q(occurred_at__lte=F("deal__closed_at")))
        .values_list("deal_id", "deal__owner_id", "deal__stage", "deal__closed_at", "kind")
        .annotate(n=Count("id"), s=Coalesce(Sum("touchpoint__duration_seconds"), Value(0)))
        .order_by()
    )


def _insert_deals(deal_ids: list[int] | None) -> None:
    columns = "deal_id, owner_id, stage, closed_at, kind, activities, duration_seconds"
    for rows in (_deal_rows(deal_ids), _deal_log(deal_ids)):
        sql, params = rows.query.sql_with_params()
        _execute(f"INSERT INTO {DealActivity._meta.db_table} ({columns}) {sql}", params)


def _closings(deal_ids: list[int]) -> set[tuple[int, date]]:
    """The (owner, UTC day) each deal's closing counts on, as last rolled up."""
    rows = DealActivity.objects.filter(deal_id__in=deal_ids, kind="", owner_id__isnull=False, closed_at__isnull=False)
    return {(owner, closed.astimezone(UTC).date()) for owner, closed in rows.values_list("owner_id", "closed_at")}


def local_days(utc_day: date, tz: zoneinfo.ZoneInfo) -> set[date]:
    """The local days in ``tz`` that a UTC day overlaps (one or two)."""
    start = datetime.combine(utc_day, time(0), tzinfo=UTC)
    last = start + timedelta(days=1) - timedelta(microseconds=1)
    return {start.astimezone(tz).date(), last.astimezone(tz).date()}


def day_bounds(day: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day, as instants (23 or 25 hours across DST)."""
    return datetime.combine(day, time(0), tzinfo=tz), datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) runs, so a week is one range."""
    days = sorted(days)
    first = prev = days[0]
    for d in days[1:]:
        if d != prev + timedelta(days=1):
            yield first, prev
            first = d
        prev = d
    yield first, prev


def _recompute(rollup: Rollup, zone: str, cells: set[tuple[int, date]]) -> None:
    """The day cells of the marked (owner, UTC day)s, then their weeks and months."""
    tz = zoneinfo.ZoneInfo(zone)
    local: set[tuple[int, date]] = {(owner, d) for owner, utc_day in cells for d in local_days(utc_day, tz)}
    for chunk in chunks(sorted(local), RANGES_PER_QUERY):
        by_owner: dict[int, list[date]] = defaultdict(list)
        for owner, d in chunk:
            by_owner[owner].append(d)
        stale = Q(pk__in=[])
        ranges = Q(pk__in=[])
        for owner, days in by_owner.items():
            stale |= Q(owner_id=owner, start__in=days)
            for first, last in _runs(days):
                ranges |= Q(owner_id=owner, **{f"{rollup.instant}__gte": day_bounds(first, tz)[0], f"{rollup.instant}__lt": day_bounds(last, tz)[1]})
        rollup.model.objects.filter(stale, zone=zone, grain=Grain.DAY).delete()
        _insert_days(rollup, zone, ranges)
        _insert_totals(rollup, zone, stale)
    for grain in (Grain.WEEK, Grain.MONTH):
        periods = sorted({(owner, _PERIOD_OF[grain](d)) for owner, d in local})
        for chunk in chunks(periods, RANGES_PER_QUERY):
            stale = Q(pk__in=[])
            ranges = Q(pk__in=[])
            for owner, start in chunk:
                stale |= Q(owner_id=owner, start=start)
                ranges |= Q(owner_id=owner, start__gte=start, start__lt=_PERIOD_END[grain](start))
            rollup.model.objects.filter(stale, zone=zone, grain=grain).delete()
            _insert_periods(rollup, zone, grain, ranges)


def _build_zone(zone: str) -> None:
    for rollup in ROLLUPS:
        rollup.model.objects.filter(zone=zone).delete()
        _insert_days(rollup, zone, Q())
        _insert_totals(rollup, zone, Q())
        for grain in (Grain.WEEK, Grain.MONTH):
            _insert_periods(rollup, zone, grain, Q())


def _recompute_deals(deal_ids: set[int], zones: set[str]) -> None:
    """DealActivity of the marked deals from the log, then the closing-day
    cells they counted in before and count in now."""
    for chunk in chunks(sorted(deal_ids), 500):
        before = _closings(chunk)
        DealActivity.objects.filter(deal_id__in=chunk).delete()
        _insert_deals(chunk)
        changed = before | _closings(chunk)
        if changed:
            for zone in sorted(zones):
                _recompute(CLOSED, zone, changed)


# --- zones -----------------------------------------------------------------------


def zones_in_use() -> set[str]:
    """The company's zone, and the zones asked for that an active user still has."""
    users = set(User.objects.filter(is_active=True).values_list("time_zone", flat=True).distinct())
    asked = set(RollupZone.objects.values_list("zone", flat=True))
    return {settings.COMPANY_TIME_ZONE} | {z for z in asked & users if z in zoneinfo.available_timezones()}


def request_zone(zone: str) -> None:
    """A user in ``zone`` opened a report: the next refresh builds it."""
    RollupZone.objects.get_or_create(zone=zone)


def _sync_zones() -> set[str]:
    """Build the zones asked for, drop those nobody uses any more."""
    zones = zones_in_use()
    rows = dict(RollupZone.objects.values_list("zone", "built_at"))
    for gone in set(rows) - zones:
        for rollup in ROLLUPS:
            rollup.model.objects.filter(zone=gone).delete()
        RollupZone.objects.filter(zone=gone).delete()
    for zone in sorted(zones):
        if rows.get(zone) is None:
            _build_zone(zone)
            RollupZone.objects.update_or_create(zone=zone, defaults={"built_at": timezone.now()})
    return zones


def zone_ready(zone: str) -> bool:
    return RollupZone.objects.filter(zone=zone, built_at__isnull=False).exists()


def log_is_small() -> bool:
    newest = Touchpoint.objects.order_by("-id").values_list("id", flat=True).first()
    return (newest or 0) < SYNC_BUILD_LIMIT


# --- the jobs --------------------------------------------------------------------


def _lock_state() -> FillState:
    FillState.objects.get_or_create(id=1)
    return FillState.objects.select_for_update().get(id=1)


def refresh() -> dict:
    """Recompute what changed since the last run. Returns what it did."""
    started = clock.monotonic()
    days_done = deals_done = 0
    if PendingDay.objects.count() > REBUILD_AT:
        return rebuild()
    while True:
        with transaction.atomic():
            state = _lock_state()
            zones = _sync_zones()
            day_marks = list(PendingDay.objects.order_by("id").values_list("id", "owner_id", "day")[:BATCH])
            deal_marks = list(PendingDeal.objects.order_by("id").values_list("id", "deal_id")[:BATCH])
            cells = {(owner, day) for _, owner, day in day_marks}
            if cells:
                for zone in sorted(zones):
                    _recompute(ACTIVITIES, zone, cells)
            deals = {deal for _, deal in deal_marks}
            _recompute_deals(deals, zones)
            for chunk in chunks([m[0] for m in day_marks], 1000):
                PendingDay.objects.filter(id__in=chunk).delete()
            for chunk in chunks([m[0] for m in deal_marks], 1000):
                PendingDeal.objects.filter(id__in=chunk).delete()
            days_done += len(cells)
            deals_done += len(deals)
            state.refreshed_at = timezone.now()
            state.last_days, state.last_deals = days_done, deals_done
            state.last_duration_ms = int((clock.monotonic() - started) * 1000)
            state.save()
        if len(day_marks) < BATCH and len(deal_marks) < BATCH:
            break
    return {"days": days_done, "deals": deals_done, "ms": int((clock.monotonic() - started) * 1000)}


def rebuild() -> dict:
    """Recompute the whole rollup from the log, for every zone in use, in
    one transaction (readers keep seeing the old figures until it commits)."""
    started = clock.monotonic()
    with transaction.atomic():
        state = _lock_state()
        newest_day = PendingDay.objects.order_by("-id").values_list("id", flat=True).first() or 0
        newest_deal = PendingDeal.objects.order_by("-id").values_list("id", flat=True).first() or 0
        # Deals first: the closing-day cells are built from them.
        DealActivity.objects.all().delete()
        _insert_deals(None)
        for rollup in ROLLUPS:
            rollup.model.objects.all().delete()
        RollupZone.objects.update(built_at=None)
        zones = _sync_zones()
        # Marks written after this transaction's snapshot stay for the next refresh.
        PendingDay.objects.filter(id__lte=newest_day).delete()
        PendingDeal.objects.filter(id__lte=newest_deal).delete()
        now = timezone.now()
        state.refreshed_at = state.rebuilt_at = now
        state.last_days = state.last_deals = 0
        state.last_duration_ms = int((clock.monotonic() - started) * 1000)
        state.save()
    return {"zones": sorted(zones), "ms": state.last_duration_ms}
