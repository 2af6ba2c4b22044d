"""``touchpoints import contacts|organizations|deals|touchpoints FILE.csv --user NAME``

Runs the import in this process with a progress bar; the rows it refused
go to FILE.errors.csv. Run the same command again after a crash or Ctrl-C
and it resumes the unfinished job after its last committed batch.
"""
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from accounts.models import User
from config.errors import Invalid
from imports import columns, services
from imports.models import JobStatus


class Command(BaseCommand):
    help = "Import a CSV file of organizations, contacts, deals or touchpoints (columns matched by name; Vtiger exports work as they are)."

    def add_arguments(self, parser):
        parser.add_argument("record_type", choices=columns.RECORD_TYPES)
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="the user importing: owner of the rows unless a column names another, and whose permissions apply")
        parser.add_argument(
            "--map", action="append", default=[], metavar="HEADER=FIELD",
            help='map a column to a field ("Surname=last_name"), or ignore it ("Notes="); repeatable',
        )
        parser.add_argument("--on-duplicate", choices=("skip", "update"), default="skip", help="a row matching an existing record (external id, email, phone): skip it (default) or update it")
        parser.add_argument("--day-first", action="store_true", help="read 03-04-2026 as 3 April (default: March 4)")
        parser.add_argument("--restart", action="store_true", help="start over instead of resuming an unfinished import of this file")

    def handle(self, *args, record_type, file, user, map, on_duplicate, day_first, restart, **opts):
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {user!r}")
        overrides = {}
        for item in map:
            header, sep, field = item.partition("=")
            if not sep:
                raise CommandError(f"--map {item!r}: write HEADER=FIELD (or HEADER= to ignore the column)")
            overrides[header] = field
        console = Console(stderr=True)
        job = None if restart else services.unfinished_job(actor, record_type, file)
        if job is not None:
            console.print(f"Resuming import {job.id} of {job.filename} after row {job.rows_done + 1:,} (use --restart to start over)")
        else:
            try:
                job = services.do_create_job(actor, record_type, file, mapping=overrides, on_duplicate=on_duplicate, day_first=day_first)
            except Invalid as exc:
                raise CommandError("; ".join(f"{'.'.join(map_str(e['loc']))}: {e['msg']}" for e in exc.errors)) from None
        for header, field in job.mapping.items():
            console.print(f"  {header!r} -> {field}")
        if job.ignored_columns:
            console.print(f"  ignored: {', '.join(repr(h) for h in job.ignored_columns)}")
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        ) as bar:
            task = bar.add_task(f"{record_type}", total=job.size_bytes, completed=job.bytes_done, rows=job.rows_done)
            job = services.run_import(job.id, progress=lambda j: bar.update(task, completed=j.bytes_done, rows=j.rows_done), retry_failed=True)
        summary = f"import {job.id}: {job.created:,} created, {job.updated:,} updated, {job.skipped:,} duplicates skipped, {job.failed:,} rows refused"
        report = services.error_report_path(job)
        if job.failed:
            summary += f" (reasons in {report})"
        if job.status == JobStatus.FAILED:
            raise CommandError(f"{summary}; stopped: {job.error} (run the same command to resume, or add --restart to start over)")
        self.stdout.write(summary)


def map_str(loc):
    return [str(part) for part in loc]
