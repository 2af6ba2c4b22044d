"""Writes for notifications and Smart Alerts.

``do_notify`` is the one way to tell a user something in the app (the
workflows' "notify" action uses it); the scan (alerts.scan) writes its
alerts in bulk with the same idempotency key rule. ``do_scan_alerts`` is
what the periodic job runs.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from alerts import scan
from alerts.models import AlertConfig, Notification
from config.errors import Forbidden, Invalid, NotFound, error

MAX_IDLE_DAYS = 3650
EMAIL_LIST_MAX = 50  # alerts listed in one mail; the rest are counted


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


# --- reading them --------------------------------------------------------------------


def do_mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (again: a no-op).
    Another user's is "not found", like one that never existed."""
    found = Notification.objects.filter(id=notification_id, user=user)
    if not found.exists():
        raise NotFound(f"notification {notification_id} not found")
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    return found.get()


def do_mark_all_read(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


# --- configuration -----------------------------------------------------------------------


def get_config() -> AlertConfig:
    """The saved configuration, or the defaults (unsaved) before an admin
    first saves one."""
    return AlertConfig.objects.filter(id=1).first() or AlertConfig(id=1, idle_days=settings.IDLE_DEAL_DAYS, deal_conditions={"all": []})


def check_admin(actor: User) -> None:
    if not (actor.role == "admin" or actor.is_superuser):
        raise Forbidden("only an admin may change the Smart Alerts configuration")


def check_config(actor: User, data: dict, loc: tuple = ("body",)) -> dict:
    """The configuration to store, normalized; ``Invalid`` naming each bad
    field (``body.stage_idle_days.proposal``, ``body.deal_conditions.all.0.operator``)."""
    from automation.conditions import check_tree

    check_admin(actor)
    errors: list[dict] = []
    days = data.get("idle_days", settings.IDLE_DEAL_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_IDLE_DAYS:
        errors.append(error((*loc, "idle_days"), f"must be a whole number of days, 1 to {MAX_IDLE_DAYS}"))
    stages: dict[str, int] = {}
    raw_stages = data.get("stage_idle_days") or {}
    if not isinstance(raw_stages, dict):
        errors.append(error((*loc, "stage_idle_days"), "must be an object: {stage: days}"))
        raw_stages = {}
    for stage, n in raw_stages.items():
        if n is None:  # no override for this stage
            continue
        if stage not in scan.OPEN_STAGES:
            errors.append(error((*loc, "stage_idle_days", stage), f"must be an open stage: {', '.join(scan.OPEN_STAGES)} (closed deals are never idle)"))
        elif isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IDLE_DAYS:
            errors.append(error((*loc, "stage_idle_days", stage), f"must be a whole number of days, 1 to {MAX_IDLE_DAYS}"))
        else:
            stages[stage] = n
    tree: dict = {"all": []}
    try:
        tree = check_tree("deal", data.get("deal_conditions") or {}, loc=(*loc, "deal_conditions"))
        _check_storable(tree, (*loc, "deal_conditions"), errors)
    except Invalid as exc:
        errors.extend(exc.errors)
    flags = {}
    for name, default in (("idle_enabled", True), ("overdue_enabled", True), ("email_enabled", False)):
        value = data.get(name, default)
        if not isinstance(value, bool):
            errors.append(error((*loc, name), "must be true or false"))
        flags[name] = value
    if errors:
        raise Invalid(errors)
    return {"idle_days": days, "stage_idle_days": stages, "deal_conditions": tree, **flags}


def _check_storable(node: Any, loc: tuple, errors: list) -> None:
    # PostgreSQL's jsonb refuses NUL characters: say so instead of failing to store.
    if isinstance(node, dict):
        for key, value in node.items():
            _check_storable(value, (*loc, key), errors)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_storable(value, (*loc, i), errors)
    elif isinstance(node, str) and "\x00" in node:
        errors.append(error(loc, "must not contain NUL characters"))


@transaction.atomic
def do_save_config(actor: User, data: dict, loc: tuple = ("body",)) -> AlertConfig:
    """Replace the configuration. Alerts already raised stay until their
    deal is contacted or closed: a new threshold applies to new quiet periods."""
    values = check_config(actor, data, loc)
    config, _ = AlertConfig.objects.update_or_create(id=1, defaults={**values, "updated_at": timezone.now(), "updated_by": actor})
    return config


# --- the scan ------------------------------------------------------------------------------


def do_scan_alerts(now: datetime | None = None) -> scan.ScanResult:
    """Clear what was resolved, then raise what is newly due: idle deals and
    (when enabled) overdue tasks and events, each as one conditional update.
    Mail goes out after commit when the configuration says so."""
    now = now or timezone.now()
    config = get_config()
    result = scan.ScanResult()
    scan.clear_idle_deals(now, result)
    scan.clear_overdue(now, result)
    if config.idle_enabled:
        scan.raise_idle_deals(config, now, result)
    if config.overdue_enabled:
        scan.raise_overdue_tasks(now, result)
        scan.raise_overdue_events(now, result)
    if config.email_enabled and result.delivered:
        from alerts.tasks import email_notifications

        for user_id, keys in result.delivered.items():
            transaction.on_commit(lambda user_id=user_id, keys=keys: email_notifications(user_id, keys))
    return result


def do_email_notifications(user_id: int, keys: list[str], now: datetime | None = None) -> int:
    """One mail to the user listing these notifications (by key) not mailed
    yet. Each is claimed by a conditional update first, so a repeated or
    concurrent job mails none twice; a failed send releases the claims and
    raises, for the worker to retry. Returns how many were mailed."""
    user = User.objects.filter(id=user_id, is_active=True).exclude(email="").first()
    if user is None:
        return 0
    now = now or timezone.now()
    claimed: list[tuple] = []
    stamp = Notification._meta.get_field("emailed_at").get_db_prep_value(now, connections[router.db_for_write(Notification)])
    for start in range(0, len(keys), 500):
        qs = Notification.objects.filter(user_id=user_id, key__in=keys[start : start + 500], emailed_at__isnull=True, read_at__isnull=True)
        claimed += scan.update_returning(qs, {"emailed_at": "%s"}, ["id", "title", "body", "url"], set_params=(stamp,))
    if not claimed:
        return 0
    claimed.sort()
    lines = [f"- {title}\n  {body}\n  {settings.PUBLIC_BASE_URL}{url}" for _, title, body, url in claimed[:EMAIL_LIST_MAX]]
    if len(claimed) > EMAIL_LIST_MAX:
        lines.append(f"... and {len(claimed) - EMAIL_LIST_MAX} more: {settings.PUBLIC_BASE_URL}/notifications/")
    subject = claimed[0][1] if len(claimed) == 1 else f"{len(claimed)} new Smart Alerts"
    body = "Touchpoints Smart Alerts:\n\n" + "\n\n".join(lines) + "\n"
    try:
        EmailMessage(subject=f"[Touchpoints] {subject}"[:200], body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email]).send()
    except Exception:
        Notification.objects.filter(id__in=[row[0] for row in claimed], emailed_at=now).update(emailed_at=None)
        raise
    return len(claimed)


def do_resolve_alerts_of(record_type: str, record_id: int, now: datetime | None = None) -> int:
    """A record is being deleted: its open notifications (an idle deal's, an
    overdue task's, a workflow's about it) are resolved and read, so the
    bell stops counting what nobody can act on any more. Called in the
    deleting transaction by crm.services and activities.services."""
    now = now or timezone.now()
    return Notification.objects.filter(record_type=record_type, record_id=record_id, resolved_at__isnull=True).update(
        resolved_at=now, read_at=Coalesce(F("read_at"), now)
    )
