"""Batch ingest through the HTTP API versus a raw executemany of the same rows.

A fresh database with a CRM (organizations, contacts in them, deals with
contacts on them, most of them open) and ``manage.py serve`` (gunicorn) on
loopback. After warm-up batches, for each of ``--batches`` measured batches
of 1,000 realistic items:

1. POST it to /api/v1/touchpoints/batch over one keep-alive connection:
   validation, reference checks, rollup links, Last Contacted UPDATEs, the
   response (timed: request sent to response read).
2. Read back exactly what it wrote: the touchpoint rows, the link rows in
   insertion order, and the Last Contacted UPDATE parameters (computed from
   the counting link rows as lastcontacted.advance computes them).
3. Delete those rows and put Last Contacted back as it was before the
   request (PostgreSQL: VACUUM the two tables, autovacuum being off here).
4. Replay the rows with the driver's own bulk path on the same Django
   connection (same settings), one transaction, same statement order
   (timed: BEGIN to COMMIT): executemany on SQLite; on PostgreSQL COPY for
   the inserts (what the app itself uses there) and executemany for the
   Last Contacted UPDATEs. Check the tables now hold what step 1 wrote.

Interleaving per batch keeps the comparison fair on a noisy machine: both
sides see the same table sizes and the same background load. Prints
touchpoints/s for both and API / raw (target >= 0.5x).
"""
from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_ingest"
TARGET = 0.5
BATCH = 1000


def main(argv=None) -> int:
    parser = common.child_args("Batch ingest over HTTP vs raw executemany")
    parser.add_argument("--batches", type=int, default=20, help="measured batches of 1,000 (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--orgs", type=int, default=400)
    args = parser.parse_args(argv)
    db = args.db

    common.drop_database(db, DBNAME)
    common.create_database(db, DBNAME)
    common.setup_django(db, DBNAME)

    from bench import seed

    version = common.db_version()
    console.rule(f"[bold]ingest[/] on {version}")
    rng = random.Random(20240601)
    now = datetime.now(UTC)
    with console.status("seeding the CRM"):
        world = seed.create_world(
            rng,
            orgs=args.orgs,
            contacts_per_org=8,
            deals_per_org=2,
            busiest_contacts=8,
            busiest_deals=2,
            deal_created=(now - timedelta(days=500), now - timedelta(days=90)),
            closed_share=0.2,
            now=now,
        )
        token = seed.issue_token(world)
    n_contacts = sum(len(v) for v in world.contacts_by_org.values())
    console.print(
        f"CRM: {len(world.org_ids)} organizations, {n_contacts} contacts, "
        f"{sum(len(v) for v in world.deals_by_org.values())} deals"
    )

    result = measure(world, token, rng, now, batches=args.batches, warmup=args.warmup, label=f"ingest-{db}")
    result["db_version"] = version
    if args.profile:
        result["profile"] = _profile(world, token, rng, result["run"])
    common.write_result("ingest", db, result)
    return 0


