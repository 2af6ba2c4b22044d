"""Smart Alerts jobs: the periodic scan and the alert mails (Huey)."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from alerts import services


@db_periodic_task(crontab(minute="*/5"))
@lock_task("alerts-scan")
def scan_alerts() -> None:
    """Every five minutes. The lock only saves a second worker the work:
    the scan's conditional updates already raise each alert once. A scan
    missed while the worker was down is simply the next one (state, not
    events: whatever became due meanwhile is found then)."""
    services.do_scan_alerts()


@db_task(retries=5, retry_delay=120)
def email_notifications(user_id: int, keys: list[str]) -> None:
    """Mail the user their new alerts (enqueued after the scan's commit);
    a mail server that is down is retried, nothing is mailed twice."""
    services.do_email_notifications(user_id, keys)
