"""Where touchpoints show: fan-out at write time and upkeep when relationships
change. The rules themselves (and why fan-out is done at write time) are in
touchpoints.rules; this module applies them.

Relationship changes and what they do to existing timelines:

- A contact joins a deal: the contact's touchpoints from while the deal was
  open appear on the deal, and the deal's events and calls appear on the
  contact (backfill), and Last Contacted advances on both.
- A contact leaves a deal: what reached the deal only through that contact
  leaves it (unless another of the touchpoint's contacts is still on the
  deal), and the deal's events and calls leave the contact; Last Contacted
  is recomputed on both.
- A contact (or deal) gets its first organization: its history is
  backfilled onto the organization — the contact was at that organization
  all along, we just had not recorded it.
- A contact moves from organization A to B: nothing moves. What happened
  while the contact was at A stays A's history; new touchpoints go to B.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Q

from crm.models import Contact, Deal, DealContact
from insights import marks as insight_marks
from touchpoints import lastcontacted
from touchpoints.bulk import insert_rows
from touchpoints.models import LinkPath, TouchpointLink
from touchpoints.rules import CONTACT_ONLY, FANS_OUT_TO_DEAL_CONTACTS

LINK_FIELDS = (
    "touchpoint_id",
    "organization_id",
    "contact_id",
    "deal_id",
    "path",
    "via_contact_id",
    "via_deal_id",
    "occurred_at",
    "kind",
    "shown",
    "counts",
)
RECORD_COLUMN = {"organization": 1, "contact": 2, "deal": 3}  # index in LINK_FIELDS

Target = tuple[str, int]  # (record_type, record_id)
Route = tuple[str, int | None, int | None]  # (path, via_contact, via_deal)


def chunked(values: Iterable[int], size: int = 500) -> Iterator[list[int]]:
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def deal_open_at(created_at: datetime, closed_at: datetime | None, when: datetime) -> bool:
    return created_at <= when and (closed_at is None or when <= closed_at)


@dataclass
class RollupContext:
    """The relationships a batch of touchpoints fans out through, loaded in
    a fixed number of queries whatever the batch size."""

    contact_org: dict[int, int | None] = field(default_factory=dict)
    contact_deals: dict[int, list[tuple[int, datetime, datetime | None]]] = field(default_factory=dict)
    deal_org: dict[int, int | None] = field(default_factory=dict)
    deal_contacts: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, contact_ids: set[int], deal_ids: set[int], fanout_deal_ids: set[int]) -> RollupContext:
        # Plain SQL: the ORM spent ~20x the database's time here compiling
        # 1,000-id IN lists and converting datetimes (docs/benchmarks.md).
        ctx = cls()
        contact, deal, deal_contact = (m._meta.db_table for m in (Contact, Deal, DealContact))
        if contact_ids:
            ctx.contact_org = dict(_rows(f"SELECT id, organization_id FROM {contact} WHERE id IN (IDS)", contact_ids))
            for contact_id, deal_id, created_at, closed_at in _rows(
                f"SELECT dc.contact_id, dc.deal_id, {_as_text('d.created_at')}, {_as_text('d.closed_at')} "
                f"FROM {deal_contact} dc JOIN {deal} d ON d.id = dc.deal_id WHERE dc.contact_id IN (IDS)",
                contact_ids,
            ):
                ctx.contact_deals.setdefault(contact_id, []).append((deal_id, _aware(created_at), _aware(closed_at)))
        if deal_ids:
            ctx.deal_org = dict(_rows(f"SELECT id, organization_id FROM {deal} WHERE id IN (IDS)", deal_ids))
        if fanout_deal_ids:
            for deal_id, contact_id in _rows(f"SELECT deal_id, contact_id FROM {deal_contact} WHERE deal_id IN (IDS)", fanout_deal_ids):
                ctx.deal_contacts.setdefault(deal_id, []).append(contact_id)
        return ctx


def lock_relationships(contact_ids: set[int], deal_ids: set[int]) -> None:
    """Hold the contacts and deals a batch fans out through (PostgreSQL: FOR
    KEY SHARE) before reading their relationships.

    A relationship change (a contact joining or leaving a deal, getting its
    first organization) locks the contact and then the deal FOR UPDATE, the
    one lock KEY SHARE waits for. Whichever comes second therefore sees the
    other's committed rows: the ingest reads the new deal membership, or the
    backfill finds the new touchpoint. KEY SHARE does not block other
    ingests, nor their Last Contacted UPDATEs (FOR NO KEY UPDATE). SQLite
    needs nothing: its writers are serialized.
    """
    if connection.vendor != "postgresql":
        return
    for model, ids in ((Contact, contact_ids), (Deal, deal_ids)):
        # Django's select_for_update has no KEY SHARE mode. Sorted ids: every
        # batch takes the locks in the same order.
        _rows(f"SELECT id FROM {model._meta.db_table} WHERE id IN (IDS) ORDER BY id FOR KEY SHARE", sorted(ids))


def _rows(sql: str, ids: Iterable[int]) -> list[tuple]:
    # Chunked: a batch may name up to 100,000 ids, past SQLite's limit of
    # 32,766 parameters a statement.
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in chunked(ids, 5000):
            cursor.execute(sql.replace("(IDS)", "(" + ", ".join(["%s"] * len(chunk)) + ")"), chunk)
            out.extend(cursor.fetchall())
    return out


def _as_text(column: str) -> str:
    # SQLite: read the stored text and parse it with fromisoformat (_aware),
    # skipping the driver's slower converter.
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def targets(
    kind: str,
    occurred_at: datetime,
    contact_ids: Iterable[int],
    organization_ids: Iterable[int],
    deal_ids: Iterable[int],
    ctx: RollupContext,
) -> dict[Target, Route]:
    """Every record whose timeline carries the touchpoint, with how it got
    there. A direct link wins over a rolled-up one; among rolled-up routes
    the first found is kept."""
    out: dict[Target, Route] = {}
    for cid in contact_ids:
        out[("contact", cid)] = (LinkPath.DIRECT, None, None)
    for oid in organization_ids:
        out[("organization", oid)] = (LinkPath.DIRECT, None, None)
    for did in deal_ids:
        out[("deal", did)] = (LinkPath.DIRECT, None, None)
    if kind in CONTACT_ONLY:
        return out
    for cid in contact_ids:
        org_id = ctx.contact_org.get(cid)
        if org_id is not None:
            out.setdefault(("organization", org_id), (LinkPath.CONTACT, cid, None))
        for deal_id, created_at, closed_at in ctx.contact_deals.get(cid, ()):
            if deal_open_at(created_at, closed_at, occurred_at):
                out.setdefault(("deal", deal_id), (LinkPath.CONTACT, cid, None))
    for did in deal_ids:
        org_id = ctx.deal_org.get(did)
        if org_id is not None:
            out.setdefault(("organization", org_id), (LinkPath.DEAL, None, did))
        if kind in FANS_OUT_TO_DEAL_CONTACTS:
            for cid in ctx.deal_contacts.get(did, ()):
                out.setdefault(("contact", cid), (LinkPath.DEAL, None, did))
    return out


def link_row(touchpoint_id: int, target: Target, route: Route, occurred_at, kind: str, shown: bool, counts: bool) -> tuple:
    record_type, record_id = target
    ids: list[int | None] = [None, None, None]
    ids[RECORD_COLUMN[record_type] - 1] = record_id
    path, via_contact, via_deal = route
    return (touchpoint_id, *ids, path, via_contact, via_deal, occurred_at, kind, shown, counts)


# --- relationship changes ---------------------------------------------------


def _copy_links(source: Q, exclude_on: str, record_id: int, target: Target, route: Route) -> None:
    """Give ``target`` a link for every touchpoint matching ``source`` that
    ``target`` does not carry yet, then advance its Last Contacted."""
    already = TouchpointLink.objects.filter(**{f"{exclude_on}_id": record_id}).values("touchpoint_id")
    rows = []
    newest = None
    for tp_id, occurred_at, kind, shown, counts in (
        TouchpointLink.objects.filter(source).exclude(touchpoint_id__in=already).values_list("touchpoint_id", "occurred_at", "kind", "shown", "counts")
    ):
        rows.append(link_row(tp_id, target, route, occurred_at, kind, shown, counts))
        if counts and (newest is None or occurred_at > newest[0]):
            newest = (occurred_at, tp_id)
    insert_rows(TouchpointLink, LINK_FIELDS, rows)
    if newest is not None:
        # The via label needs the touchpoint's kind and event type; a plain
        # recompute reads them and is only ever one indexed row here.
        lastcontacted.recompute([target])


def on_contact_joined_deal(contact_id: int, deal_id: int) -> None:
    deal = Deal.objects.only("created_at", "closed_at").get(id=deal_id)
    window = Q(occurred_at__gte=deal.created_at)
    if deal.closed_at is not None:
        window &= Q(occurred_at__lte=deal.closed_at)
    _copy_links(
        Q(contact_id=contact_id, path=LinkPath.DIRECT) & window & ~Q(kind__in=CONTACT_ONLY),
        "deal",
        deal_id,
        ("deal", deal_id),
        (LinkPath.CONTACT, contact_id, None),
    )
    _copy_links(
        Q(deal_id=deal_id, path=LinkPath.DIRECT, kind__in=FANS_OUT_TO_DEAL_CONTACTS),
        "contact",
        contact_id,
        ("contact", contact_id),
        (LinkPath.DEAL, None, deal_id),
    )
    # The contact's history joined the deal's timeline: its activities may
    # take the deal's stage, and the deal's totals grew.
    insight_marks.mark_deals([deal_id])


def _drop_or_reroute(links: Q, alternatives: Q, alternative_field: str, via_field: str) -> None:
    """Delete the rolled-up links matching ``links`` unless the touchpoint
    still reaches the record another way (a direct link matching
    ``alternatives``), in which case the link is re-pointed at that route."""
    tp_ids = list(TouchpointLink.objects.filter(links).values_list("touchpoint_id", flat=True))
    for chunk in chunked(tp_ids):
        reroute: dict[int, int] = {}
        for tp_id, alt in TouchpointLink.objects.filter(alternatives, touchpoint_id__in=chunk).values_list(
            "touchpoint_id", alternative_field
        ):
            reroute.setdefault(tp_id, alt)
        TouchpointLink.objects.filter(links, touchpoint_id__in=[t for t in chunk if t not in reroute]).delete()
        by_alt: dict[int, list[int]] = {}
        for tp_id, alt in reroute.items():
            by_alt.setdefault(alt, []).append(tp_id)
        for alt, tps in by_alt.items():
            TouchpointLink.objects.filter(links, touchpoint_id__in=tps).update(**{via_field: alt})


def on_contact_left_deal(contact_id: int, deal_id: int) -> None:
    """Call after the DealContact row is gone."""
    insight_marks.mark_deals([deal_id])  # before its links go: the cells they leave
    deal = Deal.objects.only("created_at", "closed_at").get(id=deal_id)
    window = Q(occurred_at__gte=deal.created_at)
    if deal.closed_at is not None:
        window &= Q(occurred_at__lte=deal.closed_at)
    _drop_or_reroute(
        Q(deal_id=deal_id, path=LinkPath.CONTACT, via_contact_id=contact_id),
        Q(path=LinkPath.DIRECT, contact_id__in=DealContact.objects.filter(deal_id=deal_id).values("contact_id")) & window,
        "contact_id",
        "via_contact_id",
    )
    _drop_or_reroute(
        Q(contact_id=contact_id, path=LinkPath.DEAL, via_deal_id=deal_id),
        Q(path=LinkPath.DIRECT, kind__in=FANS_OUT_TO_DEAL_CONTACTS, deal_id__in=DealContact.objects.filter(contact_id=contact_id).values("deal_id")),
        "deal_id",
        "via_deal_id",
    )
    lastcontacted.recompute([("deal", deal_id), ("contact", contact_id)])


def on_contact_got_organization(contact_id: int, organization_id: int) -> None:
    """Backfill only what reached no organization through this contact: after
    A -> no organization -> B, what happened at A stays A's."""
    at_an_organization = TouchpointLink.objects.filter(
        via_contact_id=contact_id, path=LinkPath.CONTACT, organization__isnull=False
    ).values("touchpoint_id")
    _copy_links(
        Q(contact_id=contact_id, path=LinkPath.DIRECT) & ~Q(kind__in=CONTACT_ONLY) & ~Q(touchpoint_id__in=at_an_organization),
        "organization",
        organization_id,
        ("organization", organization_id),
        (LinkPath.CONTACT, contact_id, None),
    )


def on_deal_got_organization(deal_id: int, organization_id: int) -> None:
    at_an_organization = TouchpointLink.objects.filter(via_deal_id=deal_id, path=LinkPath.DEAL, organization__isnull=False).values(
        "touchpoint_id"
    )
    _copy_links(
        Q(deal_id=deal_id, path=LinkPath.DIRECT) & ~Q(touchpoint_id__in=at_an_organization),
        "organization",
        organization_id,
        ("organization", organization_id),
        (LinkPath.DEAL, None, deal_id),
    )
