"""Sales Insights reports: every read is of the rollup (insights.models),
never of the log.

A report's period is a range of whole local days in the viewer's time zone
(``start`` and ``end`` both included). ``cover`` splits it into the largest
periods the rollup keeps (whole months, then whole weeks, then single
days), so a year is about twenty ranges of a few rows each per rep and kind,
whatever the size of the log. Bucketed reports first cut the period at
bucket boundaries, so every piece belongs to exactly one bucket.

Who sees whom (``reps_in_scope``): admins see every rep; a manager sees
their team (themselves included); a manager without a team manages the
whole company, as they see every record (crm.permissions); a rep sees only
themselves. Naming a rep or team outside that scope is a 422 naming the
parameter, not an empty report, so a typo is not mistaken for "no activity".
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role, Team, User
from config.db import replica_alias
from config.errors import Invalid, Unavailable
from crm.models import DealStage
from insights import refresh
from insights.models import ActivityCell, ClosedDealCell, FillState, Grain, RollupZone
from insights.rules import ACTIVITY_KINDS, ALL, NO_STAGE, month_of, week_of

ONE_DAY = timedelta(days=1)
# The longest period a report covers (five years): bounds the pieces a
# report is cut into, and so its query.
MAX_PERIOD_DAYS = 5 * 366
# A period not given: the last 90 days, today included.
DEFAULT_PERIOD_DAYS = 90
BUCKETS = (Grain.WEEK, Grain.MONTH)
# "none" in the stage filter: activities on no deal.
NO_DEAL = "none"
STAGE_CHOICES = (*DealStage.values, NO_DEAL)

_PERIOD_OF = {Grain.WEEK: week_of, Grain.MONTH: month_of}


def period_after(grain: str, start: date) -> date:
    """The first day of the period after the one starting on ``start``."""
    if grain == Grain.WEEK:
        return start + timedelta(days=7)
    return month_of(start + timedelta(days=31))


# --- the filters -----------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    bucket: str = Grain.WEEK
    team_id: int | None = None
    rep_ids: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()


def today_for(viewer: User) -> date:
    return timezone.now().astimezone(viewer.tzinfo).date()


def check_filters(viewer: User, *, start: date | None, end: date | None, bucket: str = Grain.WEEK, team_id: int | None = None,
                  rep_ids: Iterable[int] = (), kinds: Iterable[str] = (), stages: Iterable[str] = ()) -> Filters:
    """Validated filters, defaults filled in; a 422 names the parameter."""
    if end is None:
        end = today_for(viewer)
    if start is None:
        start = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if start > end:
        raise Invalid.field(("query", "start"), "must be on or before end")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid.field(("query", "start"), f"a period is at most {MAX_PERIOD_DAYS} days")
    if bucket not in BUCKETS:
        raise Invalid.field(("query", "bucket"), "must be week or month")
    kinds, stages = tuple(kinds), tuple(stages)
    unknown = [k for k in kinds if k not in ACTIVITY_KINDS]
    if unknown:
        raise Invalid.field(("query", "kinds"), f"unknown kind(s): {', '.join(unknown)}; activities are {', '.join(ACTIVITY_KINDS)}")
    unknown = [s for s in stages if s not in STAGE_CHOICES]
    if unknown:
        raise Invalid.field(("query", "stages"), f"unknown stage(s): {', '.join(unknown)}; choose from {', '.join(STAGE_CHOICES)}")
    rep_ids = tuple(sorted(set(rep_ids)))
    scope = reps_in_scope(viewer)
    if team_id is not None and not (Team.objects.filter(id=team_id).exists() and _team_in_scope(viewer, team_id)):
        raise Invalid.field(("query", "team_id"), f"team {team_id} not found or not yours to report on")
    if rep_ids:
        found = set(scope.filter(id__in=rep_ids).values_list("id", flat=True))
        missing = [str(r) for r in rep_ids if r not in found]
        if missing:
            raise Invalid.field(("query", "rep_ids"), f"user(s) {', '.join(missing)} not found or not yours to report on")
    return Filters(start, end, bucket, team_id, rep_ids, tuple(sorted(set(kinds))), tuple(sorted(set(stages))))


def manages_everyone(viewer: User) -> bool:
    return viewer.is_superuser or viewer.role == Role.ADMIN or (viewer.role == Role.MANAGER and viewer.team_id is None)


def reps_in_scope(viewer: User) -> QuerySet:
    """The users whose activity the viewer may report on."""
    if manages_everyone(viewer):
        return User.objects.all()
    if viewer.role == Role.MANAGER:
        return User.objects.filter(Q(team_id=viewer.team_id) | Q(id=viewer.id))
    return User.objects.filter(id=viewer.id)


def _team_in_scope(viewer: User, team_id: int) -> bool:
    # A rep may name their own team: the report still covers only them.
    return manages_everyone(viewer) or viewer.team_id == team_id


def owner_ids(viewer: User, filters: Filters) -> dict[int, str] | None:
    """The owners a report covers, with their names; None for "everyone"
    (no condition)."""
    if manages_everyone(viewer) and filters.team_id is None and not filters.rep_ids:
        return None
    if viewer.role not in (Role.ADMIN, Role.MANAGER) and not viewer.is_superuser:
        # A rep reports on themselves only (check_filters refused anyone
        # else, and any team but theirs): no query.
        return {viewer.id: _name(viewer.first_name, viewer.last_name, viewer.username)}
    users = reps_in_scope(viewer)
    if filters.team_id is not None:
        users = users.filter(team_id=filters.team_id)
    if filters.rep_ids:
        users = users.filter(id__in=filters.rep_ids)
    return _names(users)


def _name(first: str, last: str, username: str) -> str:
    # As User.get_full_name(), without building the user.
    return f"{first} {last}".strip() or username


def _names(users: QuerySet) -> dict[int, str]:
    return {i: _name(first, last, username) for i, first, last, username in users.values_list("id", "first_name", "last_name", "username")}


def rep_names(ids: Iterable[int]) -> dict[int, str]:
    return _names(User.objects.filter(id__in=set(ids)))


# --- cutting a period into rollup pieces -----------------------------------------


def cover(start: date, end: date, grains: tuple[str, ...]) -> list[tuple[str, date, date]]:
    """[start, end] exactly, as (grain, first start, last start) ranges of
    whole periods, the largest grain first."""
    grain, finer = grains[0], grains[1:]
    if grain == Grain.DAY:
        return [(Grain.DAY, start, end)]
    of = _PERIOD_OF[grain]
    first = start if of(start) == start else period_after(grain, of(start))
    last_whole = None
    s = first
    while period_after(grain, s) - ONE_DAY <= end:
        last_whole, s = s, period_after(grain, s)
    if last_whole is None:
        return cover(start, end, finer)
    pieces = cover(start, first - ONE_DAY, finer) if start < first else []
    pieces.append((grain, first, last_whole))
    tail = period_after(grain, last_whole)
    if tail <= end:
        pieces += cover(tail, end, finer)
    return pieces


FINER = {Grain.MONTH: (Grain.MONTH, Grain.WEEK, Grain.DAY), Grain.WEEK: (Grain.WEEK, Grain.DAY)}


def bucket_pieces(start: date, end: date, bucket: str) -> list[tuple[str, date, date, date | None]]:
    """Like ``cover``, each piece with the bucket it belongs to; whole
    buckets are one piece whose rows are each their own bucket (None)."""
    pieces: list[tuple[str, date, date, date | None]] = []
    whole: list[date] = []
    b = _PERIOD_OF[bucket](start)
    while b <= end:
        after = period_after(bucket, b)
        first, last = max(b, start), min(after - ONE_DAY, end)
        if first == b and last == after - ONE_DAY:
            whole.append(b)
        else:
            pieces += [(g, f, l, b) for g, f, l in cover(first, last, FINER[bucket][1:])]
        b = after
    if whole:
        pieces.append((bucket, whole[0], whole[-1], None))
    return pieces


# --- the rollup ------------------------------------------------------------------


def _ready(zone: str) -> datetime | None:
    """When the rollup was last refreshed, once the viewer's zone has cells;
    a zone nobody used before is built now (a small log) or by the worker
    (a 503 asks to retry shortly). One statement: a report's fixed cost
    is what a rep's small report is made of."""
    built, refreshed = _fetch(
        RollupZone,
        f"SELECT (SELECT built_at FROM {RollupZone._meta.db_table} WHERE zone = %s), (SELECT refreshed_at FROM {FillState._meta.db_table} WHERE id = 1)",
        [zone],
    )[0]
    if built is None:
        refresh.request_zone(zone)
        if not refresh.log_is_small():
            from insights.tasks import refresh_insights_now  # tasks import this module's neighbours: import late

            transaction.on_commit(refresh_insights_now)
            raise Unavailable(f"Sales Insights is preparing reports in time zone {zone}; try again in a minute")
        refresh.refresh()
        refreshed = FillState.objects.filter(id=1).values_list("refreshed_at", flat=True).first()
    # SQLite hands raw SQL's datetimes back bare (text or naive); stored in UTC.
    if isinstance(refreshed, str):
        refreshed = datetime.fromisoformat(refreshed)
    if refreshed is not None and refreshed.tzinfo is None:
        refreshed = refreshed.replace(tzinfo=UTC)
    return refreshed


