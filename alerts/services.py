"""Writes for notifications and Smart Alerts."""
from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Notification


def do_notify(
    user_id: int,
    kind: str,
    title: str,
    *,
    body: str = "",
    url: str = "",
    record: tuple[str, int] | None = None,
    key: str | None = None,
    at: datetime | None = None,
) -> Notification | None:
    """One notification for one user; None when ``key`` was delivered
    before (a retried job, a second scan of the same alert)."""
    row = Notification(
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=body,
        url=url,
        record_type=record[0] if record else "",
        record_id=record[1] if record else None,
        key=key,
        created_at=at or timezone.now(),
    )
    try:
        # A savepoint, so a duplicate key does not spoil the caller's transaction.
        with transaction.atomic():
            row.save()
    except IntegrityError:
        if key is None or not Notification.objects.filter(user_id=user_id, key=key).exists():
            raise
        return None
    return row
