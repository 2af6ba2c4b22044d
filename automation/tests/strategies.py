"""Hypothesis strategies for the condition engine's property tests: a small
CRM world (organizations, contacts, deals, deal contacts, touchpoint links)
with values chosen to sit on the edges the operators care about, a context
(a moment and a zone), and random checked-able trees whose values are
mostly taken from the world so that conditions match some records and not
others.

``World`` is plain data; ``build_world`` writes it to the database and
``world_values`` computes, from the same data and never from the database,
the values the reference evaluator judges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from automation.conditions import OPERATORS, REGISTRY, Context
from crm.models import CLOSED_STAGES, Contact, Deal, DealContact, DealStage, LastContactedVia, Organization
from touchpoints.models import LinkPath, Touchpoint, TouchpointLink

# Zones with the edges that matter: far ahead of and behind UTC, half and
# quarter hours, DST in both hemispheres, and DST changes at midnight
# (Santiago and Havana skip or repeat the hour after local midnight).
ZONES = (
    "UTC",
    "Pacific/Auckland",
    "America/Los_Angeles",
    "Europe/Paris",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/Santiago",
    "America/Havana",
)
# Moments near DST changes of those zones in 2026 (and one plain day).
ANCHORS = (
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Europe/Paris springs forward
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Europe/Paris falls back
    datetime(2026, 3, 8, 10, 0, tzinfo=UTC),  # America/Los_Angeles springs forward
    datetime(2026, 4, 4, 14, 0, tzinfo=UTC),  # Pacific/Auckland falls back
    datetime(2026, 4, 5, 3, 0, tzinfo=UTC),  # America/Santiago falls back at midnight
    datetime(2026, 9, 6, 4, 0, tzinfo=UTC),  # America/Santiago skips midnight
    datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # America/Havana skips midnight
    datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
)
# Letters of both cases, the LIKE wildcards and the escape character, so
# "contains" and "equals" prove they take % and _ literally.
ALPHABET = "aAbBzZ %_\\-."
TEXT = st.text(alphabet=ALPHABET, max_size=6)
VIAS = [v.value for v in LastContactedVia]
STAGES = [s.value for s in DealStage]


def contexts(user_ids: list[int]) -> st.SearchStrategy[Context]:
    return st.builds(
        lambda anchor, minutes, zone, user_id: Context(now=anchor + timedelta(minutes=minutes, microseconds=7), tz=ZoneInfo(zone), user_id=user_id),
        st.sampled_from(ANCHORS),
        st.integers(-3 * 24 * 60, 3 * 24 * 60),
        st.sampled_from(ZONES),
        st.sampled_from([None, *user_ids]),
    )


def _local_midnight(ctx: Context, day: date) -> datetime:
    # Only to aim generated instants at day boundaries; the reference never uses it.
    return datetime.combine(day, time(0), tzinfo=ctx.tz).astimezone(UTC)


def instants(ctx: Context) -> st.SearchStrategy[datetime | None]:
    return st.one_of(st.none(), moments(ctx))


def moments(ctx: Context) -> st.SearchStrategy[datetime]:
    today = ctx.now.astimezone(ctx.tz).date()
    near_midnight = st.builds(
        lambda days, offset: _local_midnight(ctx, today + timedelta(days=days)) + offset,
        st.integers(-9, 3),
        st.sampled_from([timedelta(0), timedelta(microseconds=-1), timedelta(microseconds=1), timedelta(minutes=-30), timedelta(hours=1)]),
    )
    near_now = st.builds(lambda seconds: ctx.now + timedelta(seconds=seconds), st.integers(-10 * 86400, 2 * 86400))
    return st.one_of(near_midnight, near_now)


def days_near(ctx: Context) -> st.SearchStrategy[date]:
    today = ctx.now.astimezone(ctx.tz).date()
    return st.builds(lambda days: today + timedelta(days=days), st.integers(-9, 3))


AMOUNTS = st.one_of(
    st.none(),
    st.integers(-3, 3).map(lambda n: Decimal(n * 50)),
    st.integers(-(10**14) + 1, 10**14 - 1).map(lambda cents: Decimal(cents).scaleb(-2)),
)


@dataclass
class World:
    users: list[int]
    orgs: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    deals: list[dict] = field(default_factory=list)
    deal_contacts: set[tuple[int, int]] = field(default_factory=set)  # (deal index, contact index)
    links: list[tuple[str, int, bool]] = field(default_factory=list)  # (record type, index, shown)

    def texts(self) -> list[str]:
        return [v for rows in (self.orgs, self.contacts, self.deals) for row in rows for v in row.values() if isinstance(v, str)]

    def days(self, ctx: Context) -> list[date]:
        """The local days of every stored instant and date, so day operators
        are drawn right on the records' boundaries."""
        found = []
        for rows in (self.orgs, self.contacts, self.deals):
            for row in rows:
                for v in row.values():
                    if isinstance(v, datetime):
                        found.append(v.astimezone(ctx.tz).date())
                    elif isinstance(v, date):
                        found.append(v)
        return found

    def amounts(self) -> list[Decimal]:
        return [d["amount"] for d in self.deals if d["amount"] is not None]


