"""Timeline latency on a 1M-touchpoint dataset, over HTTP, against a trivial endpoint.

Dataset (built once per database, kept between runs; ``--rebuild`` to
redo it): 5,000 organizations with ~10 contacts and ~2 deals each, and
``--touchpoints`` (1M) touchpoints over two years written in-process through
services.record_touchpoints(..., checked=True) in batches of 25,000. One
organization (the first) is the busiest: 7% of all touchpoints name one of
its contacts, deals or itself; the others follow a flat Zipf curve.

Measured against ``manage.py serve`` (gunicorn) on loopback, over one
keep-alive connection, interleaving (after a warm-up):

- trivial:  GET /api/v1/organizations/{busiest}  (auth + one indexed read)
- first:    GET /api/v1/organizations/{busiest}/timeline?limit=50&kinds=email,phone_call,event
- deep:     the same with the cursor of page 11 (next_cursor followed 10 times;
            --deep-pages N follows it N times)

and, in-process with the server stopped, the timeline's own SQL statement
(captured from queries.timeline, re-executed on a cursor).

Targets: the first page's p99 <= 1.5x the trivial endpoint's p99, and < 30 ms.
"""
from __future__ import annotations

import bisect
import random
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_timeline"
DATASET_VERSION = 1
KINDS = "email,phone_call,event"
TARGET_RATIO = 1.5
TARGET_MS = 30.0
BUSIEST_SHARE = 0.07


