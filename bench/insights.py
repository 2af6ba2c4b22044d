"""Sales Insights reports at 10M touchpoints, against a DuckDB scan of the raw log.

Dataset (kept between runs; ``--rebuild`` to redo it; ``--touchpoints N``,
default 10,000,000): a sales org generated from a fixed seed, so a size is
the same dataset on SQLite and PostgreSQL. 8 teams (3 in America/New_York,
3 in Europe/Berlin, 2 in UTC) of 12-13 reps and a manager each, an admin in
New York; reps' workloads log-normal, eight of them three times busier.
``N // 50`` deals (200,000 at 10M) created over the three years, living
~70 days; those that ended closed won (30%) or lost, with ``closed_at``.
The touchpoints cover the three years before 2026-12-07 18:00 UTC: more
each year, few at weekends, at the owner's local office hours; the six
activity kinds (insights.rules.ACTIVITY_KINDS) and notes, with realistic
statuses and call/event durations; 1% have no owner. About 35% are on one of
their owner's live deals (a direct TouchpointLink with the touchpoint's
fields copied; 2% of those on a second deal too). Written in id order through
touchpoints.bulk.insert_rows (COPY on PostgreSQL, executemany on SQLite)
inside touchpoints.bulk.deferred_log_indexes, ids numbered here (the empty
table's sequence set after: allocate_ids' nextval per row was half the
write time on PostgreSQL), then
VACUUM ANALYZE (PostgreSQL; autovacuum is off on this server), then
insights.refresh.rebuild(), timed, then ANALYZE of the rollup (what
autovacuum would do after such a write).

Measured, in-process, after a warm-up: each report through
insights.queries (check_filters + REPORTS[name], as the API calls them)
for an admin over the last 12 months (activities-added by week and by
month, activities-completed, activity-efficiency), a team's manager over
90 days and a rep over 90 days; ``--requests`` runs each (default 20),
p50 and p95, and the report's SQL alone (its statements re-run, rows
fetched). Alternating with each run, the same figures computed by DuckDB
(in memory, both cores) over the raw log exported once in this run, in
id (= time) order: one row per touchpoint
(owner, kind, status, occurred_at, duration, the stage of its lowest-id
deal) and one per deal link with the deal's owner, stage and closed_at
already joined, plus the deals. Flattened like that, the raw scan skips the
joins the log needs: generous to DuckDB. Every report's rows are compared
with DuckDB's (a correctness cross-check). Optionally one report over HTTP
against ``manage.py serve``.

Target (issue #8): every report under 100 ms on PostgreSQL at 10M (p95
here) and at least 3x faster than the DuckDB scan (ratio of the p50s).
"""
from __future__ import annotations

import bisect
import cProfile
import gc
import io
import pstats
import random
import time
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_insights"
DATASET_VERSION = 1
SEED = 20261207
# The dataset's "now": fixed, so a size is the same dataset whenever and
# wherever it is built, and the reports' periods end on its day.
NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
DAYS = 3 * 365
TARGET_MS = 100.0
TARGET_RATIO = 3.0
NY, BERLIN = "America/New_York", "Europe/Berlin"
TEAMS = (("East 1", NY), ("East 2", NY), ("East 3", NY), ("Europe 1", BERLIN), ("Europe 2", BERLIN), ("Europe 3", BERLIN), ("Inside 1", "UTC"), ("Inside 2", "UTC"))
REPS = 100
BATCH = 50_000
# The insights modules that decide what the rollup holds: a change to one
# rebuilds the kept rollup (a change to the reports does not).
ROLLUP_CODE = ("models.py", "refresh.py", "rules.py", "marks.py")

# (kind, share of touchpoints, share on a deal)
KIND_MIX = (("email", 36, 0.35), ("phone_call", 20, 0.5), ("sms", 12, 0.2), ("event", 10, 0.7), ("email_campaign", 6, 0.05), ("chat", 5, 0.1), ("note", 11, 0.3))
STATUS_MIX = {
    "email": (("sent", 55), ("received", 35), ("bounced", 3), ("automated", 4), ("failed", 1), ("draft", 1), ("queued", 1)),
    "phone_call": (("completed", 55), ("hangup", 5), ("no_answer", 25), ("busy", 8), ("failed", 3), ("canceled", 4)),
    "sms": (("delivered", 50), ("dispatched", 10), ("received", 35), ("failed", 5)),
    "event": (("held", 82), ("not_held", 18)),
    "email_campaign": (("sent", 90), ("bounced", 8), ("failed", 2)),
    "chat": (("sent", 50), ("received", 50)),
    "note": (("logged", 1),),
}
SOURCE = {"email": "imap", "phone_call": "twilio", "sms": "twilio", "event": "api", "email_campaign": "api", "chat": "api", "note": "manual"}
EVENT_SECONDS = (900, 1800, 1800, 2700, 3600, 3600, 5400)
EVENT_TYPES = ("call", "meeting", "meeting", "onsite_meeting", "onsite_service")
OPEN_STAGES = (("prospecting", 35), ("qualification", 30), ("proposal", 20), ("negotiation", 15))
WORDS = "renewal pricing proposal quote follow-up onboarding demo contract invoice support roadmap integration training budget approval legal security pilot".split()