def _fetch(model, sql: str, params: list, *, serial: bool = False, alias: str | None = None) -> list[tuple]:
    connection = connections[alias or router.db_for_read(model)]
    with connection.cursor() as cursor:
        if serial and connection.vendor == "postgresql":
            # PostgreSQL runs a UNION ALL of aggregates as a parallel append:
            # starting the workers cost more than the few thousand rows they
            # share (a manager's 90 days at 10M: 9 ms parallel, 3 ms not; far
            # worse when the cores are busy). Sent with the statement, in one
            # round trip: statements sent together run as one transaction,
            # which SET LOCAL lasts for.
            cursor.execute(SERIAL + sql, params)
            cursor.nextset()
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


SERIAL = "SET LOCAL max_parallel_workers_per_gather = 0; "


def _in(column: str, values) -> tuple[str, list]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _index(model, *leading: str) -> str:
    return next(index.name for index in model._meta.indexes if tuple(index.fields[: len(leading)]) == leading)


def _sum_pieces(model, zone: str, pieces, select: tuple[str, list], where: list[tuple[str, list]], index: str | None) -> list[tuple]:
    """``select`` of ``model``'s cells in each piece (grain, first start,
    last start, the key columns, the GROUP BY), as one statement: one index
    range per piece joined by UNION ALL. Written as SQL rather than as a
    query per piece through the ORM, whose building of the statements cost
    a rep's report more than running them (8 ms against 1 ms); and never as
    one range with OR between pieces, which made SQLite scan the zone's
    cells (1.9 s at 10M instead of milliseconds)."""
    # The report's cells: from the read replica when there is one (the
    # readiness check above stays on the primary, which refresh writes).
    alias = replica_alias()
    connection = connections[alias]
    table = model._meta.db_table
    if index and connection.vendor == "sqlite":
        # SQLite keeps no statistics (nothing runs ANALYZE) and guessed
        # wrong both ways at 10M: for a rep it read every rep's cells in the
        # (zone, grain, stage, start) range rather than theirs (8,400 cells
        # instead of 470: 3.8 against 0.4 ms), and for everyone every
        # stage's cells in the unique index's (zone, grain, start) range
        # rather than the stage's. PostgreSQL's statistics choose by
        # themselves.
        table += f" INDEXED BY {index}"
    conditions = " AND ".join(["zone = %s", "grain = %s", "start >= %s", "start <= %s", *(sql for sql, _ in where)])
    branches, params = [], []
    for grain, first, last, columns, group in pieces:
        branches.append(f"SELECT {columns}, {select[0]} FROM {table} WHERE {conditions} GROUP BY {group}")
        params += [*select[1], zone, grain, first, last]
        for _, values in where:
            params += values
    return _fetch(model, " UNION ALL ".join(branches), params, serial=True, alias=alias) if branches else []


