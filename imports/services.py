"""Import jobs: create one for a CSV file, run it batch by batch, report.

The terminal (``touchpoints import``) runs a job in its own process with a
progress bar; the API (``POST /api/v1/imports``) stores the upload and a
worker runs it. Both call ``run_import``.

- **Batches, all or nothing.** ``BATCH_ROWS`` rows at a time: the records,
  the rows refused (with their reasons) and the job's checkpoint commit in
  one transaction. A refused row does not stop its batch; a crash loses the
  batch in flight and nothing else.
- **Resumable.** A job restarts after its last committed batch: rows before
  ``rows_done`` are read again but not written. Only one runner advances a
  job: each batch locks the job row and checks the checkpoint it started
  from, so a second runner (a resumed job whose first worker was only slow)
  stops instead of writing a batch twice. ``resume_stalled`` re-enqueues
  jobs whose worker died (no batch committed for STALL_AFTER).
- **Streaming.** The file is read a row at a time (imports.reading); memory
  holds one batch.
- **The error report** is a CSV (row, column, reason) written next to the
  file when the job ends, and served by ``GET /api/v1/imports/{id}/errors.csv``.
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from config.errors import Invalid, NotFound
from imports import columns, values
from imports.models import ImportJob, ImportRowError, JobStatus, OnDuplicate
from imports.reading import CsvRows
from imports.writers import WRITERS, Outcome, Owners, Row

BATCH_ROWS = 1000
MANY_SEPARATORS = re.compile(r"[,;]")
STALL_AFTER = timedelta(minutes=10)


def check_mapping(mapping) -> dict[str, str]:
    """A mapping given as JSON text (a form field) or a dict."""
    if mapping in (None, ""):
        return {}
    if isinstance(mapping, str):
        try:
            mapping = json.loads(mapping)
        except ValueError as exc:
            raise Invalid.field(("mapping",), f"not JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str | None) for k, v in mapping.items()):
        raise Invalid.field(("mapping",), 'must be an object of column name to field name, e.g. {"Surname": "last_name", "Notes": ""}')
    return mapping


def do_create_job(
    actor: User,
    record_type: str,
    path: str | Path,
    *,
    filename: str | None = None,
    mapping: dict[str, str] | None = None,
    on_duplicate: str = OnDuplicate.SKIP,
    day_first: bool = False,
) -> ImportJob:
    """Read the header row, resolve the mapping (422 naming the column at
    fault) and create the queued job."""
    if record_type not in columns.RECORD_TYPES:
        raise Invalid.field(("record_type",), f"must be one of {', '.join(columns.RECORD_TYPES)}")
    if on_duplicate not in OnDuplicate.values:
        raise Invalid.field(("on_duplicate",), "must be skip or update")
    path = Path(path).resolve()
    with CsvRows(path) as rows:
        headers = rows.headers
    resolved = columns.resolve_mapping(record_type, headers, mapping)
    return ImportJob.objects.create(
        record_type=record_type,
        created_by=actor,
        path=str(path),
        filename=filename or path.name,
        mapping=resolved,
        ignored_columns=[h for h in headers if h not in resolved],
        on_duplicate=on_duplicate,
        day_first=day_first,
        size_bytes=path.stat().st_size,
    )


def enqueue(job: ImportJob) -> None:
    """The worker runs it once the job row is committed."""
    from imports.tasks import run_import_job

    transaction.on_commit(lambda: run_import_job(job.id))


def unfinished_job(actor: User, record_type: str, path: str | Path) -> ImportJob | None:
    """The user's latest job for this file, if a crash, Ctrl-C or an error
    left it unfinished."""
    latest = ImportJob.objects.filter(created_by=actor, record_type=record_type, path=str(Path(path).resolve())).order_by("-id").first()
    return latest if latest is not None and latest.status != JobStatus.DONE else None


def get_job(actor: User, job_id: int) -> ImportJob:
    """A job is its creator's (admins see all); anyone else gets a 404."""
    qs = ImportJob.objects.all() if actor.sees_everything else ImportJob.objects.filter(created_by=actor)
    job = qs.filter(id=job_id).first()
    if job is None:
        raise NotFound(f"import {job_id} not found")
    return job


# --- running -----------------------------------------------------------------------


class Superseded(Exception):
    """Another runner moved the job on; this one stops."""


def parse_row(job: ImportJob, line: int, cells: dict[str, str], options: dict) -> Row:
    fields = columns.field_names(job.record_type)
    row = Row(line=line, values={})
    for header, name in job.mapping.items():
        raw = values.unguard((cells.get(header) or "").strip())
        if not raw:
            continue
        f = fields[name]
        # A list field's cell may hold several ("a@x.example, b@x.example",
        # as our own export writes them).
        for part in (p.strip() for p in MANY_SEPARATORS.split(raw)) if f.many else (raw,):
            if not part:
                continue
            try:
                value = values.PARSERS[f.parse](part, options)
            except ValueError as exc:
                row.errors.append((name, str(exc)))
                continue
            if not f.many:
                row.values[name] = value
            elif value not in row.values.setdefault(name, []):
                row.values[name].append(value)
    for f in fields.values():
        if f.required and f.name not in row.values and not any(n == f.name for n, _ in row.errors):
            row.errors.append((f.name, "is required and empty"))
    return row


