"""Reads of the touchpoint log: timelines and lists."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import Role, User
from config.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor, keyset_page
from crm.models import Contact, Deal, Organization
from crm.permissions import visible
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


def _rollup_checks(viewer: User, ref: Callable[[str], object]) -> list[QuerySet]:
    """Rows that exist when ``viewer`` may see the touchpoint of a link row
    (``ref(column)`` names that row's column: OuterRef in the ORM, the
    alias's column in SQL), by the rule of
    touchpoints.services.visible_touchpoints, as cheapest first:

    1. they or a teammate own it (one primary-key lookup);
    2. it rolled up through a contact or 3. a deal they may open (the link's
       own via column: one primary-key lookup and the owner's team);
    4. otherwise it is directly on some record they may open (its direct
       links, by the touchpoint index).

    Correlated, so a timeline page checks only the rows it walks; a
    database evaluates OR-ed EXISTS per row and stops at the first true."""
    team = Q(owner_id=viewer.id)
    if viewer.team_id is not None:
        team |= Q(owner__team_id=viewer.team_id)
    on_visible_record = (
        Q(Exists(visible(Contact, viewer).filter(id=OuterRef("contact_id"))))
        | Q(Exists(visible(Organization, viewer).filter(id=OuterRef("organization_id"))))
        | Q(Exists(visible(Deal, viewer).filter(id=OuterRef("deal_id"))))
    )
    return [
        Touchpoint.objects.filter(team, id=ref("touchpoint_id")),
        visible(Contact, viewer).filter(id=ref("via_contact_id")),
        visible(Deal, viewer).filter(id=ref("via_deal_id")),
        TouchpointLink.objects.filter(on_visible_record, touchpoint_id=ref("touchpoint_id"), path=LinkPath.DIRECT),
    ]


def rollup_visible_sql(viewer: User, link_alias: str = "l") -> tuple[str, list]:
    """An SQL condition over the TouchpointLink row ``link_alias`` of a
    record the viewer may see: true when the viewer may see its touchpoint.

    A rolled-up row (an email on a contact or deal, shown on its
    organization) reveals nothing the viewer may not open: it shows when it
    is on the record directly, or when the viewer may see the touchpoint
    itself (_rollup_checks). So an email on someone else's private deal
    never shows on the organization's timeline, and shows once the deal is
    shared with them. Empty for admins and managers (they see everything).
    """
    if viewer.sees_everything:
        return "", []
    return _for_viewer(viewer, "rollup", link_alias)


def _rollup_sql(viewer: User, link_alias: str) -> tuple[str, list]:
    parts, params = [f"{link_alias}.path = %s"], [LinkPath.DIRECT]
    for check in _rollup_checks(viewer, lambda column: RawSQL(f"{link_alias}.{column}", ())):
        # A scalar subquery, not EXISTS: PostgreSQL may turn a correlated
        # EXISTS into a hashed subplan built from every matching row of the
        # table (it plans for the whole timeline, not the LIMIT), which made
        # a rep's first page read every touchpoint (35 ms at 20,000, growing
        # with the log). A scalar subquery always runs per row, by index.
        sql, check_params = check.values("pk")[:1].query.sql_with_params()
        parts.append(f"({sql}) IS NOT NULL")
        params += check_params
    return f"({' OR '.join(parts)})", params


def _via_sql(viewer: User, link_alias: str) -> tuple[str, list]:
    """The via_contact_id and via_deal_id columns, each NULL unless the viewer may open that record."""
    columns, params = [], []
    for model, column in ((Contact, f"{link_alias}.via_contact_id"), (Deal, f"{link_alias}.via_deal_id")):
        seen, seen_params = visible(model, viewer).filter(id=RawSQL(column, ())).values("id")[:1].query.sql_with_params()
        columns.append(f"CASE WHEN ({seen}) IS NOT NULL THEN {column} END")  # per row, as in _rollup_sql
        params += seen_params
    return ", ".join(columns), params


_BUILDERS = {"rollup": _rollup_sql, "via": _via_sql}
# Stand-ins for the viewer's id and team id in the compiled SQL's parameters.
_VIEWER_ID, _TEAM_ID = -7_000_001, -7_000_002


def _for_viewer(viewer: User, what: str, link_alias: str) -> tuple[str, list]:
    """_BUILDERS[what]'s SQL and parameters for a rep. The SQL is compiled
    once per shape (with or without a team) and its parameters filled in per
    call: compiling the nested querysets cost 35-50 ms a request, ten
    times the timeline's own query."""
    sql, template = _compiled(connection.vendor, what, link_alias, viewer.team_id is not None)
    fill = {_VIEWER_ID: viewer.id, _TEAM_ID: viewer.team_id}
    return sql, [fill.get(p, p) if type(p) is int else p for p in template]


@functools.lru_cache(maxsize=64)
def _compiled(vendor: str, what: str, link_alias: str, has_team: bool) -> tuple[str, tuple]:
    stand_in = User(id=_VIEWER_ID, team_id=_TEAM_ID if has_team else None, role=Role.REP)
    sql, params = _BUILDERS[what](stand_in, link_alias)
    return sql, tuple(params)


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
    via, params = "l.via_contact_id, l.via_deal_id", []
    if viewer is not None and not viewer.sees_everything:
        # A row seen thanks to another record must not name the contact or
        # deal it rolled up through when the viewer may not open that one.
        via, params = _for_viewer(viewer, "via", "l")
    sql = [
        f"SELECT {', '.join(columns)}, l.path, {via} FROM {link} l JOIN {tp} t ON t.id = l.touchpoint_id",
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
    timeline: rollup_visible_sql). SQL for the same reason as the timeline's
    filter (its subqueries must run per row).
    """
    if record_type not in ("organization", "contact", "deal"):
        raise ValueError(record_type)
    link, tp = TouchpointLink._meta.db_table, Touchpoint._meta.db_table
    sqlite = connection.vendor == "sqlite"
    when = "CAST(l.occurred_at AS TEXT)" if sqlite else "l.occurred_at"
    sql = [
        f"SELECT {when}, t.emoticon, t.kind, t.subject FROM {link} l JOIN {tp} t ON t.id = l.touchpoint_id",
        f"WHERE l.{record_type}_id = %s AND l.shown = %s AND t.emoticon IS NOT NULL",
    ]
    params: list = [record_id, True]
    if viewer is not None:
        seen, seen_params = rollup_visible_sql(viewer)
        if seen:
            sql.append(f"AND {seen}")
            params += seen_params
    sql.append("ORDER BY l.occurred_at DESC, l.touchpoint_id DESC LIMIT %s")
    params.append(limit)
    with connection.cursor() as db:
        db.execute(" ".join(sql), params)
        rows = db.fetchall()
    if sqlite:
        rows = [(datetime.fromisoformat(when).replace(tzinfo=UTC), *rest) for when, *rest in rows]
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
