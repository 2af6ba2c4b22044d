"""Periodic jobs of the customer portal (Huey's scheduler, never our own loop)."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from portal import services


@db_task(retries=3, retry_delay=60)
def send_sign_in_link(email: str) -> None:
    """Mailed by the worker, so the portal answers alike for any address
    (portal.services.do_request_sign_in_link). A mail server that is down
    is retried."""
    services.do_send_sign_in_link(email)


@db_periodic_task(crontab(minute="*"))
def end_expired_portal_sessions() -> None:
    """A session nobody signed out of ends when its deadline passes: its
    portal_logout touchpoint is dated at the deadline, recorded once even if
    a late request notices the expiry at the same moment."""
    while services.end_expired_sessions(limit=1000) == 1000:
        pass


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_sign_in_attempts() -> None:
    services.purge_old_attempts()