def run_import(job_id: int, progress: Callable[[ImportJob], None] | None = None, *, retry_failed: bool = False) -> ImportJob:
    """Run (or resume) a job to its end. ``progress`` is called after each
    committed batch with the job as it now stands. A failed job is taken up
    again only with ``retry_failed`` (the terminal's ``import`` run again on
    the same file): from its checkpoint, like any resumed job."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(id=job_id)
        if job.status == JobStatus.DONE or (job.status == JobStatus.FAILED and not retry_failed):
            return job
        job.error = ""
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "started_at", "heartbeat_at", "error"])
    actor = job.created_by
    options = {"day_first": job.day_first, "time_zone": actor.time_zone}
    owners = Owners()
    write = WRITERS[job.record_type]
    try:
        with CsvRows(job.path) as rows:
            missing = [h for h in job.mapping if h not in rows.headers]
            if missing:
                raise Invalid.field(("file",), f"the file changed since the import started: no column {', '.join(missing)}")
            for batch, consumed in _batches(rows, job.rows_done):
                parsed = [parse_row(job, line, cells, options) for line, cells in batch]
                job = _commit_batch(job, actor, parsed, consumed, rows.bytes_read, write, owners)
                if progress:
                    progress(job)
    except Superseded:
        return ImportJob.objects.get(id=job_id)
    except (Invalid, UnicodeDecodeError, csv.Error, OSError) as exc:
        reason = "; ".join(e["msg"] for e in exc.errors) if isinstance(exc, Invalid) else f"row {job.rows_done + 2} or near it cannot be read: {exc}"
        return _fail(job, reason)
    except Exception as exc:
        # Anything else (the database gone, a bug): the job stops at its
        # checkpoint, says why, and is not retried in a loop by
        # resume_stalled; `touchpoints import` on the same file resumes it.
        _fail(job, f"stopped after row {job.rows_done + 1}: {exc!r}")
        raise
    ImportJob.objects.filter(id=job.id, status=JobStatus.RUNNING).update(status=JobStatus.DONE, bytes_done=job.size_bytes, finished_at=timezone.now())
    job.refresh_from_db()
    write_error_report(job)
    if progress:
        progress(job)
    return job


def _fail(job: ImportJob, reason: str) -> ImportJob:
    ImportJob.objects.filter(id=job.id).update(status=JobStatus.FAILED, error=reason, finished_at=timezone.now())
    job.refresh_from_db()
    write_error_report(job)
    return job


def _batches(rows: CsvRows, skip: int) -> Iterator[tuple[list[tuple[int, dict]], int]]:
    """(batch, data rows consumed after it) from the first row not yet committed."""
    batch: list[tuple[int, dict]] = []
    count = 0
    for line, cells in rows:
        count += 1
        if count <= skip:
            continue
        batch.append((line, cells))
        if len(batch) == BATCH_ROWS:
            yield batch, count
            batch = []
    if batch:
        yield batch, count


def _commit_batch(job: ImportJob, actor: User, rows: list[Row], consumed: int, bytes_read: int, write, owners: Owners) -> ImportJob:
    with transaction.atomic():
        # The lock makes a second runner wait here, then see the moved checkpoint.
        if not ImportJob.objects.select_for_update().filter(id=job.id, rows_done=job.rows_done, status=JobStatus.RUNNING).exists():
            raise Superseded
        good = [r for r in rows if not r.errors]
        outcome = write(actor, good, job.on_duplicate, owners) if good else Outcome()
        refused = [(r.line, name, reason) for r in rows for name, reason in r.errors] + outcome.errors
        header_of = _headers_by_field(job)
        ImportRowError.objects.bulk_create(
            [ImportRowError(job=job, row=line, column=header_of.get(name, name)[:255], reason=reason) for line, name, reason in refused]
        )
        failed_rows = len({line for line, _, _ in refused})
        ImportJob.objects.filter(id=job.id).update(
            rows_done=consumed,
            bytes_done=min(bytes_read, job.size_bytes),
            created=F("created") + outcome.created,
            updated=F("updated") + outcome.updated,
            skipped=F("skipped") + outcome.skipped,
            failed=F("failed") + failed_rows,
            heartbeat_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def _headers_by_field(job: ImportJob) -> dict[str, str]:
    """An error names the file's column (or columns, for emails and phones)."""
    by_field: dict[str, list[str]] = {}
    for header, name in job.mapping.items():
        by_field.setdefault(name, []).append(header)
    return {name: " / ".join(headers) for name, headers in by_field.items()}


# --- the error report -------------------------------------------------------------


def error_report_path(job: ImportJob) -> Path:
    path = Path(job.path)
    return path.with_name(f"{path.stem}.errors.csv")


def error_rows(job: ImportJob) -> Iterator[list]:
    yield ["row", "column", "reason"]
    for row, column, reason in job.row_errors.order_by("row", "id").values_list("row", "column", "reason").iterator(chunk_size=2000):
        yield [row, column, reason]


def write_error_report(job: ImportJob) -> Path | None:
    """Next to the file; none when every row went in."""
    path = error_report_path(job)
    if not job.row_errors.exists():
        path.unlink(missing_ok=True)
        return None
    try:
        with open(path, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(error_rows(job))
    except OSError:
        return None  # a read-only folder: the report is still served by the API
    return path


def resume_stalled() -> list[int]:
    """Jobs no batch has moved for STALL_AFTER (their worker died, or the
    enqueue was lost): enqueue them again. A runner that was merely slow
    stops at its next batch (Superseded)."""
    from imports.tasks import run_import_job

    cutoff = timezone.now() - STALL_AFTER
    unfinished = ImportJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    stalled = list(unfinished.filter(heartbeat_at__lt=cutoff).values_list("id", flat=True)[:100])
    stalled += unfinished.filter(heartbeat_at__isnull=True, created_at__lt=cutoff).values_list("id", flat=True)[:100]
    for job_id in stalled:
        ImportJob.objects.filter(id=job_id).update(heartbeat_at=timezone.now())  # not again before STALL_AFTER
        run_import_job(job_id)
    return stalled