def main(argv=None) -> int:
    parser = common.child_args("Sales Insights reports vs a DuckDB scan of the raw log")
    parser.add_argument("--touchpoints", type=int, default=10_000_000, help="dataset size (default 10,000,000); a different size rebuilds it")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the dataset")
    parser.add_argument("--rebuild-rollup", action="store_true", help="time insights.refresh.rebuild() again on the kept dataset")
    parser.add_argument("--requests", type=int, default=20, help="measured runs per report (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per report (default 3)")
    parser.add_argument("--no-http", action="store_true", help="skip the one report measured over HTTP")
    args = parser.parse_args(argv)
    db = args.db

    common.open_kept_database(db, DBNAME, args.rebuild)

    wanted = {"version": DATASET_VERSION, "touchpoints": args.touchpoints}
    meta = common.kept_dataset_or_reset(db, DBNAME, wanted)
    if meta is None:
        _empty_after_failed_build(db)
        meta = _generate(args.touchpoints)
    fingerprint = _insights_fingerprint()
    if args.rebuild_rollup or meta.get("rollup", {}).get("fingerprint") != fingerprint:
        # The rollup is derived data: rebuilt whenever the insights app changed.
        if "rollup" in meta and meta["rollup"].get("migrations") != fingerprint["migrations"]:
            _reset_insights_tables()
        meta["rollup"] = _build_rollup(meta["viewers"])
        meta["rollup"]["fingerprint"] = fingerprint
        meta["rollup"]["migrations"] = fingerprint["migrations"]
        common.write_dataset_meta(meta)
    version = common.db_version()
    commit = _commit()
    console.rule(f"[bold]insights[/] on {version}, app at {commit}")
    load = meta["load"]
    console.print(
        f"dataset: {meta['touchpoints']:,} touchpoints ({meta['activities']:,} activities), {meta['links']:,} deal links "
        f"({meta['linked_share'] * 100:.0f}% of touchpoints on a deal), {meta['deals']:,} deals, {meta['users']} users in {len(TEAMS)} teams; "
        f"built on {meta['built']}: generate + write {load['write_s']:.0f} s ({meta['touchpoints'] / load['write_s']:,.0f} touchpoints/s, "
        f"of which {load['python_s']:.0f} s generating in Python), indexes {load['index_s']:.0f} s, vacuum/analyze {load['analyze_s']:.0f} s"
    )
    rollup = meta["rollup"]
    tables = "; ".join(f"{name} {sum(rows.values()):,} ({', '.join(f'{k} {n:,}' for k, n in rows.items())})" for name, rows in rollup["tables"].items())
    console.print(f"rollup: insights.refresh.rebuild() {rollup['seconds']:.1f} s for zones {', '.join(rollup['zones'])}; {tables}; analyze {rollup['analyze_s']:.1f} s")

    from accounts.models import User

    viewers = {role: User.objects.get(id=uid) for role, uid in meta["viewers"].items()}
    scenarios = _scenarios(viewers)
    duck_connection, duck = _duckdb_load(db)
    ours, duck["reports"] = _measure(scenarios, duck_connection, args.warmup, args.requests)
    duck_connection.close()

    rows = []
    for sc in scenarios:
        mine, theirs = ours[sc["label"]], duck["reports"][sc["label"]]
        ratio = theirs["p50_ms"] / mine["p50_ms"]
        equal = mine["rows"] == theirs["rows"]
        met = ratio >= TARGET_RATIO and equal and (mine["p95_ms"] < TARGET_MS if db == "postgres" else True)
        rows.append({"label": sc["label"], "report": sc["report"], "viewer": sc["viewer"], "start": sc["start"], "end": sc["end"], "ours": {k: v for k, v in mine.items() if k != "rows"},
                     "duckdb": {k: v for k, v in theirs.items() if k != "rows"}, "ratio": ratio, "equal": equal, "met": met})
        if not equal:
            _show_difference(sc["label"], mine["rows"], theirs["rows"])

    http = None if args.no_http else _measure_http(viewers["admin"], scenarios[0], args.warmup, args.requests)
    slowest = max(rows, key=lambda r: r["ours"]["p50_ms"])
    plan = _explain(next(sc for sc in scenarios if sc["label"] == slowest["label"]))
    profile = _profile(next(sc for sc in scenarios if sc["label"] == slowest["label"])) if args.profile else None

    _print_table(db, version, rows, duck, http)
    console.print(f"[dim]plan of the slowest report's longest statement ({slowest['label']}):[/]\n{plan}")
    if profile:
        console.print(profile)
    met = all(r["met"] for r in rows)
    worst = max(rows, key=lambda r: r["ours"]["p95_ms"])
    lowest = min(rows, key=lambda r: r["ratio"])
    console.print(
        f"slowest report p95 {worst['ours']['p95_ms']:.1f} ms ({worst['label']}; target < {TARGET_MS:.0f} ms on PostgreSQL), "
        f"lowest ratio to DuckDB {lowest['ratio']:.1f}x ({lowest['label']}; target >= {TARGET_RATIO:.0f}x), "
        f"cross-check {'equal' if all(r['equal'] for r in rows) else 'DIFFERENT'} {common.verdict(met)}"
    )
    common.write_result(
        "insights",
        db,
        {"db_version": version, "commit": commit, "dataset": meta, "rows": rows, "duckdb": {k: v for k, v in duck.items() if k != "reports"}, "http": http, "plan": plan,
         "target_ms": TARGET_MS, "target_ratio": TARGET_RATIO, "met": met},
    )
    return 0


# --- dataset ---------------------------------------------------------------------------


def _cumulative(weights):
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


