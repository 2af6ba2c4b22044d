"""``touchpoints export contacts|organizations|deals FILE.csv|FILE.xlsx --user NAME``

Every column of every record the user may see, as the API's
GET /api/v1/exports/{type}.csv|.xlsx writes it (lists.export).
"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from lists.export import EXPORT_TYPES, export_to_file


class Command(BaseCommand):
    help = "Export every organization, contact or deal the user may see to CSV or Excel (by the file's extension)."

    def add_arguments(self, parser):
        parser.add_argument("record_type", choices=EXPORT_TYPES)
        parser.add_argument("file", help="FILE.csv or FILE.xlsx")
        parser.add_argument("--user", required=True, help="whose view of the records (and time zone) to export")

    def handle(self, *args, record_type, file, user, **opts):
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {user!r}")
        path = Path(file)
        if path.suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError("the file's name must end in .csv or .xlsx")
        rows = export_to_file(actor, record_type, path)
        self.stdout.write(f"exported {rows:,} {record_type} to {path}")
