from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup made by `touchpoints backup`: the database replaced, missing documents put back, then migrated (config/backup.py)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the backup's .tar file")
        parser.add_argument("--force", action="store_true", help="replace a database that already holds data")

    def handle(self, *args, file, force=False, **opts):
        try:
            done = restore(file, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {done.tables} tables and {done.documents} documents from {done.path}")