class _Picker:
    """Weighted choice by bisect over cumulative weights."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = _cumulative(weights)
        self.total = self.cum[-1]

    def __call__(self, r: float):
        return self.items[bisect.bisect_right(self.cum, r * self.total)]


def _generate(total: int) -> dict:
    from django.db import connection, transaction

    from accounts.models import Role
    from accounts.services import do_create_user
    from crm.models import Deal
    from touchpoints.bulk import deferred_log_indexes, insert_rows
    from touchpoints.models import Touchpoint, TouchpointLink
    from touchpoints.rules import counts_as_contact, is_shown

    started = time.perf_counter()
    rng = random.Random(SEED)
    postgres = connection.vendor == "postgresql"
    first_day = NOW.date() - timedelta(days=DAYS - 1)

    # People: an admin, a manager per team, 100 reps with skewed workloads.
    with console.status("creating users"):
        admin = do_create_user("admin", role=Role.ADMIN, time_zone=NY, first_name="Ada", last_name="Admin")
        owners, weights, zone_of = [], [], {}
        reps_by_team: dict[int, list[tuple[float, int]]] = {}
        managers = {}
        for t, (team, zone) in enumerate(TEAMS):
            m = do_create_user(f"manager{t + 1}", role=Role.MANAGER, team_name=team, time_zone=zone, first_name="Manager", last_name=team)
            managers[t] = m.id
            owners.append(m.id)
            weights.append(0.25)
            zone_of[m.id] = zone
        busy = set(rng.sample(range(REPS), 8))
        for i in range(REPS):
            t = i % len(TEAMS)
            team, zone = TEAMS[t]
            u = do_create_user(f"rep{i + 1:03d}", role=Role.REP, team_name=team, time_zone=zone, first_name="Rep", last_name=f"{i + 1:03d}")
            w = rng.lognormvariate(0, 0.5) * (3 if i in busy else 1)
            owners.append(u.id)
            weights.append(w)
            zone_of[u.id] = zone
            reps_by_team.setdefault(t, []).append((w, u.id))
    pick_owner = _Picker(owners, weights)
    # The manager and rep whose reports are measured: Europe 1 (Berlin), its busiest rep.
    viewers = {"admin": admin.id, "manager": managers[3], "rep": max(reps_by_team[3])[1]}

    # Local office hours -> UTC: each zone's offset per day (at local noon).
    day_list = [first_day + timedelta(days=i) for i in range(DAYS)]
    day_epoch = [int(datetime.combine(d, datetime.min.time(), tzinfo=UTC).timestamp()) for d in day_list]
    offsets = {z: [int(datetime(d.year, d.month, d.day, 12, tzinfo=zoneinfo.ZoneInfo(z)).utcoffset().total_seconds()) for d in day_list] for z in {zone for _, zone in TEAMS}}
    now_ts = int(NOW.timestamp())

    # Deals: created over the three years (and three months before), ~70 days each.
    deal_count = max(1_000, total // 50)
    deal_rng = random.Random(SEED + 1)
    start_ts, end_ts = day_epoch[0] - 90 * 86400, now_ts - 86400
    open_stage = _Picker([s for s, _ in OPEN_STAGES], [w for _, w in OPEN_STAGES])
    deals = []  # (id, owner, created_ts, closed_ts or None, stage)
    for i in range(deal_count):
        owner = pick_owner(deal_rng.random())
        created = int(start_ts + deal_rng.random() * (end_ts - start_ts))
        closed = created + int((deal_rng.expovariate(1 / 70) + 3) * 86400)
        if closed < now_ts:
            stage = "closed_won" if deal_rng.random() < 0.3 else "closed_lost"
        else:
            closed, stage = None, open_stage(deal_rng.random())
        deals.append((i + 1, owner, created, closed, stage))
    deals.sort(key=lambda d: d[2])
    deals = [(i + 1, *d[1:]) for i, d in enumerate(deals)]  # ids in creation order
    # A deal takes activities from the day after its creation until 14 days after it closed.
    starts_on: dict[int, list[tuple[int, int]]] = {}
    ends_after: dict[int, list[int]] = {}
    for did, owner, created, closed, stage in deals:
        first = max(0, (created - day_epoch[0]) // 86400 + 1)
        last = None if closed is None else (closed - day_epoch[0]) // 86400 + 14
        if last is not None and last <= first:
            continue  # over before the log starts
        starts_on.setdefault(first, []).append((owner, did))
        if last is not None:
            ends_after.setdefault(last, []).append(did)

    # Touchpoints per day: growing over the years, few at weekends, a holiday dip.
    day_weights = []
    for i, d in enumerate(day_list):
        w = (0.6 + 0.8 * i / DAYS) * (1.0 if d.weekday() < 5 else 0.12)
        if (d.month == 12 and d.day >= 22) or (d.month == 1 and d.day <= 2):
            w *= 0.35
        elif d.month == 8:
            w *= 0.8
        day_weights.append(w)
    cum = _cumulative(day_weights)
    per_day = [round(total * c / cum[-1]) for c in cum]
    per_day = [b - a for a, b in zip([0, *per_day], per_day)]

    kinds = [k for k, _, _ in KIND_MIX]
    pick_kind = _Picker(kinds, [w for _, w, _ in KIND_MIX])
    link_p = {k: p for k, _, p in KIND_MIX}
    pick_status = {k: _Picker([s for s, _ in mix], [w for _, w in mix]) for k, mix in STATUS_MIX.items()}
    subjects = [" ".join(rng.choice(WORDS) for _ in range(4)).capitalize() for _ in range(64)]
    shown = {(k, s): is_shown(k, s) for k, mix in STATUS_MIX.items() for s, _ in mix}
    counts = {(k, s): counts_as_contact(k, s) for k, mix in STATUS_MIX.items() for s, _ in mix}
    tp_fields = ("id", "kind", "direction", "status", "occurred_at", "recorded_at", "duration_seconds", "subject", "summary", "event_type", "source", "owner_id")
    link_fields = ("touchpoint_id", "deal_id", "path", "occurred_at", "kind", "shown", "counts")
    alive: dict[int, list[int]] = {o: [] for o in owners}
    gone: set[int] = set()
    fromts = datetime.fromtimestamp

    python_s = write_s = 0.0
    n_links = n_linked = n_activities = 0

    def rebuilding(name, done, count):
        if done < count:
            console.print(f"  CREATE INDEX {name}")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with transaction.atomic(), Progress(
        TextColumn("writing touchpoints"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("", total=total)
        with connection.cursor() as c:
            if postgres:
                # A fixture: no FK triggers, no WAL flush waits for this session.
                c.execute("SET session_replication_role = replica")
                c.execute("SET synchronous_commit = off")
                c.execute("SET maintenance_work_mem = '512MB'")
        load_started = t0 = time.perf_counter()
        insert_rows(
            Deal,
            ("id", "name", "owner_id", "stage", "amount", "created_at", "updated_at", "closed_at"),
            [
                (did, f"Deal {did}", owner, stage, Decimal(deal_rng.randint(10, 2000) * 100), fromts(created, UTC), fromts(closed or created, UTC), closed and fromts(closed, UTC))
                for did, owner, created, closed, stage in deals
            ],
        )
        if postgres:
            with connection.cursor() as c:
                c.execute("SELECT setval(pg_get_serial_sequence('crm_deal', 'id'), %s)", [deal_count])
        write_s += time.perf_counter() - t0
        done = 0
        with deferred_log_indexes(on_rebuild=rebuilding):
            pending: list[tuple] = []

            def flush():
                nonlocal write_s, done, n_links, n_linked
                t = time.perf_counter()
                # Ids assigned here, in order, on the empty table (the sequence is set
                # after the load): allocate_ids' nextval per row took 5-7 us of the
                # 13 us a row cost on PostgreSQL (measured on 200,000 rows).
                ids = range(done + 1, done + len(pending) + 1)
                tps, links = [], []
                for tid, (ts, kind, status, owner, dur, direction, etype, subj, deal_ids) in zip(ids, pending):
                    when = fromts(ts, UTC)
                    tps.append((tid, kind, direction, status, when, when, dur, subj, "", etype, SOURCE[kind], owner))
                    if deal_ids:
                        n_linked += 1
                        sh, co = shown[kind, status], counts[kind, status]
                        for did in deal_ids:
                            links.append((tid, did, "direct", when, kind, sh, co))
                insert_rows(Touchpoint, tp_fields, tps)
                insert_rows(TouchpointLink, link_fields, links)
                n_links += len(links)
                done += len(pending)
                pending.clear()
                write_s += time.perf_counter() - t
                progress.update(task, completed=done)

            for di, n in enumerate(per_day):
                tg = time.perf_counter()
                for owner, did in starts_on.get(di, ()):
                    alive[owner].append(did)
                if di in ends_after:
                    gone.update(ends_after.pop(di))
                    for o in owners:
                        alive[o] = [d for d in alive[o] if d not in gone]
                base = day_epoch[di]
                day_rows = []
                for _ in range(n):
                    r = rng.random()
                    owner = None if r < 0.01 else pick_owner((r - 0.01) / 0.99)
                    zone_off = offsets[zone_of[owner] if owner else "UTC"][di]
                    # Office hours (08:00-18:00 local) mostly; now and then any time.
                    secs = 28800 + int(rng.random() * 36000) if rng.random() < 0.9 else int(rng.random() * 86400)
                    ts = base + secs - zone_off
                    while ts >= now_ts:  # today: only what already happened
                        ts = base - zone_off + int(rng.random() * 86400)
                    kind = pick_kind(rng.random())
                    status = pick_status[kind](rng.random())
                    dur = direction = etype = None
                    if kind == "phone_call":
                        direction = "inbound" if rng.random() < 0.3 else "outbound"
                        if status == "completed":
                            dur = 15 + int(rng.expovariate(1 / 240))
                        elif status == "hangup":
                            dur = 1 + int(rng.random() * 45)
                        elif status in ("no_answer", "busy"):
                            dur = 0
                    elif kind == "event":
                        dur = EVENT_SECONDS[int(rng.random() * len(EVENT_SECONDS))]
                        etype = EVENT_TYPES[int(rng.random() * len(EVENT_TYPES))]
                    elif kind != "note":
                        direction = "inbound" if status == "received" else "outbound"
                    deal_ids = None
                    if owner is not None and rng.random() < link_p[kind]:
                        live = alive[owner]
                        if live:
                            deal_ids = [live[int(rng.random() * len(live))]]
                            if len(live) > 1 and rng.random() < 0.02:
                                other = live[int(rng.random() * len(live))]
                                if other != deal_ids[0]:
                                    deal_ids.append(other)
                    if kind != "note":
                        n_activities += owner is not None
                    day_rows.append((ts, kind, status, owner, dur, direction, etype, subjects[int(rng.random() * 64)], deal_ids))
                day_rows.sort(key=lambda row: row[0])
                pending.extend(day_rows)
                python_s += time.perf_counter() - tg
                if len(pending) >= BATCH:
                    flush()
            if pending:
                flush()
            if postgres:
                with connection.cursor() as c:
                    c.execute("SELECT setval(pg_get_serial_sequence('touchpoints_touchpoint', 'id'), %s)", [total])
            index_started = time.perf_counter()
        if postgres:
            with connection.cursor() as c:
                c.execute("RESET session_replication_role")
                c.execute("RESET synchronous_commit")
                c.execute("RESET maintenance_work_mem")
    index_s = time.perf_counter() - index_started  # with the commit
    load_wall = index_started - load_started

    t = time.perf_counter()
    with console.status("VACUUM ANALYZE" if postgres else "wal checkpoint"):
        with connection.cursor() as c:
            if postgres:
                c.execute("VACUUM ANALYZE")
            else:
                # No ANALYZE: nothing in the app runs it (as bench.timeline).
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    analyze_s = time.perf_counter() - t
    console.print(f"wrote {total:,} touchpoints, {n_links:,} links, {deal_count:,} deals in {load_wall:.0f} s; indexes {index_s:.0f} s; analyze {analyze_s:.0f} s")

    meta = {
        "version": DATASET_VERSION,
        "touchpoints": total,
        "activities": n_activities,
        "links": n_links,
        "linked_share": n_linked / total,
        "deals": deal_count,
        "users": len(owners) + 1,
        "viewers": viewers,
        "now": NOW.isoformat(),
        "load": {"write_s": load_wall, "python_s": python_s, "db_write_s": write_s, "index_s": index_s, "analyze_s": analyze_s, "path": "COPY (insert_rows)" if postgres else "executemany (insert_rows)"},
        "seconds": time.perf_counter() - started,
        "built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    common.write_dataset_meta(meta)
    return meta


def _empty_after_failed_build(db: str) -> None:
    """common.kept_dataset_or_reset knows a dataset by its organizations;
    this one has none, so a build that failed before writing its metadata
    leaves users behind: start again from an empty database."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User

    if not User.objects.exists():
        return
    console.print("an unfinished dataset (no metadata): rebuilding")
    connection.close()
    common.drop_database(db, DBNAME)
    common.create_database(db, DBNAME)
    call_command("migrate", verbosity=0, interactive=False)
    common.read_dataset_meta()  # creates bench_meta again