@st.composite
def worlds(draw, ctx: Context, user_ids: list[int]) -> World:
    owners = st.sampled_from([None, *user_ids])
    common = {"owner": owners, "last_contacted_via": st.one_of(st.none(), st.sampled_from(VIAS)), "last_contacted_on": instants(ctx), "created_at": moments(ctx)}
    world = World(users=user_ids)
    world.orgs = draw(st.lists(st.fixed_dictionaries({"name": TEXT, "industry": TEXT, "website": TEXT, "phone": TEXT, **common}), min_size=1, max_size=3))
    org_index = st.one_of(st.none(), st.integers(0, len(world.orgs) - 1)) if world.orgs else st.none()
    world.contacts = draw(
        st.lists(st.fixed_dictionaries({"first_name": TEXT, "last_name": TEXT, "title": TEXT, "organization": org_index, **common}), min_size=2, max_size=4)
    )
    world.deals = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "name": TEXT,
                    "organization": org_index,
                    "stage": st.sampled_from(STAGES),
                    "amount": AMOUNTS,
                    "expected_close_date": st.one_of(st.none(), days_near(ctx)),
                    "closed_at": instants(ctx),
                    **common,
                }
            ),
            min_size=2,
            max_size=5,
        )
    )
    if world.deals and world.contacts:
        world.deal_contacts = draw(st.sets(st.tuples(st.integers(0, len(world.deals) - 1), st.integers(0, len(world.contacts) - 1)), max_size=6))
    targets = [(rt, i) for rt, rows in (("organization", world.orgs), ("contact", world.contacts), ("deal", world.deals)) for i in range(len(rows))]
    if targets:
        world.links = draw(st.lists(st.tuples(st.sampled_from(targets), st.booleans()).map(lambda t: (*t[0], t[1])), max_size=8))
    return world


