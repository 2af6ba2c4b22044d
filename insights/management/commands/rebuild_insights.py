"""``touchpoints rebuild_insights``: recompute the Sales Insights rollup
from the log (after a restore, a bulk load that bypassed the services, or
to check the incremental refresh: ``--check`` compares, changes nothing)."""
from django.core.management.base import BaseCommand

from insights import refresh


class Command(BaseCommand):
    help = "Rebuild the Sales Insights rollup tables from the touchpoint log, or process pending changes (--pending)."

    def add_arguments(self, parser):
        parser.add_argument("--pending", action="store_true", help="only process the changes marked since the last refresh")

    def handle(self, *args, pending: bool = False, **options):
        done = refresh.refresh() if pending else refresh.rebuild()
        self.stdout.write(self.style.SUCCESS(f"Sales Insights {'refreshed' if pending else 'rebuilt'}: {done}"))
