"""Reads of the touchpoint log: timelines and lists."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import User
from config.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor, keyset_page
from crm.models import Contact, Deal, Organization
from crm.permissions import owner_condition, visible
from touchpoints.bulk import datetime_converter
from touchpoints.models import LinkPath, Touchpoint, TouchpointLink

TIMELINE_ORDER = ("-occurred_at", "-touchpoint_id")
TOUCHPOINT_FIELDS = (
    "id", "kind", "direction", "status", "occurred_at", "recorded_at", "duration_seconds", "subject",
    "summary", "sentiment", "emoticon", "event_type", "source", "external_id", "owner_id",
)  # fmt: skip
TIMELINE_FIELDS = (*TOUCHPOINT_FIELDS, "path", "via_contact_id", "via_deal_id")
_DATETIME_FIELDS = ("occurred_at", "recorded_at")


# --- what a viewer may see of a rolled-up timeline ----------------------------------------


def _seen_touchpoint(viewer: User, touchpoint_id) -> QuerySet:
    """The touchpoint ``touchpoint_id`` (an expression naming the outer
    query's column) if ``viewer`` may see it by the rule of
    touchpoints.services.visible_touchpoints: they or their team own it, or
    it is directly on a record they may see. Correlated, so each timeline
    row costs a few primary-key and (touchpoint) index lookups instead of
    the set of every touchpoint the viewer may see."""
    on_visible_record = (
        Q(Exists(visible(Contact, viewer).filter(id=OuterRef("contact_id"))))
        | Q(Exists(visible(Organization, viewer).filter(id=OuterRef("organization_id"))))
        | Q(Exists(visible(Deal, viewer).filter(id=OuterRef("deal_id"))))
    )
    direct = TouchpointLink.objects.filter(on_visible_record, touchpoint_id=OuterRef("id"), path=LinkPath.DIRECT)
    return Touchpoint.objects.filter(Q(id=touchpoint_id) & ((owner_condition(viewer) & Q(owner__isnull=False)) | Q(Exists(direct))))


def rollup_visible_sql(viewer: User, link_alias: str = "l") -> tuple[str, list]:
    """An SQL condition over the TouchpointLink row ``link_alias`` of a
    record the viewer may see: true when the viewer may see its touchpoint.

    A rolled-up row (an email on a contact or deal, shown on its
    organization) reveals nothing the viewer may not open: it shows when it
    is on the record directly, or when the viewer may see the touchpoint
    itself (it is theirs or their team's, or directly on some record they
    may see). So an email on someone else's private deal never shows on the
    organization's timeline, and shows once the deal is shared with them.
    Empty for admins and managers (they see everything)."""
    if viewer.sees_everything:
        return "", []
    sql, params = _seen_touchpoint(viewer, RawSQL(f"{link_alias}.touchpoint_id", ())).values("id").query.sql_with_params()
    return f"({link_alias}.path = %s OR EXISTS ({sql}))", [LinkPath.DIRECT, *params]


def rollup_visible(viewer: User) -> Q:
    """rollup_visible_sql for a TouchpointLink queryset."""
    if viewer.sees_everything:
        return Q()
    return Q(path=LinkPath.DIRECT) | Q(Exists(_seen_touchpoint(viewer, OuterRef("touchpoint_id"))))


def timeline(
    record_type: str, record_id: int, *, kinds: Sequence[str] | None, cursor: str | None, limit: int, viewer: User | None = None
) -> Page:
    """The rolled-up Activity section of a record, newest first, as dicts
    (TIMELINE_FIELDS). With a ``viewer`` (who may see the record), only the
    rows rollup_visible_sql lets them see; without, every row (trusted
    internal callers).

    One statement per page: an index range scan on the partial index
    (record, occurred_at DESC, touchpoint DESC) from the cursor on, joined
    to the touchpoint rows, whatever the page size or depth. Written as SQL
    because this is the hottest read: the ORM's compile and row conversion
    cost five times the query itself (docs/benchmarks.md).
    """
    if record_type not in ("organization", "contact", "deal"):
        raise ValueError(record_type)
    limit = max(1, min(limit, MAX_LIMIT))
    link, tp = TouchpointLink._meta.db_table, Touchpoint._meta.db_table
    sqlite = connection.vendor == "sqlite"
    columns = [f"CAST(t.{f} AS TEXT)" if sqlite and f in _DATETIME_FIELDS else f"t.{f}" for f in TOUCHPOINT_FIELDS]
    via, params = ["l.via_contact_id", "l.via_deal_id"], []
    if viewer is not None and not viewer.sees_everything:
        # A row seen thanks to another record must not name the contact or
        # deal it rolled up through when the viewer may not open that one.
        via, params = [], []
        for model, column in ((Contact, "l.via_contact_id"), (Deal, "l.via_deal_id")):
            exists, exists_params = visible(model, viewer).filter(id=RawSQL(column, ())).values("id").query.sql_with_params()
            via.append(f"CASE WHEN EXISTS ({exists}) THEN {column} END")
            params += exists_params
    sql = [
        f"SELECT {', '.join(columns)}, l.path, {', '.join(via)} FROM {link} l JOIN {tp} t ON t.id = l.touchpoint_id",
        f"WHERE l.{record_type}_id = %s AND l.shown = %s",
    ]
    params += [record_id, True]
    if kinds:
        sql.append(f"AND l.kind IN ({', '.join(['%s'] * len(kinds))})")
        params += list(kinds)
    if viewer is not None:
        seen, seen_params = rollup_visible_sql(viewer)
        if seen:
            sql.append(f"AND {seen}")
            params += seen_params
    tail, tail_params = link_page_tail(cursor, limit)
    sql += tail
    params += tail_params
    with connection.cursor() as db:
        db.execute(" ".join(sql), params)
        rows = db.fetchall()
    items = [dict(zip(TIMELINE_FIELDS, row)) for row in rows[:limit]]
    if sqlite:
        for item in items:
            for name in _DATETIME_FIELDS:
                item[name] = datetime.fromisoformat(item[name]).replace(tzinfo=UTC)
    next_cursor = encode_cursor([items[-1]["occurred_at"], items[-1]["id"]]) if len(rows) > limit else None
    return Page(items, next_cursor)


def link_page_tail(cursor: str | None, limit: int) -> tuple[list[str], list]:
    """The end of a page query over TouchpointLink ``l`` newest first: the
    keyset condition after ``cursor``, the order and LIMIT limit + 1 (one
    more, to know there is a next page). Shared by the timeline and the
    Documents widget (documents.queries), both walking (record,
    occurred_at DESC, touchpoint DESC) indexes."""
    sql, params = [], []
    if cursor:
        # The leading bound gives the index scan its start (see config.pagination.after).
        when, touchpoint_id = decode_cursor(TouchpointLink, TIMELINE_ORDER, cursor)
        when = datetime_converter()(when)
        sql.append("AND l.occurred_at <= %s AND (l.occurred_at < %s OR (l.occurred_at = %s AND l.touchpoint_id < %s))")
        params += [when, when, when, touchpoint_id]
    sql.append("ORDER BY l.occurred_at DESC, l.touchpoint_id DESC LIMIT %s")
    params.append(limit + 1)
    return sql, params


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


JOURNEY_POINTS = 100


def emotional_journey(record_type: str, record_id: int, limit: int = JOURNEY_POINTS, *, viewer: User | None = None) -> list[dict]:
    """The record's emoticons over time, oldest first: held events and
    emails that carry one (the product description's "emotional journey").

    The last ``limit`` points only: it walks the record's timeline index
    newest first and stops at ``limit`` rows that have an emoticon, so its
    cost follows how recent the emoticons are, not the record's size.
    With a ``viewer``, only the points of touchpoints they may see (as the
    timeline: rollup_visible).
    """
    if record_type not in ("organization", "contact", "deal"):
        raise ValueError(record_type)
    rows = (
        TouchpointLink.objects.filter(**{f"{record_type}_id": record_id}, shown=True, touchpoint__emoticon__isnull=False)
        .filter(rollup_visible(viewer) if viewer is not None else Q())
        .order_by("-occurred_at", "-touchpoint_id")
        .values_list("occurred_at", "touchpoint__emoticon", "touchpoint__kind", "touchpoint__subject")[:limit]
    )
    return [{"occurred_at": when, "emoticon": emoticon, "kind": kind, "subject": subject} for when, emoticon, kind, subject in reversed(rows)]


def via_names(viewer, items: list[dict]) -> dict[str, dict[int, str]]:
    """Names of the contacts and deals a timeline page's items rolled up
    through ("via Carol Ng"): two queries per page, whatever its size.
    Only records the viewer may see are named: a shared organization's
    timeline must not reveal the contacts and deals that were not shared."""
    contact_ids = {i["via_contact_id"] for i in items if i.get("via_contact_id")}
    deal_ids = {i["via_deal_id"] for i in items if i.get("via_deal_id")}
    contacts = (
        {c.id: c.full_name for c in visible(Contact, viewer).filter(id__in=contact_ids).only("id", "first_name", "last_name")} if contact_ids else {}
    )
    deals = dict(visible(Deal, viewer).filter(id__in=deal_ids).values_list("id", "name")) if deal_ids else {}
    return {"contacts": contacts, "deals": deals}
