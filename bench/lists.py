"""A custom list over many contacts: its pages and its streamed CSV export.

Dataset (kept between runs; ``--rebuild`` to redo it): ``--contacts``
(1,000,000 on PostgreSQL, 100,000 on SQLite) written at COPY speed for 20
reps in two teams, each with a primary email; 85% contacted in the last
year, 15% never. The list is the default contact columns (name, title,
organization, email, Last Contacted Via/On), sorted by Last Contacted On,
most recent first, shared with everyone.

Measured in-process, as a rep (visibility applies: half the contacts are
their team's) and as an admin:

- first page of ``/records`` (50 rows) and a deep page (20 cursor hops in),
  for the plain list and with "Last Contacted On more than 30 days ago"
- the whole CSV export (lists.export.csv_lines, what the response streams):
  seconds, rows per second, MB sent, and the growth of the process's
  resident memory while streaming (sampled every 10,000 rows)

Targets: a page p50 under 100 ms (first or deep, rep or admin); the export's memory growth stays under 50 MB whatever the size
(it is one chunk of 2,000 rows), and its time grows linearly (rows per
second at 1M within 2x of the rate at the first 100,000).
"""
from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_lists"
DATASET_VERSION = 1
REPS = 20
TARGET_GROWTH_MB = 50
TARGET_RATE_RATIO = 2.0
TARGET_PAGE_MS = 100.0  # a page of /records at 1M contacts, p50


def main(argv=None) -> int:
    parser = common.child_args("A custom list's pages and CSV export over many contacts")
    parser.add_argument("--contacts", type=int, default=None, help="default 1,000,000 on PostgreSQL, 100,000 on SQLite")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    db = args.db
    total = args.contacts or (1_000_000 if db == "postgres" else 100_000)
    common.open_kept_database(db, DBNAME, args.rebuild)

    wanted = {"version": DATASET_VERSION, "contacts": total}
    meta = common.kept_dataset_or_reset(db, DBNAME, wanted) or _generate(total)
    version = common.db_version()
    console.rule(f"[bold]lists[/] on {version}")
    console.print(f"dataset: {meta['contacts']:,} contacts for {REPS} reps in 2 teams; built in {meta['seconds']:.0f} s on {meta['built']}")

    from accounts.models import User
    from lists.models import SavedList

    rep = User.objects.get(username="rep00")
    admin = User.objects.get(username="bench-admin")
    plain = SavedList.objects.get(name="Everyone by last contact")
    stale = SavedList.objects.get(name="Stale")
    result: dict = {"db_version": version, "dataset": meta, "pages": {}, "exports": {}}

    console.print("pages of /records (50 rows), p50 / p99:")
    for who in (rep, admin):
        for saved in (plain, stale):
            for label, hops in (("first", 0), ("deep", 20)):
                timings = _page_timings(who, saved, hops, args.requests)
                key = f"{who.username} {saved.name} {label}"
                result["pages"][key] = timings
                console.print(f"  {key:<44} {timings['p50_ms']:8.1f} ms {timings['p99_ms']:8.1f} ms")

    console.print("CSV export (all rows, streamed):")
    met = True
    for who in (rep, admin):
        export = _export(who, plain)
        result["exports"][who.username] = export
        ratio = export["first_rate"] / export["rate"] if export["rate"] else float("inf")
        ok = export["growth_mb"] < TARGET_GROWTH_MB and ratio < TARGET_RATE_RATIO
        met &= ok
        console.print(
            f"  {who.username:<12} {export['rows']:>9,} rows in {export['seconds']:6.1f} s ({export['rate']:,.0f} rows/s; first 100,000: {export['first_rate']:,.0f}/s), "
            f"{export['mb_sent']:.0f} MB sent, memory growth {export['growth_mb']:.1f} MB {common.verdict(ok)}"
        )
    if db == "postgres":
        result["plan"] = _chunk_plan(rep, plain)
        console.print("[bold]a chunk of the export (rep, deep in the list)[/]")
        console.print(result["plan"])
    slowest = max(t["p50_ms"] for t in result["pages"].values())
    pages_met = slowest < TARGET_PAGE_MS
    result.update(met=met and pages_met, target_page_ms=TARGET_PAGE_MS)
    console.print(f"slowest page p50 {slowest:.1f} ms (target < {TARGET_PAGE_MS:.0f} ms) {common.verdict(pages_met)}")
    console.print(f"export memory under {TARGET_GROWTH_MB} MB and rate steady within {TARGET_RATE_RATIO}x: {common.verdict(met)}")
    common.write_result("lists", db, result)
    return 0


