"""Last Contacted Via / On for contacts, organizations and deals.

Two operations, both called inside the transaction that changed the log:

``advance``  — after new touchpoints are stored: one UPDATE per record that
    moves the fields only forward (``CASE WHEN last_contacted_on IS NULL OR
    last_contacted_on < new``), so a late, older touchpoint never moves them
    backwards and two concurrent writers never lose an update: the database
    re-checks the condition against the committed row, no read-modify-write
    in Python. The UPDATE matches the row by id alone, so it always takes
    the row lock: it must queue behind a concurrent ``recompute`` that
    holds the row, or a touchpoint committed while the recompute read the
    log would be lost (a WHERE ... < new clause would skip the locked row
    without waiting). Rows are updated in (table, id) order so concurrent
    batches take row locks in the same order and cannot deadlock.

``recompute`` — after a touchpoint is deleted, stops counting, moves, or a
    link disappears: the fields are set from the remaining log. The record
    rows are locked first (SELECT ... FOR NO KEY UPDATE on PostgreSQL, which
    does not block other transactions' foreign-key checks; SQLite
    transactions already hold the write lock), and only then is the maximum
    read, in a new statement, so it sees every touchpoint committed by a
    concurrent ``advance`` that held the lock before us.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from crm.models import Contact, Deal, Organization
from touchpoints.bulk import datetime_converter
from touchpoints.models import TouchpointLink
from touchpoints.rules import contact_via

# Fixed order: every writer locks organizations, then contacts, then deals.
RECORD_MODELS = {"organization": Organization, "contact": Contact, "deal": Deal}


def advance(latest: dict[tuple[str, int], tuple[datetime, str]]) -> None:
    """``latest`` maps (record_type, id) -> (occurred_at, via) of the newest
    counting touchpoint just stored for that record."""
    for record_type, model in RECORD_MODELS.items():
        rows = sorted((rid, when, via) for (rtype, rid), (when, via) in latest.items() if rtype == record_type)
        if not rows:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        params = []
        convert = datetime_converter()
        for rid, when, via in rows:
            db_when = convert(when)
            params.append((db_when, via, db_when, db_when, rid))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET "
                f"last_contacted_via = CASE WHEN last_contacted_on IS NULL OR last_contacted_on < %s THEN %s ELSE last_contacted_via END, "
                f"last_contacted_on = CASE WHEN last_contacted_on IS NULL OR last_contacted_on < %s THEN %s ELSE last_contacted_on END "
                f"WHERE id = %s",
                params,
            )


def recompute(records: Iterable[tuple[str, int]]) -> None:
    by_type: dict[str, set[int]] = {}
    for record_type, rid in records:
        by_type.setdefault(record_type, set()).add(rid)
    for record_type, model in RECORD_MODELS.items():
        ids = sorted(by_type.get(record_type, ()))
        if not ids:
            continue
        # Lock first, read after (see module docstring).
        list(model.objects.select_for_update(no_key=True).filter(id__in=ids).order_by("id").values_list("id", flat=True))
        for rid in ids:
            newest = (
                TouchpointLink.objects.filter(**{f"{record_type}_id": rid}, counts=True)
                .order_by("-occurred_at", "-touchpoint_id")
                .values_list("occurred_at", "touchpoint__kind", "touchpoint__event_type")
                .first()
            )
            if newest is None:
                model.objects.filter(id=rid).update(last_contacted_on=None, last_contacted_via=None)
            else:
                when, kind, event_type = newest
                model.objects.filter(id=rid).update(last_contacted_on=when, last_contacted_via=contact_via(kind, event_type))
