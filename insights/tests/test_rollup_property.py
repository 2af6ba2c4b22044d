"""Property: the three Sales Insights reports say what a plain-Python
computation over the raw log says, on generated data, after the first
refresh and again after late, changed and deleted touchpoints, provider
status callbacks, deal stage and owner changes, deleted deals, contacts
joining and leaving deals, users changing time zone, reps deactivated or
deleted, and a second refresh (now and then a full rebuild instead).

Each example builds a small world through the services every channel uses
(touchpoints.services, crm.services): three or four reps (two at least in
one team), a manager and an admin, each in a time zone drawn from UTC,
New York, Auckland, Berlin and Kolkata; a few contacts and deals (some
closed, some with contacts, so that touchpoints also roll up onto deals
through a contact); and touchpoints of every kind (notes, documents, cases
and portal visits are not activities and must never count), every status,
at instants that favour the edges: local midnights, 23:30, the last
microsecond of a day, month and ISO-week boundaries and the DST changes of
2026 (New York 03-08, Berlin 03-29, Auckland 04-05).

The reference (``expected_*`` below) reads only the raw rows (Touchpoint,
TouchpointLink for each touchpoint's deals, Deal, User) and the definitions
of insights/rules.py and of insights/queries.py's docstrings; its date
math is its own (zoneinfo, week = day - weekday, month = the 1st). The
reports are read through check_filters and REPORTS, as the API does, by a
viewer drawn among all users (admin: everyone; manager: their team or, with
no team, everyone; rep: themselves), for a random period of local days,
week or month buckets, optional kind, stage, team and rep filters. A
filter outside the viewer's scope must be refused (Invalid), not answered.

Two explicit examples (``small_world``) pin the minimal worlds this test
shrank its first failures to. Each example writes inside a savepoint that
is rolled back, so examples never see each other's rows. Generation is
derandomized (the same examples on every run, as the other property
tests); set ``ROLLUP_EXAMPLES`` to run more locally.
"""
from __future__ import annotations

import os
import pprint
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st

from accounts.models import Team, User
from accounts.services import do_create_user
from config.errors import Invalid, Unavailable
from crm.models import Deal, DealStage
from crm.services import (
    do_create_contact,
    do_create_deal,
    do_delete_record,
    do_link_contact_to_deal,
    do_unlink_contact_from_deal,
    do_update_deal,
)
from insights import refresh
from insights.queries import REPORTS, check_filters
from insights.rules import ACTIVITY_KINDS, COMPLETED
from touchpoints.models import Touchpoint, TouchpointLink
from touchpoints.rules import STATUSES, Kind
from touchpoints.services import NewTouchpoint, delete_touchpoint, record_touchpoints, set_statuses, update_touchpoint

