from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the embedded (SQLite) database and the documents' bytes into one tar file, while the server runs (config/backup.py)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="where to write it (default var/backups/touchpoints-<UTC time>.tar)")

    def handle(self, *args, file=None, **opts):
        try:
            done = backup(file)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"backed up {done.tables} tables and {done.documents} documents to {done.path} ({done.bytes:,} bytes)")
