"""The fault test's CRM and its touchpoints, and what the test expects of them.

The world is built so its expected state can be computed from what the
clients sent, without the app's code: contacts belong to organizations and
to no deal, so a touchpoint's records are the ones it names, the
organizations of its contacts and deals, and nothing else (the rollup rules
of touchpoints.rules restricted to this world). Every touchpoint has its
own ``occurred_at`` (no two equal), so "the newest" is never a tie.

"Job deals" carry the background-job check: each is named by exactly one
touchpoint, and a workflow on "touchpoint logged" creates one task per deal
it fires for. One trigger, one task: a job run twice, or lost, shows.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# (kind, status, event_type) -> (counts as contact, Last Contacted Via,
# Sales Insights activity, completed). Written from the product description
# (touchpoints/rules.py and insights/rules.py quote it), not imported from
# them, so a rule changed by mistake in the app shows here as a violation.
RULES: dict[tuple[str, str, str | None], tuple[bool, str | None, bool, bool]] = {
    ("email", "sent", None): (True, "Email", True, True),
    ("email", "received", None): (True, "Email", True, True),
    ("email", "bounced", None): (False, None, True, False),
    ("sms", "delivered", None): (True, "SMS", True, True),
    ("sms", "received", None): (True, "SMS", True, True),
    ("sms", "failed", None): (False, None, True, False),
    ("phone_call", "completed", None): (True, "Phone Call", True, True),
    ("phone_call", "no_answer", None): (False, None, True, False),
    ("event", "held", "meeting"): (True, "Meeting", True, True),
    ("event", "held", "call"): (True, "Call", True, True),
    ("event", "held", "onsite_meeting"): (True, "Onsite Meeting", True, True),
    ("event", "not_held", "meeting"): (False, None, True, False),
    ("email_campaign", "sent", None): (True, "Email Campaign", True, True),
    ("chat", "sent", None): (False, None, True, True),
    ("note", "logged", None): (False, None, False, False),
    ("portal_login", "logged", None): (False, None, False, False),
}
# How often each shape is generated (weights), and where it comes from.
SHAPES = [
    (("email", "sent", None), 20),
    (("email", "received", None), 18),
    (("email", "bounced", None), 2),
    (("sms", "delivered", None), 10),
    (("sms", "received", None), 6),
    (("sms", "failed", None), 2),
    (("phone_call", "completed", None), 12),
    (("phone_call", "no_answer", None), 3),
    (("event", "held", "meeting"), 6),
    (("event", "held", "call"), 3),
    (("event", "held", "onsite_meeting"), 2),
    (("event", "not_held", "meeting"), 2),
    (("email_campaign", "sent", None), 5),
    (("chat", "sent", None), 3),
    (("note", "logged", None), 4),
    (("portal_login", "logged", None), 2),
]
SOURCE_BY_KIND = {"email": "imap", "sms": "twilio", "phone_call": "twilio"}
CONTACT_ONLY = {"portal_login"}  # portal visits show on the contact alone
WORKFLOW_NAME = "Fault test: one task per deal touchpoint"
TASK_TITLE = "Fault test follow-up"
# Occurred-at values: STEP apart, shuffled, so no two touchpoints tie and
# batches arrive out of order (late touchpoints must not move Last
# Contacted backwards). 100,000 of them span about 116 days.
STEP = timedelta(seconds=100)


@dataclass
class World:
    token: str
    rep_ids: list[int]
    org_ids: list[int]
    contact_org: dict[int, int]
    deal_org: dict[int, int]  # the job deals
    workflow_id: int


@dataclass
class Item:
    """One touchpoint as sent: its JSON, and the records it names."""

    json: dict
    source: str
    external_id: str
    shape: tuple[str, str, str | None]
    occurred_at: datetime
    owner_id: int
    duration: int | None
    contact_ids: list[int] = field(default_factory=list)
    organization_ids: list[int] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)


def build_world(rng: random.Random, *, organizations: int, contacts_per_org: int, job_deals: int) -> World:
    """Users, organizations, contacts, the job deals and the workflow,
    written through the app's own services where one exists."""
    from accounts.models import Role
    from accounts.services import do_create_user, do_issue_token
    from crm.models import Contact, Deal, DealStage, Organization
    from workflows.services import do_create_workflow

    admin = do_create_user("faults-admin", role=Role.ADMIN)
    token = do_issue_token(admin, "faults")
    reps = [do_create_user(f"faults-rep{i}", role=Role.REP, team_name=f"team{i % 2}").id for i in range(4)]
    Organization.objects.bulk_create([Organization(name=f"Fault Org {i:03d}", owner_id=rng.choice(reps)) for i in range(organizations)])
    org_ids = list(Organization.objects.order_by("id").values_list("id", flat=True))
    Contact.objects.bulk_create(
        [
            Contact(first_name=f"F{j}", last_name=f"L{org}-{j}", organization_id=org, owner_id=rng.choice(reps))
            for org in org_ids
            for j in range(contacts_per_org)
        ]
    )
    contact_org = dict(Contact.objects.values_list("id", "organization_id"))
    # Open since long before any touchpoint (the rollup's "open when it happened").
    opened = datetime(2000, 1, 1, tzinfo=UTC)
    Deal.objects.bulk_create(
        [
            Deal(name=f"Fault deal {i:05d}", organization_id=rng.choice(org_ids), owner_id=rng.choice(reps), stage=DealStage.PROPOSAL, created_at=opened)
            for i in range(job_deals)
        ]
    )
    deal_org = dict(Deal.objects.values_list("id", "organization_id"))
    workflow = do_create_workflow(
        admin,
        {
            "name": WORKFLOW_NAME,
            "record_type": "deal",
            "trigger": "touchpoint_logged",
            "actions": [{"type": "create_task", "params": {"title": TASK_TITLE, "due_in_days": 1, "assign_to": "record_owner"}}],
        },
    )
    return World(token, reps, org_ids, contact_org, deal_org, workflow.id)