def build_world(world: World) -> dict[str, list[int]]:
    """Write the world; the ids of its rows by record type, in world order."""
    plain = ("last_contacted_via", "last_contacted_on", "owner", "created_at")

    def common(row: dict) -> dict:
        return {"owner_id": row["owner"], "last_contacted_via": row["last_contacted_via"], "last_contacted_on": row["last_contacted_on"]}

    orgs = Organization.objects.bulk_create(
        [Organization(**{k: v for k, v in row.items() if k not in plain}, **common(row)) for row in world.orgs]
    )
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                first_name=row["first_name"],
                last_name=row["last_name"],
                title=row["title"],
                organization=None if row["organization"] is None else orgs[row["organization"]],
                **common(row),
            )
            for row in world.contacts
        ]
    )
    # created_at is auto_now_add on organizations and contacts: bulk_update
    # writes the drawn value without the field's pre_save.
    for rows, objects in ((world.orgs, orgs), (world.contacts, contacts)):
        for row, obj in zip(rows, objects):
            obj.created_at = row["created_at"]
    Organization.objects.bulk_update(orgs, ["created_at"])
    Contact.objects.bulk_update(contacts, ["created_at"])
    deals = Deal.objects.bulk_create(
        [
            Deal(
                name=row["name"],
                organization=None if row["organization"] is None else orgs[row["organization"]],
                stage=row["stage"],
                amount=row["amount"],
                expected_close_date=row["expected_close_date"],
                closed_at=row["closed_at"],
                created_at=row["created_at"],
                **common(row),
            )
            for row in world.deals
        ]
    )
    DealContact.objects.bulk_create([DealContact(deal=deals[d], contact=contacts[c]) for d, c in sorted(world.deal_contacts)])
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    touchpoints = Touchpoint.objects.bulk_create([Touchpoint(kind="email", status="sent", occurred_at=moment, recorded_at=moment) for _ in world.links])
    records = {"organization": orgs, "contact": contacts, "deal": deals}
    TouchpointLink.objects.bulk_create(
        [
            TouchpointLink(touchpoint=tp, path=LinkPath.DIRECT, occurred_at=moment, kind="email", shown=shown, counts=False, **{record_type: records[record_type][i]})
            for tp, (record_type, i, shown) in zip(touchpoints, world.links)
        ]
    )
    return {record_type: [obj.pk for obj in objects] for record_type, objects in records.items()}


def world_values(world: World, ids: dict[str, list[int]], visible_orgs: set[int] | None = None) -> dict[str, dict[int, dict[str, Any]]]:
    """Each record's condition-field values, from the world data, as seen by
    a viewer who may open the organizations ``visible_orgs`` (indexes; None:
    all): the name of an organization they may not open is empty to them."""

    def shown_links(record_type: str, i: int) -> int:
        return sum(1 for rt, j, shown in world.links if rt == record_type and j == i and shown)

    def org_name(index: int | None) -> str | None:
        if index is None or (visible_orgs is not None and index not in visible_orgs):
            return None
        return world.orgs[index]["name"]

    def open_deal(d: int) -> bool:
        return world.deals[d]["stage"] not in CLOSED_STAGES

    values: dict[str, dict[int, dict[str, Any]]] = {"organization": {}, "contact": {}, "deal": {}}
    for i, row in enumerate(world.orgs):
        values["organization"][ids["organization"][i]] = {
            **row,
            "touchpoint_count": shown_links("organization", i),
            "open_deal_count": sum(1 for d, deal in enumerate(world.deals) if deal["organization"] == i and open_deal(d)),
            "contact_count": sum(1 for c in world.contacts if c["organization"] == i),
        }
    for i, row in enumerate(world.contacts):
        values["contact"][ids["contact"][i]] = {
            **row,
            "organization_name": org_name(row["organization"]),
            "touchpoint_count": shown_links("contact", i),
            "open_deal_count": sum(1 for d, c in world.deal_contacts if c == i and open_deal(d)),
        }
    for i, row in enumerate(world.deals):
        values["deal"][ids["deal"][i]] = {
            **row,
            "organization_name": org_name(row["organization"]),
            "touchpoint_count": shown_links("deal", i),
            "contact_count": sum(1 for d, _ in world.deal_contacts if d == i),
        }
    for record_type, rows in values.items():
        for row in rows.values():
            missing = set(REGISTRY[record_type]) - set(row)
            assert not missing, f"world_values lacks {record_type} fields {missing}"
    return values


# --- trees ---------------------------------------------------------------------------


