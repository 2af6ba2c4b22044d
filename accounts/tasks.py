"""Periodic jobs of accounts (Huey's scheduler)."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from accounts import ratelimit


@db_periodic_task(crontab(minute="23", hour="3"))
def purge_rate_limit_attempts() -> None:
    """Sign-in failures and token creations older than every window count for nothing."""
    ratelimit.purge_old_attempts()
