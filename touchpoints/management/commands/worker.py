from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the Huey job worker (background and periodic jobs)."

    def handle(self, *args, **opts):
        call_command("run_huey")
