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
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Role, Team, User
from config.errors import Invalid, Unavailable
from crm.models import DealStage
from insights import refresh
from insights.models import ActivityCell, ClosedDealCell, FillState, Grain
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


def owner_ids(viewer: User, filters: Filters) -> list[int] | None:
    """The owners a report covers; None for "everyone" (no condition)."""
    if manages_everyone(viewer) and filters.team_id is None and not filters.rep_ids:
        return None
    users = reps_in_scope(viewer)
    if filters.team_id is not None:
        users = users.filter(team_id=filters.team_id)
    if filters.rep_ids:
        users = users.filter(id__in=filters.rep_ids)
    return sorted(users.values_list("id", flat=True))


def rep_names(ids: Iterable[int]) -> dict[int, str]:
    users = User.objects.filter(id__in=set(ids)).only("id", "username", "first_name", "last_name")
    return {u.id: u.get_full_name() or u.username for u in users}


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


def ensure_zone(zone: str) -> None:
    """The viewer's zone has cells; a zone nobody used before is built now
    (a small log) or by the worker (a 503 asks to retry shortly)."""
    if refresh.zone_ready(zone):
        return
    refresh.request_zone(zone)
    if refresh.log_is_small():
        refresh.refresh()
        return
    from insights.tasks import refresh_insights_now  # tasks import this module's neighbours: import late

    transaction.on_commit(refresh_insights_now)
    raise Unavailable(f"Sales Insights is preparing reports in time zone {zone}; try again in a minute")


def _activity_cells(viewer: User, filters: Filters) -> QuerySet:
    ensure_zone(viewer.tzinfo.key)
    cells = ActivityCell.objects.filter(zone=viewer.tzinfo.key)
    owners = owner_ids(viewer, filters)
    if owners is not None:
        cells = cells.filter(owner_id__in=owners)
    if filters.kinds:
        cells = cells.filter(kind__in=filters.kinds)
    if filters.stages:
        cells = cells.filter(stage__in=[NO_STAGE if s == NO_DEAL else s for s in filters.stages])
    else:
        cells = cells.filter(stage=ALL)  # the stages summed: never both, or they would count twice
    return cells.order_by()


def _summed(cells: QuerySet, pieces: list[tuple[str, date, date, date | None]], keys: tuple[str, ...], sums: dict[str, Sum], bucketed: bool = False) -> dict[tuple, dict]:
    """``sums`` of ``cells`` per ``keys`` (and bucket) over the pieces. One
    query per piece, each an index range (zone, grain, start or owner and
    start): in one query, an OR of the ranges made SQLite scan the zone's
    cells (1.9 s at 10M instead of milliseconds)."""
    totals: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(sums, 0))
    for grain, first, last, bucket in pieces:
        per_start = bucketed and bucket is None
        group = (*keys, "start") if per_start else keys
        rows = cells.filter(grain=grain, start__gte=first, start__lte=last).values(*group).annotate(**sums)
        width = len(group)
        for row in rows.values_list(*group, *sums):  # tuples: a year of weeks for 100 reps is 30,000 rows
            key = row[:width] if per_start or not bucketed else (*row[:width], bucket)
            total = totals[key]
            for i, name in enumerate(sums, start=width):
                total[name] += row[i] or 0
    return totals


def _plain(pieces: list[tuple[str, date, date]]) -> list[tuple[str, date, date, None]]:
    return [(grain, first, last, None) for grain, first, last in pieces]


@dataclass
class Report:
    filters: Filters
    time_zone: str
    rows: list[dict] = field(default_factory=list)
    refreshed_at: datetime | None = None


def _report(viewer: User, filters: Filters, rows: list[dict]) -> Report:
    names = rep_names({r["rep_id"] for r in rows})
    for row in rows:
        row["rep"] = names.get(row["rep_id"], f"user {row['rep_id']}")
    # Reps by name, then period and kind.
    rank = {rep_id: i for i, rep_id in enumerate(sorted({r["rep_id"] for r in rows}, key=lambda i: (names.get(i, "").lower(), i)))}
    rows.sort(key=lambda r: (rank[r["rep_id"]], r.get("bucket") or date.min, r.get("kind", "")))
    state = FillState.objects.filter(id=1).values_list("refreshed_at", flat=True).first()
    return Report(filters, viewer.tzinfo.key, rows, state)


def activities_added(viewer: User, filters: Filters) -> Report:
    """Activities added per rep, bucket (week or month) and kind."""
    pieces = bucket_pieces(filters.start, filters.end, filters.bucket)
    kinds = filters.kinds or ACTIVITY_KINDS
    # A column per kind rather than a row: a sixth of the rows to fetch and
    # convert (a year of weeks for 100 reps: 5,000 instead of 30,000).
    per_kind = {kind: Sum("added", filter=Q(kind=kind)) for kind in kinds}
    sums = _summed(_activity_cells(viewer, filters), pieces, ("owner_id",), per_kind, bucketed=True)
    return _report(
        viewer,
        filters,
        [{"rep_id": owner, "bucket": bucket, "kind": kind, "activities": n} for (owner, bucket), t in sums.items() for kind, n in t.items() if n],
    )


def activities_completed(viewer: User, filters: Filters) -> Report:
    """Completed activities per rep and kind, with their total duration."""
    pieces = _plain(cover(filters.start, filters.end, FINER[Grain.MONTH]))
    sums = _summed(_activity_cells(viewer, filters), pieces, ("owner_id", "kind"), {"activities": Sum("completed"), "duration_seconds": Sum("completed_seconds")})
    return _report(
        viewer,
        filters,
        [{"rep_id": owner, "kind": kind, **t} for (owner, kind), t in sums.items() if t["activities"]],
    )


def activity_efficiency(viewer: User, filters: Filters) -> Report:
    """Per rep, over the deals they own that closed in the period: the
    average activities on a won deal, the activities it takes to win one
    counting the effort spent on lost deals (activities on every closed deal
    ÷ deals won), and the average duration of those activities."""
    ensure_zone(viewer.tzinfo.key)
    cells = ClosedDealCell.objects.filter(zone=viewer.tzinfo.key)
    owners = owner_ids(viewer, filters)
    if owners is not None:
        cells = cells.filter(owner_id__in=owners)
    if filters.kinds:
        cells = cells.filter(kind__in=["", *filters.kinds])  # "": the deals themselves
    pieces = _plain(cover(filters.start, filters.end, FINER[Grain.MONTH]))
    sums = _summed(cells.order_by(), pieces, ("owner_id", "won"), {"deals": Sum("deals"), "activities": Sum("activities"), "seconds": Sum("duration_seconds")})
    totals: dict[int, dict] = defaultdict(lambda: {"won_deals": 0, "lost_deals": 0, "won_activities": 0, "won_seconds": 0, "closed_activities": 0})
    for (owner, won), row in sums.items():
        t = totals[owner]
        t["won_deals" if won else "lost_deals"] += row["deals"]
        t["closed_activities"] += row["activities"]
        if won:
            t["won_activities"] += row["activities"]
            t["won_seconds"] += row["seconds"]
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
    return _report(viewer, filters, rows)


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