def _page_timings(user, saved, hops: int, requests: int) -> dict:
    from lists.queries import records_page
    from lists.rows import api_item

    cursor = None
    for _ in range(hops):
        page, _ = records_page(user, saved, cursor, 50)
        cursor = page.next_cursor
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        page, columns = records_page(user, saved, cursor, 50)
        [api_item(columns, row) for row in page.items]
        timings.append(time.perf_counter() - started)
    return common.summarize(timings)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _export(user, saved) -> dict:
    from lists.export import csv_lines

    start_rss = peak_rss = _rss_mb()
    started = time.perf_counter()
    sent = rows = 0
    first_rate = 0.0
    for line in csv_lines(user, saved):
        sent += len(line)
        rows += 1
        if rows % 10_000 == 0:
            peak_rss = max(peak_rss, _rss_mb())
        if rows == 100_000:
            first_rate = rows / (time.perf_counter() - started)
    seconds = time.perf_counter() - started
    rows -= 1  # the header
    rate = rows / seconds
    return {"rows": rows, "seconds": seconds, "rate": rate, "first_rate": first_rate or rate, "mb_sent": sent / 1e6, "growth_mb": peak_rss - start_rss}


def _chunk_plan(user, saved) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a chunk query halfway through the list."""
    from django.db import connection

    from config.pagination import after_in_walk as _after
    from config.pagination import sort_walks as _phases
    from lists.queries import EXPORT_CHUNK, records_queryset, row_keys, sort_of

    qs, columns = records_queryset(user, saved)
    name, descending = sort_of(saved)
    where, order = _phases(name, descending, True)[0]
    middle = list(qs.filter(where).order_by(*order).values_list(name, "id")[500_000:500_001]) or list(qs.filter(where).order_by(*order).values_list(name, "id")[:1])
    chunk = qs.filter(where).filter(_after(name, descending, middle[0])).order_by(*order).values_list(*row_keys(columns))[:EXPORT_CHUNK]
    sql, params = chunk.query.sql_with_params()
    with connection.cursor() as c:
        c.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in c.fetchall())


def _generate(total: int) -> dict:
    from django.db import connection

    from accounts.models import Role
    from accounts.services import do_create_user
    from lists.services import do_create_list

    started = time.perf_counter()
    rng = random.Random(20261204)
    now = datetime.now(UTC).replace(microsecond=0)
    owners = [do_create_user(f"rep{i:02d}", role="rep", team_name="east" if i % 2 == 0 else "west").id for i in range(REPS)]
    admin = do_create_user("bench-admin", role=Role.ADMIN)
    columns = ("first_name", "last_name", "title", "owner_id", "created_at", "updated_at", "last_contacted_on", "last_contacted_via")

    def rows():
        for i in range(total):
            contacted = now - timedelta(seconds=rng.uniform(0, 365 * 86400)) if rng.random() < 0.85 else None
            yield (f"First{i}", f"Last{i:07d}", rng.choice(("CEO", "CTO", "Buyer", "Head of procurement", "")), owners[i % REPS], now, now, contacted, "Email" if contacted else None)

    with console.status(f"writing {total:,} contacts"):
        with connection.cursor() as c:
            if connection.vendor == "postgresql":
                with c.cursor.copy(f"COPY crm_contact ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows():
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO crm_contact ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
                batch = []
                for row in rows():
                    batch.append((*row[:4], *(_sqlite_dt(v) for v in row[4:7]), row[7]))
                    if len(batch) == 20_000:
                        c.executemany(sql, batch)
                        batch = []
                if batch:
                    c.executemany(sql, batch)
            c.execute("INSERT INTO crm_contactemail (contact_id, email, position) SELECT id, 'c' || id || '@example.com', 0 FROM crm_contact")
            c.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    do_create_list(admin, {"name": "Everyone by last contact", "record_type": "contact", "shared_with_everyone": True})
    stale = {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}]}
    do_create_list(admin, {"name": "Stale", "record_type": "contact", "conditions": stale, "shared_with_everyone": True})
    meta = {"version": DATASET_VERSION, "contacts": total, "seconds": time.perf_counter() - started, "built": now.strftime("%Y-%m-%d")}
    common.write_dataset_meta(meta)
    return meta


def _sqlite_dt(value: datetime | None) -> str | None:
    # As Django stores it on SQLite: naive UTC text.
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


if __name__ == "__main__":
    raise SystemExit(main())
