from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crm.models import Organization
from touchpoints import demo


class RichProgress(demo.Progress):
    def __init__(self, progress: Progress):
        self.bar = progress
        self.task = None

    def phase(self, name: str, total: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.bar.tasks[self.task].total)
        self.task = self.bar.add_task(name, total=total)

    def advance(self, amount: int = 1) -> None:
        self.bar.advance(self.task, amount)


class Command(BaseCommand):
    help = (
        "Load a realistic demo company: sales reps in four teams, demo-admin and demo-manager "
        "(password demo-password), organizations, contacts, deals, planned work and 200,000 touchpoints "
        "over the last 18 months. The same seed gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the database already has organizations")
        parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (default 1: 2,000 organizations)")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help=f"random seed (default {demo.DEFAULT_SEED})")

    def handle(self, *args, **opts):
        if opts["scale"] <= 0:
            raise CommandError("--scale must be greater than 0")
        if Organization.objects.exists():
            if opts["if_empty"]:
                if opts["verbosity"] > 1:
                    self.stdout.write("The database already has organizations: demo data not loaded.")
                return
            raise CommandError("The database already has organizations; load the demo into an empty database (or use --if-empty).")
        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=opts["verbosity"] == 0,
        ) as bar:
            summary = demo.load(seed=opts["seed"], scale=opts["scale"], progress=RichProgress(bar))
        if opts["verbosity"] > 0:
            self.stdout.write(summary.line())
