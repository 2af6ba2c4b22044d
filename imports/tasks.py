"""Import jobs in the worker (Huey)."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from imports import services


@db_task()
def run_import_job(job_id: int) -> None:
    """Enqueued after the job's commit (POST /api/v1/imports). A job the
    worker dies in is resumed by resume_stalled_imports."""
    services.run_import(job_id)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("imports-resume")
def resume_stalled_imports() -> None:
    services.resume_stalled()
