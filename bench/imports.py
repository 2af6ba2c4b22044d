"""A million-row CSV through ``touchpoints import``: memory, rate, and a
crash in the middle.

Dataset: a fresh database with a CRM (2,000 organizations, ~9 contacts each,
every contact with an email address), and a CSV of ``--rows`` (1,000,000)
touchpoints naming their contact by email, in the importer's words (Type,
Date, Subject, Email, Direction, Status, Description, Activity Id), written
once into var/bench/.

Measured: ``touchpoints import touchpoints FILE --user bench-admin`` as a
child process, killed with SIGKILL after ``--kill-after`` seconds (a crash:
no clean-up runs), then the same command again, which resumes the job. The
peak resident memory of each run (target < 300 MB), the rows per second,
and the check that every row is in the log exactly once.
"""
from __future__ import annotations

import csv
import os
import random
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_imports"
TARGET_MB = 300


def main(argv=None) -> int:
    parser = common.child_args("touchpoints import of a 1M-row CSV: memory, rate, crash and resume")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kill-after", type=float, default=60.0, help="seconds before the first run is killed")
    args = parser.parse_args(argv)
    db = args.db

    common.drop_database(db, DBNAME)
    common.create_database(db, DBNAME)
    common.setup_django(db, DBNAME)
    from bench import seed
    from touchpoints.models import Touchpoint

    version = common.db_version()
    console.rule(f"[bold]imports[/] on {version}")
    rng = random.Random(5)
    now = datetime.now(UTC).replace(microsecond=0)
    with console.status("seeding the CRM"):
        world = seed.create_world(
            rng, orgs=2000, contacts_per_org=9, deals_per_org=2, busiest_contacts=9, busiest_deals=2,
            deal_created=(now - timedelta(days=500), now - timedelta(days=90)), closed_share=0.2, now=now,
        )
        emails = _emails(world)
    path = common.BENCH_VAR / f"import-{args.rows}.csv"
    if not path.exists():
        with console.status(f"writing {args.rows:,} rows to {path}"):
            _write_csv(path, args.rows, emails, rng, now)
    size_mb = path.stat().st_size / 2**20
    console.print(f"file: {path} ({size_mb:,.0f} MB, {args.rows:,} rows); CRM: {len(emails):,} contacts with an email")

    env = {**os.environ, **common.db_env(db, DBNAME)}
    argv = [sys.executable, "manage.py", "import", "touchpoints", str(path), "--user", "bench-admin"]
    started = time.perf_counter()
    first = subprocess.Popen(argv, cwd=common.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        first.wait(args.kill_after)
        console.print("[yellow]the first run finished before it could be killed; raise --rows or lower --kill-after[/]")
    except subprocess.TimeoutExpired:
        first.send_signal(signal.SIGKILL)
        first.wait()
    first_seconds = time.perf_counter() - started
    first_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    from imports.models import ImportJob

    job = ImportJob.objects.order_by("-id").first()
    at_kill = (job.rows_done, Touchpoint.objects.count())
    console.print(f"killed after {first_seconds:.0f} s: job {job.id} {job.status}, checkpoint {at_kill[0]:,} rows, {at_kill[1]:,} touchpoints in the log")

    started = time.perf_counter()
    second = subprocess.run(argv, cwd=common.ROOT, env=env, capture_output=True, text=True)
    second_seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the larger of the two runs
    if second.returncode != 0:
        raise SystemExit(second.stderr[-2000:])
    job.refresh_from_db()
    total = Touchpoint.objects.count()
    distinct = Touchpoint.objects.values("external_id").distinct().count()
    exact = total == distinct == args.rows and job.created == args.rows
    rate = (args.rows - at_kill[0]) / second_seconds
    console.print(second.stdout.strip())
    console.print(f"resumed: {args.rows - at_kill[0]:,} rows in {second_seconds:.0f} s ({rate:,.0f} rows/s)")
    console.print(f"every row exactly once: {total:,} touchpoints, {distinct:,} distinct ids, job created {job.created:,} {common.verdict(exact)}")
    console.print(f"peak memory of an import process: {peak:.0f} MB (first run {first_peak:.0f} MB; target < {TARGET_MB} MB) {common.verdict(peak < TARGET_MB)}")
    common.write_result(
        "imports", db,
        {
            "db_version": version, "rows": args.rows, "file_mb": size_mb, "killed_after_s": first_seconds, "checkpoint_at_kill": at_kill[0],
            "log_at_kill": at_kill[1], "resumed_seconds": second_seconds, "rate": rate, "exact": exact, "peak_mb": peak,
            "target_mb": TARGET_MB, "met": exact and peak < TARGET_MB,
        },
    )
    return 0


def _emails(world) -> list[str]:
    from crm.models import ContactEmail

    have = set(ContactEmail.objects.values_list("contact_id", flat=True))
    rows = [
        ContactEmail(contact_id=cid, email=f"c{cid}@org{oid}.example", position=0)
        for oid, people in world.contacts_by_org.items() for cid in people if cid not in have
    ]
    ContactEmail.objects.bulk_create(rows, batch_size=5000)
    return list(ContactEmail.objects.values_list("email", flat=True))


def _write_csv(path, rows: int, emails: list[str], rng: random.Random, now: datetime) -> None:
    kinds = (("Email", "sent", "outbound"), ("Email", "received", "inbound"), ("Call", "Held", ""), ("SMS", "delivered", "outbound"), ("Note", "", ""), ("phone_call", "completed", "outbound"))
    start = now - timedelta(days=730)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Activity Id", "Type", "Date", "Subject", "Email", "Direction", "Status", "Description"])
        for i in range(rows):
            kind, status, direction = rng.choice(kinds)
            when = start + timedelta(seconds=rng.uniform(0, 730 * 86400))
            writer.writerow([f"A{i}", kind, when.strftime("%Y-%m-%d %H:%M:%S"), f"Subject {i % 977}", rng.choice(emails), direction, status, "x" * rng.randint(0, 200)])


if __name__ == "__main__":
    raise SystemExit(main())
