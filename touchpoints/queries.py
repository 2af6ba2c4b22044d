"""Reads of the touchpoint log: timelines and lists."""
from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from config.pagination import Page, keyset_page
from touchpoints.models import TouchpointLink

TIMELINE_ORDER = ("-occurred_at", "-touchpoint_id")


def timeline(record_type: str, record_id: int, *, kinds: Sequence[str] | None, cursor: str | None, limit: int) -> Page:
    """The rolled-up Activity section of a record, newest first.

    One query per page: an index range scan on (record, occurred_at,
    touchpoint) joined to the touchpoint rows, whatever the page size.
    """
    links: QuerySet = TouchpointLink.objects.filter(**{f"{record_type}_id": record_id}, shown=True).select_related("touchpoint")
    if kinds:
        links = links.filter(kind__in=list(kinds))
    return keyset_page(links, TIMELINE_ORDER, cursor, limit)


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
