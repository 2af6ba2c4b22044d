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
        options = {}
        if no_periodic:
            options["periodic"] = False
        if workers:
            options["workers"] = workers
        call_command("run_huey", **options)
