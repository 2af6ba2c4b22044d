"""Sales Insights jobs (Huey)."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from insights import refresh


@db_periodic_task(crontab(minute="*"))
@lock_task("insights-refresh")
def refresh_insights() -> None:
    """Every minute: recompute the rollup cells marked since the last run
    (reports are at most a minute behind the log). The fill-state row's
    lock makes a second consumer wait rather than repeat the work."""
    refresh.refresh()


@db_task()
@lock_task("insights-refresh")
def refresh_insights_now() -> None:
    """The same, on demand (a report asked for a time zone not built yet)."""
    refresh.refresh()
