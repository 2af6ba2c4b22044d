"""Touchpoints at scale: one run over a 1M (or 10M) touchpoint history.

Dataset (deterministic, kept between runs; ``--rebuild`` to redo it):
organizations with ~9 contacts and 2 deals each (5,000 up to 1M
touchpoints, 20,000 above), three huge organizations carrying 6%, 3% and
1.5% of all touchpoints, the rest on a Zipf curve; 30% of touchpoints come
in bursts (5-40 on one organization within three hours); every kind, over
two years. Loaded through the bulk path (services.record_touchpoints in
batches of 25,000, as the timeline benchmark does). Open events and tasks
for Up Next: 2,000 of each on the busiest organization's deals and people,
a few on every other one.

Measured in one run, against ``manage.py serve`` (gunicorn) on loopback,
over one keep-alive connection, interleaved after a warm-up:

- trivial: GET /api/v1/organizations/{busiest} (auth + one indexed read)
- timeline first page of the busiest organization; a deep page (the cursor
  10,000 items in); the first page of a record with 5,000+ touchpoints and
  of a small one; their p50/p99 against the bare indexed SQL statement
- Up Next of the busiest organization and of its busiest deal
- the web list pages sorted by Last Contacted On (contacts and deals, first
  page and 20 pages in, signed in as the admin)
- the server's memory: the gunicorn workers' peak resident size
- ingest: batches of 1,000 over HTTP into this history vs a raw COPY of the
  same rows (bench/ingest.measure)
- an HTTP load test: ``wrk`` (Debian's; installed by apt when missing) with
  ``--connections`` clients for ``--seconds``, 90% timeline reads of random
  organizations and 10% touchpoint writes, for throughput and p99

Targets (at 10M on PostgreSQL): first page p99 < 30 ms and <= 1.5x the
trivial endpoint's p99; the deep page and the 5,000+ record within 1.5x of
the small record's first page (p99); ingest >= 0.3x raw COPY; list pages
p99 < 50 ms.
"""
from __future__ import annotations

import bisect
import os
import random
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_scale"
DATASET_VERSION = 1
HUGE_SHARES = (0.06, 0.03, 0.015)
BURST_SHARE = 0.30
KINDS = "email,phone_call,event"
TARGET_MS = 30.0
TARGET_RATIO = 1.5
TARGET_INGEST = 0.3
TARGET_LIST_MS = 50.0
DEEP_ITEMS = 10_000