def _cell_index(owners: dict[int, str] | None) -> str:
    """The index a report's activity cells are read by: some owners' ranges,
    or everyone's range in the stages asked for."""
    return _index(ActivityCell, "zone", "grain", "owner_id") if owners is not None else _index(ActivityCell, "zone", "grain", "stage")


def _cell_conditions(owners: dict[int, str] | None, filters: Filters) -> list[tuple[str, list]]:
    where = []
    if owners is not None:
        where.append(_in("owner_id", sorted(owners) or [0]))  # no owner at all: no rows (ids start at 1)
    if filters.kinds:
        where.append(_in("kind", filters.kinds))
    if filters.stages:
        where.append(_in("stage", [NO_STAGE if s == NO_DEAL else s for s in filters.stages]))
    else:
        where.append(("stage = %s", [ALL]))  # the stages summed: never both, or they would count twice
    return where


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


@dataclass
class Report:
    filters: Filters
    time_zone: str
    rows: list[dict] = field(default_factory=list)
    refreshed_at: datetime | None = None


def _report(viewer: User, filters: Filters, refreshed_at: datetime | None, owners: dict[int, str] | None, rows: list[dict], order: str | None = None) -> Report:
    """The rows named, sorted by rep name (then ``order``)."""
    names = owners if owners is not None else rep_names({r["rep_id"] for r in rows})
    for row in rows:
        row["rep"] = names.get(row["rep_id"], f"user {row['rep_id']}")
    rank = {rep_id: i for i, rep_id in enumerate(sorted({r["rep_id"] for r in rows}, key=lambda i: (names.get(i, "").lower(), i)))}
    rows.sort(key=(lambda r: (rank[r["rep_id"]], r[order])) if order else (lambda r: rank[r["rep_id"]]))
    return Report(filters, viewer.tzinfo.key, rows, refreshed_at)


