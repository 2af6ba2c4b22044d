from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the Huey job worker (background and periodic jobs). With the queue on Redis or PostgreSQL (HUEY_URL), "
        "run any number of workers, and --no-periodic on all but one: periodic jobs are enqueued by one scheduler."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-periodic", action="store_true", help="run jobs, but leave scheduling the periodic ones to another worker")
        parser.add_argument("--workers", type=int, help="threads running jobs (default HUEY_WORKERS, 2)")

    def handle(self, *args, no_periodic=False, workers=None, **opts):
        # Huey's task locks (insights-refresh, alerts-scan, imports-resume)
        # live in the queue's storage with no expiry (neither the SQLite nor
        # the PostgreSQL storage supports one). A worker killed while it held
        # one (kill -9, OOM, power loss) would leave it held forever, and that
        # job would never run again: found by the fault test (faults/,
        # docs/reliability.md), Sales Insights stopped refreshing. So every
        # worker clears them when it starts. That is safe because none of
        # these jobs relies on its lock for correctness, only to save work:
        # the insights refresh serializes on its FillState row, the alert
        # scan raises each alert with a conditional update, the import
        # sweeper resumes a job from its checkpoint. At worst a job that a
        # live worker elsewhere is running runs once more beside it.
        options = {"flush_locks": True}
        if no_periodic:
            options["periodic"] = False
        if workers:
            options["workers"] = workers
        call_command("run_huey", **options)