def measure(world, token: str, rng: random.Random, now: datetime, *, batches: int, warmup: int, label: str) -> dict:
    """``warmup`` + ``batches`` batches of 1,000 realistic items for the
    world's records: each POSTed to a gunicorn started here, read back,
    undone and replayed raw (the module's docstring). Returns the figures;
    ``run`` (the external ids' prefix) is in them for --profile."""
    from django.db import connection, transaction

    from bench import seed
    from crm.models import Contact, Deal, Organization
    from touchpoints.models import Touchpoint, TouchpointLink
    from touchpoints.rollup import LINK_FIELDS
    from touchpoints.rules import contact_via
    from touchpoints.services import TOUCHPOINT_FIELDS

    # Payloads, built and encoded before anything is timed.
    run = f"{random.getrandbits(32):08x}"
    payloads = []
    for b in range(warmup + batches):
        items = []
        for i in range(BATCH):
            org = rng.choice(world.org_ids)
            when = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
            items.append(seed.to_json_item(seed.make_item(rng, world, org, when, f"{run}-{b}-{i}")))
        payloads.append(json.dumps({"items": items}).encode())
    console.print(f"payload: {BATCH} items, {len(payloads[0]) / 1024:.0f} KiB per request")

    # Raw SQL on the driver's own cursor (the one Django's cursor wraps).
    ph = "?" if connection.vendor == "sqlite" else "%s"
    tp_cols = [Touchpoint._meta.get_field(f).column for f in TOUCHPOINT_FIELDS]
    link_cols = [TouchpointLink._meta.get_field(f).column for f in LINK_FIELDS]
    tp_table = Touchpoint._meta.db_table
    link_table = TouchpointLink._meta.db_table
    kind_i, event_type_i = TOUCHPOINT_FIELDS.index("kind"), TOUCHPOINT_FIELDS.index("event_type")
    li = {name: i for i, name in enumerate(LINK_FIELDS)}
    record_models = {"organization": Organization, "contact": Contact, "deal": Deal}
    insert_tp = f"INSERT INTO {tp_table} ({', '.join(tp_cols)}) VALUES ({', '.join([ph] * len(tp_cols))})"
    insert_link = f"INSERT INTO {link_table} ({', '.join(link_cols)}) VALUES ({', '.join([ph] * len(link_cols))})"
    copy_tp = f"COPY {tp_table} ({', '.join(tp_cols)}) FROM STDIN"
    copy_link = f"COPY {link_table} ({', '.join(link_cols)}) FROM STDIN"
    update_sql = {
        rtype: (
            f"UPDATE {model._meta.db_table} SET last_contacted_on = {ph}, last_contacted_via = {ph} "
            f"WHERE id = {ph} AND (last_contacted_on IS NULL OR last_contacted_on < {ph})"
        )
        for rtype, model in record_models.items()
    }

    def raw_cursor():
        connection.ensure_connection()
        return connection.connection.cursor()

    def read_back(ids: list[int]):
        """What the ingest wrote for these touchpoints: their rows, their
        link rows (in insertion order) and, computed from the links as
        lastcontacted.advance computes them, its UPDATE parameters."""
        cur = raw_cursor()
        marks = ",".join([ph] * len(ids))
        cur.execute(f"SELECT {', '.join(tp_cols)} FROM {tp_table} WHERE id IN ({marks}) ORDER BY id", ids)
        tp_rows = [tuple(r) for r in cur.fetchall()]
        cur.execute(f"SELECT {', '.join(link_cols)} FROM {link_table} WHERE touchpoint_id IN ({marks}) ORDER BY id", ids)
        link_rows = [tuple(r) for r in cur.fetchall()]
        tp_by_id = {r[0]: r for r in tp_rows}
        latest: dict[tuple[str, int], tuple] = {}
        for row in link_rows:
            if not row[li["counts"]]:
                continue
            rtype = next(t for t in record_models if row[li[f"{t}_id"]] is not None)
            target = (rtype, row[li[f"{rtype}_id"]])
            when = row[li["occurred_at"]]
            tp = tp_by_id[row[li["touchpoint_id"]]]
            current = latest.get(target)
            if current is None or _when_key(when) > current[0]:
                latest[target] = (_when_key(when), when, contact_via(tp[kind_i], tp[event_type_i]))
        updates = {
            rtype: [(when, via, rid, when) for (t, rid), (_, when, via) in sorted(latest.items(), key=lambda kv: kv[0][1]) if t == rtype]
            for rtype in record_models
        }
        return tp_rows, link_rows, updates

    def undo(ids: list[int], last_contacted: dict) -> None:
        """Delete the batch's rows and put Last Contacted back (untimed)."""
        with transaction.atomic():
            cur = raw_cursor()
            marks = ",".join([ph] * len(ids))
            cur.execute(f"DELETE FROM {link_table} WHERE touchpoint_id IN ({marks})", ids)
            cur.execute(f"DELETE FROM {tp_table} WHERE id IN ({marks})", ids)
            for model, rows in last_contacted.items():
                cur.executemany(
                    f"UPDATE {model._meta.db_table} SET last_contacted_on = {ph}, last_contacted_via = {ph} WHERE id = {ph}",
                    [(on, via, rid) for rid, on, via in rows],
                )
        if connection.vendor == "postgresql":
            # Autovacuum is off on this server; without this the replay
            # would step over the deleted rows' dead index entries.
            with connection.cursor() as c:
                c.execute(f"VACUUM {link_table}, {tp_table}")

    def replay(tp_rows, link_rows, updates) -> float:
        start = time.perf_counter()
        with transaction.atomic():
            cur = raw_cursor()
            if connection.vendor == "postgresql":
                # The database's own bulk path, as insert_rows uses it.
                for sql, rows in ((copy_tp, tp_rows), (copy_link, link_rows)):
                    with cur.copy(sql) as copy:
                        for row in rows:
                            copy.write_row(row)
            else:
                cur.executemany(insert_tp, tp_rows)
                cur.executemany(insert_link, link_rows)
            for rtype in record_models:  # lastcontacted.advance's lock order
                if updates[rtype]:
                    cur.executemany(update_sql[rtype], updates[rtype])
        return time.perf_counter() - start

    lc_models = tuple(record_models.values())
    http_times: list[float] = []
    raw_times: list[float] = []
    n_links = n_updates = count = 0
    identical = True
    with common.server(label) as port:
        client = common.Http(port, token)
        for b in range(warmup):
            status, body, _ = client.request("POST", "/api/v1/touchpoints/batch", payloads[b])
            _check_batch(status, body)
        common.checkpoint()
        load_before = os.getloadavg()[0]
        for b in range(warmup, warmup + batches):
            # 1. over HTTP, all side effects
            before = _snapshot_last_contacted(connection, lc_models)
            status, body, elapsed = client.request("POST", "/api/v1/touchpoints/batch", payloads[b])
            ids = _check_batch(status, body)
            http_times.append(elapsed)
            # 2. exactly what it wrote
            tp_rows, link_rows, updates = read_back(ids)
            after = _snapshot_last_contacted(connection, lc_models)
            # 3. back to the state before the request, then the same rows raw
            undo(ids, before)
            raw_times.append(replay(tp_rows, link_rows, updates))
            # 4. the replay wrote what the ingest wrote
            again = read_back(ids)
            if again[0] != tp_rows or [r for r in again[1]] != link_rows or _snapshot_last_contacted(connection, lc_models) != after:
                identical = False
            count += len(ids)
            n_links += len(link_rows)
            n_updates += sum(len(u) for u in updates.values())
        load_after = os.getloadavg()[0]
        client.close()
    if not identical:
        console.print("[bold red]replay differs from what the ingest wrote[/]")

    http_seconds, raw_seconds = sum(http_times), sum(raw_times)
    http_rate, raw_rate = count / http_seconds, count / raw_seconds
    ratio = http_rate / raw_rate
    per_batch = sorted(r / h for h, r in zip(http_times, raw_times))
    median_ratio = per_batch[len(per_batch) // 2]
    lat = common.summarize(http_times)
    console.print(
        f"measured: {batches} batches, {count} touchpoints, {n_links} links "
        f"({n_links / count:.2f}/touchpoint), {n_updates} last-contacted UPDATEs "
        f"({n_updates / batches:.0f}/batch); replay identical to ingest: {identical}; "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    console.print(f"HTTP batch request: p50 {lat['p50_ms']:.0f} ms, max {lat['max_ms']:.0f} ms; raw replay p50 {common.percentile(raw_times, 50) * 1000:.0f} ms")
    console.print(f"API ingest over HTTP : {http_rate:10,.0f} touchpoints/s  ({http_seconds:.2f} s)")
    raw_label = "raw COPY+executemany" if connection.vendor == "postgresql" else "raw executemany     "
    console.print(f"{raw_label} : {raw_rate:10,.0f} touchpoints/s  ({raw_seconds:.2f} s)")
    console.print(
        f"ratio API / raw      : {ratio:10.2f}x   (median of per-batch ratios {median_ratio:.2f}x)   "
        f"target >= {TARGET}x: {common.verdict(ratio >= TARGET)}"
    )

    result = {
        "touchpoints": count,
        "batches": batches,
        "links": n_links,
        "last_contacted_updates": n_updates,
        "replay_identical": identical,
        "http_seconds": http_seconds,
        "raw_seconds": raw_seconds,
        "http_rate": http_rate,
        "raw_rate": raw_rate,
        "ratio": ratio,
        "median_batch_ratio": median_ratio,
        "target": TARGET,
        "met": ratio >= TARGET,
        "request_latency": lat,
        "loadavg": [load_before, load_after],
    }
    result["run"] = run
    return result


def _check_batch(status: int, body: bytes) -> list[int]:
    if status != 200:
        raise SystemExit(f"batch POST -> {status}: {body[:1000]!r}")
    out = json.loads(body)
    if out["created"] != BATCH:
        raise SystemExit(f"batch created {out['created']} of {BATCH}: {json.dumps(out)[:1000]}")
    return [r["id"] for r in out["results"]]


def _when_key(value):
    if isinstance(value, str):  # SQLite keeps datetimes as text
        return datetime.fromisoformat(value)
    return value


def _snapshot_last_contacted(connection, models) -> dict:
    out = {}
    with connection.cursor() as c:
        for model in models:
            c.execute(f"SELECT id, last_contacted_on, last_contacted_via FROM {model._meta.db_table} ORDER BY id")
            out[model] = [tuple(r) for r in c.fetchall()]
    return out


def _profile(world, token, rng, run) -> dict:
    """Where an ingest request's time goes, in-process (no HTTP server):
    timed phases over a few fresh batches, then a cProfile of one more."""
    from django.test import Client

    import ninja.operation

    import config.auth
    import touchpoints.api
    from bench import profiling, seed
    from touchpoints import lastcontacted, rollup, services

    now = datetime.now(UTC)

    def body(tag: str) -> str:
        items = []
        for i in range(BATCH):
            when = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
            items.append(seed.to_json_item(seed.make_item(rng, world, rng.choice(world.org_ids), when, f"{run}-{tag}-{i}")))
        return json.dumps({"items": items})

    profiling.freeze_heap()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    runs = 5
    bodies = [body(f"p{n}") for n in range(runs + 2)]

    def post(b):
        resp = client.post("/api/v1/touchpoints/batch", b, content_type="application/json")
        assert resp.status_code == 200, resp.content[:500]

    post(bodies[0])  # URLconf import, schema building
    phases = profiling.Phases(
        [
            (config.auth.TokenAuth, "authenticate", "authenticate (token lookup)"),
            (touchpoints.api, "_json_body", "json.loads of the body"),
            (touchpoints.api, "json_response", "response: json_response (JSON encode)"),
            (ninja.operation.Operation, "_result_to_response", "ninja response handling"),
            (touchpoints.api.TouchpointItem, "model_validate", "validate items (TouchpointItem.model_validate x1000)"),
            (services, "record_touchpoints", "record_touchpoints own (BEGIN/COMMIT, retry loop)"),
            (services, "_record", "_record own (rollup targets, row tuples)"),
            (services, "check_new_touchpoints", "check_new_touchpoints (references, owners)"),
            (services, "_find_existing", "_find_existing (external ids)"),
            (services, "allocate_ids", "allocate_ids"),
            (rollup.RollupContext, "load", "RollupContext.load"),
            (services, "insert_rows", "insert_rows (value prep + executemany)"),
            (lastcontacted, "advance", "lastcontacted.advance"),
        ]
    )
    total = 0.0
    with phases.active():
        for b in bodies[1 : runs + 1]:
            start = time.perf_counter()
            post(b)
            total += time.perf_counter() - start
    rows = phases.table(total, runs)
    profiling.print_table(console, f"ingest: one batch of {BATCH}, in-process, mean of {runs}", rows)
    text = profiling.cprofile(lambda: post(bodies[-1]), top=35)
    print(text, flush=True)
    return {"phases": rows, "cprofile": text}


if __name__ == "__main__":
    raise SystemExit(main())