def main(argv=None) -> int:
    parser = common.child_args("Timeline latency over HTTP on a 1M-touchpoint dataset")
    parser.add_argument("--touchpoints", type=int, default=1_000_000, help="dataset size; a different value than the kept dataset's rebuilds it")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the dataset")
    parser.add_argument("--requests", type=int, default=400, help="measured requests per endpoint (default 400)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--deep-pages", type=int, default=10, help="next_cursor hops to the deep page (default 10)")
    args = parser.parse_args(argv)
    db = args.db

    common.open_kept_database(db, DBNAME, args.rebuild)
    from django.db import connection

    wanted = {"version": DATASET_VERSION, "touchpoints": args.touchpoints}
    meta = common.kept_dataset_or_reset(db, DBNAME, wanted) or _generate(args.touchpoints)
    version = common.db_version()
    console.rule(f"[bold]timeline[/] on {version}")
    console.print(
        f"dataset: {meta['touchpoints']:,} touchpoints, {meta['links']:,} links; busiest organization {meta['busiest']} "
        f"carries {meta['busiest_links']:,} links ({meta['busiest_share'] * 100:.1f}% of touchpoints), "
        f"built in {meta['seconds']:.0f} s on {meta['built']}"
    )

    from bench import seed

    world = seed.load_world()
    token = seed.issue_token(world)
    busiest = meta["busiest"]
    trivial_path = f"/api/v1/organizations/{busiest}"
    first_path = f"/api/v1/organizations/{busiest}/timeline?limit=50&kinds={KINDS}"
    connection.close()

    with common.server(f"timeline-{db}") as port:
        client = common.Http(port, token)
        page = client.get_json(first_path)
        assert len(page["items"]) == 50, page
        cursor = page["next_cursor"]
        for _ in range(args.deep_pages - 1):
            cursor = client.get_json(f"{first_path}&cursor={quote(cursor)}")["next_cursor"]
        deep_path = f"{first_path}&cursor={quote(cursor)}"
        deep_items = client.get_json(deep_path)["items"]
        assert len(deep_items) == 50
        paths = {"trivial": trivial_path, "first": first_path, "deep": deep_path}
        times: dict[str, list[float]] = {name: [] for name in paths}
        for round_ in range(args.warmup + args.requests):
            for name, path in paths.items():
                status, body, elapsed = client.request("GET", path)
                if status != 200:
                    raise SystemExit(f"GET {path} -> {status}: {body[:300]!r}")
                if round_ >= args.warmup:
                    times[name].append(elapsed)
        client.close()

    # The timeline's own SQL, in-process (server stopped).
    sql_stats = {}
    plans = {}
    orm_stats = {}
    deep_cursor = cursor
    for name, cur in (("first", None), ("deep", deep_cursor)):
        sql, params = _capture_timeline_sql(busiest, cur)
        sql_stats[name] = _time_sql(sql, params, args.requests)
        orm_stats[name] = _time_orm(busiest, cur, args.requests)
        plans[name] = _explain(sql, params)

    depth = _depth_probe(busiest, args.requests // 4)

    trivial = common.summarize(times["trivial"])
    pages = []
    met = True
    for name, label in (("first", "first page"), ("deep", f"page {args.deep_pages + 1}")):
        http = common.summarize(times[name])
        p50_ratio = http["p50_ms"] / trivial["p50_ms"]
        p99_ratio = http["p99_ms"] / trivial["p99_ms"]
        ok = p99_ratio <= TARGET_RATIO and http["p99_ms"] < TARGET_MS
        if name == "first":
            met = ok
        pages.append(
            {
                "name": label,
                "http": http,
                "p50_ratio": p50_ratio,
                "p99_ratio": p99_ratio,
                "sql": sql_stats[name],
                "orm": orm_stats[name],
                "plan": plans[name],
                "met": ok,
            }
        )

    console.print(f"{args.requests} measured requests per endpoint after {args.warmup} warm-up rounds, interleaved, one keep-alive connection")
    console.print(f"trivial  GET /organizations/{{id}}       p50 {trivial['p50_ms']:6.2f} ms   p99 {trivial['p99_ms']:6.2f} ms")
    for page in pages:
        h = page["http"]
        console.print(
            f"timeline {page['name']:<12}                p50 {h['p50_ms']:6.2f} ms ({page['p50_ratio']:.2f}x)   "
            f"p99 {h['p99_ms']:6.2f} ms ({page['p99_ratio']:.2f}x)   "
            f"bare SQL p50 {page['sql']['p50_ms']:.2f} / p99 {page['sql']['p99_ms']:.2f} ms   "
            f"queries.timeline() in-process p50 {page['orm']['p50_ms']:.2f} ms   "
            f"target p99 <= {TARGET_RATIO}x and < {TARGET_MS:.0f} ms: {common.verdict(page['met'])}"
        )
    console.print("bare SQL by depth (in-process p50), the app's statement vs the keyset condition without its leading range bound (before 1b6fc32):")
    for d in depth:
        console.print(
            f"  row {d['position']:>6,} (page {d['page']:>5,}): app {d['app']['p50_ms']:7.2f} ms   "
            f"unbounded {d['unbounded']['p50_ms']:7.2f} ms   ({d['unbounded']['p50_ms'] / d['app']['p50_ms']:.1f}x)"
        )
    for page in pages:
        console.print(f"[dim]plan ({page['name']}):[/]\n{page['plan']}", markup=True)
    middle = depth[len(depth) // 2]
    console.print(f"[dim]plan (probe at row {middle['position']:,}, app):[/]\n{middle['plan_app']}\n[dim]plan (same, unbounded):[/]\n{middle['plan_unbounded']}")

    result = {
        "db_version": version,
        "dataset": meta,
        "requests": args.requests,
        "trivial": trivial,
        "pages": pages,
        "depth": depth,
        "target_ratio": TARGET_RATIO,
        "target_ms": TARGET_MS,
        "met": met,
    }
    if args.profile:
        result["profile"] = _profile(token, busiest, deep_cursor)
    common.write_result("timeline", db, result)
    return 0


# --- dataset ---------------------------------------------------------------------------


@contextmanager
def _bulk_load():
    """The log's secondary indexes rebuilt once after the load
    (touchpoints.bulk.deferred_log_indexes), and on PostgreSQL no FK
    triggers (session_replication_role) or WAL flush waits for the loading
    session: the dataset is a fixture, and this makes building it minutes,
    not a quarter of an hour."""
    from django.db import connection

    from touchpoints.bulk import deferred_log_indexes

    postgres = connection.vendor == "postgresql"
    with deferred_log_indexes(on_rebuild=lambda name, done, total: done < total and console.print(f"CREATE INDEX {name}")):
        if postgres:
            with connection.cursor() as c:
                c.execute("SET session_replication_role = replica")
                c.execute("SET synchronous_commit = off")
        yield
        if postgres:
            with connection.cursor() as c:
                c.execute("SET session_replication_role = DEFAULT")
                c.execute("SET synchronous_commit = DEFAULT")
                c.execute("SET maintenance_work_mem = '256MB'")


def _generate(total: int, batch: int = 25_000) -> dict:
    from django.db import connection
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from accounts.models import User
    from bench import seed
    from touchpoints.models import TouchpointLink
    from touchpoints.services import NewTouchpoint, record_touchpoints

    started = time.perf_counter()
    rng = random.Random(1_000_003)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=730)
    with console.status("creating 5,000 organizations, their contacts and deals"):
        world = seed.create_world(
            rng,
            orgs=5000,
            contacts_per_org=9,
            deals_per_org=2,
            busiest_contacts=400,
            busiest_deals=40,
            deal_created=(start - timedelta(days=180), now - timedelta(days=30)),
            closed_share=0.3,
            now=now,
        )
    busiest = world.org_ids[0]
    others = world.org_ids[1:]
    rng.shuffle(others)
    cum, acc = [], 0.0
    for rank, _ in enumerate(others, start=1):
        acc += rank**-0.6
        cum.append(acc)
    admin = User.objects.get(id=world.admin_id)
    span = (now - start).total_seconds()
    serial = 0
    with Progress(
        TextColumn("generating touchpoints"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("", total=total)
        done = 0
        with _bulk_load():
            while done < total:
                n = min(batch, total - done)
                items = []
                for _ in range(n):
                    org = busiest if rng.random() < BUSIEST_SHARE else others[bisect.bisect(cum, rng.random() * acc)]
                    when = start + timedelta(seconds=rng.uniform(0, span))
                    serial += 1
                    items.append(NewTouchpoint(**seed.make_item(rng, world, org, when, f"g{serial}")))
                record_touchpoints(admin, items, checked=True)
                done += n
                progress.update(task, completed=done)
    with console.status("VACUUM ANALYZE" if connection.vendor == "postgresql" else "wal checkpoint"):
        with connection.cursor() as c:
            if connection.vendor == "postgresql":
                # What autovacuum would have done by the time anyone reads
                # (it is off on this server, so do it explicitly).
                c.execute("VACUUM ANALYZE")
            else:
                # No ANALYZE: nothing in the app runs it, so a real SQLite
                # database has no planner statistics either.
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    generated = time.perf_counter() - started
    links = TouchpointLink.objects.count()
    busiest_links = TouchpointLink.objects.filter(organization_id=busiest).count()
    meta = {
        "version": DATASET_VERSION,
        "touchpoints": total,
        "links": links,
        "busiest": busiest,
        "busiest_links": busiest_links,
        "busiest_share": busiest_links / total,
        "seconds": generated,
        "built": now.strftime("%Y-%m-%d"),
    }
    common.write_dataset_meta(meta)
    console.print(f"generated {total:,} touchpoints ({links:,} links) in {generated:.0f} s ({total / generated:,.0f} touchpoints/s)")
    return meta


# --- in-process SQL --------------------------------------------------------------------


def _capture_timeline_sql(busiest: int, cursor: str | None) -> tuple[str, tuple]:
    """The exact statement queries.timeline runs (and its parameters)."""
    from django.db import connection

    from touchpoints import queries

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        page = queries.timeline("organization", busiest, kinds=KINDS.split(","), cursor=cursor, limit=50)
    assert len(page.items) == 50 and len(captured) == 1, captured
    return captured[0]


def _time_sql(sql: str, params, n: int) -> dict:
    from django.db import connection

    times = []
    with connection.cursor() as c:
        for i in range(n + 20):
            start = time.perf_counter()
            c.execute(sql, params)
            rows = c.fetchall()
            if i >= 20:
                times.append(time.perf_counter() - start)
    assert len(rows) == 51
    return common.summarize(times)


def _time_orm(busiest: int, cursor: str | None, n: int) -> dict:
    from touchpoints import queries

    times = []
    for i in range(n + 20):
        start = time.perf_counter()
        queries.timeline("organization", busiest, kinds=KINDS.split(","), cursor=cursor, limit=50)
        if i >= 20:
            times.append(time.perf_counter() - start)
    return common.summarize(times)


def _explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        else:
            c.execute("EXPLAIN QUERY PLAN " + sql, params)
        rows = c.fetchall()
    if connection.vendor == "postgresql":
        return "\n".join(r[0] for r in rows)
    return "\n".join(str(r[-1]) for r in rows)


def _depth_probe(busiest: int, n: int) -> list[dict]:
    """How the timeline's SQL scales with the page's depth: the app's
    statement at a cursor k rows down the busiest organization's timeline,
    against the same query with the keyset condition as it was before
    1b6fc32 (no leading ``occurred_at <= v``, so the index range starts at
    the top of the organization). Both return the same rows (checked)."""
    from django.db import connection

    from config.pagination import encode_cursor
    from touchpoints import queries
    from touchpoints.models import TouchpointLink

    kinds = KINDS.split(",")
    base = TouchpointLink.objects.filter(organization_id=busiest, shown=True, kind__in=kinds).order_by(*queries.TIMELINE_ORDER)
    total = base.count()
    out = []
    for position in sorted({min(500, total // 20), total // 10, total // 2, total - 60}):
        when, tp_id = base.values_list("occurred_at", "touchpoint_id")[position - 1]
        app_sql, app_params = _capture_timeline_sql(busiest, encode_cursor([when, tp_id]))
        # The same statement without its leading range bound, as the keyset
        # condition was before 1b6fc32 (params: ..., bound, when, when, id, limit).
        bound = "AND l.occurred_at <= %s AND "
        assert bound in app_sql, app_sql
        unbounded_sql = app_sql.replace(bound, "AND ")
        unbounded_params = list(app_params)
        del unbounded_params[-5]
        with connection.cursor() as c:
            c.execute(app_sql, app_params)
            a = c.fetchall()
            c.execute(unbounded_sql, unbounded_params)
            b = c.fetchall()
        assert a == b, "the unbounded statement must return the same rows"
        out.append(
            {
                "position": position,
                "page": position // 50 + 1,
                "app": _time_sql(app_sql, app_params, n),
                "unbounded": _time_sql(unbounded_sql, unbounded_params, n),
                "plan_app": _explain(app_sql, app_params),
                "plan_unbounded": _explain(unbounded_sql, unbounded_params),
            }
        )
    return out


# --- profile ---------------------------------------------------------------------------


def _profile(token: str, busiest: int, deep_cursor: str) -> dict:
    """Where a timeline request's time goes, in-process (django.test.Client)."""
    import ninja.operation
    from django.test import Client

    import config.auth
    import crm.api
    import touchpoints.api
    from bench import profiling
    from touchpoints import queries

    profiling.freeze_heap()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    out = {}
    for name, path in (
        ("trivial", f"/api/v1/organizations/{busiest}"),
        ("first", f"/api/v1/organizations/{busiest}/timeline?limit=50&kinds={KINDS}"),
        ("deep", f"/api/v1/organizations/{busiest}/timeline?limit=50&kinds={KINDS}&cursor={quote(deep_cursor)}"),
    ):

        def get(path=path):
            resp = client.get(path)
            assert resp.status_code == 200, resp.content[:300]

        for _ in range(30):
            get()
        phases = profiling.Phases(
            [
                (config.auth.TokenAuth, "authenticate", "authenticate (token lookup)"),
                (touchpoints.api, "get_visible", "get_visible (the organization)"),
                (crm.api, "get_visible", "get_visible (the organization)"),
                (queries, "timeline", "queries.timeline own (queryset building, row dicts)"),
                (queries, "keyset_page", "keyset_page (ORM compile + SQL + values rows)"),
                (touchpoints.api, "_timeline", "_timeline own"),
                (touchpoints.api, "json_response", "json_response (JSON encode)"),
                (ninja.operation.Operation, "_result_to_response", "ninja response handling (validation for trivial)"),
            ]
        )
        runs = 200
        total = 0.0
        with phases.active():
            for _ in range(runs):
                start = time.perf_counter()
                get()
                total += time.perf_counter() - start
        rows = phases.table(total, runs)
        profiling.print_table(console, f"{name}: one request in-process, mean of {runs}", rows)
        text = profiling.cprofile(lambda: [get() for _ in range(50)], top=30)
        out[name] = {"phases": rows, "cprofile": text}
    print(out["first"]["cprofile"], flush=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
