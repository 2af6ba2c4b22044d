"""Reads of the touchpoint log: timelines and lists."""
from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from config.pagination import Page, keyset_page
from touchpoints.models import TouchpointLink

TIMELINE_ORDER = ("-occurred_at", "-touchpoint_id")
TOUCHPOINT_FIELDS = (
    "id", "kind", "direction", "status", "occurred_at", "recorded_at", "duration_seconds", "subject",
    "summary", "sentiment", "emoticon", "event_type", "source", "external_id", "owner_id",
)  # fmt: skip
TIMELINE_FIELDS = (*TOUCHPOINT_FIELDS, "path", "via_contact_id", "via_deal_id")
_TIMELINE_COLUMNS = (*(f"touchpoint__{f}" for f in TOUCHPOINT_FIELDS), "path", "via_contact_id", "via_deal_id")


def timeline(record_type: str, record_id: int, *, kinds: Sequence[str] | None, cursor: str | None, limit: int) -> Page:
    """The rolled-up Activity section of a record, newest first, as dicts
    (TIMELINE_FIELDS).

    One query per page: an index range scan on (record, occurred_at,
    touchpoint) joined to the touchpoint rows, whatever the page size. Read
    with values_list: building model instances was a measured third of the
    request's time (docs/benchmarks.md).
    """
    links: QuerySet = TouchpointLink.objects.filter(**{f"{record_type}_id": record_id}, shown=True)
    if kinds:
        links = links.filter(kind__in=list(kinds))
    # id and occurred_at of the touchpoint are the link's ordering values.
    id_at, occurred_at_at = TOUCHPOINT_FIELDS.index("id"), TOUCHPOINT_FIELDS.index("occurred_at")
    page = keyset_page(
        links.values_list(*_TIMELINE_COLUMNS), TIMELINE_ORDER, cursor, limit, key=lambda row: [row[occurred_at_at], row[id_at]]
    )
    page.items = [dict(zip(TIMELINE_FIELDS, row)) for row in page.items]
    return page


LOG_ORDER = ("-occurred_at", "-id")


def list_touchpoints(visible: QuerySet, filters: dict, cursor: str | None, limit: int) -> Page:
    qs = visible
    for name in ("kind", "source", "external_id", "owner_id"):
        if filters.get(name) is not None:
            qs = qs.filter(**{name: filters[name]})
    if filters.get("occurred_after") is not None:
        qs = qs.filter(occurred_at__gte=filters["occurred_after"])
    if filters.get("occurred_before") is not None:
        qs = qs.filter(occurred_at__lt=filters["occurred_before"])
    return keyset_page(qs, LOG_ORDER, cursor, limit)
