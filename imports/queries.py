"""Reads of import jobs."""
from __future__ import annotations

from django.urls import reverse

from accounts.models import User
from config.pagination import Page, keyset_page
from imports.models import ImportJob

JOB_ORDER = ("-id",)


def jobs_page(user: User, cursor: str | None, limit: int) -> Page:
    """The user's own imports, newest first (admins and managers: everyone's)."""
    qs = ImportJob.objects.all() if user.sees_everything else ImportJob.objects.filter(created_by=user)
    return keyset_page(qs, JOB_ORDER, cursor, limit)


def job_out(job: ImportJob) -> dict:
    return {
        "id": job.id,
        "record_type": job.record_type,
        "filename": job.filename,
        "status": job.status,
        "progress": round(job.progress, 4),
        "rows_done": job.rows_done,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
        "mapping": job.mapping,
        "ignored_columns": job.ignored_columns,
        "on_duplicate": job.on_duplicate,
        "day_first": job.day_first,
        "error": job.error,
        "errors_url": reverse("api-v1:import-errors", args=[job.id]),
        "created_by_id": job.created_by_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
