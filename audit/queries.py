"""Reading the audit log.

Who may read what (docs/audit.md):
- A record's history: whoever may see the record. Admins and managers,
  who see every record, also see the history of deleted ones.
- The whole log (any record, filtered by actor, action, type, time):
  admins and managers. A sales rep's unfiltered view is their own actions:
  the log must not become a way to learn about records they cannot see.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User
from audit.log import RECORD_TYPES
from audit.models import AuditEntry
from config.errors import Invalid, NotFound
from config.pagination import Page, keyset_page

ORDER = ("-id",)


def _visible_ids(record_type: str) -> Callable[[User], QuerySet]:
    """The queryset of records of that type the viewer may see (imports
    inside: audit sits below every app that writes to it)."""

    def crm(user: User) -> QuerySet:
        from crm.permissions import MODEL_OF, visible

        return visible(MODEL_OF[record_type], user)

    def event(user: User) -> QuerySet:
        from activities.permissions import visible_events

        return visible_events(user)

    def task(user: User) -> QuerySet:
        from activities.permissions import visible_tasks

        return visible_tasks(user)

    def case(user: User) -> QuerySet:
        from cases.queries import visible_cases

        return visible_cases(user)

    def touchpoint(user: User) -> QuerySet:
        from touchpoints.services import visible_touchpoints

        return visible_touchpoints(user)

    def own_account(user: User) -> QuerySet:
        from accounts.models import ApiToken, Team

        # A rep reads the history of their own user and tokens; teams' (their
        # IP ranges) are for admins and managers.
        return {"user": User.objects.filter(id=user.id), "token": ApiToken.objects.filter(user=user), "team": Team.objects.none()}[record_type]

    return {
        "organization": crm, "contact": crm, "deal": crm, "event": event, "task": task, "case": case, "touchpoint": touchpoint,
        "user": own_account, "team": own_account, "token": own_account,
    }[record_type]  # fmt: skip


def check_record_type(record_type: str) -> str:
    if record_type not in RECORD_TYPES:
        raise Invalid.field(("query", "record_type"), f"must be one of {', '.join(RECORD_TYPES)}")
    return record_type


def check_may_read_history(viewer: User, record_type: str, record_id: int) -> None:
    check_record_type(record_type)
    if viewer.sees_everything:
        return
    if not _visible_ids(record_type)(viewer).filter(id=record_id).exists():
        raise NotFound(f"{record_type} {record_id} not found")


def record_history(viewer: User, record_type: str, record_id: int, cursor: str | None, limit: int) -> Page:
    """One record's entries, newest first (index audit_record_idx)."""
    check_may_read_history(viewer, record_type, record_id)
    qs = AuditEntry.objects.filter(record_type=record_type, record_id=record_id)
    return keyset_page(qs, ORDER, cursor, limit)


def entries(
    viewer: User,
    *,
    record_type: str | None = None,
    record_id: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    if record_id is not None:
        if record_type is None:
            raise Invalid.field(("query", "record_type"), "record_id needs record_type")
        check_may_read_history(viewer, record_type, record_id)
        qs = AuditEntry.objects.filter(record_type=record_type, record_id=record_id)
    else:
        qs = AuditEntry.objects.all()
        if record_type is not None:
            qs = qs.filter(record_type=check_record_type(record_type))
        if not viewer.sees_everything:
            qs = qs.filter(actor_id=viewer.id)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if action is not None:
        qs = qs.filter(action=action)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return keyset_page(qs, ORDER, cursor, limit)


def entry_out(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "record_type": entry.record_type,
        "record_id": entry.record_id,
        "label": entry.label,
        "changes": entry.changes,
    }
