"""The Smart Alerts scan (alerts.services.do_scan_alerts) over 1M deals.

Dataset (kept between runs; ``--rebuild`` to redo it): ``--deals``
(1,000,000 on PostgreSQL, 100,000 on SQLite) written at COPY speed (COPY
on PostgreSQL, executemany on SQLite) for 20 reps: 30% closed; of the rest,
45% contacted in the last 14 days, 40% contacted 14 days to a year ago,
15% never contacted (quiet since their creation, up to three years ago).
With the default 14 days, a little over half the open deals are idle.

Each run starts from no alert state (idle_alerted_for NULL everywhere, no
notifications), then measures, in-process, on the same "now":

- first scan (cold): every idle deal alerted at once, its notification
  written (the one-off cost after installing, or after a long outage)
- nothing new: the steady state, every idle deal already alerted
- 5 minutes later: the deals whose quiet period crossed 14 days meanwhile
  (the periodic job's real interval)
- 1 hour later, after 1,000 of the alerted deals got a touchpoint
  (Last Contacted On moved to now, as touchpoints.lastcontacted does): the
  clearing pass resolves those and the raise finds an hour's newly idle
- nothing new again

and prints each scan's time, what it raised and cleared, and the
PostgreSQL EXPLAIN (ANALYZE, BUFFERS) / SQLite EXPLAIN QUERY PLAN of the
raise and the clearing statements, to show they read the partial indexes.
Target: the steady-state scans under 1 s on PostgreSQL at 1M deals.
"""
from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_alerts"
DATASET_VERSION = 1
REPS = 20
TOUCHED = 1_000
TARGET_S = 1.0
STAGES_OPEN = ("prospecting", "qualification", "proposal", "negotiation")
STAGES_CLOSED = ("closed_won", "closed_lost")


def main(argv=None) -> int:
    parser = common.child_args("Smart Alerts scan over many deals")
    parser.add_argument("--deals", type=int, default=None, help="default 1,000,000 on PostgreSQL, 100,000 on SQLite")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    db = args.db
    deals = args.deals or (1_000_000 if db == "postgres" else 100_000)
    common.open_kept_database(db, DBNAME, args.rebuild)

    wanted = {"version": DATASET_VERSION, "deals": deals}
    meta = common.kept_dataset_or_reset(db, DBNAME, wanted) or _generate(deals)
    version = common.db_version()
    console.rule(f"[bold]alerts[/] on {version}")
    console.print(f"dataset: {meta['deals']:,} deals ({meta['open']:,} open) for {REPS} reps; built in {meta['seconds']:.0f} s on {meta['built']}")

    from django.urls import reverse

    from alerts.services import do_scan_alerts

    reverse("dashboard")  # load the URLconf (a worker's one-off import), not the scan's cost
    now = datetime.fromisoformat(meta["now"])
    _reset_state()
    phases = []

    def scan(label: str, at: datetime) -> dict:
        started = time.perf_counter()
        result = do_scan_alerts(at)
        seconds = time.perf_counter() - started
        row = {"phase": label, "seconds": seconds, "raised": result.raised["idle_deal"], "cleared": result.cleared["idle_deal"]}
        console.print(f"  {label:<44} {seconds * 1000:9.1f} ms   raised {row['raised']:>8,}   cleared {row['cleared']:>6,}")
        phases.append(row)
        return row

    console.print("scans (do_scan_alerts: clear, raise idle, overdue tasks and events):")
    cold = scan("first scan (cold: nothing alerted yet)", now)
    _analyze()
    steady = [scan("nothing new (steady state)", now)]
    steady.append(scan("5 minutes later", now + timedelta(minutes=5)))
    originals = _touch_alerted(TOUCHED, now + timedelta(minutes=30))
    touched = len(originals)
    try:
        steady.append(scan(f"1 hour later, {touched:,} alerted deals contacted", now + timedelta(hours=1)))
        steady.append(scan("nothing new (steady state)", now + timedelta(hours=1, seconds=1)))
        plans = _plans(now + timedelta(hours=2))
    finally:
        _untouch(originals)  # the kept dataset stays as built
    assert cold["raised"] > 0 and steady[0]["raised"] == 0 and steady[2]["cleared"] == touched, phases

    for name, plan in plans.items():
        console.print(f"[bold]{name}[/]")
        console.print(plan)
    raise_plan, clear_plan = plans.values()
    index_used = "deal_idle_candidates_idx" in raise_plan and "deal_idle_cleared_idx" in clear_plan
    worst = max(row["seconds"] for row in steady)
    met = worst < TARGET_S and index_used if db == "postgres" else index_used
    console.print(
        f"steady-state scans: worst {worst * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms on PostgreSQL at 1M deals); "
        f"cold first scan {cold['seconds']:.1f} s for {cold['raised']:,} alerts; partial indexes in the plans: {index_used} {common.verdict(met)}"
    )
    common.write_result("alerts", db, {"db_version": version, "dataset": meta, "phases": phases, "plans": plans, "worst_steady_s": worst, "index_used": index_used, "met": met})
    return 0