def activities_added(viewer: User, filters: Filters) -> Report:
    """Activities added per rep and bucket (week or month): one row per rep
    and bucket with a count per kind and their total. Kinds left out by the
    filter are None (not counted), not 0."""
    refreshed_at = _ready(viewer.tzinfo.key)
    owners = owner_ids(viewer, filters)
    kinds = filters.kinds or ACTIVITY_KINDS
    # A column per kind rather than a row: a sixth of the rows to fetch and
    # convert (a year of weeks for 100 reps: 5,700 rather than 34,000).
    select = (", ".join(["SUM(CASE WHEN kind = %s THEN added ELSE 0 END)"] * len(kinds)), list(kinds))
    pieces = [
        # A whole bucket's cells are grouped by their start; a part of a bucket
        # (the period's ends) is one group, dated by its first day.
        (grain, first, last, "owner_id, start", "owner_id, start") if bucket is None else (grain, first, last, "owner_id, MIN(start)", "owner_id")
        for grain, first, last, bucket in bucket_pieces(filters.start, filters.end, filters.bucket)
    ]
    fetched = _sum_pieces(ActivityCell, viewer.tzinfo.key, pieces, select, _cell_conditions(owners, filters), _cell_index(owners))
    # A bucket cut at the period's ends comes in several pieces: added up here.
    of, buckets = _PERIOD_OF[filters.bucket], {}
    lines: dict[tuple, list[int]] = {}
    for owner, start, *counts in fetched:
        bucket = buckets.get(start) or buckets.setdefault(start, of(_as_date(start)))
        line = lines.get((owner, bucket))
        if line is None:
            lines[(owner, bucket)] = counts
        else:
            for i, n in enumerate(counts):
                line[i] += n
    columns = ("rep_id", "bucket", "activities", *kinds)
    left_out = dict.fromkeys(k for k in ACTIVITY_KINDS if k not in kinds)
    rows = []
    for (owner, bucket), counts in lines.items():
        total = sum(counts)
        if total:
            row = dict(zip(columns, (owner, bucket, total, *counts)))
            if left_out:
                row.update(left_out)
            rows.append(row)
    return _report(viewer, filters, refreshed_at, owners, rows, order="bucket")


