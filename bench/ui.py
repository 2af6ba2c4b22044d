"""Server-side render time of every web page on the demo data.

Requirement: every page renders in under 150 ms server-side with the demo
data. Checked here on the p95 of each page.

Dataset (built once per database and kept; ``--rebuild`` to redo it):
``touchpoints.demo.load(seed, scale)``, the same data as ``./dev manage demo``.
At scale 1 that is 2,000 organizations, 10,000 contacts, 3,000 deals and
200,000 touchpoints. The demo's times are offsets from the start of
today, so the kept dataset is rebuilt when it was built on another day (or
with another seed or scale). Then PostgreSQL gets ``VACUUM ANALYZE``
(autovacuum is off on this server). SQLite gets nothing, as in the timeline
benchmark: nothing in the app runs ANALYZE.

Measured in-process with ``django.test.Client`` (the whole URLconf,
middleware stack, views, templates and database; no HTTP or gunicorn),
signed in with ``force_login`` as two users:

- the busy rep: the demo user who owns the most deals, so the dashboard
  has content;
- ``demo-admin``, who sees everything.

Pages: the dashboard, the three lists (and a sorted, filtered and second
page), global search (the full page and the htmx dropdown), for each record
type the record page and its partials (Activity, the next Activity page via
its cursor, journey, Up Next, Last Contacted) for the record with the most
timeline links that the user can see (worst case) and one with the median
count (typical), the create and edit forms, the deal page's contact picker,
and the login page (anonymous, measured once).

After ``--warmup`` rounds, ``--requests`` rounds request every page once
each, in the same order every round. Each request's wall time is
``time.perf_counter`` around ``client.get``. Then one more request per
page runs under ``CaptureQueriesContext`` to count its queries, with an
``execute_wrapper`` timing them (SQL ms: time inside execute(); fetching
the rows afterwards is not in it). That request is not in the timings,
because the debug cursor adds overhead. The benchmark's heap is frozen
(``gc.freeze()``) before timing, as every gunicorn worker's is
(config/gunicorn.py).

Budget: p95 < 150 ms for every page.
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_ui"
DATASET_VERSION = 1
BUDGET_MS = 150.0
SEARCH_TERMS = ("smith", "harbor")  # a common last name; an organization/deal name word


@dataclass
class PageSpec:
    user: str  # "rep", "admin" or "anonymous"
    name: str
    path: str
    htmx: bool = False
    times: list[float] = field(default_factory=list)
    queries: int = 0
    sql_ms: float = 0.0
    bytes: int = 0
    status: int = 0


def main(argv=None) -> int:
    parser = common.child_args("Server-side render time of every web page on the demo data")
    parser.add_argument("--scale", type=float, default=1.0, help="demo scale (default 1: 2,000 orgs, 200,000 touchpoints)")
    parser.add_argument("--seed", type=int, default=None, help="demo seed (default the demo's own)")
    parser.add_argument("--rebuild", action="store_true", help="reload the demo data")
    parser.add_argument("--requests", type=int, default=30, help="measured requests per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rounds (default 3)")
    args = parser.parse_args(argv)
    db = args.db

    common.open_kept_database(db, DBNAME, args.rebuild)
    from django.db import connection

    from touchpoints import demo

    seed = demo.DEFAULT_SEED if args.seed is None else args.seed
    wanted = {"version": DATASET_VERSION, "scale": args.scale, "seed": seed, "anchor": demo.anchor_day().date().isoformat()}
    meta = common.kept_dataset_or_reset(db, DBNAME, wanted) or _generate(seed, args.scale, wanted)

    version = common.db_version()
    console.rule(f"[bold]ui[/] on {version}")
    c = meta["counts"]
    console.print(
        f"demo dataset (seed {meta['seed']}, scale {meta['scale']:g}, anchored {meta['anchor']}): {c['organizations']:,} organizations, "
        f"{c['contacts']:,} contacts, {c['deals']:,} deals, {c['touchpoints']:,} touchpoints ({c['links']:,} links), "
        f"{c['events']:,} events, {c['tasks']:,} tasks; loaded in {meta['seconds']:.0f} s"
    )

    users, pages, picks = _plan()
    for key, user in users.items():
        if user is None:
            continue
        console.print(f"{key}: {user.username} (role {user.role}, team {user.team_id}); " + "; ".join(
            f"{rt} busiest #{p['busiest']} ({p['busiest_links']:,} links), typical #{p['typical']} ({p['typical_links']:,} links)"
            for rt, p in picks[key].items()
        ))

    from django.test import Client

    clients = {"anonymous": Client()}
    for key, user in users.items():
        client = Client()
        client.force_login(user)
        clients[key] = client

    def get(page: PageSpec):
        headers = {"HX-Request": "true"} if page.htmx else {}
        start = time.perf_counter()
        resp = clients[page.user].get(page.path, headers=headers)
        elapsed = time.perf_counter() - start
        if resp.status_code != 200:
            raise SystemExit(f"{page.user} GET {page.path} -> {resp.status_code}: {resp.content[:300]!r}")
        return resp, elapsed

    # As a gunicorn worker: the long-lived heap out of the collector's way.
    gc.collect()
    gc.freeze()
    console.print(f"{len(pages)} pages; {args.warmup} warm-up rounds, then {args.requests} measured rounds (every page once per round)")
    started = time.perf_counter()
    for round_ in range(args.warmup + args.requests):
        for page in pages:
            resp, elapsed = get(page)
            if round_ >= args.warmup:
                page.times.append(elapsed)
            page.bytes = len(resp.content)
    measured_s = time.perf_counter() - started

    from django.test.utils import CaptureQueriesContext

    sql_seconds = [0.0]

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[0] += time.perf_counter() - start

    statements = {}
    for page in pages:
        sql_seconds[0] = 0.0
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
            get(page)
        page.queries = len(ctx.captured_queries)
        page.sql_ms = sql_seconds[0] * 1000  # the debug cursor's own times are rounded to 1 ms
        statements[f"{page.user} {page.name}"] = [q["sql"] for q in ctx.captured_queries]

    rows = []
    for page in pages:
        s = _stats(page.times)
        rows.append(
            {
                "user": page.user,
                "name": page.name,
                "path": page.path,
                **s,
                "queries": page.queries,
                "sql_ms": page.sql_ms,
                "bytes": page.bytes,
                "ratio": s["p95_ms"] / BUDGET_MS,
                "met": s["p95_ms"] < BUDGET_MS,
            }
        )
    _print_table(version, rows, args.requests)
    console.print(f"[dim]measured rounds took {measured_s:.0f} s[/]")
    met = all(r["met"] for r in rows)
    worst = max(rows, key=lambda r: r["p95_ms"])
    console.print("p95 / 150 ms budget, per page:")
    for r in rows:
        console.print(f"  ratio {r['user']:<9} {r['name']:<44} {r['ratio']:.3f}x  {'PASS' if r['met'] else 'FAIL'}", markup=False)
    console.print(
        f"slowest: {worst['user']} {worst['name']} p95 {worst['p95_ms']:.1f} ms ({worst['ratio']:.2f}x of the budget); "
        f"every page p95 < {BUDGET_MS:.0f} ms: {common.verdict(met)}"
    )

    result = {
        "db_version": version,
        "dataset": meta,
        "users": {k: {"id": u.id, "username": u.username} for k, u in users.items() if u is not None},
        "records": picks,
        "requests": args.requests,
        "warmup": args.warmup,
        "budget_ms": BUDGET_MS,
        "pages": rows,
        "worst": {k: worst[k] for k in ("user", "name", "p95_ms", "ratio")},
        "met": met,
        "statements": statements,
    }
    if args.profile:
        result["profile"] = _profile(clients, pages, rows)
    common.write_result("ui", db, result)
    return 0


# --- dataset ---------------------------------------------------------------------------


def _generate(seed: int, scale: float, wanted: dict) -> dict:
    from django.db import connection
    from django.db.models import Q
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from touchpoints import demo
    from touchpoints.management.commands.demo import RichProgress
    from touchpoints.models import TouchpointLink

    console.print(f"loading the demo (seed {seed}, scale {scale:g}) with touchpoints.demo.load")
    with Progress(TextColumn("{task.description:<26}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        summary = demo.load(seed=seed, scale=scale, progress=RichProgress(bar))
    console.print(summary.line())
    with console.status("VACUUM ANALYZE" if connection.vendor == "postgresql" else "wal checkpoint"), connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("VACUUM ANALYZE")  # what autovacuum would have done (it is off on this server)
        else:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = dict(summary.counts)
    counts["links"] = TouchpointLink.objects.filter(Q(organization__isnull=False) | Q(contact__isnull=False) | Q(deal__isnull=False)).count()
    meta = {**wanted, "seconds": summary.seconds, "counts": counts, "built": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    common.write_dataset_meta(meta)
    return meta


# --- what to request ---------------------------------------------------------------------


def _link_counts(record_type: str) -> dict[int, int]:
    """Shown timeline links per record of the type (what its Activity pages through)."""
    from django.db.models import Count

    from touchpoints.models import TouchpointLink

    column = f"{record_type}_id"
    rows = TouchpointLink.objects.filter(**{f"{column}__isnull": False, "shown": True}).values(column).annotate(n=Count("id")).values_list(column, "n")
    return dict(rows)


def _pick(user, record_type: str, counts: dict[int, int]) -> dict:
    """The record the user can see with the most timeline links, and one
    with the median count (among visible records that have any)."""
    from crm.permissions import MODEL_OF, visible

    ids = set(visible(MODEL_OF[record_type], user).values_list("id", flat=True))
    ranked = sorted(((counts.get(i, 0), i) for i in ids), reverse=True)
    busiest_links, busiest = ranked[0]
    with_links = [r for r in ranked if r[0] > 0] or ranked
    typical_links, typical = with_links[len(with_links) // 2]
    return {"busiest": busiest, "busiest_links": busiest_links, "typical": typical, "typical_links": typical_links, "visible": len(ids)}


def _plan():
    from django.conf import settings
    from django.db.models import Count

    from accounts.models import User
    from crm import queries as crm_queries
    from crm.models import Deal
    from touchpoints import demo
    from web.components import activity_context

    rep_id = (
        Deal.objects.filter(owner__isnull=False, owner__is_active=True)
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by("-n", "owner_id")
        .values_list("owner_id", flat=True)
        .first()
    )
    users = {"rep": User.objects.get(id=rep_id), "admin": User.objects.get(username=demo.ADMIN_USERNAME)}
    counts = {rt: _link_counts(rt) for rt in ("organization", "contact", "deal")}
    plural = {"organization": "organizations", "contact": "contacts", "deal": "deals"}

    pages: list[PageSpec] = [PageSpec("anonymous", "login", "/login/")]
    picks = {}
    for key, user in users.items():
        def add(name: str, path: str, htmx: bool = False, key: str = key) -> None:
            pages.append(PageSpec(key, name, path, htmx))

        add("dashboard", "/")
        add("organizations list", "/organizations/")
        add("contacts list", "/contacts/")
        add("deals list (-last_contacted_on)", "/deals/?sort=-last_contacted_on")
        add("contacts list ?owner=mine", "/contacts/?owner=mine")
        add(f"organizations list ?q={SEARCH_TERMS[1]}", f"/organizations/?q={SEARCH_TERMS[1]}")
        f = crm_queries.RecordFilters()
        nxt = crm_queries.list_deals(user, f, None, settings.UI_PAGE_SIZE, sort="-last_contacted_on").next_cursor
        if nxt:
            add("deals list page 2", "/deals/?" + urlencode({"sort": "-last_contacted_on", "cursor": nxt}))
        nxt = crm_queries.list_contacts(user, f, None, settings.UI_PAGE_SIZE, sort="last_name").next_cursor
        if nxt:
            add("contacts list page 2", "/contacts/?" + urlencode({"sort": "last_name", "cursor": nxt}))
        for term in SEARCH_TERMS:
            add(f"search ?q={term} (page)", f"/search?q={term}")
            add(f"search ?q={term} (dropdown)", f"/search?q={term}", True)
        picks[key] = {}
        for rt in ("organization", "contact", "deal"):
            pick = _pick(user, rt, counts[rt])
            picks[key][rt] = pick
            for which in ("busiest", "typical"):
                rid = pick[which]
                base = f"/{plural[rt]}/{rid}"
                label = f"{rt} {which}"
                add(f"{label}: page", f"{base}/")
                add(f"{label}: activity", f"{base}/activity", True)
                cursor = activity_context(user, rt, rid)["next_cursor"]
                if cursor:
                    add(f"{label}: activity ?cursor", f"{base}/activity?cursor={quote(cursor)}", True)
                add(f"{label}: journey", f"{base}/journey", True)
                add(f"{label}: up-next", f"{base}/up-next", True)
                add(f"{label}: last-contacted", f"{base}/last-contacted", True)
            add(f"{rt} busiest: edit form", f"/{plural[rt]}/{pick['busiest']}/edit")
            add(f"{rt}: new form", f"/{plural[rt]}/new")
        deal = picks[key]["deal"]["busiest"]
        org_of_deal = Deal.objects.filter(id=deal).values_list("organization_id", flat=True).first()
        if org_of_deal:
            add("deal contact picker (organization)", f"/contacts/options?organization={org_of_deal}", True)
        add(f"deal contact picker ?q={SEARCH_TERMS[0]}", f"/contacts/options?q={SEARCH_TERMS[0]}", True)
    return users, pages, picks


# --- numbers -------------------------------------------------------------------------


def _stats(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": statistics.median(values) * 1000,
        "p95_ms": common.percentile(values, 95) * 1000,
        "max_ms": max(values) * 1000,
        "mean_ms": statistics.fmean(values) * 1000,
    }


def _print_table(version: str, rows: list[dict], requests: int) -> None:
    from rich.table import Table

    table = Table(title=f"server-side render time, {requests} requests per page ({version}); budget p95 < {BUDGET_MS:.0f} ms", title_justify="left")
    for name, justify in (
        ("user", "left"), ("page", "left"), ("median ms", "right"), ("p95 ms", "right"), ("max ms", "right"),
        ("queries", "right"), ("SQL exec ms", "right"), ("KB", "right"), ("p95/budget", "right"), ("", "left"),
    ):  # fmt: skip
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(
            r["user"], r["name"], f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['max_ms']:.1f}", str(r["queries"]),
            f"{r['sql_ms']:.1f}", f"{r['bytes'] / 1024:.0f}", f"{r['ratio']:.2f}x",
            "[green]PASS[/]" if r["met"] else "[bold red]FAIL[/]",
        )  # fmt: skip
    console.print(table)


# --- profile ---------------------------------------------------------------------------


def _profile(clients, pages: list[PageSpec], rows: list[dict], top: int = 3) -> dict:
    """cProfile of the pages over budget, or else of the slowest few."""
    from bench import profiling

    by_key = {(p.user, p.name): p for p in pages}
    over = [r for r in rows if not r["met"]]
    chosen = over or sorted(rows, key=lambda r: r["p95_ms"], reverse=True)[:top]
    out = {}
    for r in chosen:
        page = by_key[(r["user"], r["name"])]
        headers = {"HX-Request": "true"} if page.htmx else {}
        client = clients[page.user]
        text = profiling.cprofile(lambda client=client, path=page.path, headers=headers: [client.get(path, headers=headers) for _ in range(10)], top=35)
        console.rule(f"cProfile: {page.user} {page.name} ({page.path}), 10 requests")
        print(text, flush=True)
        out[f"{page.user} {page.name}"] = text
    return out


if __name__ == "__main__":
    raise SystemExit(main())