EXAMPLES = int(os.environ.get("ROLLUP_EXAMPLES", "25"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # No explain phase: it replays a failure many times for little.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The kinds that are not a rep's activity (insights.rules): stated here, not
# derived from ACTIVITY_KINDS, so that counting one of them is caught.
NOT_ACTIVITIES = {Kind.NOTE, Kind.DOCUMENT, Kind.CASE, Kind.PORTAL_LOGIN, Kind.PORTAL_LOGOUT}
KINDS = tuple(str(k) for k in Kind)
ACTIVITIES = tuple(str(k) for k in Kind if k not in NOT_ACTIVITIES)
STAGES = tuple(str(s) for s in DealStage)
CLOSED = (str(DealStage.CLOSED_WON), str(DealStage.CLOSED_LOST))
NO_DEAL = "none"

ZONES = ("UTC", "America/New_York", "Pacific/Auckland", "Europe/Berlin", "Asia/Kolkata")
WINDOW_START = date(2026, 2, 26)  # a Thursday; the window runs to 2026-05-06
WINDOW_DAYS = 70
EDGE_DAYS = tuple(
    date.fromisoformat(d)
    for d in (
        "2026-02-28", "2026-03-01", "2026-03-02",  # month end / a Sunday 1st / a Monday
        "2026-03-07", "2026-03-08", "2026-03-09",  # New York springs forward on Sunday the 8th
        "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31",  # Berlin springs forward on Sunday the 29th
        "2026-04-01", "2026-04-04", "2026-04-05", "2026-04-06",  # Auckland falls back on Sunday the 5th
        "2026-04-30", "2026-05-01", "2026-05-03",
    )
)  # fmt: skip
EDGE_TIMES = (
    time(0), time(0, 0, 0, 1), time(0, 30), time(1, 30), time(2, 30), time(3, 0),  # midnights, DST gaps and repeats
    time(12), time(23, 0), time(23, 30), time(23, 59, 59, 999999),
)  # fmt: skip
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


# --- generation ---------------------------------------------------------------------


def days(margin: int = 0) -> st.SearchStrategy[date]:
    return st.one_of(
        st.sampled_from(EDGE_DAYS),
        st.integers(-margin, WINDOW_DAYS - 1 + margin).map(lambda n: WINDOW_START + timedelta(days=n)),
    )


@st.composite
def instants(draw) -> datetime:
    """A UTC instant: a local day and time in one of the zones (both folds of
    a repeated hour; a time in a DST gap is whatever zoneinfo makes of it)."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(days())
    clock = draw(st.one_of(st.sampled_from(EDGE_TIMES), st.times()))
    fold = draw(st.integers(0, 1))
    return datetime.combine(day, clock, tzinfo=zone).replace(fold=fold).astimezone(UTC)


def durations() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(0, 7200))


@st.composite
def touchpoint_specs(draw, n_users: int, n_deals: int, n_contacts: int) -> dict:
    kind = draw(st.sampled_from(KINDS))
    return {
        "kind": kind,
        "status": draw(st.one_of(st.none(), st.sampled_from(STATUSES[kind]))),
        "occurred_at": draw(instants()),
        "duration": draw(durations()),
        "owner": draw(st.integers(0, n_users - 1)),
        "deals": draw(st.one_of(st.just([]), st.lists(st.integers(0, n_deals - 1), min_size=1, max_size=2, unique=True))),
        "contacts": draw(st.lists(st.integers(0, n_contacts - 1), max_size=1)) if n_contacts else [],
    }


def ops(n_users: int, n_deals: int, n_contacts: int) -> st.SearchStrategy[tuple]:
    """A change after the first refresh. Touchpoint and deal indices are
    taken modulo what is still there when the change is applied."""
    tps = touchpoint_specs(n_users, n_deals, n_contacts)
    changes = st.fixed_dictionaries(
        {},
        optional={
            "occurred_at": instants(),
            "status": st.integers(0, 8),  # an index into the kind's statuses
            "duration_seconds": durations(),
            "owner_id": st.integers(0, n_users - 1),
            "deal_ids": st.lists(st.integers(0, n_deals - 1), max_size=2, unique=True),
        },
    ).filter(bool)
    late = st.tuples(st.just("late"), st.lists(tps, min_size=1, max_size=4))
    return st.one_of(
        late,
        st.tuples(st.just("delete"), st.integers(0, 99)),
        st.tuples(st.just("update"), st.integers(0, 99), changes),
        st.tuples(st.just("stage"), st.integers(0, n_deals - 1), st.sampled_from(STAGES), st.one_of(st.none(), instants())),
        late,
        st.tuples(st.just("delete"), st.integers(0, 99)),
        st.tuples(st.just("update"), st.integers(0, 99), changes),
        st.tuples(st.just("deal_owner"), st.integers(0, n_deals - 1), st.integers(0, n_users - 1)),
        st.tuples(st.just("delete_deal"), st.integers(0, n_deals - 1)),
        st.tuples(st.just("time_zone"), st.integers(0, n_users - 1), st.sampled_from(ZONES)),
        # A contact joins or leaves a deal: its history joins or leaves the deal's timeline.
        st.tuples(st.just("callback"), st.integers(0, 99), st.integers(0, 8), durations()),
        st.tuples(st.just("rep_leaves"), st.integers(0, n_users - 3), st.booleans()),  # not the manager nor the admin
        st.tuples(st.just("deal_owner_leaves"), st.integers(0, n_deals - 1), st.booleans()),  # if a rep owns the deal
        st.tuples(st.just("contact_deal"), st.integers(0, max(n_contacts - 1, 0)), st.integers(0, n_deals - 1), st.booleans()),
    )


@st.composite
def report_queries(draw, n_users: int, broad: bool = False) -> dict:
    """A report request. ``broad``: the whole window and beyond, no filters
    (the viewer still sees only their scope)."""
    if broad:
        first = WINDOW_START - timedelta(days=draw(st.integers(0, 10)))
        second = WINDOW_START + timedelta(days=WINDOW_DAYS - 1 + draw(st.integers(0, 10)))
    else:
        first, second = sorted([draw(days(margin=10)), draw(days(margin=10))])
    none = st.just([])
    return {
        # The broad query is the admin's or the manager's; the others anyone's.
        "viewer": draw(st.sampled_from([n_users - 1, n_users - 2]) if broad else st.integers(0, n_users - 1)),
        "start": first,
        "end": second,
        "bucket": draw(st.sampled_from(["week", "month"])),
        "kinds": [] if broad else draw(st.one_of(none, none, st.lists(st.sampled_from(ACTIVITIES), min_size=1, max_size=4, unique=True))),
        "stages": [] if broad else draw(st.one_of(none, none, st.lists(st.sampled_from((*STAGES, NO_DEAL)), min_size=1, max_size=4, unique=True))),
        "team": None if broad else draw(st.sampled_from([None, None, None, None, "east", "west"])),
        "reps": [] if broad else draw(st.one_of(none, none, none, st.lists(st.integers(0, n_users - 1), min_size=1, max_size=2, unique=True))),
    }


def query_lists(n_users: int, size: int) -> st.SearchStrategy[list[dict]]:
    return st.tuples(report_queries(n_users, broad=True), st.lists(report_queries(n_users), min_size=1, max_size=size)).map(lambda t: [t[0], *t[1]])


@st.composite
def worlds(draw) -> dict:
    n_reps = draw(st.integers(3, 4))
    users = [{"name": f"rep{i}", "role": "rep", "team": "east" if i < 2 else draw(st.sampled_from(["east", "west", None]))} for i in range(n_reps)]
    users.append({"name": "manager", "role": "manager", "team": draw(st.sampled_from(["east", None]))})
    users.append({"name": "admin", "role": "admin", "team": None})
    for user in users:
        user["zone"] = draw(st.sampled_from(ZONES))
    n_users = len(users)
    n_contacts = draw(st.integers(0, 2))
    n_deals = draw(st.integers(2, 3))
    deals = []
    for i in range(n_deals):
        # The first deal is closed; the others closed half the time.
        stage = draw(st.sampled_from(CLOSED if i == 0 else (*CLOSED, *STAGES)))
        deals.append(
            {
                "owner": draw(st.integers(0, n_users - 1)),
                "stage": stage,
                # A closed deal without a given closing time is closed "now".
                "closed_at": draw(st.one_of(instants(), instants(), instants(), st.none())) if stage in CLOSED else None,
                "created_at": draw(st.one_of(st.just(LONG_AGO), instants())),
                "contacts": draw(st.lists(st.integers(0, n_contacts - 1), max_size=2, unique=True)) if n_contacts else [],
            }
        )
    return {
        "users": users,
        "contacts": n_contacts,
        "deals": deals,
        # Whether every user opened a report before the first batch (their
        # zones' rollups exist, so the batch goes through the incremental
        # refresh) or the zones are built from the log at the first report.
        "prebuilt": draw(st.booleans()),
        "batch": draw(st.lists(touchpoint_specs(n_users, n_deals, n_contacts), min_size=3, max_size=16)),
        "first_queries": draw(query_lists(n_users, 2)),
        "ops": draw(st.lists(ops(n_users, n_deals, n_contacts), min_size=1, max_size=8)),
        # Last, now and then, the rep who owns a deal leaves (after the other
        # changes, so that none of them happens to recompute the deal).
        "leaver": draw(st.one_of(st.none(), st.tuples(st.just("deal_owner_leaves"), st.integers(0, n_deals - 1), st.booleans()))),
        # The second refresh, or now and then a full rebuild (the command's path).
        "rebuild": draw(st.sampled_from([False, False, False, True])),
        "second_queries": draw(query_lists(n_users, 3)),
    }


# --- the reference ------------------------------------------------------------------


class Log:
    """The raw rows, read once per check."""

    def __init__(self):
        self.touchpoints = list(Touchpoint.objects.values("id", "kind", "status", "occurred_at", "duration_seconds", "owner_id"))
        self.deals = {d["id"]: d for d in Deal.objects.values("id", "stage", "closed_at", "owner_id")}
        self.users = {u.id: u for u in User.objects.all()}
        self.deals_of: dict[int, set[int]] = defaultdict(set)
        for tp_id, deal_id in TouchpointLink.objects.filter(deal__isnull=False).values_list("touchpoint_id", "deal_id"):
            self.deals_of[tp_id].add(deal_id)

    def stage_of(self, tp_id: int) -> str:
        """The current stage of the lowest-numbered deal on the touchpoint's
        timeline, or "" for none."""
        deals = self.deals_of.get(tp_id)
        return self.deals[min(deals)]["stage"] if deals else ""

    def name(self, user_id: int) -> str:
        user = self.users[user_id]
        return user.get_full_name() or user.username


def sees_everyone(viewer: User) -> bool:
    return viewer.role == "admin" or viewer.is_superuser or (viewer.role == "manager" and viewer.team_id is None)


def scope_of(viewer: User, log: Log) -> set[int]:
    if sees_everyone(viewer):
        return set(log.users)
    if viewer.role == "manager":
        return {u.id for u in log.users.values() if u.team_id == viewer.team_id} | {viewer.id}
    return {viewer.id}


def owners_for(viewer: User, log: Log, team_id: int | None, rep_ids: list[int]) -> set[int] | None:
    """The owners a report covers, or None when the filters must be refused."""
    scope = scope_of(viewer, log)
    if team_id is not None and not (Team.objects.filter(id=team_id).exists() and (sees_everyone(viewer) or viewer.team_id == team_id)):
        return None
    if any(r not in scope for r in rep_ids):
        return None
    owners = scope
    if team_id is not None:
        owners = {u for u in owners if log.users[u].team_id == team_id}
    if rep_ids:
        owners = owners & set(rep_ids)
    return owners


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def bucket_of(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return date(day.year, day.month, 1)


def activities_in(log: Log, q: dict, owners: set[int], zone: ZoneInfo):
    """(touchpoint, local day) of the activities a report over ``q`` counts."""
    for tp in log.touchpoints:
        if tp["kind"] not in ACTIVITIES or tp["owner_id"] is None or tp["owner_id"] not in owners:
            continue
        if q["kinds"] and tp["kind"] not in q["kinds"]:
            continue
        if q["stages"] and (log.stage_of(tp["id"]) or NO_DEAL) not in q["stages"]:
            continue
        day = local_day(tp["occurred_at"], zone)
        if q["start"] <= day <= q["end"]:
            yield tp, day


def _sorted(log: Log, rows: list[dict]) -> list[dict]:
    for row in rows:
        row["rep"] = log.name(row["rep_id"])
    return sorted(rows, key=lambda r: (r["rep"].lower(), r["rep_id"], str(r.get("bucket", "")), r.get("kind", "")))


def expected_added(log: Log, q: dict, owners: set[int], zone: ZoneInfo) -> list[dict]:
    counts: Counter = Counter()
    for tp, day in activities_in(log, q, owners, zone):
        counts[(tp["owner_id"], bucket_of(day, q["bucket"]), tp["kind"])] += 1
    # One row per rep and bucket: a count per kind counted, None for the
    # kinds the filter leaves out.
    counted = q["kinds"] or ACTIVITIES
    lines: dict = {}
    for (o, b, k), n in counts.items():
        line = lines.setdefault((o, b), {"rep_id": o, "bucket": b, "activities": 0, **{kind: (0 if kind in counted else None) for kind in ACTIVITIES}})
        line[k] += n
        line["activities"] += n
    return _sorted(log, list(lines.values()))


def expected_completed(log: Log, q: dict, owners: set[int], zone: ZoneInfo) -> list[dict]:
    counts: Counter = Counter()
    seconds: Counter = Counter()
    for tp, _ in activities_in(log, q, owners, zone):
        if tp["status"] in COMPLETED[tp["kind"]]:
            counts[(tp["owner_id"], tp["kind"])] += 1
            seconds[(tp["owner_id"], tp["kind"])] += tp["duration_seconds"] or 0
    return _sorted(log, [{"rep_id": o, "kind": k, "activities": n, "duration_seconds": seconds[(o, k)]} for (o, k), n in counts.items()])


def expected_efficiency(log: Log, q: dict, owners: set[int], zone: ZoneInfo) -> list[dict]:
    """Per rep, their deals closed on a local day of the period; the
    activities on each deal's timeline up to its closing."""
    closed = {
        d["id"]: d
        for d in log.deals.values()
        if d["stage"] in CLOSED and d["closed_at"] is not None and d["owner_id"] in owners
        and q["start"] <= local_day(d["closed_at"], zone) <= q["end"]
    }  # fmt: skip
    on_deal: dict[int, list[dict]] = defaultdict(list)
    for tp in log.touchpoints:
        if tp["kind"] not in ACTIVITIES or (q["kinds"] and tp["kind"] not in q["kinds"]):
            continue
        for deal_id in log.deals_of.get(tp["id"], ()):
            if deal_id in closed and tp["occurred_at"] <= closed[deal_id]["closed_at"]:
                on_deal[deal_id].append(tp)
    totals: dict[int, dict] = {}
    for deal in closed.values():
        t = totals.setdefault(deal["owner_id"], {"won": 0, "lost": 0, "won_n": 0, "won_s": 0, "closed_n": 0})
        activities = on_deal[deal["id"]]
        t["closed_n"] += len(activities)
        if deal["stage"] == DealStage.CLOSED_WON:
            t["won"] += 1
            t["won_n"] += len(activities)
            t["won_s"] += sum(tp["duration_seconds"] or 0 for tp in activities)
        else:
            t["lost"] += 1
    rows = [
        {
            "rep_id": rep,
            "won_deals": t["won"],
            "lost_deals": t["lost"],
            "activities_on_won_deals": t["won_n"],
            "activities_on_closed_deals": t["closed_n"],
            "average_activities_per_won_deal": round(t["won_n"] / t["won"], 2) if t["won"] else None,
            "estimated_activities_to_win": round(t["closed_n"] / t["won"], 2) if t["won"] else None,
            "average_duration_seconds": round(t["won_s"] / t["won_n"], 1) if t["won_n"] else None,
        }
        for rep, t in totals.items()
    ]
    return _sorted(log, rows)


def report_for(name: str, viewer: User, filters):
    """The report, as a client gets it: a 503 (a zone being prepared) is
    retried after the worker's refresh."""
    try:
        return REPORTS[name](viewer, filters)
    except Unavailable:
        event("zone prepared by the worker")
        refresh.refresh()
        return REPORTS[name](viewer, filters)


EXPECTED = {"activities-added": expected_added, "activities-completed": expected_completed, "activity-efficiency": expected_efficiency}


def check_reports(state, queries: list[dict], when: str) -> None:
    log = Log()
    missing_team = max(Team.objects.values_list("id", flat=True), default=0) + 1000
    for q in queries:
        viewer = state.viewer(q["viewer"])
        zone = ZoneInfo(viewer.time_zone)
        team_id = None if q["team"] is None else Team.objects.filter(name=q["team"]).values_list("id", flat=True).first() or missing_team
        rep_ids = [state.user_ids[i] for i in q["reps"]]
        owners = owners_for(viewer, log, team_id, rep_ids)
        for name, expected_of in EXPECTED.items():
            # As the API: activity-efficiency takes no stage filter.
            stages = q["stages"] if name != "activity-efficiency" else []
            context = f"{when}: {name} for {viewer.username} ({viewer.role}, {viewer.time_zone}), {q}"
            args = dict(start=q["start"], end=q["end"], bucket=q["bucket"], team_id=team_id, rep_ids=rep_ids, kinds=q["kinds"], stages=stages)
            if owners is None:
                with pytest.raises(Invalid):
                    check_filters(viewer, **args)
                event("filters refused")
                continue
            report = report_for(name, viewer, check_filters(viewer, **args))
            assert report.time_zone == viewer.time_zone, context
            expected = expected_of(log, {**q, "stages": stages}, owners, zone)
            event(f"{name} {when.split(':')[0]}: {'rows' if expected else 'empty'}")
            assert report.rows == expected, f"{context}\n got:      {report.rows}\n expected: {expected}"


# --- the test -----------------------------------------------------------------------


class Rollback(Exception):
    pass


class State:
    """The example's records by index, as the changes leave them."""

    def __init__(self, world: dict):
        users = [do_create_user(u["name"], role=u["role"], team_name=u["team"], time_zone=u["zone"]) for u in world["users"]]
        self.user_ids = [u.id for u in users]  # every user, even once deleted (a rep filter may still name them)
        self.gone: set[int] = set()  # indices of users deleted or deactivated
        self.admin = users[-1]
        self.contact_ids = [do_create_contact(self.admin, {"first_name": f"C{i}"}).id for i in range(world["contacts"])]
        self.deal_ids: list[int | None] = []  # None: deleted
        for i, d in enumerate(world["deals"]):
            data = {"name": f"D{i}", "owner_id": self.user_ids[d["owner"]], "stage": d["stage"], "created_at": d["created_at"]}
            if d["closed_at"] is not None:
                data["closed_at"] = d["closed_at"]
            data["contacts"] = [{"contact_id": self.contact_ids[c], "role": "other"} for c in d["contacts"]]
            self.deal_ids.append(do_create_deal(self.admin, data).id)
        self.touchpoint_ids: list[int] = []  # not deleted

    def owner(self, i: int) -> int:
        """A user who may own records: the admin stands in for one gone."""
        return self.admin.id if i in self.gone else self.user_ids[i]

    def viewer(self, i: int) -> User:
        """Who asks for a report: only active users can sign in."""
        return User.objects.get(id=self.admin.id if i in self.gone else self.user_ids[i])

    def deals(self, indices: list[int]) -> list[int]:
        return [self.deal_ids[d] for d in indices if self.deal_ids[d] is not None]

    def record(self, specs: list[dict]) -> None:
        items = [
            NewTouchpoint(
                kind=s["kind"],
                status=s["status"],
                occurred_at=s["occurred_at"],
                duration_seconds=s["duration"],
                owner_id=self.owner(s["owner"]),
                deal_ids=self.deals(s["deals"]),
                contact_ids=[self.contact_ids[c] for c in s["contacts"]],
            )
            for s in specs
        ]
        results = record_touchpoints(self.admin, items)
        assert all(not r.errors and r.created for r in results), [r.errors for r in results]
        self.touchpoint_ids += [r.touchpoint_id for r in results]

    def apply(self, op: tuple) -> None:
        what, admin, tps = op[0], self.admin, self.touchpoint_ids
        if what == "late":
            self.record(op[1])
        elif what == "delete" and tps:
            delete_touchpoint(admin, tps.pop(op[1] % len(tps)))
        elif what == "update" and tps:
            tp_id = tps[op[1] % len(tps)]
            kind = Touchpoint.objects.get(id=tp_id).kind
            changes = dict(op[2])
            if "status" in changes:
                changes["status"] = STATUSES[kind][changes["status"] % len(STATUSES[kind])]
            if "owner_id" in changes:
                changes["owner_id"] = self.owner(changes["owner_id"])
            if "deal_ids" in changes:
                changes["deal_ids"] = self.deals(changes["deal_ids"])
            update_touchpoint(admin, tp_id, changes)
        elif what == "callback" and tps:
            # A provider's status callback (touchpoints.services.set_statuses).
            tp_id = tps[op[1] % len(tps)]
            kind = Touchpoint.objects.get(id=tp_id).kind
            set_statuses({tp_id: STATUSES[kind][op[2] % len(STATUSES[kind])]}, {tp_id: op[3]})
        elif what == "stage" and self.deal_ids[op[1]] is not None:
            data = {"stage": op[2]}
            if op[2] in CLOSED and op[3] is not None:
                data["closed_at"] = op[3]
            do_update_deal(admin, self.deal_ids[op[1]], data)
        elif what == "deal_owner" and self.deal_ids[op[1]] is not None:
            do_update_deal(admin, self.deal_ids[op[1]], {"owner_id": self.owner(op[2])})
        elif what == "delete_deal" and self.deal_ids[op[1]] is not None:
            do_delete_record(admin, Deal, self.deal_ids[op[1]])
            self.deal_ids[op[1]] = None
        elif what == "contact_deal" and self.contact_ids and self.deal_ids[op[2]] is not None:
            contact_id, deal_id = self.contact_ids[op[1]], self.deal_ids[op[2]]
            if op[3]:
                do_link_contact_to_deal(admin, deal_id, contact_id, "other")
            else:
                do_unlink_contact_from_deal(admin, deal_id, contact_id)
        elif what == "time_zone" and op[1] not in self.gone:
            user = User.objects.get(id=self.user_ids[op[1]])
            user.time_zone = op[2]
            user.save(update_fields=["time_zone"])
        elif what == "rep_leaves" and op[1] not in self.gone:
            self.leave(op[1], delete=op[2])
        elif what == "deal_owner_leaves" and self.deal_ids[op[1]] is not None:
            owner_id = Deal.objects.get(id=self.deal_ids[op[1]]).owner_id
            reps = self.user_ids[:-2]  # not the manager nor the admin
            if owner_id in reps and reps.index(owner_id) not in self.gone:
                self.leave(reps.index(owner_id), delete=op[2])

    def leave(self, i: int, *, delete: bool) -> None:
        """A rep leaves: deleted (Django nulls the owner of their touchpoints
        and deals: nobody's activity, nobody's deals any more) or
        deactivated (still theirs)."""
        user = User.objects.get(id=self.user_ids[i])
        if delete:
            user.delete()
        else:
            user.is_active = False
            user.save(update_fields=["is_active"])
        self.gone.add(i)


def run(world: dict) -> None:
    state = State(world)
    if world["prebuilt"]:
        # Every user has opened a report before the first touchpoint: their
        # zones' rollups exist, and the first batch goes through the
        # incremental refresh.
        refresh.refresh()
        for i in range(len(state.user_ids)):
            viewer = state.viewer(i)
            assert report_for("activities-added", viewer, check_filters(viewer, start=WINDOW_START, end=WINDOW_START)).rows == []
    state.record(world["batch"])
    refresh.refresh()
    check_reports(state, world["first_queries"], "after the first refresh")

    for op in world["ops"]:
        state.apply(op)
    if world["leaver"] is not None:
        state.apply(world["leaver"])
    if world["rebuild"]:
        refresh.rebuild()
    else:
        refresh.refresh()
    check_reports(state, world["second_queries"], "after the changes and a second refresh")


def test_the_activity_kinds_are_the_six_direct_ones():
    assert set(ACTIVITY_KINDS) == set(ACTIVITIES)
    assert set(COMPLETED) == set(ACTIVITIES)


def small_world(ops: list[tuple], leaver: tuple | None = None) -> dict:
    """A world for an explicit example: three reps of one team, their
    manager and an admin, all in UTC; rep0 owns a deal won on 2026-03-02
    and logs one call on it; the admin asks for the whole window."""
    whole = {"viewer": 4, "start": WINDOW_START, "end": WINDOW_START + timedelta(days=WINDOW_DAYS - 1), "bucket": "week",
             "kinds": [], "stages": [], "team": None, "reps": []}  # fmt: skip
    call = {"kind": "phone_call", "status": "completed", "occurred_at": datetime(2026, 3, 1, 12, tzinfo=UTC), "duration": 60, "owner": 0, "deals": [0], "contacts": []}
    return {
        "users": [{"name": f"rep{i}", "role": "rep", "team": "east", "zone": "UTC"} for i in range(3)]
        + [{"name": "manager", "role": "manager", "team": "east", "zone": "UTC"}, {"name": "admin", "role": "admin", "team": None, "zone": "UTC"}],
        "contacts": 0,
        "deals": [{"owner": 0, "stage": "closed_won", "closed_at": datetime(2026, 3, 2, 12, tzinfo=UTC), "created_at": LONG_AGO, "contacts": []}],
        "prebuilt": False,
        "batch": [call],
        "first_queries": [whole],
        "ops": ops,
        "leaver": leaver,
        "rebuild": False,
        "second_queries": [whole],
    }


@SETTINGS
@given(world=worlds())
# Found by this test (the generated worlds shrank to these): a won deal
# given to another rep, and a won deal whose rep is deleted.
@example(world=small_world([("deal_owner", 0, 1)]))
@example(world=small_world([], ("deal_owner_leaves", 0, True)))
def test_reports_match_the_raw_log(db, world):
    note(f"world = {pprint.pformat(world, width=160)}")  # this Hypothesis prints the arguments as blanks
    try:
        with transaction.atomic():
            run(world)
            raise Rollback
    except Rollback:
        pass
