"""One database's fault run (``python -m faults.run --db sqlite|postgres``);
``python -m faults`` runs one or both. docs/reliability.md describes it.

1. A fresh database (SQLite in a temporary directory; PostgreSQL: a
   database of its own, dropped afterwards) and job queue beside it (the
   SQLite queue for SQLite, the PostgreSQL queue for PostgreSQL), migrated;
   a CRM and a workflow (faults.world).
2. ``touchpoints serve`` (gunicorn) and ``touchpoints worker`` as real
   subprocesses; concurrent clients send every touchpoint in batches,
   retrying on connection errors and 5xx; the chaos thread kill -9s the
   server and the worker and starts them again.
3. Settle: the worker drains its queue; then the workflow sweeper runs as it
   would once its grace period has passed (runs whose job died with a worker
   are taken up again) and an insights refresh is enqueued, until nothing is
   left to do.
4. Verify (faults.verify) and print every violation; exit 1 if any.
"""
from __future__ import annotations

import argparse
import os
import resource
import random
import shutil
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from faults import chaos as chaos_module
from faults import load, procs, verify, world as world_module

ROOT = procs.ROOT
PG_BASE_URL = os.environ.get("FAULTS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
# Static files collected once and kept (var/ is not in git): every server
# start runs collectstatic, which then has nothing to do. One directory per
# database: the two runs start their servers at the same time.
VAR_ROOT = ROOT / "var" / "faults"
console = Console(highlight=False, width=None if sys.stdout.isatty() else 130)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="kill -9 the server and the worker during ingest, then verify")
    parser.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    add_options(parser)
    return parser.parse_args(argv)


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--touchpoints", type=int, default=100_000, help="touchpoints in all (default 100,000)")
    parser.add_argument("--seed", type=int, help="replay a run: the data and the kill plan (default: random, printed)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--batch", type=int, default=1000, help="touchpoints per request (default 1,000, the API's maximum)")
    parser.add_argument("--server-kills", type=int, default=3, help="kill -9s of the server (default 3; a third of them with the worker)")
    parser.add_argument("--worker-kills", type=int, default=3, help="kill -9s of the worker (default 3)")
    # One gunicorn worker process (with `serve`'s 4 threads, so requests and
    # their transactions still run concurrently): every restart after a kill
    # boots each worker process, and each imports the whole app (about 3 s of
    # CPU), which on two CPUs is most of what a restart costs.
    parser.add_argument("--web-workers", type=int, default=1, help="gunicorn worker processes (default 1, with 4 threads)")
    parser.add_argument("--job-deals", type=int, default=1000, help="deals whose one touchpoint fires the workflow (default 1,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (and the PostgreSQL database)")