def _generate(total: int) -> dict:
    from django.db import connection

    from accounts.services import do_create_user

    started = time.perf_counter()
    rng = random.Random(20261204)
    now = datetime.now(UTC).replace(microsecond=0)
    owners = [do_create_user(f"rep{i:02d}", role="rep", team_name="bench").id for i in range(REPS)]
    columns = ("name", "owner_id", "stage", "amount", "created_at", "updated_at", "last_contacted_on", "last_contacted_via")
    open_count = 0

    def rows():
        nonlocal open_count
        for i in range(total):
            stage = rng.choice(STAGES_CLOSED) if rng.random() < 0.3 else rng.choice(STAGES_OPEN)
            open_count += stage in STAGES_OPEN
            created = now - timedelta(seconds=rng.uniform(86400, 3 * 365 * 86400))
            roll = rng.random()
            if roll < 0.45:
                contacted = now - timedelta(seconds=rng.uniform(0, 14 * 86400))
            elif roll < 0.85:
                contacted = now - timedelta(seconds=rng.uniform(14 * 86400, 365 * 86400))
            else:
                contacted = None
            if contacted is not None and contacted < created:
                created = contacted - timedelta(days=1)
            yield (f"Deal {i}", owners[i % REPS], stage, f"{rng.randint(1, 500) * 100}.00", created, now, contacted, "Email" if contacted else None)

    with console.status(f"writing {total:,} deals"):
        with connection.cursor() as c:
            if connection.vendor == "postgresql":
                with c.cursor.copy(f"COPY crm_deal ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows():
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO crm_deal ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
                batch = []
                for name, owner, stage, amount, created, updated, contacted, via in rows():
                    batch.append((name, owner, stage, amount, _sqlite_dt(created), _sqlite_dt(updated), _sqlite_dt(contacted), via))
                    if len(batch) == 20_000:
                        c.executemany(sql, batch)
                        batch = []
                if batch:
                    c.executemany(sql, batch)
    _analyze()
    meta = {"version": DATASET_VERSION, "deals": total, "open": open_count, "now": now.isoformat(), "seconds": time.perf_counter() - started, "built": now.strftime("%Y-%m-%d")}
    common.write_dataset_meta(meta)
    return meta


def _sqlite_dt(value: datetime | None) -> str | None:
    # As Django stores it on SQLite: naive UTC text.
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE crm_deal, alerts_notification" if connection.vendor == "postgresql" else "ANALYZE")


def _reset_state() -> None:
    """No alert raised yet: the cold start the first scan measures."""
    from django.db import connection

    with console.status("resetting the alert state"), connection.cursor() as c:
        c.execute("UPDATE crm_deal SET idle_alerted_for = NULL WHERE idle_alerted_for IS NOT NULL")
        c.execute("DELETE FROM alerts_notification")
        c.execute("DELETE FROM alerts_alertconfig")
    _analyze()


def _touch_alerted(n: int, when: datetime) -> list[tuple]:
    """What touchpoints.lastcontacted does for a contact: Last Contacted On
    moves to ``when``. Returns the deals' earlier values."""
    from crm.models import Deal

    rng = random.Random(7)
    alerted = list(Deal.objects.filter(idle_alerted_for__isnull=False).values_list("id", flat=True))
    ids = sorted(rng.sample(alerted, min(n, len(alerted))))
    originals = list(Deal.objects.filter(id__in=ids).values_list("id", "last_contacted_on", "last_contacted_via"))
    Deal.objects.filter(id__in=ids).update(last_contacted_on=when, last_contacted_via="Phone Call")
    return originals


def _untouch(originals: list[tuple]) -> None:
    from crm.models import Deal

    Deal.objects.bulk_update([Deal(id=i, last_contacted_on=on, last_contacted_via=via) for i, on, via in originals], ["last_contacted_on", "last_contacted_via"], batch_size=500)


def _plans(at: datetime) -> dict[str, str]:
    """The plans of one batch of the raise and of the clearing pass: the
    ids read from the partial index, then the UPDATE of those ids."""
    from django.db import connection, transaction

    from alerts import scan
    from alerts.services import get_config

    explain = "EXPLAIN (ANALYZE, BUFFERS)" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    plans = {}
    with transaction.atomic():  # EXPLAIN ANALYZE runs the UPDATE: rolled back
        with connection.cursor() as c:
            for name, qs, (assignments, returning) in (
                ("raise", scan.idle_deals(get_config(), at), scan.IDLE_RAISE),
                ("clear", scan.cleared_deals(), scan.IDLE_CLEAR),
            ):
                ids_sql, ids_params = qs.values_list("pk", flat=True)[: scan.SCAN_BATCH].query.sql_with_params()
                ids = list(qs.values_list("pk", flat=True)[: scan.SCAN_BATCH]) or [0]
                update, update_params = scan.update_sql(qs.filter(pk__in=ids), assignments, returning)
                lines = []
                for sql, params in ((ids_sql, ids_params), (update, update_params)):
                    c.execute(f"{explain} {sql}", params)
                    # The UPDATE's id list runs to 5,000 numbers: shortened.
                    lines += ["  " + re.sub(r"\{(\d+,){3}[\d,]*\}", lambda m: m.group(0) if len(m.group(0)) < 60 else m.group(0)[:40] + "...}", str(row[-1])) for row in c.fetchall()]
                plans[f"{name} ({len(ids):,} ids, then their UPDATE)"] = "\n".join(lines)
        transaction.set_rollback(True)
    return plans


if __name__ == "__main__":
    raise SystemExit(main())