def make_items(rng: random.Random, world: World, total: int, run_tag: str) -> list[Item]:
    """``total`` touchpoints in random order. The job deals' touchpoints
    (one each: a completed call or a held meeting on the deal alone) are
    among them; the rest name a contact (a few hot contacts get a large
    share, so concurrent batches update the same rows), the organization
    (notes) or two contacts."""
    if total < len(world.deal_org):
        raise SystemExit(f"--touchpoints {total} is fewer than the {len(world.deal_org)} job deals")
    start = datetime(2026, 6, 1, tzinfo=UTC)
    slots = list(range(total))
    rng.shuffle(slots)
    contacts = sorted(world.contact_org)
    hot = contacts[:: max(1, len(contacts) // 8)]
    shapes = [s for s, _ in SHAPES]
    weights = [w for _, w in SHAPES]
    deal_ids = sorted(world.deal_org)
    items: list[Item] = []
    for n in range(total):
        occurred = start + STEP * slots[n]
        owner = rng.choice(world.rep_ids)
        if n < len(deal_ids):
            shape = rng.choice([("phone_call", "completed", None), ("event", "held", "meeting")])
            named = {"deal_ids": [deal_ids[n]]}
        else:
            shape = rng.choices(shapes, weights)[0]
            contact = rng.choice(hot) if rng.random() < 0.3 else rng.choice(contacts)
            if shape[0] == "note" and rng.random() < 0.5:
                named = {"organization_ids": [world.contact_org[contact]]}
            elif shape[0] == "email" and rng.random() < 0.1:
                named = {"contact_ids": sorted({contact, rng.choice(contacts)})}
            else:
                named = {"contact_ids": [contact]}
        kind, status, event_type = shape
        source = SOURCE_BY_KIND.get(kind, "api")
        external_id = f"{run_tag}-{n}"
        duration = rng.randint(30, 1800) if kind in ("phone_call", "event") else None
        body = {"kind": kind, "status": status, "occurred_at": occurred.isoformat(), "source": source, "external_id": external_id, "owner_id": owner, **named}
        if event_type:
            body["event_type"] = event_type
        if duration is not None:
            body["duration_seconds"] = duration
        items.append(Item(body, source, external_id, shape, occurred, owner, duration, **{k: list(v) for k, v in named.items()}))
    rng.shuffle(items)
    return items


def records_of(item: Item, world: World) -> set[tuple[str, int]]:
    """Every record whose log carries the item in this world."""
    out = {("contact", c) for c in item.contact_ids}
    out |= {("organization", o) for o in item.organization_ids}
    out |= {("deal", d) for d in item.deal_ids}
    if item.shape[0] not in CONTACT_ONLY:
        out |= {("organization", world.contact_org[c]) for c in item.contact_ids}
        out |= {("organization", world.deal_org[d]) for d in item.deal_ids}
    return out


def expected_last_contacted(items: list[Item], world: World) -> dict[tuple[str, int], tuple[datetime, str]]:
    latest: dict[tuple[str, int], tuple[datetime, str]] = {}
    for item in items:
        counts, via, _, _ = RULES[item.shape]
        if not counts:
            continue
        for record in records_of(item, world):
            current = latest.get(record)
            if current is None or item.occurred_at > current[0]:
                latest[record] = (item.occurred_at, via)
    return latest