def _text_values(world: World) -> st.SearchStrategy[str]:
    pool = world.texts()
    taken = st.sampled_from(pool) if pool else TEXT
    # A stored text as is, in another case, a piece of it, with a letter
    # turned into a LIKE wildcard (which must match only itself), or anything.
    return st.one_of(
        taken,
        taken.map(str.upper),
        st.tuples(taken, st.integers(0, 6), st.integers(0, 6)).map(lambda t: t[0][t[1] : t[1] + t[2]]),
        st.tuples(taken, st.integers(0, 6), st.sampled_from("%_")).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]),
        TEXT,
    )


def _number_values(world: World) -> st.SearchStrategy[Any]:
    pool = world.amounts()
    near = (
        st.tuples(st.sampled_from(pool), st.sampled_from([Decimal(0), Decimal("0.01"), Decimal("-0.01"), Decimal(1), Decimal(-1)])).map(
            lambda t: t[0] + t[1]
        )
        if pool
        else st.just(Decimal(0))
    )
    # The API takes a number as JSON number or text: send all three shapes.
    return st.one_of(near.map(str), st.integers(-4, 4).map(lambda n: n * 50), st.integers(-200, 200).map(float))


def _value(record_type: str, name: str, operator: str, world: World, ctx: Context) -> st.SearchStrategy[Any]:
    spec = REGISTRY[record_type][name]
    if operator in ("is_empty", "is_not_empty", "today"):
        return st.none()
    today = ctx.now.astimezone(ctx.tz).date()
    stored = world.days(ctx)
    # A stored value's day, a day either side of it, or any day nearby.
    on_edges = st.tuples(st.sampled_from(stored), st.integers(-1, 1)).map(lambda t: t[0] + timedelta(days=t[1])) if stored else days_near(ctx)
    days = st.one_of(on_edges, days_near(ctx))
    if operator in ("within_last_days", "more_than_days_ago"):
        return days.map(lambda day: (today - day).days).filter(lambda n: n >= 0)
    if operator in ("before", "after"):
        return days.map(date.isoformat)
    scalar = {
        "text": lambda: _text_values(world),
        "choice": lambda: st.sampled_from([c for c, _ in spec.choices]),
        "number": lambda: _number_values(world),
        "count": lambda: st.integers(0, 4),
        "user": lambda: st.sampled_from(["me", *world.users]),
    }[spec.type]()
    if operator == "in":
        return st.lists(scalar, min_size=1, max_size=3)
    return scalar


@st.composite
def conditions(draw, record_type: str, world: World, ctx: Context, name: str | None = None, operator: str | None = None) -> dict:
    """A condition as a client sends it; any field and operator unless given."""
    name = name or draw(st.sampled_from(sorted(REGISTRY[record_type])))
    operator = operator or draw(st.sampled_from(OPERATORS[REGISTRY[record_type][name].type]))
    value = draw(_value(record_type, name, operator, world, ctx))
    node = {"field": name, "operator": operator}
    if value is not None or draw(st.booleans()):
        node["value"] = value  # a value-less operator may also be sent "value": null
    return node


def every_condition(record_type: str, world: World, ctx: Context) -> st.SearchStrategy[list[dict]]:
    """One condition for each operator of each field of the record type."""
    pairs = [(name, operator) for name, spec in sorted(REGISTRY[record_type].items()) for operator in OPERATORS[spec.type]]
    return st.tuples(*(conditions(record_type, world, ctx, name, operator) for name, operator in pairs)).map(list)


def trees(record_type: str, world: World, ctx: Context, depth: int = 3) -> st.SearchStrategy[dict]:
    leaf = conditions(record_type, world, ctx)
    if depth == 0:
        return leaf
    group = st.builds(lambda key, children: {key: children}, st.sampled_from(["all", "any"]), st.lists(trees(record_type, world, ctx, depth - 1), max_size=3))
    # Mostly leaves: a deep tree of and/or over many random conditions
    # almost always selects nothing or everything.
    return st.one_of(leaf, leaf, group)