def _plain(filters: Filters, columns: str) -> list[tuple]:
    """The period in as few pieces as the rollup allows, each grouped by ``columns``."""
    return [(grain, first, last, columns, columns) for grain, first, last in cover(filters.start, filters.end, FINER[Grain.MONTH])]


def activities_completed(viewer: User, filters: Filters) -> Report:
    """Completed activities per rep and kind, with their total duration."""
    refreshed_at = _ready(viewer.tzinfo.key)
    owners = owner_ids(viewer, filters)
    fetched = _sum_pieces(ActivityCell, viewer.tzinfo.key, _plain(filters, "owner_id, kind"), ("SUM(completed), SUM(completed_seconds)", []), _cell_conditions(owners, filters), _cell_index(owners))
    totals: dict[tuple, list[int]] = {}
    for owner, kind, n, seconds in fetched:
        total = totals.setdefault((owner, kind), [0, 0])
        total[0] += n
        total[1] += seconds
    rows = [{"rep_id": owner, "kind": kind, "activities": int(n), "duration_seconds": int(seconds)} for (owner, kind), (n, seconds) in totals.items() if n]
    return _report(viewer, filters, refreshed_at, owners, rows, order="kind")


def activity_efficiency(viewer: User, filters: Filters) -> Report:
    """Per rep, over the deals they own that closed in the period: the
    average activities on a won deal, the activities it takes to win one
    counting the effort spent on lost deals (activities on every closed deal
    ÷ deals won), and the average duration of those activities."""
    refreshed_at = _ready(viewer.tzinfo.key)
    owners = owner_ids(viewer, filters)
    where = [] if owners is None else [_in("owner_id", sorted(owners) or [0])]
    if filters.kinds:
        where.append(_in("kind", ["", *filters.kinds]))  # "": the deals themselves
    fetched = _sum_pieces(ClosedDealCell, viewer.tzinfo.key, _plain(filters, "owner_id, won"), ("SUM(deals), SUM(activities), SUM(duration_seconds)", []), where, None if owners is None else _index(ClosedDealCell, "zone", "grain", "owner_id"))
    totals: dict[int, dict] = defaultdict(lambda: {"won_deals": 0, "lost_deals": 0, "won_activities": 0, "won_seconds": 0, "closed_activities": 0})
    for owner, won, deals, activities, seconds in fetched:
        t = totals[owner]
        t["won_deals" if won else "lost_deals"] += int(deals)
        t["closed_activities"] += int(activities)
        if won:
            t["won_activities"] += int(activities)
            t["won_seconds"] += int(seconds)
    rows = []
    for rep_id, t in totals.items():
        won = t["won_deals"]
        rows.append(
            {
                "rep_id": rep_id,
                "won_deals": won,
                "lost_deals": t["lost_deals"],
                "activities_on_won_deals": t["won_activities"],
                "activities_on_closed_deals": t["closed_activities"],
                "average_activities_per_won_deal": round(t["won_activities"] / won, 2) if won else None,
                "estimated_activities_to_win": round(t["closed_activities"] / won, 2) if won else None,
                "average_duration_seconds": round(t["won_seconds"] / t["won_activities"], 1) if t["won_activities"] else None,
            }
        )
    return _report(viewer, filters, refreshed_at, owners, rows)


REPORTS = {"activities-added": activities_added, "activities-completed": activities_completed, "activity-efficiency": activity_efficiency}


# --- the page's choices ------------------------------------------------------------


def filter_choices(viewer: User) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(teams, reps) the viewer may pick on the page, by name."""
    teams = Team.objects.order_by("name")
    if not manages_everyone(viewer):
        teams = teams.filter(id=viewer.team_id) if viewer.team_id else teams.none()
    reps = reps_in_scope(viewer).filter(is_active=True).order_by("first_name", "last_name", "username")
    return (
        list(teams.values_list("id", "name")),
        [(u.id, u.get_full_name() or u.username) for u in reps.only("id", "username", "first_name", "last_name")[:1000]],
    )