def _other_options(argv: list[str]) -> list[str]:
    """The command line without --db, --seed and --keep, for the replay line."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--db", "--seed"):
            skip = True
        elif not arg.startswith(("--db=", "--seed=")) and arg != "--keep":
            out.append(arg)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(db: str, tmp: Path, dbname: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL", "HUEY_URL", "HUEY_IMMEDIATE", "SQLITE_PATH")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TOUCHPOINTS_VAR_DIR=str(VAR_ROOT / db),
        SECRET_KEY="fault-test-" + dbname,
        DEBUG="false",
        COMPANY_TIME_ZONE="UTC",
        PYTHONUNBUFFERED="1",
    )
    if db == "sqlite":
        env["SQLITE_PATH"] = str(tmp / "touchpoints.sqlite3")
        env["HUEY_URL"] = "sqlite://" + str(tmp / "huey.sqlite3")
    else:
        url = f"{PG_BASE_URL.rstrip('/')}/{dbname}"
        env["DATABASE_URL"] = url
        env["HUEY_URL"] = url
    return env


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE_URL.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    db = args.db
    started = time.monotonic()
    console.rule(f"[bold]fault test on {db}[/]: {args.touchpoints:,} touchpoints, seed {seed}")
    console.print(f"replay: ./dev test --faults --{db} --seed {seed} {' '.join(_other_options(argv if argv is not None else sys.argv[1:]))}".rstrip())
    (VAR_ROOT / db).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"touchpoints-faults-{db}-"))
    dbname = f"touchpoints_faults_{os.getpid()}"
    env = environment(db, tmp, dbname)
    if db == "postgres":
        pg_admin(f'CREATE DATABASE "{dbname}"')
    ok = False
    try:
        ok = _run(args, db, seed, env, tmp, started)
    finally:
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            console.print(f"kept for inspection: {tmp} (server.log, worker.log)" + (f" and database {dbname}" if db == "postgres" else ""))
        if db == "postgres" and (ok and not args.keep):
            from django.db import connections

            connections.close_all()
            pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return 0 if ok else 1


def _run(args, db: str, seed: int, env: dict[str, str], tmp: Path, started: float) -> bool:
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random(seed)
    world = world_module.build_world(rng, organizations=40, contacts_per_org=10, job_deals=args.job_deals)
    items = world_module.make_items(rng, world, args.touchpoints, f"f{seed}")
    shares = load.split(items, args.clients, args.batch)
    total_batches = sum(len(s) for s in shares)
    plan = chaos_module.make_plan(rng, args.server_kills, args.worker_kills)
    console.print(f"ready in {time.monotonic() - started:.1f} s: {len(world.contact_org)} contacts, {len(world.deal_org)} job deals, {total_batches} batches for {args.clients} clients")

    port = free_port()
    procs.become_subreaper()
    server = procs.server(env, port, tmp, args.web_workers)
    worker = procs.worker(env, tmp)
    ledger = load.Ledger()
    try:
        worker.start()
        server.start()
        ingest_started = time.monotonic()
        deadline = ingest_started + 600
        clients = [load.Client(n, port, world.token, share, ledger, deadline, seed + n) for n, share in enumerate(shares)]
        chaos = chaos_module.Chaos(plan, {"server": server, "worker": worker}, lambda: ledger.batches_acked / total_batches)
        chaos.start()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        chaos.stopped.set()
        chaos.join()
        ingest_seconds = time.monotonic() - ingest_started
        for line in chaos.log:
            console.print(f"  {line}")
        console.print(
            f"ingest: {len(ledger.acked):,} touchpoints acknowledged in {ingest_seconds:.1f} s "
            f"({len(ledger.acked) / ingest_seconds:,.0f}/s), {server.kills} server and {worker.kills} worker kills; "
            f"retried requests: {dict(ledger.retries) or 'none'}"
        )
        if ledger.latencies:
            ordered = sorted(ledger.latencies)
            console.print(
                f"acknowledged requests: p50 {ordered[len(ordered) // 2] * 1000:.0f} ms, "
                f"p90 {ordered[int(len(ordered) * 0.9)] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
            )
        problems = [f"{c.name} stopped: {c.error!r}" for c in clients if c.error]
        if chaos.error:
            problems.append(f"the chaos thread stopped: {chaos.error!r}")
        if len(chaos.log) < len(plan):
            problems.append(f"only {len(chaos.log)} of the {len(plan)} planned kills happened")
        for service in (worker, server):
            if not service.alive():
                service.start()
        settle_problems, recovered = settle()
        problems += settle_problems
        console.print(f"settled in {time.monotonic() - ingest_started - ingest_seconds:.1f} s; runs taken up again by the sweeper: {recovered}")
    finally:
        server.stop()
        worker.stop()

    verify_started = time.monotonic()
    checks = [
        ("each acknowledged touchpoint stored exactly once", lambda: verify.stored_exactly_once(items, ledger)),
        ("links as sent and as the rollup rules say", lambda: verify.links_as_sent(items, world, ledger)),
        ("Last Contacted On/Via = the newest of each record's log", lambda: verify.last_contacted(items, world)),
        ("workflow jobs: one run, one step, one task per trigger", lambda: verify.workflow_jobs(items, world, ledger)),
        ("Sales Insights refresh jobs: the rollup equals the log", lambda: verify.insights_rollup(items)),
    ]
    problems += [f"client answer: {v}" for v in ledger.violations]
    for label, check in checks:
        found = check()
        console.print(f"  {'[green]ok[/]  ' if not found else '[bold red]FAIL[/]'} {label}")
        problems += found
    elapsed = time.monotonic() - started
    console.print(f"checked in {time.monotonic() - verify_started:.1f} s")
    procs.reap_orphans()
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    console.print(
        f"CPU: {own.ru_utime + own.ru_stime:.0f} s this process (migrations, data, clients, checks), "
        f"{children.ru_utime + children.ru_stime:.0f} s the server and the worker"
        f"{' (PostgreSQL itself not counted)' if db == 'postgres' else ''}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if problems:
        console.print(f"[bold red]fault test on {db} FAILED[/] (seed {seed}, {elapsed:.0f} s):")
        for problem in problems:
            console.print(f"  - {problem}")
        return False
    console.print(f"[bold green]fault test on {db} passed[/] (seed {seed}, {elapsed:.0f} s)")
    return True


def settle(timeout: float = 240) -> tuple[list[str], int]:
    """Let the restarted worker finish what is queued, then do what the
    periodic jobs would do next: the workflow sweeper (as it runs once its
    grace periods, LOST_AFTER / STALE_AFTER, have passed, which a kill -9
    mid-run needs: the run looks busy until then) and an insights refresh.
    The sweeper's runs are processed here, with the clock moved past those
    periods; the refresh goes to the worker. Returns problems and how many
    runs the sweeper took up."""
    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from insights.models import PendingDay, PendingDeal
    from insights.tasks import refresh_insights_now
    from workflows import runner
    from workflows.models import RunStatus, WorkflowRun

    deadline = time.monotonic() + timeout
    unfinished = WorkflowRun.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])
    # 1. The queue drains (the worker is alive again) and the worker goes
    # quiet: no run has changed for a second.
    def state() -> tuple:
        return HUEY.pending_count(), list(unfinished.order_by("id").values_list("id", "status", "attempts"))

    last, quiet_since = state(), time.monotonic()
    while time.monotonic() < deadline and (last[0] or time.monotonic() - quiet_since < 1.0):
        time.sleep(0.2)
        now = state()
        if now != last:
            last, quiet_since = now, time.monotonic()
    # 2. Runs still unfinished lost their job or their worker: the sweeper,
    # later. A run the live worker is finishing right now is simply not
    # claimable twice (that is the point of the claim).
    recovered = 0
    while unfinished.exists() and time.monotonic() < deadline:
        later = timezone.now() + runner.STALE_AFTER + timedelta(seconds=1)
        for run_id in runner.runs_to_retry(now=later):
            if runner.do_process_run(run_id, now=later) is not None:
                recovered += 1
        time.sleep(0.2)
    # 3. The insights refresh (the periodic one may not have come round yet).
    refresh_insights_now()
    while (PendingDay.objects.exists() or PendingDeal.objects.exists() or HUEY.pending_count()) and time.monotonic() < deadline:
        time.sleep(0.2)
    problems = []
    if unfinished.exists():
        problems.append(f"{unfinished.count()} workflow runs still unfinished after {timeout:.0f} s")
    if PendingDay.objects.exists() or PendingDeal.objects.exists():
        locked = HUEY.is_locked("insights-refresh")
        problems.append(
            f"the insights refresh did not run within {timeout:.0f} s"
            + (" (its lock 'insights-refresh' is still held: by a worker that was killed?)" if locked else "")
        )
    if HUEY.pending_count():
        problems.append(f"{HUEY.pending_count()} jobs still queued after {timeout:.0f} s")
    return problems, recovered


if __name__ == "__main__":
    sys.exit(main())
