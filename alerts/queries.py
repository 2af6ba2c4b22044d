"""Reads of notifications and of the Smart Alerts configuration."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from alerts.models import AlertConfig, Notification
from config.pagination import Page, keyset_page

LIST_ORDER = ("-created_at", "-id")  # notification_user_idx


def notifications_of(user: User, *, unread: bool = False) -> QuerySet:
    """Only the user's own: nobody reads another's bell, admins included."""
    qs = Notification.objects.filter(user=user)
    return qs.filter(read_at__isnull=True) if unread else qs


def notifications_page(user: User, *, unread: bool, cursor: str | None, limit: int) -> Page:
    return keyset_page(notifications_of(user, unread=unread), LIST_ORDER, cursor, limit)


def unread_count(user: User) -> int:
    # One COUNT over the partial index notification_unread_idx (the bell, on every page).
    return notifications_of(user, unread=True).count()


def notification_out(n: Notification) -> dict:
    fields = ("id", "kind", "title", "body", "url", "record_type", "record_id", "created_at", "read_at", "resolved_at")
    return {f: getattr(n, f) for f in fields}


def config_out(config: AlertConfig) -> dict:
    from automation.conditions import describe

    tree = config.deal_conditions or {"all": []}
    return {
        "idle_enabled": config.idle_enabled,
        "idle_days": config.idle_days,
        "stage_idle_days": dict(config.stage_idle_days),
        "deal_conditions": tree,
        "deal_conditions_text": describe("deal", tree),
        "overdue_enabled": config.overdue_enabled,
        "email_enabled": config.email_enabled,
        "updated_at": config.updated_at,
        "updated_by_id": config.updated_by_id,
    }