def main(argv=None) -> int:
    parser = common.child_args("Touchpoints at 1M/10M: timelines, Up Next, lists, memory, ingest, HTTP load")
    parser.add_argument("--touchpoints", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--requests", type=int, default=300, help="measured rounds (each request kind once per round)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batches", type=int, default=10, help="ingest: measured batches of 1,000")
    parser.add_argument("--seconds", type=int, default=20, help="load test duration")
    parser.add_argument("--connections", type=int, default=16, help="load test: concurrent keep-alive connections")
    args = parser.parse_args(argv)
    db = args.db

    common.open_kept_database(db, DBNAME, args.rebuild)
    from django.db import connection

    wanted = {"version": DATASET_VERSION, "touchpoints": args.touchpoints}
    meta = common.kept_dataset_or_reset(db, DBNAME, wanted) or _generate(args.touchpoints)
    version = common.db_version()
    console.rule(f"[bold]scale[/] on {version}")
    console.print(
        f"dataset: {meta['touchpoints']:,} touchpoints, {meta['links']:,} links, {meta['organizations']:,} organizations; "
        f"busiest organization {meta['busiest']} carries {meta['busiest_links']:,} links; built in {meta['seconds']:.0f} s "
        f"({meta['touchpoints'] / meta['seconds']:,.0f} touchpoints/s through the bulk path)"
    )

    from bench import seed, timeline
    from bench.ingest import measure as measure_ingest

    world = seed.load_world()
    token = seed.issue_token(world)
    picks = _pick_records(meta)
    session = _admin_session(world.admin_id)
    deep_cursor = _timeline_cursor(picks["busiest"], DEEP_ITEMS)
    list_cursors = {name: _list_cursor(world.admin_id, name, 20) for name in ("contacts", "deals")}
    org = "/api/v1/organizations"
    paths = {
        "trivial": f"{org}/{picks['busiest']}",
        "first page, busiest": f"{org}/{picks['busiest']}/timeline?limit=50&kinds={KINDS}",
        f"deep page ({DEEP_ITEMS:,} in)": f"{org}/{picks['busiest']}/timeline?limit=50&kinds={KINDS}&cursor={deep_cursor}",
        f"first page, {picks['medium_links']:,} links": f"{org}/{picks['medium']}/timeline?limit=50&kinds={KINDS}",
        f"first page, {picks['small_links']} links": f"{org}/{picks['small']}/timeline?limit=50&kinds={KINDS}",
        "up next, busiest organization": f"{org}/{picks['busiest']}/up-next",
        "up next, busiest deal": f"/api/v1/deals/{picks['busiest_deal']}/up-next",
    }
    web = {
        "contacts list by Last Contacted": "/contacts/?sort=-last_contacted_on",
        "contacts list, 20 pages in": f"/contacts/?sort=-last_contacted_on&cursor={list_cursors['contacts']}",
        "deals list by Last Contacted": "/deals/?sort=-last_contacted_on",
        "deals list, 20 pages in": f"/deals/?sort=-last_contacted_on&cursor={list_cursors['deals']}",
    }
    sql = {
        "first page, busiest": timeline._capture_timeline_sql(picks["busiest"], None),
        f"deep page ({DEEP_ITEMS:,} in)": timeline._capture_timeline_sql(picks["busiest"], deep_cursor),
    }
    connection.close()

    times: dict[str, list[float]] = {name: [] for name in [*paths, *web]}
    with common.server(f"scale-{db}") as port:
        api = common.Http(port, token)
        browser = common.Http(port, token)
        browser.headers = {"Cookie": f"sessionid={session}", "Connection": "keep-alive"}
        for rnd in range(args.warmup + args.requests):
            for name, path in [*((n, (api, p)) for n, p in paths.items()), *((n, (browser, p)) for n, p in web.items())]:
                client, url = path
                status, body, elapsed = client.request("GET", url)
                if status != 200:
                    raise SystemExit(f"GET {url} -> {status}: {body[:300]!r}")
                if rnd >= args.warmup:
                    times[name].append(elapsed)
        memory = _worker_memory_mb(port)
        api.close()
        browser.close()
        load = _load_test(port, token, world, args.seconds, args.connections)

    stats = {name: common.summarize(values) for name, values in times.items()}
    sql_stats = {name: timeline._time_sql(statement, params, args.requests) for name, (statement, params) in sql.items()}
    connection.close()
    now = datetime.now(UTC)
    rng = random.Random(7)
    console.print(f"ingest: {args.batches} batches of 1,000 into the {meta['touchpoints']:,}-touchpoint history")
    ingest = measure_ingest(world, token, rng, now, batches=args.batches, warmup=2, label=f"scale-ingest-{db}")

    result = _report(version, meta, stats, sql_stats, memory, ingest, load, picks)
    common.write_result("scale", db, result)
    return 0


# --- the dataset -------------------------------------------------------------------


def _generate(total: int, batch: int = 25_000) -> dict:
    from django.db import connection
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from accounts.models import User
    from bench import seed
    from bench.timeline import _bulk_load
    from touchpoints.models import TouchpointLink
    from touchpoints.services import NewTouchpoint, record_touchpoints

    started = time.perf_counter()
    rng = random.Random(10_000_019)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=730)
    orgs = 5000 if total <= 1_000_000 else 20_000
    with console.status(f"creating {orgs:,} organizations, their contacts and deals"):
        world = seed.create_world(
            rng, orgs=orgs, contacts_per_org=9, deals_per_org=2, busiest_contacts=400, busiest_deals=40,
            deal_created=(start - timedelta(days=180), now - timedelta(days=30)), closed_share=0.3, now=now,
        )
    huge = world.org_ids[: len(HUGE_SHARES)]
    huge_cum = [sum(HUGE_SHARES[: i + 1]) for i in range(len(HUGE_SHARES))]
    others = world.org_ids[len(HUGE_SHARES):]
    rng.shuffle(others)
    cum, acc = [], 0.0
    for rank, _ in enumerate(others, start=1):
        acc += rank**-0.6
        cum.append(acc)

    def pick_org() -> int:
        r = rng.random()
        for org_id, edge in zip(huge, huge_cum):
            if r < edge:
                return org_id
        return others[bisect.bisect(cum, rng.random() * acc)]

    admin = User.objects.get(id=world.admin_id)
    span = (now - start).total_seconds()
    burst: list = []  # [org, centre, remaining]
    serial = 0
    with Progress(TextColumn("generating touchpoints"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("", total=total)
        done = 0
        with _bulk_load():
            while done < total:
                n = min(batch, total - done)
                items = []
                for _ in range(n):
                    if burst and burst[2] > 0:
                        org, when = burst[0], burst[1] + timedelta(seconds=rng.uniform(0, 3 * 3600))
                        burst[2] -= 1
                    elif rng.random() < BURST_SHARE / 20:  # a burst averages ~20 touchpoints
                        burst = [pick_org(), start + timedelta(seconds=rng.uniform(0, span - 3 * 3600)), rng.randint(5, 40)]
                        org, when = burst[0], burst[1]
                    else:
                        org, when = pick_org(), start + timedelta(seconds=rng.uniform(0, span))
                    serial += 1
                    items.append(NewTouchpoint(**seed.make_item(rng, world, org, when, f"s{serial}")))
                record_touchpoints(admin, items, checked=True)
                done += n
                progress.update(task, completed=done)
    _activities(rng, world, now)
    with console.status("VACUUM ANALYZE" if connection.vendor == "postgresql" else "wal checkpoint"):
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.perf_counter() - started
    meta = {
        "version": DATASET_VERSION,
        "touchpoints": total,
        "organizations": orgs,
        "links": TouchpointLink.objects.count(),
        "busiest": huge[0],
        "busiest_links": TouchpointLink.objects.filter(organization_id=huge[0]).count(),
        "seconds": seconds,
        "built": now.strftime("%Y-%m-%d"),
    }
    common.write_dataset_meta(meta)
    return meta


def _activities(rng: random.Random, world, now: datetime) -> None:
    """Open events and tasks: 2,000 of each on the busiest organization's
    deals and contacts (half overdue), three of each on every other one."""
    from activities.models import Event, Task

    events, tasks = [], []
    for org_id in world.org_ids:
        n = 2000 if org_id == world.org_ids[0] else 3
        deals = world.deals_by_org.get(org_id) or [None]
        people = world.contacts_by_org[org_id]
        for i in range(n):
            when = now + timedelta(days=rng.uniform(-30, 60))
            owner = rng.choice(world.rep_ids)
            events.append(Event(subject=f"Meeting {i}", start_at=when, end_at=when + timedelta(hours=1), owner_id=owner, deal_id=rng.choice(deals), organization_id=org_id))
            tasks.append(Task(title=f"Follow up {i}", due_date=when.date(), owner_id=owner, deal_id=rng.choice(deals), contact_id=rng.choice(people), organization_id=org_id))
    Event.objects.bulk_create(events, batch_size=5000)
    Task.objects.bulk_create(tasks, batch_size=5000)


# --- what is measured ---------------------------------------------------------------


def _pick_records(meta: dict) -> dict:
    """The busiest organization, one with 5,000+ links (the smallest such),
    a small one (~50 links) and the busiest organization's busiest deal."""
    from django.db.models import Count

    from touchpoints.models import TouchpointLink

    counts = dict(
        TouchpointLink.objects.filter(organization_id__isnull=False).values_list("organization_id").annotate(n=Count("id")).values_list("organization_id", "n")
    )
    big = [(n, oid) for oid, n in counts.items() if n >= 5000 and oid != meta["busiest"]]
    medium = min(big) if big else sorted((n, oid) for oid, n in counts.items())[-2]  # a small dataset: the runner-up
    small = min(counts.items(), key=lambda kv: abs(kv[1] - 50))
    deal = (
        TouchpointLink.objects.filter(deal__organization_id=meta["busiest"]).values("deal_id").annotate(n=Count("id")).order_by("-n").first()
    )
    return {"busiest": meta["busiest"], "medium": medium[1], "medium_links": medium[0], "small": small[0], "small_links": small[1], "busiest_deal": deal["deal_id"]}


def _timeline_cursor(org_id: int, items: int) -> str:
    from touchpoints import queries

    cursor = None
    for _ in range(items // 50):
        cursor = queries.timeline("organization", org_id, kinds=KINDS.split(","), cursor=cursor, limit=50).next_cursor
    return cursor


def _list_cursor(user_id: int, record_type: str, hops: int) -> str:
    from django.conf import settings

    from accounts.models import User
    from crm import queries

    user = User.objects.get(id=user_id)
    query = {"contacts": queries.list_contacts, "deals": queries.list_deals}[record_type]
    cursor = None
    for _ in range(hops):
        cursor = query(user, queries.RecordFilters(), cursor, settings.UI_PAGE_SIZE, sort="-last_contacted_on").next_cursor
    return cursor


def _admin_session(user_id: int) -> str:
    """A signed-in browser session for the admin, as the login page makes one."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import User

    user = User.objects.get(id=user_id)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _worker_memory_mb(port: int) -> dict:
    """Peak resident memory (VmHWM) of the server's processes: the gunicorn
    master and its forked workers all carry ``--bind 127.0.0.1:<port>``."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if f"127.0.0.1:{port}" not in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                continue
            peak = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        except OSError:
            continue
        if peak:
            out[int(pid)] = int(peak.group(1)) / 1024
    return out


# --- the load test -------------------------------------------------------------------

WRK_SCRIPT = """
-- 90 percent timeline reads of random organizations, 10 percent single touchpoint writes
-- (each with its own external id, so every write creates one).
local orgs = {%(orgs)s}
local contacts = {%(contacts)s}
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919)
end
request = function()
  counter = counter + 1
  if math.random() < 0.1 then
    local body = string.format('{"kind":"phone_call","status":"completed","occurred_at":"%(now)s","contact_ids":[%%d],"source":"api","external_id":"load-%(run)s-%%d-%%d"}',
      contacts[math.random(#contacts)], tid, counter)
    return wrk.format("POST", "/api/v1/touchpoints", {["Content-Type"]="application/json", ["Authorization"]="Bearer %(token)s"}, body)
  end
  return wrk.format("GET", "/api/v1/organizations/" .. orgs[math.random(#orgs)] .. "/timeline?limit=50", {["Authorization"]="Bearer %(token)s"})
end
"""


def _ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    console.print("installing Debian's wrk with apt-get ...")
    subprocess.run([*sudo, "apt-get", "update", "-qq"], capture_output=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk")


def _load_test(port: int, token: str, world, seconds: int, connections: int) -> dict:
    wrk = _ensure_wrk()
    if wrk is None:
        console.print("[bold red]!!! no wrk (apt-get could not install it): the load test did not run !!![/]")
        return {"ran": False}
    rng = random.Random(11)
    orgs = rng.sample(world.org_ids, min(500, len(world.org_ids)))
    contacts = [c for org in orgs[:100] for c in world.contacts_by_org[org]][:1000]
    script = common.BENCH_VAR / "scale-load.lua"
    script.write_text(
        WRK_SCRIPT % {
            "orgs": ",".join(map(str, orgs)), "contacts": ",".join(map(str, contacts)), "token": token,
            "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "run": f"{random.getrandbits(32):08x}",
        }
    )
    argv = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"]
    console.print(" ".join(argv))
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    print(out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "ran": True,
        "connections": connections,
        "seconds": seconds,
        "requests_per_second": rate,
        "p50_ms": _wrk_ms(out, "50%"),
        "p99_ms": _wrk_ms(out, "99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# --- the report ------------------------------------------------------------------------


def _report(version, meta, stats, sql_stats, memory, ingest, load, picks) -> dict:
    from rich.table import Table

    table = Table(title=f"scale: {meta['touchpoints']:,} touchpoints, {version}")
    for column in ("request", "p50 ms", "p99 ms", "max ms", "bare SQL p50 / p99 ms"):
        table.add_column(column, justify="right" if "ms" in column else "left")
    for name, s in stats.items():
        bare = sql_stats.get(name)
        table.add_row(name, f"{s['p50_ms']:.1f}", f"{s['p99_ms']:.1f}", f"{s['max_ms']:.1f}", f"{bare['p50_ms']:.2f} / {bare['p99_ms']:.2f}" if bare else "")
    console.print(table)

    names = list(stats)
    trivial, first, deep, medium, small = (stats[n]["p99_ms"] for n in names[:5])
    lists = [stats[n]["p99_ms"] for n in names if "list" in n]
    targets = {
        "first page p99 < 30 ms": (first, first < TARGET_MS),
        "first page p99 <= 1.5x trivial p99": (first / trivial, first <= TARGET_RATIO * trivial),
        "deep page p99 <= 1.5x small record's": (deep / small, deep <= TARGET_RATIO * small),
        "5,000+ record p99 <= 1.5x small record's": (medium / small, medium <= TARGET_RATIO * small),
        "ingest >= 0.3x raw COPY": (ingest["ratio"], ingest["ratio"] >= TARGET_INGEST),
        "list pages p99 < 50 ms": (max(lists), max(lists) < TARGET_LIST_MS),
    }
    for label, (value, ok) in targets.items():
        console.print(f"{label:45} {value:8.2f}   {common.verdict(ok)}")
    console.print(f"server workers' peak memory: {', '.join(f'{mb:.0f} MB' for mb in memory.values())}")
    if load.get("ran"):
        console.print(
            f"load test ({load['connections']} connections, {load['seconds']} s, 90% timeline reads / 10% writes): "
            f"{load['requests_per_second']:,.0f} requests/s, p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms, non-2xx {load['non_2xx']}"
        )
    return {
        "db_version": version,
        "dataset": meta,
        "records": picks,
        "requests": stats,
        "bare_sql": sql_stats,
        "worker_peak_mb": memory,
        "ingest": {k: v for k, v in ingest.items() if k != "run"},
        "load": load,
        "targets": {label: {"value": value, "met": ok} for label, (value, ok) in targets.items()},
        "met": all(ok for _, ok in targets.values()),
    }


if __name__ == "__main__":
    raise SystemExit(main())
