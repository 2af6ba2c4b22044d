"""A synthetic CRM and realistic touchpoints for the benchmarks.

Every contact belongs to an organization; every organization has deals
with a few of its contacts on them, most of them open. Touchpoints name a
contact (sometimes two), a deal (calls and events), or the organization
(notes), so ingest does the full rollup: contact -> organization, contact
-> open deals, deal -> organization, deal -> its contacts for events and
calls; and most of them count as contact, so Last Contacted advances.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WORDS = (
    "renewal pricing proposal quote follow-up onboarding demo contract invoice support question roadmap "
    "integration migration training feedback meeting agenda budget approval legal review security "
    "questionnaire timeline kickoff rollout pilot expansion seats discount procurement sign-off"
).split()

# (kind, weight)
KIND_WEIGHTS = (
    ("email", 38),
    ("phone_call", 18),
    ("sms", 14),
    ("event", 10),
    ("email_campaign", 6),
    ("note", 6),
    ("chat", 3),
    ("document", 2),
    ("case", 2),
    ("portal_login", 1),
)
KINDS = [k for k, _ in KIND_WEIGHTS]
KIND_CUM = []
_total = 0
for _, _w in KIND_WEIGHTS:
    _total += _w
    KIND_CUM.append(_total)


@dataclass
class World:
    admin_id: int
    rep_ids: list[int]
    org_ids: list[int]
    contacts_by_org: dict[int, list[int]] = field(default_factory=dict)
    deals_by_org: dict[int, list[int]] = field(default_factory=dict)
    deal_contacts: dict[int, list[int]] = field(default_factory=dict)


def create_world(
    rng: random.Random,
    *,
    orgs: int,
    contacts_per_org: int,
    deals_per_org: int,
    busiest_contacts: int,
    busiest_deals: int,
    deal_created: tuple[datetime, datetime],
    closed_share: float,
    now: datetime,
) -> World:
    """Create users and records. The first organization is the busiest one
    (more contacts and deals). Returns what item generation needs."""
    from accounts.models import Role
    from accounts.services import do_create_user
    from crm.models import Contact, Deal, DealContact, DealStage, Organization

    do_create_user("bench-admin", role=Role.ADMIN)
    reps = [do_create_user(f"bench-rep{i}", role=Role.REP, team_name=f"team{i % 3}").id for i in range(9)]

    Organization.objects.bulk_create(
        [
            Organization(name=f"Org {i:05d}", industry=rng.choice(["saas", "retail", "health", "energy"]), owner_id=rng.choice(reps))
            for i in range(orgs)
        ],
        batch_size=2000,
    )
    org_ids = list(Organization.objects.order_by("id").values_list("id", flat=True))
    contacts = []
    for n, org_id in enumerate(org_ids):
        count = busiest_contacts if n == 0 else max(1, int(rng.expovariate(1 / contacts_per_org)) + 1)
        for j in range(count):
            contacts.append(Contact(first_name=f"F{j}", last_name=f"L{org_id}-{j}", organization_id=org_id, owner_id=rng.choice(reps)))
    Contact.objects.bulk_create(contacts, batch_size=5000)
    contacts_by_org: dict[int, list[int]] = {}
    for cid, oid in Contact.objects.order_by("id").values_list("id", "organization_id"):
        contacts_by_org.setdefault(oid, []).append(cid)

    span = (deal_created[1] - deal_created[0]).total_seconds()
    deals = []
    for n, org_id in enumerate(org_ids):
        count = busiest_deals if n == 0 else rng.randint(max(0, deals_per_org - 1), deals_per_org + 1)
        for j in range(count):
            created = deal_created[0] + timedelta(seconds=rng.uniform(0, span))
            closed = None
            if rng.random() < closed_share:
                closed = min(now, created + timedelta(days=rng.uniform(20, 200)))
            deals.append(
                Deal(
                    name=f"Deal {org_id}-{j}",
                    organization_id=org_id,
                    owner_id=rng.choice(reps),
                    stage=DealStage.CLOSED_WON if closed else DealStage.PROPOSAL,
                    created_at=created,
                    closed_at=closed,
                )
            )
    Deal.objects.bulk_create(deals, batch_size=5000)
    deals_by_org: dict[int, list[int]] = {}
    for did, oid in Deal.objects.order_by("id").values_list("id", "organization_id"):
        deals_by_org.setdefault(oid, []).append(did)
    links = []
    for org_id, dids in deals_by_org.items():
        people = contacts_by_org[org_id]
        for did in dids:
            for cid in rng.sample(people, min(len(people), rng.randint(2, 3))):
                links.append(DealContact(deal_id=did, contact_id=cid, role="influencer"))
    DealContact.objects.bulk_create(links, batch_size=5000)
    return load_world()


def load_world() -> World:
    from accounts.models import User
    from crm.models import Contact, Deal, DealContact, Organization

    admin = User.objects.get(username="bench-admin")
    reps = list(User.objects.filter(username__startswith="bench-rep").order_by("id").values_list("id", flat=True))
    world = World(admin.id, reps, list(Organization.objects.order_by("id").values_list("id", flat=True)))
    for cid, oid in Contact.objects.order_by("id").values_list("id", "organization_id"):
        world.contacts_by_org.setdefault(oid, []).append(cid)
    for did, oid in Deal.objects.order_by("id").values_list("id", "organization_id"):
        world.deals_by_org.setdefault(oid, []).append(did)
    for did, cid in DealContact.objects.order_by("id").values_list("deal_id", "contact_id"):
        world.deal_contacts.setdefault(did, []).append(cid)
    return world


def issue_token(world: World) -> str:
    from accounts.models import ApiToken, User
    from accounts.services import do_issue_token

    ApiToken.objects.filter(user_id=world.admin_id, name="bench").delete()
    return do_issue_token(User.objects.get(id=world.admin_id), "bench")


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _pick_kind(rng: random.Random) -> str:
    r = rng.random() * _total
    for kind, cum in zip(KINDS, KIND_CUM):
        if r < cum:
            return kind
    return KINDS[-1]


def make_item(rng: random.Random, world: World, org_id: int, when: datetime, serial: str) -> dict:
    """One touchpoint as the API takes it (occurred_at still a datetime)."""
    kind = _pick_kind(rng)
    people = world.contacts_by_org[org_id]
    deals = world.deals_by_org.get(org_id, [])
    contact = rng.choice(people)
    item: dict = {"kind": kind, "occurred_at": when, "subject": _words(rng, 5).capitalize()}
    if kind == "email":
        item["status"] = rng.choices(("sent", "received", "bounced"), (50, 45, 5))[0]
        item["direction"] = "inbound" if item["status"] == "received" else "outbound"
        item["summary"] = _words(rng, 20)
        item["source"] = "imap"
        item["external_id"] = f"<{serial}@mail.example>"
        item["contact_ids"] = [contact]
        if len(people) > 1 and rng.random() < 0.15:
            other = rng.choice(people)
            if other != contact:
                item["contact_ids"].append(other)
    elif kind == "phone_call":
        item["status"] = rng.choices(("completed", "hangup", "no_answer", "busy"), (80, 5, 10, 5))[0]
        item["direction"] = rng.choice(("inbound", "outbound"))
        item["duration_seconds"] = rng.randint(20, 1800)
        item["source"] = "twilio"
        item["external_id"] = f"CA{serial}"
        item["contact_ids"] = [contact]
        if deals and rng.random() < 0.4:
            item["deal_ids"] = [rng.choice(deals)]
    elif kind == "sms":
        item["status"] = rng.choices(("delivered", "dispatched", "received", "failed"), (50, 10, 35, 5))[0]
        item["direction"] = "inbound" if item["status"] == "received" else "outbound"
        item["summary"] = _words(rng, 8)
        item["source"] = "twilio"
        item["external_id"] = f"SM{serial}"
        item["contact_ids"] = [contact]
    elif kind == "event":
        item["status"] = rng.choices(("held", "not_held"), (85, 15))[0]
        item["event_type"] = rng.choice(("call", "meeting", "onsite_meeting", "onsite_service"))
        item["duration_seconds"] = rng.choice((1800, 3600))
        if deals:
            item["deal_ids"] = [rng.choice(deals)]
            if rng.random() < 0.5:
                item["contact_ids"] = [contact]
        else:
            item["contact_ids"] = [contact]
    elif kind == "email_campaign":
        item["status"] = rng.choices(("sent", "bounced"), (95, 5))[0]
        item["direction"] = "outbound"
        item["external_id"] = f"camp-{serial}"
        item["contact_ids"] = [contact]
    elif kind == "note":
        item["summary"] = _words(rng, 30)
        item["source"] = "manual"
        if rng.random() < 0.5:
            item["organization_ids"] = [org_id]
        else:
            item["contact_ids"] = [contact]
    elif kind == "case":
        item["status"] = rng.choice(("open", "resolved", "closed"))
        item["contact_ids"] = [contact]
    else:  # chat, document, portal_login
        item["contact_ids"] = [contact]
    if rng.random() < 0.2:
        item["owner_id"] = rng.choice(world.rep_ids)
    return item


def to_json_item(item: dict) -> dict:
    out = dict(item)
    out["occurred_at"] = item["occurred_at"].isoformat()
    return out