def _commit() -> str:
    """HEAD, and whether the insights app differs from it (it is being worked on)."""
    import subprocess

    def git(*argv) -> str:
        return subprocess.run(["git", *argv], cwd=common.ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted insights/ changes" if git("status", "--porcelain", "--untracked-files=no", "--", "insights") else "")


def _insights_fingerprint() -> dict:
    """What the kept rollup was built by: the insights code that decides
    its contents (not the reports' reading of it) and the app's migrations
    (rewritten in place while unreleased)."""
    import hashlib

    app = common.ROOT / "insights"

    def digest(paths) -> str:
        h = hashlib.sha256()
        for path in sorted(paths):
            h.update(path.name.encode() + path.read_bytes())
        return h.hexdigest()[:16]

    return {"code": digest(app / name for name in ROLLUP_CODE), "migrations": digest(app.glob("migrations/*.py"))}


def _reset_insights_tables() -> None:
    """The insights tables dropped and migrated again: its unreleased
    migration may have been rewritten since the kept dataset was built.
    Only derived data lives there (the rollup and its marks)."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as c:
        for table in [t for t in connection.introspection.table_names(c) if t.startswith("insights_")]:
            c.execute(f'DROP TABLE "{table}"' + (" CASCADE" if connection.vendor == "postgresql" else ""))
        c.execute("DELETE FROM django_migrations WHERE app = 'insights'")
    call_command("migrate", "insights", verbosity=0, interactive=False)
    console.print("insights tables recreated (the app's migrations changed since the dataset was built)")


def _build_rollup(viewers: dict) -> dict:
    """insights.refresh.rebuild(), timed, with every viewer's zone in the
    rollup (as once each of them has opened a report)."""
    from django.apps import apps
    from django.db import connection
    from django.db.models import Count

    from accounts.models import User
    from insights import refresh

    request_zone = getattr(refresh, "request_zone", None)  # zones on demand (f0d8a33)
    if request_zone is not None:
        for zone in sorted(set(User.objects.filter(id__in=viewers.values()).values_list("time_zone", flat=True))):
            request_zone(zone)
    with console.status("insights.refresh.rebuild()"):
        t = time.perf_counter()
        done = refresh.rebuild()
        seconds = time.perf_counter() - t
    models = [m for m in apps.get_app_config("insights").get_models() if m.__name__ in ("ActivityCell", "ClosedDealCell", "DealActivity")]
    t = time.perf_counter()
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            # What autovacuum would do after the rebuild's writes (it is off on this server).
            c.execute("VACUUM ANALYZE " + ", ".join(m._meta.db_table for m in models))
        else:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    analyze_s = time.perf_counter() - t
    tables = {}
    for model in models:
        if any(f.name == "grain" for f in model._meta.fields):
            tables[model.__name__] = {g: n for g, n in model.objects.values_list("grain").annotate(n=Count("id")).order_by("grain")}
        else:
            tables[model.__name__] = {"rows": model.objects.count()}
    cells = tables.get("ActivityCell", {})
    out = {"seconds": seconds, "zones": done["zones"], "cells": sum(cells.values()), "by_grain": cells, "tables": tables, "analyze_s": analyze_s}
    console.print(f"rollup rebuilt in {seconds:.1f} s for zones {', '.join(done['zones'])}: {tables}")
    return out


# --- the reports, ours ----------------------------------------------------------------------


def _scenarios(viewers) -> list[dict]:
    out = []
    year_end = NOW.astimezone(viewers["admin"].tzinfo).date()
    year = (year_end - timedelta(days=364), year_end)
    for label, role, report, period, bucket in (
        ("admin 12 months, added by week", "admin", "activities-added", 365, "week"),
        ("admin 12 months, added by month", "admin", "activities-added", 365, "month"),
        ("admin 12 months, completed", "admin", "activities-completed", 365, "week"),
        ("admin 12 months, efficiency", "admin", "activity-efficiency", 365, "week"),
        ("manager 90 days, added by week", "manager", "activities-added", 90, "week"),
        ("manager 90 days, completed", "manager", "activities-completed", 90, "week"),
        ("manager 90 days, efficiency", "manager", "activity-efficiency", 90, "week"),
        ("rep 90 days, added by week", "rep", "activities-added", 90, "week"),
        ("rep 90 days, completed", "rep", "activities-completed", 90, "week"),
        ("rep 90 days, efficiency", "rep", "activity-efficiency", 90, "week"),
    ):
        viewer = viewers[role]
        end = NOW.astimezone(viewer.tzinfo).date()
        start = end - timedelta(days=period - 1)
        if role == "admin":
            start, end = year
        out.append({"label": label, "viewer": role, "user": viewer, "report": report, "start": start, "end": end, "bucket": bucket})
    return out


def _run_report(sc):
    from insights import queries

    filters = queries.check_filters(sc["user"], start=sc["start"], end=sc["end"], bucket=sc["bucket"])
    return queries.REPORTS[sc["report"]](sc["user"], filters)


def _canonical(report_name: str, rows: list[dict]) -> list[tuple]:
    from insights.rules import ACTIVITY_KINDS

    if report_name == "activities-added":
        # One row per rep and bucket, a count per kind: compared as DuckDB's (rep, bucket, kind) rows.
        return sorted((r["rep_id"], str(r["bucket"]), kind, int(r[kind])) for r in rows for kind in ACTIVITY_KINDS if r[kind])
    if report_name == "activities-completed":
        return sorted((r["rep_id"], r["kind"], int(r["activities"]), int(r["duration_seconds"])) for r in rows)
    return sorted(
        (r["rep_id"], r["won_deals"], r["lost_deals"], int(r["activities_on_won_deals"]), int(r["activities_on_closed_deals"]), r["average_duration_seconds"]) for r in rows
    )


def _statements(sc) -> list[tuple[str, tuple]]:
    """The SQL statements (and parameters) one run of the report executes."""
    from django.db import connection

    captured = []
    with connection.execute_wrapper(lambda execute, sql, params, many, context: captured.append((sql, params)) or execute(sql, params, many, context)):
        _run_report(sc)
    return captured


def _time_statements(statements, rounds: int = 5) -> tuple[float, list[float]]:
    """The statements re-run on a cursor, rows fetched (SQLite computes them
    while they are fetched, so timing execute alone would miss it): the
    median of their total, and each one's time in the median round. In a
    transaction, as the report runs them: its ``SET LOCAL`` (PostgreSQL)
    lasts only for one."""
    from django.db import connection, transaction

    rounds_seen = []
    for _ in range(rounds):
        each = []
        with transaction.atomic(), connection.cursor() as c:
            for sql, params in statements:
                t = time.perf_counter()
                c.execute(sql, params)
                while c.description is None and c.nextset():  # past a SET sent with the statement
                    pass
                if c.description is not None:
                    c.fetchall()
                each.append(time.perf_counter() - t)
        rounds_seen.append((sum(each), each))
    rounds_seen.sort(key=lambda r: r[0])
    return rounds_seen[len(rounds_seen) // 2]


def _measure(scenarios, duck, warmup: int, runs: int) -> tuple[dict, dict]:
    """Each report ours and DuckDB's, run alternately (ours, DuckDB, ours, ...)
    so both see the same machine: on this shared one DuckDB's two threads
    are the first to suffer from a neighbour's load.

    Before each report the heap so far (Django, the DuckDB results and
    rows kept from the reports before) is frozen out of the collector's
    way, as every gunicorn worker's is (config/gunicorn.py): otherwise a
    full collection walking this process's kept rows (100 ms) lands in
    some runs and measures the bench, not the report."""
    ours, theirs = {}, {}
    with console.status("timing the reports in-process and the DuckDB scans"):
        for sc in scenarios:
            gc.collect()
            gc.freeze()
            duck_sql, duck_params = _duck_sql(sc)
            times, duck_times = [], []
            for i in range(warmup + runs):
                t = time.perf_counter()
                report = _run_report(sc)
                elapsed = time.perf_counter() - t
                t = time.perf_counter()
                result = duck.execute(duck_sql, duck_params).fetchall()
                duck_elapsed = time.perf_counter() - t
                if i >= warmup:
                    times.append(elapsed)
                    duck_times.append(duck_elapsed)
            statements = _statements(sc)
            sql_s, _ = _time_statements(statements)
            ours[sc["label"]] = {
                "p50_ms": common.percentile(times, 50) * 1000,
                "p95_ms": common.percentile(times, 95) * 1000,
                "queries": len(statements),
                # The report's statements alone, re-run with their rows fetched: the rest of p50 is Python.
                "sql_ms": sql_s * 1000,
                "result_rows": len(report.rows),
                "rows": _canonical(sc["report"], report.rows),
            }
            theirs[sc["label"]] = {"p50_ms": common.percentile(duck_times, 50) * 1000, "p95_ms": common.percentile(duck_times, 95) * 1000, "rows": _duck_rows(sc, result)}
    return ours, theirs


def _explain(sc) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL) / EXPLAIN QUERY PLAN (SQLite)
    of the report's longest-running statement (rows fetched)."""
    from django.db import connection, transaction

    statements = _statements(sc)
    _, each = _time_statements(statements)
    seconds, longest = max(zip(each, range(len(statements))), key=lambda x: x[0])
    sql, params = statements[longest]
    explain = "EXPLAIN (ANALYZE, BUFFERS)" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with transaction.atomic(), connection.cursor() as c:
        for before, before_params in statements[:longest]:
            c.execute(before, before_params)
        if sql.startswith("SET LOCAL"):  # a setting sent with the statement: set, then explained alone
            setting, sql = sql.split("; ", 1)
            c.execute(setting)
        c.execute(f"{explain} {sql}", params)
        lines = [str(row[-1]) for row in c.fetchall()]
    shown_sql = sql if len(sql) < 1200 else sql[:1200] + " ..."
    return f"  ({seconds * 1000:.1f} ms of the {len(statements)} statements' {sum(each) * 1000:.1f} ms) {shown_sql}\n" + "\n".join("  " + line for line in lines)


def _profile(sc) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(5):
        _run_report(sc)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(20)
    return f"cProfile of 5 runs of {sc['label']}:\n{out.getvalue()}"


def _measure_http(admin, sc, warmup: int, runs: int) -> dict:
    from django.db import connection

    from accounts.models import ApiToken
    from accounts.services import do_issue_token

    ApiToken.objects.filter(user=admin, name="bench").delete()
    token = do_issue_token(admin, "bench")
    path = f"/api/v1/insights/{sc['report']}?start={sc['start']}&end={sc['end']}&bucket={sc['bucket']}"
    connection.close()
    times = []
    with common.server(f"insights-{connection.vendor}") as port:
        client = common.Http(port, token)
        body = client.get_json(path)
        for i in range(warmup + runs):
            status, data, elapsed = client.request("GET", path)
            if status != 200:
                raise SystemExit(f"GET {path} -> {status}: {data[:300]!r}")
            if i >= warmup:
                times.append(elapsed)
        client.close()
    return {"label": sc["label"], "path": path, "rows": len(body["rows"]), "bytes": len(data), "p50_ms": common.percentile(times, 50) * 1000, "p95_ms": common.percentile(times, 95) * 1000}


# --- the DuckDB baseline ---------------------------------------------------------------------

_EXPORT = {
    "postgresql": {
        "tp": (
            "SELECT t.owner_id, t.kind, t.status, t.occurred_at AT TIME ZONE 'UTC', t.duration_seconds, COALESCE(d.stage, '') "
            "FROM touchpoints_touchpoint t "
            "LEFT JOIN (SELECT touchpoint_id, MIN(deal_id) AS deal_id FROM touchpoints_touchpointlink WHERE deal_id IS NOT NULL GROUP BY touchpoint_id) f ON f.touchpoint_id = t.id "
            "LEFT JOIN crm_deal d ON d.id = f.deal_id "
            # The log's own order (ids follow time), on both databases: DuckDB's
            # min/max per row group then skips what a period leaves out.
            "ORDER BY t.id"
        ),
        "links": (
            "SELECT l.deal_id, l.kind, l.occurred_at AT TIME ZONE 'UTC', t.duration_seconds, d.owner_id, d.stage, d.closed_at AT TIME ZONE 'UTC' "
            "FROM touchpoints_touchpointlink l JOIN touchpoints_touchpoint t ON t.id = l.touchpoint_id JOIN crm_deal d ON d.id = l.deal_id WHERE l.deal_id IS NOT NULL ORDER BY l.id"
        ),
        "deals": "SELECT id, owner_id, stage, closed_at AT TIME ZONE 'UTC' FROM crm_deal ORDER BY id",
    },
    "sqlite": {
        "tp": (
            "SELECT t.owner_id, t.kind, t.status, t.occurred_at, t.duration_seconds, COALESCE(d.stage, '') "
            "FROM touchpoints_touchpoint t "
            "LEFT JOIN (SELECT touchpoint_id, MIN(deal_id) AS deal_id FROM touchpoints_touchpointlink WHERE deal_id IS NOT NULL GROUP BY touchpoint_id) f ON f.touchpoint_id = t.id "
            "LEFT JOIN crm_deal d ON d.id = f.deal_id "
            # The log's own order (ids follow time), on both databases: DuckDB's
            # min/max per row group then skips what a period leaves out.
            "ORDER BY t.id"
        ),
        "links": (
            "SELECT l.deal_id, l.kind, l.occurred_at, t.duration_seconds, d.owner_id, d.stage, d.closed_at "
            "FROM touchpoints_touchpointlink l JOIN touchpoints_touchpoint t ON t.id = l.touchpoint_id JOIN crm_deal d ON d.id = l.deal_id WHERE l.deal_id IS NOT NULL ORDER BY l.id"
        ),
        "deals": "SELECT id, owner_id, stage, closed_at FROM crm_deal ORDER BY id",
    },
}
_COLUMNS = {
    "tp": {"owner_id": "INTEGER", "kind": "VARCHAR", "status": "VARCHAR", "occurred_at": "TIMESTAMP", "duration_seconds": "INTEGER", "stage": "VARCHAR"},
    "links": {"deal_id": "INTEGER", "kind": "VARCHAR", "occurred_at": "TIMESTAMP", "duration_seconds": "INTEGER", "deal_owner_id": "INTEGER", "deal_stage": "VARCHAR", "deal_closed_at": "TIMESTAMP"},
    "deals": {"id": "INTEGER", "owner_id": "INTEGER", "stage": "VARCHAR", "closed_at": "TIMESTAMP"},
}


def _export(table: str, path: Path) -> int:
    """The raw rows as CSV (UTC timestamps without offset)."""
    import csv

    from django.db import connection

    sql = _EXPORT[connection.vendor][table]
    size = 0
    with open(path, "wb") as f, connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("SET TIME ZONE 'UTC'")
            with c.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for data in copy:
                    f.write(data)
                    size += len(data)
            return size
        text = io.TextIOWrapper(f, newline="", encoding="utf-8")
        writer = csv.writer(text)
        c.execute(sql)
        while rows := c.fetchmany(100_000):
            writer.writerows(rows)
        text.flush()
        size = f.tell()
        text.detach()
    return size


def _duckdb_load(db: str):
    """The raw log exported once and loaded into an in-memory DuckDB."""
    import duckdb

    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    icu = duck.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'icu'").fetchone()
    if not (icu and icu[0]):
        raise SystemExit("DuckDB's ICU extension (time zones) is not bundled in this wheel")
    threads = duck.execute("SELECT current_setting('threads')").fetchone()[0]
    export_s = load_s = 0.0
    sizes = {}
    for table, columns in _COLUMNS.items():
        path = common.BENCH_VAR / f"insights-{db}-{table}.csv"
        with console.status(f"exporting the raw {table} for DuckDB"):
            t = time.perf_counter()
            sizes[table] = _export(table, path)
            export_s += time.perf_counter() - t
        with console.status(f"loading {table} into DuckDB"):
            t = time.perf_counter()
            cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
            select = ", ".join(f"CAST({k} AS TIMESTAMPTZ) AS {k}" if v == "TIMESTAMP" else (f"COALESCE({k}, '') AS {k}" if k in ("stage", "deal_stage") else k) for k, v in columns.items())
            duck.execute(f"CREATE TABLE {table} AS SELECT {select} FROM read_csv('{path}', header = false, columns = {{{cols}}}, quote = '\"')")
            load_s += time.perf_counter() - t
        path.unlink()
    counts = {t: duck.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _COLUMNS}
    console.print(
        f"DuckDB {duckdb.__version__} ({threads} threads, ICU bundled): exported {counts['tp']:,} touchpoints, {counts['links']:,} deal links, {counts['deals']:,} deals "
        f"({sum(sizes.values()) / 1e6:,.0f} MB CSV) in {export_s:.1f} s, loaded in {load_s:.1f} s"
    )

    return duck, {"version": duckdb.__version__, "threads": threads, "export_s": export_s, "load_s": load_s, "csv_bytes": sizes, "counts": counts}


def _scope_ids(sc) -> list[int] | None:
    from insights import queries

    filters = queries.check_filters(sc["user"], start=sc["start"], end=sc["end"], bucket=sc["bucket"])
    return queries.owner_ids(sc["user"], filters)


def _duck_sql(sc) -> tuple[str, list]:
    from insights.refresh import day_bounds
    from insights.rules import ACTIVITY_KINDS, COMPLETED

    tz = sc["user"].tzinfo
    since, until = day_bounds(sc["start"], tz)[0], day_bounds(sc["end"], tz)[1]
    owners = _scope_ids(sc)
    kinds = ", ".join(f"'{k}'" for k in ACTIVITY_KINDS)
    if sc["report"] == "activity-efficiency":
        scope = "" if owners is None else f" AND owner_id IN ({', '.join(map(str, owners))})"
        link_scope = "" if owners is None else f" AND deal_owner_id IN ({', '.join(map(str, owners))})"
        sql = f"""
            WITH d AS (
                SELECT id, owner_id, stage FROM deals
                WHERE closed_at >= $since AND closed_at < $until AND stage IN ('closed_won', 'closed_lost') AND owner_id IS NOT NULL{scope}
            ), a AS (
                SELECT deal_id, count(*) AS n, coalesce(sum(duration_seconds), 0) AS s FROM links
                WHERE deal_closed_at >= $since AND deal_closed_at < $until AND deal_stage IN ('closed_won', 'closed_lost')
                  AND kind IN ({kinds}) AND occurred_at <= deal_closed_at{link_scope}
                GROUP BY deal_id
            )
            SELECT d.owner_id,
                   count(*) FILTER (WHERE d.stage = 'closed_won'),
                   count(*) FILTER (WHERE d.stage = 'closed_lost'),
                   coalesce(sum(a.n) FILTER (WHERE d.stage = 'closed_won'), 0),
                   coalesce(sum(a.n), 0),
                   coalesce(sum(a.s) FILTER (WHERE d.stage = 'closed_won'), 0)
            FROM d LEFT JOIN a ON a.deal_id = d.id
            GROUP BY d.owner_id
        """
        return sql, {"since": since, "until": until}
    scope = "owner_id IS NOT NULL" if owners is None else f"owner_id IN ({', '.join(map(str, owners))})"
    where = f"{scope} AND kind IN ({kinds}) AND occurred_at >= $since AND occurred_at < $until"
    local_day = f"CAST(timezone('{tz.key}', occurred_at) AS DATE)"
    if sc["report"] == "activities-added":
        bucket = f"CAST(date_trunc('{sc['bucket']}', {local_day}) AS DATE)"
        sql = f"SELECT owner_id, {bucket} AS bucket, kind, count(*) FROM tp WHERE {where} GROUP BY ALL"
        return sql, {"since": since, "until": until}
    done = " OR ".join(f"(kind = '{k}' AND status IN ({', '.join(repr(s) for s in sorted(COMPLETED[k]))}))" for k in ACTIVITY_KINDS)
    sql = f"SELECT owner_id, kind, count(*), coalesce(sum(duration_seconds), 0) FROM tp WHERE {where} AND ({done}) GROUP BY ALL"
    return sql, {"since": since, "until": until}


def _duck_rows(sc, result) -> list[tuple]:
    if sc["report"] == "activities-added":
        return sorted((o, str(b), k, int(n)) for o, b, k, n in result)
    if sc["report"] == "activities-completed":
        return sorted((o, k, int(n), int(s)) for o, k, n, s in result)
    return sorted((o, int(won), int(lost), int(nw), int(nc), round(sw / nw, 1) if nw else None) for o, won, lost, nw, nc, sw in result)


def _show_difference(label: str, ours: list[tuple], theirs: list[tuple]) -> None:
    a, b = set(ours), set(theirs)
    console.print(f"[bold red]{label}: ours {len(ours):,} rows, DuckDB {len(theirs):,}; only ours: {sorted(a - b)[:5]}; only DuckDB: {sorted(b - a)[:5]}[/]")


# --- output ---------------------------------------------------------------------------------


def _print_table(db: str, version: str, rows, duck, http) -> None:
    from rich.table import Table

    table = Table(title=f"Sales Insights reports on {version} vs DuckDB {duck['version']} raw scan (in-process)")
    for name, justify in (("report", "left"), ("rows", "right"), ("queries", "right"), ("ours p50 ms", "right"), ("ours p95 ms", "right"), ("of which SQL", "right"),
                          ("DuckDB p50 ms", "right"), ("ratio", "right"), ("same rows", "center"), ("target", "center")):
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(
            r["label"], f"{r['ours']['result_rows']:,}", str(r["ours"]["queries"]), f"{r['ours']['p50_ms']:.1f}", f"{r['ours']['p95_ms']:.1f}", f"{r['ours']['sql_ms']:.1f}",
            f"{r['duckdb']['p50_ms']:.1f}", f"{r['ratio']:.1f}x", "yes" if r["equal"] else "[red]NO[/]", common.verdict(r["met"]),
        )
    console.print(table)
    target = f"p95 < {TARGET_MS:.0f} ms and " if db == "postgres" else ""
    console.print(
        f"target: {target}ratio (DuckDB p50 / ours p50) >= {TARGET_RATIO:.0f}x and the same rows as DuckDB. "
        "Ours and DuckDB's runs alternate; 'of which SQL': the report's statements re-run with their rows fetched (the rest is Python)."
    )
    if http:
        console.print(f"over HTTP (manage.py serve, one keep-alive connection): {http['label']}: p50 {http['p50_ms']:.1f} ms, p95 {http['p95_ms']:.1f} ms "
                      f"({http['rows']:,} rows, {http['bytes'] / 1024:,.0f} KiB JSON)")


if __name__ == "__main__":
    raise SystemExit(main())
