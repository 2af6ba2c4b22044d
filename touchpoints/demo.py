"""Demo data: a believable, deterministic sales company.

``load(seed, scale)`` seeds, at scale 1: about 20 sales reps in four teams
(each in its own IANA time zone), a manager (``demo-manager``) and an admin
(``demo-admin``; everyone's password is ``demo-password``), 2,000
organizations, 10,000 contacts with emails and E.164 phones, 3,000 deals with
their contacts and roles, planned events and open tasks for Up Next (some
overdue), a few hundred held meetings recorded through activities.services,
and 200,000 touchpoints over the last 18 months.

Determinism: everything is drawn from one ``random.Random(seed)`` and only
ever by position (never by database id, never by iterating a set), and all
times are offsets from the start of today (UTC). The same seed on the same
day gives the same records; on a later day the same records move along so
the data always looks current.

Speed: CRM records go in with bulk_create; touchpoints go in only through
``touchpoints.services.record_touchpoints`` (the one real ingest path), in
batches of 2,000 per owner, so timeline links and Last Contacted are written
exactly as in production.

Safety: e-mail domains are under ``.example`` (RFC 2606) and phone numbers
come from the ranges reserved for fiction (NANP 555-01XX, Ofcom's drama
numbers, ACMA's fictitious numbers), so a channel adapter pointed at demo
data cannot reach a real person.
"""
from __future__ import annotations

import bisect
import math
import random
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import do_create_user
from activities.models import Event, EventStatus, EventType, Task, TaskStatus
from activities.services import do_create_event
from crm.models import Contact, ContactEmail, ContactPhone, ContactRole, Deal, DealContact, DealStage, Organization
from touchpoints.models import Touchpoint
from touchpoints.rules import Direction, Kind, Source
from insights import refresh as insights_refresh
from touchpoints.bulk import deferred_log_indexes
from touchpoints.services import NewTouchpoint, record_touchpoints

DEFAULT_SEED = 1729
PASSWORD = "demo-password"
ADMIN_USERNAME = "demo-admin"
MANAGER_USERNAME = "demo-manager"
DAYS = 548  # the last 18 months, ending yesterday
BATCH_SIZE = 2000  # touchpoints per record_touchpoints call
BULK_SIZE = 2000  # rows per bulk_create statement

# Counts at scale 1.
BASE_COUNTS = {
    "reps": 20,
    "organizations": 2000,
    "contacts": 10_000,
    "deals": 3000,
    "touchpoints": 200_000,  # including the held meetings below
    "held_events": 300,  # through activities.services, so they are real Events
    "planned_events": 600,
    "tasks": 1500,
}


# --- word lists -------------------------------------------------------------------

TEAMS = (
    ("North America East", ("America/New_York", "America/Toronto", "America/Chicago")),
    ("North America West", ("America/Los_Angeles", "America/Denver", "America/Vancouver", "America/Phoenix")),
    ("EMEA", ("Europe/London", "Europe/Berlin", "Europe/Madrid", "Europe/Stockholm", "Africa/Johannesburg")),
    ("APAC", ("Australia/Sydney", "Asia/Singapore", "Asia/Tokyo", "Pacific/Auckland", "Asia/Kolkata")),
)
TEAM_REGION = {"North America East": "US", "North America West": "US", "EMEA": "GB", "APAC": "AU"}

FIRST_NAMES = (
    "Aaliyah", "Aarav", "Abigail", "Adrian", "Aisha", "Alejandro", "Alex", "Amara", "Amelia", "Ana", "Andrea",
    "Andrew", "Anika", "Arjun", "Ava", "Ben", "Brianna", "Caleb", "Camila", "Carlos", "Charlotte", "Chen", "Chloe",
    "Chris", "Daniel", "David", "Diego", "Dmitri", "Elena", "Eli", "Elijah", "Emily", "Emma", "Ethan", "Fatima",
    "Felix", "Gabriel", "Grace", "Hana", "Hannah", "Hiroshi", "Ibrahim", "Isabella", "Isaac", "Jack", "James",
    "Jamal", "Jasmine", "Javier", "Jessica", "Jin", "John", "Jordan", "José", "Julia", "Kai", "Karen", "Kenji",
    "Laura", "Leah", "Leo", "Liam", "Lucas", "Lucía", "Maria", "Mark", "Maya", "Mei", "Michael", "Mohammed",
    "Naomi", "Nathan", "Nia", "Nikhil", "Noah", "Olivia", "Omar", "Oscar", "Priya", "Rachel", "Rafael", "Rahul",
    "Ravi", "Rebecca", "Ryan", "Samuel", "Sara", "Sean", "Sofia", "Sophie", "Stefan", "Tariq", "Thomas", "Tom",
    "Valentina", "Victor", "William", "Yuki", "Zara", "Zoe",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Anderson", "Bailey", "Baker", "Becker", "Bennett", "Brooks", "Brown", "Campbell",
    "Carter", "Chen", "Clarke", "Collins", "Cooper", "Costa", "Davies", "Díaz", "Edwards", "Evans", "Fischer",
    "Fernandes", "Foster", "García", "Gonzalez", "Gupta", "Hall", "Harris", "Hayes", "Hernández", "Hughes",
    "Ito", "Jackson", "Jensen", "Johnson", "Kim", "King", "Kowalski", "Kumar", "Larsen", "Lee", "Lewis", "Li",
    "Lopez", "Martin", "Martínez", "Meyer", "Miller", "Mitchell", "Moore", "Morgan", "Müller", "Murphy",
    "Nakamura", "Nguyen", "Novak", "O'Brien", "O'Connor", "Okafor", "Olsen", "Park", "Patel", "Perez", "Petrov",
    "Phillips", "Reed", "Reyes", "Richardson", "Rivera", "Roberts", "Robinson", "Rossi", "Russo", "Sánchez",
    "Sato", "Schmidt", "Scott", "Shah", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thompson",
    "Torres", "Turner", "Walker", "Wang", "Ward", "Watson", "Weber", "White", "Williams", "Wilson", "Wong",
    "Wright", "Yamamoto", "Young", "Zhang",
)
TITLES = (
    ("CEO", 3), ("CFO", 3), ("CTO", 3), ("COO", 2), ("VP Sales", 4), ("VP Engineering", 3), ("VP Marketing", 3),
    ("Head of Operations", 5), ("Head of IT", 5), ("IT Director", 5), ("Procurement Manager", 6),
    ("Finance Manager", 5), ("Operations Manager", 8), ("Marketing Manager", 7), ("Engineering Manager", 6),
    ("Product Manager", 6), ("Data Analyst", 6), ("Office Manager", 5), ("Account Manager", 4),
    ("Customer Success Lead", 4), ("Software Engineer", 6), ("HR Business Partner", 3), ("Project Manager", 6),
    ("", 6),
)
NAME_HEADS = (
    "Acorn", "Alder", "Apex", "Arbor", "Aspen", "Atlas", "Beacon", "Birch", "Blue Harbor", "Bluebird", "Brightwater",
    "Broadleaf", "Canyon", "Cardinal", "Cedar", "Clearview", "Cobalt", "Copper", "Crescent", "Crown", "Driftwood",
    "Eastgate", "Evergreen", "Falcon", "Fernhill", "Foxglove", "Golden Gate", "Granite", "Greenfield", "Harbor",
    "Hawthorne", "Highland", "Horizon", "Ironwood", "Juniper", "Keystone", "Lakeside", "Lantern", "Linden",
    "Maple", "Meridian", "Millbrook", "Northwind", "Oakridge", "Orchard", "Pacific", "Pinecrest", "Prairie",
    "Quarry", "Redwood", "Ridgeline", "Riverbend", "Rosewood", "Sagebrush", "Sapphire", "Silverline", "Southport",
    "Sparrow", "Stonebridge", "Summit", "Sunrise", "Tidewater", "Timberline", "Trident", "Vista", "Westbrook",
    "Willow", "Windmill",
)
# Short words that make a one-word name with a join ("North" + "gate").
NAME_ROOTS = ("North", "South", "East", "West", "Blue", "Green", "Silver", "Gold", "Iron", "Stone", "Oak", "Pine", "Sun", "Star", "Bright", "Clear", "High", "Fair", "River", "Lake", "Red", "Elm")
NAME_JOINS = ("point", "stone", "field", "gate", "wave", "works", "line", "view", "bridge", "crest", "haven", "ridge")
NAME_TAILS = (
    ("Analytics", "Software"), ("Architects", "Construction"), ("Bakeries", "Food & Beverage"),
    ("Biotech", "Life Sciences"), ("Brewing", "Food & Beverage"), ("Builders", "Construction"),
    ("Capital", "Financial Services"), ("Clinics", "Healthcare"), ("Cloud", "Software"),
    ("Consulting", "Professional Services"), ("Dental", "Healthcare"), ("Design", "Professional Services"),
    ("Distribution", "Wholesale"), ("Energy", "Energy"), ("Engineering", "Manufacturing"),
    ("Farms", "Agriculture"), ("Fitness", "Consumer Services"), ("Foods", "Food & Beverage"),
    ("Freight", "Transportation"), ("Health", "Healthcare"), ("Hotels", "Hospitality"),
    ("Insurance", "Financial Services"), ("Labs", "Life Sciences"), ("Legal", "Professional Services"),
    ("Logistics", "Transportation"), ("Manufacturing", "Manufacturing"), ("Media", "Media"),
    ("Medical", "Healthcare"), ("Motors", "Automotive"), ("Outfitters", "Retail"), ("Partners", "Financial Services"),
    ("Pharma", "Life Sciences"), ("Properties", "Real Estate"), ("Realty", "Real Estate"), ("Robotics", "Manufacturing"),
    ("Security", "Software"), ("Solar", "Energy"), ("Studios", "Media"), ("Supply", "Wholesale"),
    ("Systems", "Software"), ("Technologies", "Software"), ("Telecom", "Telecommunications"),
    ("Textiles", "Manufacturing"), ("Travel", "Hospitality"), ("Ventures", "Financial Services"),
)
LEGAL_SUFFIX = {
    "US": (("Inc.", 5), ("LLC", 3), ("Corp.", 2), ("Co.", 1), ("Group", 1), ("", 4)),
    "GB": (("Ltd", 7), ("plc", 1), ("Group", 1), ("", 3)),
    "AU": (("Pty Ltd", 7), ("Group", 1), ("", 3)),
}
PRODUCTS = (
    "Insights Cloud", "Data Connector", "Field Service app", "Analytics Suite", "Support Plus", "Mobile SDK",
    "Forecasting add-on", "Enterprise plan", "Onboarding package", "API access", "Team plan", "Compliance pack",
)
TOPICS = (
    "pricing", "the proposal", "next steps", "the pilot", "onboarding", "contract terms", "the renewal",
    "the security review", "integration questions", "the rollout plan", "the invoice", "the demo", "budget",
    "the implementation timeline", "SSO setup", "data migration", "the volume discount", "a reference call",
    "the SOW", "training dates",
)
DEAL_SUFFIXES = ("", "", " expansion", " renewal", " pilot", " upgrade", " – new business", " – {seats} seats")

SUBJECTS = {
    "email_out": (
        "Following up on {topic}", "Re: {topic}", "{product} for {company}", "Quick question about {topic}",
        "Proposal for {company}", "Recap of today's call", "Next steps for {company}", "Checking in, {first}",
        "Intro: {product}", "Agenda for our meeting on {weekday}", "Updated quote for {product}",
        "Re: {product} pricing", "Resources we discussed", "Can we find 30 minutes next week?",
        "Thanks for your time, {first}", "{company} + {product}: summary",
    ),
    "email_in": (
        "Re: {topic}", "Re: Following up on {topic}", "Question about {product}", "Re: Proposal for {company}",
        "Invoice question", "Re: Agenda for our meeting on {weekday}", "Feedback on the pilot",
        "Introducing our new IT lead", "Re: Updated quote for {product}", "Can we move our call?",
        "Purchase order PO-{n}", "Automatic reply: Re: {topic}", "Re: Next steps for {company}",
    ),
    "call_out": (
        "Discovery call with {first}", "Follow-up call: {topic}", "Call with {first} about {topic}",
        "Pricing discussion", "Check-in call", "Renewal call with {company}", "Reference call", "Intro call",
    ),
    "call_in": ("Inbound call from {first}", "{first} called about {topic}", "Support question from {company}"),
    "call_missed": ("Call to {first}", "Tried to reach {first}", "Follow-up call: {topic}", "Call back {first}"),
    "sms_out": (
        "Running 5 minutes late, see you soon", "Confirming our meeting on {weekday}", "Thanks for your time today, {first}!",
        "Just sent over the proposal", "Are you free for a quick call?", "Reminder: demo tomorrow at {clock}",
    ),
    "sms_in": ("Sounds good, thanks!", "Can we push to {weekday}?", "Got it, will review today", "Call me when you can", "On my way"),
    "chat_out": ("Chat about {topic}", "Live chat with {first}", "Answered {first}'s question about {product}"),
    "chat_in": ("Website chat: question about {product}", "Chat: {first} asked about {topic}", "Website chat from {company}"),
    "note": (
        "{first} is the main decision maker", "Budget approved for next quarter", "Competitor in the mix: incumbent vendor",
        "Needs SSO before they can sign", "Champion moving to a new role", "Procurement requires three quotes",
        "Legal review takes about two weeks", "Prefers email over calls", "Expansion potential in a second office",
        "Asked for a case study in their industry", "Account planning notes", "Renewal risk: usage dropped last month",
    ),
    EventType.MEETING: (
        "Demo of {product} for {company}", "Quarterly business review with {company}", "Kickoff: {product} rollout",
        "Contract review", "Proposal walkthrough", "Executive sponsor meeting",
    ),
    EventType.CALL: ("Scheduled call: {topic}", "Weekly sync with {company}", "Pricing call with {first}"),
    EventType.ONSITE_MEETING: ("Onsite workshop at {company}", "Site visit: {company}", "Onsite planning session"),
    EventType.ONSITE_SERVICE: ("Onsite installation", "Onsite training for {company}", "Onsite health check"),
}
CAMPAIGNS = (
    "{month} product update", "Webinar: getting more from {product}", "What's new in {product}",
    "Customer story: how teams cut reporting time in half", "You're invited: our annual user conference",
    "{quarter} release notes", "Last chance: early-bird pricing", "Tips & tricks: {product}",
    "Security and compliance update", "Join our customer advisory board",
)
SUMMARIES = {
    "call": (
        "Walked through pricing; they want a revised quote.", "Good call, agreed on a pilot with two teams.",
        "Discussed the integration; IT needs an architecture diagram.", "They are comparing us with the incumbent.",
        "Budget is confirmed, decision expected this month.", "Answered questions about data residency.",
        "Asked for a reference customer in their industry.",
    ),
    "event": (
        "Demo went well; the team liked the dashboards.", "Reviewed usage and renewal timeline.",
        "Agreed on success criteria for the pilot.", "Met the new CFO; will send an ROI summary.",
        "Went through the contract redlines.", "Trained 12 users on site.",
    ),
    "note": (
        "Spoke with their assistant; the best time to call is mornings.", "Decision moved to next quarter.",
        "They signed with us at their previous company.", "Their fiscal year ends in June.",
        "Security review passed, waiting on procurement.",
    ),
}
TASK_TITLES = (
    "Send proposal to {first}", "Follow up with {first} on {topic}", "Prepare QBR deck for {company}",
    "Update the quote for {product}", "Schedule a demo with {company}", "Check in after onboarding",
    "Send contract for signature", "Book an onsite visit", "Call {first} back", "Renewal prep: {company}",
)
PLANNED_EVENT_TYPES = ((EventType.MEETING, 5), (EventType.CALL, 4), (EventType.ONSITE_MEETING, 1), (EventType.ONSITE_SERVICE, 1))
HELD_EVENT_TYPES = ((EventType.MEETING, 5), (EventType.CALL, 3), (EventType.ONSITE_MEETING, 2), (EventType.ONSITE_SERVICE, 1))

# Which kinds happen, for touchpoints about a contact in general and for
# those that are part of working a deal.
# Documents, cases and portal visits are not among them: since issue #6 they
# are real shares, cases and sessions made by their apps (create_indirect),
# so every such row in Activity has its file, case or account behind it.
GENERAL_KINDS = (
    (Kind.EMAIL, 36), (Kind.PHONE_CALL, 14), (Kind.EMAIL_CAMPAIGN, 15), (Kind.SMS, 8), (Kind.EVENT, 3),
    (Kind.CHAT, 6), (Kind.NOTE, 5),
)
DEAL_KINDS = (
    (Kind.EMAIL, 40), (Kind.PHONE_CALL, 22), (Kind.EVENT, 10), (Kind.SMS, 6), (Kind.NOTE, 10),
    (Kind.CHAT, 3),
)
# Mostly statuses that count as contact; some bounced / failed / busy / not held.
STATUS_WEIGHTS = {
    Kind.EMAIL: (("sent", 56), ("received", 37), ("bounced", 4), ("queued", 1), ("draft", 1), ("failed", 1)),
    Kind.EMAIL_CAMPAIGN: (("sent", 91), ("bounced", 6), ("failed", 2), ("queued", 1)),
    Kind.PHONE_CALL: (("completed", 66), ("hangup", 5), ("busy", 9), ("no_answer", 14), ("failed", 3), ("canceled", 3)),
    Kind.SMS: (("delivered", 58), ("dispatched", 10), ("received", 24), ("failed", 6), ("queued", 2)),
    Kind.EVENT: (("held", 85), ("not_held", 15)),
    Kind.CHAT: (("sent", 50), ("received", 50)),
}
HOURS = tuple(range(7, 20))
HOUR_WEIGHTS = (2, 6, 10, 11, 10, 6, 7, 10, 10, 8, 6, 3, 1)
US_AREA_CODES = (
    201, 202, 203, 206, 212, 213, 214, 215, 216, 217, 224, 281, 301, 303, 305, 310, 312, 313, 314, 315, 317, 320,
    323, 347, 360, 385, 401, 402, 404, 405, 407, 408, 410, 412, 414, 415, 425, 469, 480, 502, 503, 504, 505, 510,
    512, 513, 515, 518, 520, 541, 559, 561, 571, 585, 602, 608, 612, 614, 615, 617, 619, 626, 646, 650, 651, 678,
    702, 703, 704, 713, 714, 718, 720, 773, 781, 801, 808, 813, 816, 818, 832, 858, 860, 901, 904, 916, 917, 919,
    925, 949, 952, 954, 971, 972, 978,
)
CA_AREA_CODES = (416, 514, 604, 613, 403, 905)


def _weighted(pairs) -> tuple[tuple, list[float]]:
    values, cum, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cum.append(total)
    return tuple(values), cum


def _index(rng: random.Random, cum: list[float]) -> int:
    """``rng.choices(range(len(cum)), cum_weights=cum)[0]`` (the same draw),
    without its per-call overhead: this runs a million times."""
    return bisect.bisect(cum, rng.random() * cum[-1], 0, len(cum) - 1)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and (c.isalnum() or c in " -")).strip()


def _slug(text: str) -> str:
    return "-".join(_ascii(text).lower().split())


def anchor_day() -> datetime:
    """The start of today (UTC): all demo times are offsets from it."""
    return timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def scaled_counts(scale: float) -> dict[str, int]:
    counts = {name: max(1, round(n * scale)) for name, n in BASE_COUNTS.items()}
    counts["reps"] = max(len(TEAMS), counts["reps"])
    counts["held_events"] = min(counts["held_events"], counts["touchpoints"] // 10)
    return counts


# --- progress -----------------------------------------------------------------------


class Progress:
    """What load() reports to; the management command draws it with rich."""

    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


@dataclass
class Summary:
    seed: int
    scale: float
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    portal_email: str | None = None

    def line(self) -> str:
        c = self.counts
        return (
            f"Demo loaded in {self.seconds:.1f} s (seed {self.seed}, scale {self.scale:g}): "
            f"{c['users']:,} users, {c['organizations']:,} organizations, {c['contacts']:,} contacts, "
            f"{c['deals']:,} deals, {c['touchpoints']:,} touchpoints, {c['events']:,} events, {c['tasks']:,} tasks. "
            f"Sign in as {ADMIN_USERNAME} / {PASSWORD}."
            + (f" Customer portal (/portal/): {self.portal_email} / {PASSWORD}." if self.portal_email else "")
        )


# --- in-memory records ------------------------------------------------------------------


@dataclass
class Rep:
    user: User
    tz: tzinfo
    region: str
    weight: float


@dataclass
class Org:
    name: str
    short: str
    domain: str
    region: str
    industry: str
    owner: int | None  # index into reps
    created_day: int
    weight: float
    contacts: list[int] = field(default_factory=list)
    id: int | None = None


@dataclass
class Person:
    first: str
    last: str
    title: str
    org: int | None
    owner: int | None
    created_day: int
    region: str
    id: int | None = None


@dataclass
class DealRow:
    name: str
    org: int | None
    owner: int | None
    created_day: int
    created_at: datetime
    closed_day: int | None
    closed_at: datetime | None
    stage: str
    stale: bool = False  # open long past its time: hardly worked any more
    contacts: list[int] = field(default_factory=list)
    id: int | None = None


class Clock:
    """Days are numbered 0..DAYS-1, the last being yesterday (UTC). Activity
    grows over time and is light at weekends; times fall in business hours
    in the owner's zone and always before today."""

    def __init__(self, rng: random.Random, anchor: datetime):
        self.rng = rng
        self.anchor = anchor
        self.first = anchor.date() - timedelta(days=DAYS)
        self.cum: list[float] = []
        total = 0.0
        for d in range(DAYS):
            weekend = (self.first + timedelta(days=d)).weekday() >= 5
            total += (1.0 + 0.3 * d / DAYS) * (0.08 if weekend else 1.0)
            self.cum.append(total)
        self.hours, self.hour_cum = _weighted(zip(HOURS, HOUR_WEIGHTS))

    def day(self, lo: int = 0, hi: int = DAYS - 1) -> int:
        lo, hi = max(0, lo), min(DAYS - 1, hi)
        if lo >= hi:
            return min(lo, DAYS - 1)
        base = self.cum[lo - 1] if lo else 0.0
        u = base + self.rng.random() * (self.cum[hi] - base)
        return min(bisect.bisect_right(self.cum, u, lo, hi + 1), hi)

    def date_of(self, d: int) -> date:
        return self.first + timedelta(days=d)

    def at(self, d: int, tz: tzinfo, minute_step: int = 1) -> datetime:
        """A business-hours moment on day ``d`` in zone ``tz``, as UTC."""
        rng = self.rng
        day = self.first + timedelta(days=d)
        hour = self.hours[_index(rng, self.hour_cum)]
        minute = rng.randrange(0, 60, minute_step)
        second = rng.randrange(60) if minute_step == 1 else 0
        moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz).astimezone(UTC)
        while moment >= self.anchor:
            moment -= timedelta(days=1)
        return moment


class PhoneBook:
    """Unique E.164 numbers from ranges reserved for fiction."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _draw(self, region: str) -> str:
        rng = self.rng
        if region == "GB":
            prefix = rng.choice(("+44207946", "+44113496", "+44161496", "+44121496", "+44131496", "+44289018"))
            return f"{prefix}0{rng.randrange(1000):03d}"
        if region == "AU":
            if rng.random() < 0.3:
                return f"+61491570{rng.randrange(6, 160):03d}"
            return f"{rng.choice(('+612555', '+613701', '+617555', '+618701'))}0{rng.randrange(10000):04d}"
        area = rng.choice(CA_AREA_CODES) if rng.random() < 0.1 else rng.choice(US_AREA_CODES)
        return f"+1{area}55501{rng.randrange(100):02d}"

    def number(self, region: str) -> str:
        for _ in range(8):
            candidate = self._draw(region)
            if candidate not in self.used:
                break
        self.used.add(candidate)  # past the fictional ranges' size, numbers repeat
        return candidate


class Words(dict):
    """Placeholder values for a subject template, drawn only when the
    template uses them (``str.format_map``)."""

    def __init__(self, rng: random.Random, local: datetime, person: Person | None, org: Org | None):
        super().__init__(first=person.first if person else "there", company=org.short if org else "your team")
        self.rng = rng
        self.local = local

    DRAW = {
        "product": lambda rng, local: rng.choice(PRODUCTS),
        "topic": lambda rng, local: rng.choice(TOPICS),
        "weekday": lambda rng, local: (local + timedelta(days=rng.randint(1, 4))).strftime("%A"),
        "clock": lambda rng, local: f"{rng.choice((9, 10, 11, 13, 14, 15, 16))}:{rng.choice(('00', '30'))}",
        "month": lambda rng, local: local.strftime("%B"),
        "quarter": lambda rng, local: f"Q{(local.month - 1) // 3 + 1}",
        "n": lambda rng, local: rng.randrange(1000, 9999),
        "v": lambda rng, local: rng.randint(2, 5),
    }

    def __missing__(self, key: str):
        value = self[key] = self.DRAW[key](self.rng, self.local)
        return value


# --- the generator ----------------------------------------------------------------------


class Demo:
    def __init__(self, seed: int, scale: float, progress: Progress, anchor: datetime):
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.progress = progress
        self.counts = scaled_counts(scale)
        self.clock = Clock(self.rng, anchor)
        self.anchor = anchor
        self.phones = PhoneBook(self.rng)
        self.reps: list[Rep] = []
        self.orgs: list[Org] = []
        self.people: list[Person] = []
        self.deals: list[DealRow] = []
        self.held_types = _weighted(HELD_EVENT_TYPES)
        self.external_n = 0
        self.portal_email: str | None = None

    # -- helpers --

    def pick(self, pairs_cache: tuple[tuple, list[float]]):
        values, cum = pairs_cache
        return values[_index(self.rng, cum)]

    def rep_index(self) -> int:
        return _index(self.rng, self.rep_cum)

    def words(self, when: datetime, person: Person | None, org: Org | None, tz: tzinfo) -> Words:
        return Words(self.rng, when.astimezone(tz), person, org)

    # -- phases --

    def create_users(self) -> None:
        rng = self.rng
        n = self.counts["reps"]
        self.progress.phase("Users", n + 2)
        created: list[int] = []

        def make(username: str, **kwargs) -> User:
            # A user who is already there (say, demo-admin made by hand) is kept as is.
            user = User.objects.filter(username=username).first()
            if user is None:
                user = do_create_user(username, email=f"{username}@demo.example", **kwargs)
                created.append(user.id)
            self.progress.advance()
            return user

        make(ADMIN_USERNAME, role=Role.ADMIN, time_zone="UTC", first_name="Demo", last_name="Admin")
        make(MANAGER_USERNAME, role=Role.MANAGER, time_zone="America/Chicago", first_name="Morgan", last_name="Reyes")
        taken = {ADMIN_USERNAME, MANAGER_USERNAME}
        for i in range(n):
            team, zones = TEAMS[i % len(TEAMS)]
            tz_name = zones[(i // len(TEAMS)) % len(zones)]
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                username = f"{_ascii(first)}.{_ascii(last)}".lower().replace(" ", "").replace("'", "")
                if username not in taken:
                    break
            taken.add(username)
            user = make(username, role=Role.REP, team_name=team, time_zone=tz_name, first_name=first, last_name=last)
            self.reps.append(Rep(user, ZoneInfo(tz_name), TEAM_REGION[team], rng.lognormvariate(0, 0.35)))
        # One hash for everyone (PBKDF2 takes ~0.4 s per call): the demo
        # password is the same for all demo users anyway.
        if created:
            User.objects.filter(id__in=created).update(password=make_password(PASSWORD))
        _, self.rep_cum = _weighted((i, r.weight) for i, r in enumerate(self.reps))

    def create_organizations(self) -> None:
        rng = self.rng
        n = self.counts["organizations"]
        self.progress.phase("Organizations", n)
        heads = NAME_HEADS
        names: set[str] = set()
        # Skew: a few big organizations and a long tail of small ones
        # (Zipf-like weights over a shuffled rank).
        ranks = list(range(1, n + 1))
        rng.shuffle(ranks)
        for i in range(n):
            owner = None if rng.random() < 0.03 else self.rep_index()
            region = self.reps[owner].region if owner is not None else rng.choice(("US", "US", "GB", "AU"))
            for attempt in range(50):
                head = rng.choice(heads) if rng.random() < 0.7 else rng.choice(NAME_ROOTS) + rng.choice(NAME_JOINS)
                tail, industry = rng.choice(NAME_TAILS)
                short = f"{head} {tail}" if attempt < 40 else f"{head} {tail} {rng.randint(2, 99)}"
                if short not in names:
                    break
            names.add(short)
            suffixes = LEGAL_SUFFIX[region]
            suffix = rng.choices([s for s, _ in suffixes], weights=[w for _, w in suffixes])[0]
            created_day = -rng.randint(1, 1500) if rng.random() < 0.75 else rng.randint(0, DAYS - 60)
            self.orgs.append(
                Org(
                    name=f"{short} {suffix}".strip(),
                    short=short,
                    domain=f"{_slug(short)}.example",
                    region=region,
                    industry=industry,
                    owner=owner,
                    created_day=created_day,
                    weight=ranks[i] ** -0.8,
                )
            )
        rows = []
        for org in self.orgs:
            rows.append(
                Organization(
                    name=org.name,
                    website=f"https://www.{org.domain}",
                    phone=self.phones.number(org.region),
                    industry=org.industry,
                    owner_id=self.reps[org.owner].user.id if org.owner is not None else None,
                )
            )
        self._bulk_create(Organization, rows)
        for org, row in zip(self.orgs, rows):
            org.id = row.id
        self._set_created_at(Organization, [(org.id, self._created_at(org.created_day, org.owner)) for org in self.orgs])

    def _bulk_create(self, model, rows: list) -> None:
        """bulk_create in BULK_SIZE statements, advancing the progress bar;
        the rows get their ids (SQLite and PostgreSQL both return them)."""
        for start in range(0, len(rows), BULK_SIZE):
            chunk = rows[start : start + BULK_SIZE]
            model.objects.bulk_create(chunk)
            self.progress.advance(len(chunk))

    def _created_at(self, day: int, owner: int | None) -> datetime:
        tz = self.reps[owner].tz if owner is not None else UTC
        return self.clock.at(day, tz)

    def _set_created_at(self, model, pairs: list[tuple[int, datetime]]) -> None:
        """created_at is auto_now_add (bulk_create stamps "now"); back-date it."""
        field_ = model._meta.get_field("created_at")
        params = [(field_.get_db_prep_save(when, connection), rid) for rid, when in pairs]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET created_at = %s WHERE id = %s", params)

    def create_contacts(self) -> None:
        rng = self.rng
        n = self.counts["contacts"]
        n_orgs = len(self.orgs)
        self.progress.phase("Contacts", n)
        in_org = min(n, max(n_orgs, round(n * 0.92)))
        # Every organization gets one contact; the rest follow the skew.
        members = list(range(n_orgs))[:in_org]
        org_cum = list(_weighted((i, org.weight) for i, org in enumerate(self.orgs))[1])
        members += rng.choices(range(n_orgs), cum_weights=org_cum, k=in_org - len(members))
        members += [None] * (n - in_org)
        rng.shuffle(members)
        titles = _weighted(TITLES)
        for org_i in members:
            org = self.orgs[org_i] if org_i is not None else None
            if org is not None:
                owner = org.owner if rng.random() < 0.92 or org.owner is None else self._teammate(org.owner)
                created_day = org.created_day if rng.random() < 0.6 else rng.randint(org.created_day, DAYS - 20)
                region = org.region
            else:
                owner = self.rep_index()
                created_day = rng.randint(-900, DAYS - 20)
                region = self.reps[owner].region
            person = Person(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), self.pick(titles), org_i, owner, created_day, region)
            if org is not None:
                org.contacts.append(len(self.people))
            self.people.append(person)
        # Activity per contact is skewed too: most are quiet, a few are busy.
        self.person_cum = list(_weighted((i, rng.lognormvariate(0, 1.0)) for i in range(len(self.people)))[1])

        rows = [
            Contact(
                first_name=p.first,
                last_name=p.last,
                title=p.title,
                organization_id=self.orgs[p.org].id if p.org is not None else None,
                owner_id=self.reps[p.owner].user.id if p.owner is not None else None,
            )
            for p in self.people
        ]
        self._bulk_create(Contact, rows)
        for person, row in zip(self.people, rows):
            person.id = row.id
        self._set_created_at(Contact, [(p.id, self._created_at(p.created_day, p.owner)) for p in self.people])

        emails, phones, taken = [], [], set()
        for p in self.people:
            first, last = _ascii(p.first).lower(), _ascii(p.last).lower().replace(" ", "")
            domain = self.orgs[p.org].domain if p.org is not None else rng.choice(("inbox.example", "mail.example", "post.example"))
            addresses = []
            if rng.random() < 0.95:
                style = rng.random()
                local = f"{first}.{last}" if style < 0.6 else f"{first[0]}{last}" if style < 0.85 else first
                address = f"{local}@{domain}"
                k = 2
                while address in taken:
                    address = f"{local}{k}@{domain}"
                    k += 1
                addresses.append(address)
            if rng.random() < 0.1:
                addresses.append(f"{first}.{last}.{rng.randrange(10, 99)}@{rng.choice(('inbox.example', 'mail.example'))}")
            for position, address in enumerate(dict.fromkeys(addresses)):
                if address not in taken:
                    taken.add(address)
                    emails.append(ContactEmail(contact_id=p.id, email=address, position=position))
            if rng.random() < 0.85:
                numbers = [self.phones.number(p.region)]
                if rng.random() < 0.15:
                    numbers.append(self.phones.number(p.region))
                for position, number in enumerate(dict.fromkeys(numbers)):
                    phones.append(ContactPhone(contact_id=p.id, number=number, position=position))
        ContactEmail.objects.bulk_create(emails, batch_size=BULK_SIZE)
        ContactPhone.objects.bulk_create(phones, batch_size=BULK_SIZE)

    def _teammate(self, rep: int) -> int:
        team = self.reps[rep].user.team_id
        mates = [i for i, r in enumerate(self.reps) if r.user.team_id == team]
        return self.rng.choice(mates)

    def create_deals(self) -> None:
        rng = self.rng
        n = self.counts["deals"]
        self.progress.phase("Deals", n)
        org_cum = list(_weighted((i, org.weight**0.7) for i, org in enumerate(self.orgs))[1])
        loners = [i for i, p in enumerate(self.people) if p.org is None]
        roles = _weighted(
            ((ContactRole.INFLUENCER, 4), (ContactRole.EVALUATOR, 3), (ContactRole.USER, 3), (ContactRole.OTHER, 1))
        )
        for _ in range(n):
            # The day first, then an organization that existed by then, so
            # deals do not bunch up at the end with the newest customers.
            # Some of the pipeline open at the start of the window was
            # opened shortly before it.
            created_day = -rng.randint(1, 60) if rng.random() < 0.1 else self.clock.day(0, DAYS - 2)
            org_i = None
            if not (rng.random() < 0.05 and loners):
                for _attempt in range(20):
                    org_i = _index(rng, org_cum)
                    if self.orgs[org_i].created_day <= created_day:
                        break
                created_day = max(created_day, self.orgs[org_i].created_day)
            org = self.orgs[org_i] if org_i is not None else None
            if org is not None:
                pool = org.contacts
                owner = org.owner
            else:
                pool = [rng.choice(loners)]
                owner = self.people[pool[0]].owner
            owner = owner if owner is not None else self.rep_index()
            tz = self.reps[owner].tz
            created_at = self.clock.at(created_day, tz)
            length = int(rng.lognormvariate(math.log(45), 0.6)) + 3
            stale = False
            closed_day = created_day + length
            if closed_day <= DAYS - 1 and rng.random() < 0.93:
                stage = DealStage.CLOSED_WON if rng.random() < 0.38 else DealStage.CLOSED_LOST
                closed_at = max(self.clock.at(closed_day, tz), created_at + timedelta(hours=1))
            elif closed_day <= DAYS - 1:  # a stale deal nobody closed
                stage = rng.choice((DealStage.QUALIFICATION, DealStage.PROPOSAL, DealStage.NEGOTIATION))
                closed_day, closed_at, stale = None, None, True
            else:
                progress = min(1.0, (DAYS - 1 - created_day) / length + rng.uniform(-0.15, 0.15))
                stages = (DealStage.PROSPECTING, DealStage.QUALIFICATION, DealStage.PROPOSAL, DealStage.NEGOTIATION)
                stage = stages[min(3, max(0, int(progress * 4)))]
                closed_day, closed_at = None, None
            product = rng.choice(PRODUCTS)
            suffix = rng.choice(DEAL_SUFFIXES).format(seats=rng.choice((10, 25, 50, 100, 250)))
            if org is not None:
                name = f"{org.short} – {product}{suffix}"
            else:
                p = self.people[pool[0]]
                name = f"{product} for {p.first} {p.last}"
            deal = DealRow(name, org_i, owner, created_day, created_at, closed_day, closed_at, stage, stale)
            # The deal's contacts: people already there when it was opened.
            eligible = [c for c in pool if self.people[c].created_day <= created_day] or list(pool)
            k = min(len(eligible), rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0])
            deal.contacts = rng.sample(eligible, k)
            self.deals.append(deal)
        rows = []
        for deal in self.deals:
            amount = Decimal(max(1000, round(rng.lognormvariate(math.log(24000), 0.9), -2))).quantize(Decimal("0.01"))
            if deal.closed_at is not None:
                expected = deal.closed_at.date()
            else:
                expected = max(self.anchor.date() + timedelta(days=rng.randint(7, 60)), self.clock.date_of(deal.created_day + 60))
            rows.append(
                Deal(
                    name=deal.name,
                    organization_id=self.orgs[deal.org].id if deal.org is not None else None,
                    owner_id=self.reps[deal.owner].user.id,
                    stage=deal.stage,
                    amount=amount,
                    expected_close_date=expected,
                    closed_at=deal.closed_at,
                    created_at=deal.created_at,
                )
            )
        self._bulk_create(Deal, rows)
        links = []
        for deal, row in zip(self.deals, rows):
            deal.id = row.id
            for j, c in enumerate(deal.contacts):
                role = (ContactRole.DECISION_MAKER if rng.random() < 0.5 else ContactRole.CHAMPION) if j == 0 else self.pick(roles)
                links.append(DealContact(deal_id=deal.id, contact_id=self.people[c].id, role=role))
        DealContact.objects.bulk_create(links, batch_size=BULK_SIZE)

    def create_planned_work(self) -> None:
        """Planned events and tasks for Up Next: some overdue, most coming up."""
        rng = self.rng
        n_events, n_tasks = self.counts["planned_events"], self.counts["tasks"]
        self.progress.phase("Planned events and tasks", n_events + n_tasks)
        today = self.anchor.date()
        open_deals = [d for d in self.deals if d.closed_at is None] or self.deals
        event_types = _weighted(PLANNED_EVENT_TYPES)
        events, event_contacts = [], []
        for _ in range(n_events):
            deal = rng.choice(open_deals) if rng.random() < 0.75 else None
            if deal is not None:
                owner, org_i, people = deal.owner, deal.org, deal.contacts
            else:
                c = _index(rng, self.person_cum)
                person = self.people[c]
                owner, org_i, people = person.owner if person.owner is not None else self.rep_index(), person.org, [c]
            rep = self.reps[owner]
            offset = -rng.randint(1, 14) if rng.random() < 0.2 else rng.randint(0, 30)
            day = today + timedelta(days=offset)
            start = datetime(day.year, day.month, day.day, rng.randint(8, 16), rng.choice((0, 30)), tzinfo=rep.tz).astimezone(UTC)
            event_type = self.pick(event_types)
            org = self.orgs[org_i] if org_i is not None else None
            person = self.people[people[0]] if people else None
            subject = rng.choice(SUBJECTS[event_type]).format_map(self.words(start, person, org, rep.tz))
            events.append(
                Event(
                    subject=subject,
                    event_type=event_type,
                    status=EventStatus.PLANNED,
                    start_at=start,
                    end_at=start + timedelta(minutes=rng.choice((30, 30, 45, 60, 60, 90))),
                    owner_id=rep.user.id,
                    deal_id=deal.id if deal is not None else None,
                    organization_id=org.id if org is not None else None,
                )
            )
            event_contacts.append(people)
        Event.objects.bulk_create(events, batch_size=BULK_SIZE)
        Through = Event.contacts.through
        Through.objects.bulk_create(
            [Through(event_id=e.id, contact_id=self.people[c].id) for e, people in zip(events, event_contacts) for c in dict.fromkeys(people)],
            batch_size=BULK_SIZE,
        )
        self.progress.advance(n_events)

        tasks = []
        for _ in range(n_tasks):
            roll = rng.random()
            deal = rng.choice(open_deals) if roll < 0.5 else None
            c = _index(rng, self.person_cum)
            person = self.people[c]
            if deal is not None:
                owner, org_i = deal.owner, deal.org
                person = self.people[deal.contacts[0]] if deal.contacts else person
            else:
                owner, org_i = person.owner if person.owner is not None else self.rep_index(), person.org
            org = self.orgs[org_i] if org_i is not None else None
            state = rng.random()
            if state < 0.3:
                due, status = today - timedelta(days=rng.randint(1, 21)), rng.choice((TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.DEFERRED))
            elif state < 0.75:
                due, status = today + timedelta(days=rng.randint(0, 30)), rng.choice((TaskStatus.NOT_STARTED, TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS))
            else:
                due, status = today - timedelta(days=rng.randint(1, 90)), TaskStatus.COMPLETED
            rep = self.reps[owner]
            completed_at = None
            if status == TaskStatus.COMPLETED:
                completed_at = self.clock.at(DAYS - (today - due).days - rng.randint(0, 2), rep.tz)
            title = rng.choice(TASK_TITLES).format_map(self.words(self.anchor, person, org, rep.tz))
            tasks.append(
                Task(
                    title=title,
                    due_date=due,
                    status=status,
                    completed_at=completed_at,
                    owner_id=rep.user.id,
                    deal_id=deal.id if deal is not None else None,
                    organization_id=org.id if deal is None and org is not None and roll < 0.65 else None,
                    contact_id=person.id if deal is None and (org is None or roll >= 0.65) else None,
                )
            )
        Task.objects.bulk_create(tasks, batch_size=BULK_SIZE)
        self.progress.advance(n_tasks)

    def create_held_events(self) -> int:
        """Past meetings entered the real way: an Event marked held (or not
        held) by its owner through activities.services, which records the
        event's touchpoint."""
        rng = self.rng
        n = self.counts["held_events"]
        self.progress.phase("Held meetings", n)
        candidates = [d for d in self.deals if d.contacts and self._days_open(d)] or self.deals
        event_types = _weighted(HELD_EVENT_TYPES)
        for _ in range(n):
            deal = rng.choice(candidates)
            rep = self.reps[deal.owner]
            end_day = deal.closed_day if deal.closed_day is not None else DAYS - 1
            start = self.clock.at(self.clock.day(deal.created_day, end_day), rep.tz, minute_step=15)
            if deal.closed_at is not None:
                start = min(start, deal.closed_at - timedelta(hours=1))
            start = max(start, deal.created_at)
            event_type = self.pick(event_types)
            held = rng.random() < 0.85
            org = self.orgs[deal.org] if deal.org is not None else None
            person = self.people[deal.contacts[0]] if deal.contacts else None
            data = {
                "subject": rng.choice(SUBJECTS[event_type]).format_map(self.words(start, person, org, rep.tz)),
                "event_type": event_type,
                "status": EventStatus.HELD if held else EventStatus.NOT_HELD,
                "start_at": start,
                "end_at": start + timedelta(minutes=rng.choice((30, 45, 60, 60, 90))),
                "description": rng.choice(SUMMARIES["event"]) if held and rng.random() < 0.6 else "",
                "emoticon": rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 5, 8, 5))[0] if held and rng.random() < 0.6 else None,
                "deal_id": deal.id,
                "organization_id": org.id if org is not None else None,
                "contact_ids": [self.people[c].id for c in deal.contacts],
            }
            do_create_event(rep.user, data)
            self.progress.advance()
        return n

    # -- touchpoints --

    def create_touchpoints(self, total: int) -> None:
        rng = self.rng
        self.progress.phase("Touchpoints", total)
        general = _weighted(GENERAL_KINDS)
        deal_kinds = _weighted(DEAL_KINDS)
        statuses = {kind: _weighted(pairs) for kind, pairs in STATUS_WEIGHTS.items()}
        # A deal is worked at a steady rate while it is open (a stale one
        # hardly at all): weight by days open in the window.
        workable = [i for i, d in enumerate(self.deals) if d.contacts and self._days_open(d)]
        deal_cum = list(
            _weighted(
                (i, self._days_open(d) * (1.0 + 0.3 * len(d.contacts)) * (0.1 if d.stale else 1.0))
                for i, d in ((i, self.deals[i]) for i in workable)
            )[1]
        )
        campaign_days = [d for d in range(3, DAYS, 14)]
        campaign_times = [
            datetime.combine(self.clock.date_of(d), datetime.min.time(), tzinfo=UTC) + timedelta(hours=rng.choice((14, 15, 16)))
            for d in campaign_days
        ]
        campaign_subjects = [rng.choice(CAMPAIGNS).format_map(Words(rng, when, None, None)) for when in campaign_times]
        buckets: dict[int, list[NewTouchpoint]] = {}
        made = 0
        while made < total:
            deal = None
            if workable and rng.random() < 0.4:
                deal = self.deals[workable[_index(rng, deal_cum)]]
                c = rng.choice(deal.contacts)
                person = self.people[c]
                end_day = deal.closed_day if deal.closed_day is not None else DAYS - 1
                day = self.clock.day(max(deal.created_day, person.created_day), end_day)
                kind = self.pick(deal_kinds)
                owner = deal.owner
            else:
                # The day first, then someone who was a contact by then (so
                # new contacts do not crowd the last weeks).
                day = self.clock.day()
                for _attempt in range(10):
                    person = self.people[_index(rng, self.person_cum)]
                    if person.created_day <= day:
                        break
                day = max(day, person.created_day)
                kind = self.pick(general)
                owner = person.owner if person.owner is not None else self.rep_index()
            rep = self.reps[owner]
            org = self.orgs[person.org] if person.org is not None else None
            if kind == Kind.EMAIL_CAMPAIGN:
                k = bisect.bisect_left(campaign_days, max(0, person.created_day))
                if k >= len(campaign_days):
                    kind = Kind.EMAIL
            if kind == Kind.EMAIL_CAMPAIGN:
                k = rng.randrange(k, len(campaign_days))
                when = campaign_times[k] + timedelta(seconds=rng.randrange(0, 1800))
            else:
                when = self.clock.at(day, rep.tz, minute_step=15 if kind == Kind.EVENT else 1)
            if deal is not None:
                when = max(when, deal.created_at)
                if deal.closed_at is not None:
                    when = min(when, deal.closed_at)
            items = self.touchpoint(kind, when, statuses, person, org, deal, rep, campaign_subjects[k] if kind == Kind.EMAIL_CAMPAIGN else None)
            bucket = buckets.setdefault(owner, [])
            for item in items[: total - made]:
                bucket.append(item)
                made += 1
            if len(bucket) >= BATCH_SIZE:
                self._flush(owner, bucket)
                buckets[owner] = []
        for owner in sorted(buckets):
            if buckets[owner]:
                self._flush(owner, buckets[owner])

    @staticmethod
    def _days_open(deal: DealRow) -> int:
        """How many days of the window the deal was open."""
        return max(0, (deal.closed_day if deal.closed_day is not None else DAYS - 1) - max(0, deal.created_day) + 1)

    def _flush(self, owner: int, items: list[NewTouchpoint]) -> None:
        record_touchpoints(self.reps[owner].user, items, checked=True)
        self.progress.advance(len(items))

    def _new(self, **kwargs) -> NewTouchpoint:
        self.external_n += 1
        return NewTouchpoint(source=Source.DEMO, external_id=f"demo-{self.external_n}", **kwargs)

    def touchpoint(self, kind, when, statuses, person, org, deal, rep, campaign_subject) -> list[NewTouchpoint]:
        rng = self.rng
        w = self.words(when, person, org, rep.tz)
        contacts = [person.id]
        deal_ids: list[int] = []
        org_ids: list[int] = []
        status = self.pick(statuses[kind]) if kind in statuses else None
        direction = None
        duration = None
        sentiment = None
        emoticon = None
        event_type = None
        summary = ""
        if kind == Kind.EMAIL:
            inbound = status == "received"
            direction = Direction.INBOUND if inbound else Direction.OUTBOUND
            subject = rng.choice(SUBJECTS["email_in" if inbound else "email_out"])
            if inbound and rng.random() < 0.7:
                sentiment = round(max(-1.0, min(1.0, rng.gauss(0.2, 0.4))), 2)
            if org is not None and len(org.contacts) > 1 and rng.random() < 0.12:
                contacts.append(self.people[rng.choice(org.contacts)].id)
        elif kind == Kind.EMAIL_CAMPAIGN:
            direction = Direction.OUTBOUND
            subject = campaign_subject
        elif kind == Kind.PHONE_CALL:
            if status == "completed":
                inbound = rng.random() < 0.25
                subject = rng.choice(SUBJECTS["call_in" if inbound else "call_out"])
                direction = Direction.INBOUND if inbound else Direction.OUTBOUND
                duration = min(5400, max(20, int(rng.lognormvariate(math.log(420), 0.8))))
                sentiment = round(max(-1.0, min(1.0, rng.gauss(0.25, 0.35))), 2) if rng.random() < 0.5 else None
                summary = rng.choice(SUMMARIES["call"]) if rng.random() < 0.4 else ""
            elif status == "hangup":
                subject, direction, duration = rng.choice(SUBJECTS["call_out"]), rng.choice(tuple(Direction)), rng.randint(3, 40)
            else:
                subject, direction = rng.choice(SUBJECTS["call_missed"]), Direction.OUTBOUND
            if deal is not None and rng.random() < 0.6:
                deal_ids.append(deal.id)
        elif kind == Kind.SMS:
            inbound = status == "received"
            direction = Direction.INBOUND if inbound else Direction.OUTBOUND
            subject = rng.choice(SUBJECTS["sms_in" if inbound else "sms_out"])
        elif kind == Kind.EVENT:
            event_type = self.pick(self.held_types)
            subject = rng.choice(SUBJECTS[event_type])
            duration = rng.choice((1800, 2700, 3600, 3600, 5400))
            if status == "held":
                emoticon = rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 5, 8, 5))[0] if rng.random() < 0.5 else None
                summary = rng.choice(SUMMARIES["event"]) if rng.random() < 0.5 else ""
            pool = deal.contacts if deal is not None else (org.contacts if org is not None else [])
            if len(pool) > 1 and rng.random() < 0.35:
                contacts.append(self.people[rng.choice(pool)].id)
            if deal is not None and rng.random() < 0.7:
                deal_ids.append(deal.id)
        elif kind == Kind.CHAT:
            inbound = status == "received"
            direction = Direction.INBOUND if inbound else Direction.OUTBOUND
            subject = rng.choice(SUBJECTS["chat_in" if inbound else "chat_out"])
        elif kind == Kind.NOTE:
            subject = rng.choice(SUBJECTS["note"])
            summary = rng.choice(SUMMARIES["note"]) if rng.random() < 0.5 else ""
            if deal is not None and rng.random() < 0.5:
                deal_ids.append(deal.id)
                contacts = []
            elif org is not None and rng.random() < 0.3:
                org_ids.append(org.id)
                contacts = []
        return [
            self._new(
                kind=kind,
                occurred_at=when,
                status=status,
                direction=direction,
                duration_seconds=duration,
                subject=subject.format_map(w),
                summary=summary,
                sentiment=sentiment,
                emoticon=emoticon,
                event_type=event_type,
                owner_id=rep.user.id,
                contact_ids=list(dict.fromkeys(contacts)),
                organization_ids=org_ids,
                deal_ids=deal_ids,
            )
        ]

    def index_rebuilt(self, name: str, done: int, total: int) -> None:
        if done == 0:
            self.progress.phase("Timeline indexes", total)
        else:
            self.progress.advance()

    # -- all --

    def run(self) -> None:
        self.create_users()
        self.create_organizations()
        self.create_contacts()
        self.create_deals()
        self.create_planned_work()
        held = self.create_held_events()
        mail = self.create_mail()
        calls = self.create_calls()
        indirect = self.create_indirect()
        self.create_touchpoints(self.counts["touchpoints"] - held - mail - calls - indirect)
        self.create_automation()

    def create_automation(self) -> None:
        """Saved lists, two workflows, the Smart Alerts configuration and a
        first alert scan (issue #7), through their apps' services."""
        from automation.demo import demo_automation

        self.progress.phase("Lists, workflows and alerts", 1)
        admin = User.objects.get(username=ADMIN_USERNAME)
        manager = User.objects.get(username=MANAGER_USERNAME)
        demo_automation(admin, manager, [rep.user for rep in self.reps], self.anchor)
        self.progress.advance()

    def create_indirect(self) -> int:
        """Documents shared with contacts and organizations, cases in every
        status with comments, and a customer portal account with one visit
        (issue #6), each through its app's own service."""
        from cases.demo import demo_cases
        from documents.demo import demo_documents
        from portal.demo import demo_portal

        self.progress.phase("Documents and cases", len(self.reps))
        made = 0
        first_contacts: list[int] = []
        for rep in self.reps:
            mine = [p.id for p in self.people if p.owner is not None and self.reps[p.owner] is rep and p.id is not None][:6]
            first_contacts = first_contacts or mine
            made += demo_documents(self.rng, rep.user, mine, self.anchor)
            # The first contact of each of the rep's first five deals, as documents.demo shares with.
            firsts: dict[int, int] = {}
            for deal_id, contact_id in DealContact.objects.filter(deal__owner=rep.user).order_by("deal_id", "id").values_list("deal_id", "contact_id"):
                firsts.setdefault(deal_id, contact_id)
            on_deals = list(firsts.values())[:5]
            made += demo_cases(self.rng, rep.user, list(dict.fromkeys(on_deals + mine)), self.anchor)
            self.progress.advance()
        self.portal_email, visits = demo_portal(first_contacts, PASSWORD)
        return made + visits

    def create_calls(self) -> int:
        """A call log and a few texts per rep through the telephony
        channel's own path (issue #5)."""
        from telephony.demo import demo_calls

        self.progress.phase("Calls and SMS", len(self.reps))
        made = 0
        for n, rep in enumerate(self.reps):
            mine = [p.id for p in self.people if p.owner is not None and self.reps[p.owner] is rep and p.id is not None][:8]
            made += demo_calls(self.rng, n, rep.user, mine, self.anchor)
            self.progress.advance()
        return made

    def create_mail(self) -> int:
        """A few real emails per rep (issue #4) through the email channel's
        own ingest path: received mail with quoted history, replies that
        thread, the rep's sent mail with opens and clicks (some from Apple's
        image proxy, reported apart), an auto-reply, and a sender who is not
        a contact yet. The bulk touchpoints above stay plain log rows."""
        from emails.demo import demo_mail  # the email app builds its own rows

        self.progress.phase("Emails", len(self.reps))
        stored = 0
        for n, rep in enumerate(self.reps):
            mine = [p for p in self.people if p.owner is not None and self.reps[p.owner] is rep and p.id is not None][:6]
            stored += demo_mail(self.rng, n, rep.user, [(p.id, p.first, p.last) for p in mine], self.anchor)
            self.progress.advance()
        return stored


def load(seed: int = DEFAULT_SEED, scale: float = 1.0, progress: Progress | None = None, anchor: datetime | None = None) -> Summary:
    """Seed the demo company in one transaction (all or nothing, so an
    interrupted load never leaves a half-filled database behind that
    ``--if-empty`` would then keep)."""
    started = time.monotonic()
    demo = Demo(seed, scale, progress or Progress(), anchor or anchor_day())
    # The log's indexes are built once at the end, not row by row: the
    # generated rows are valid by construction (measured at scale 1 on SQLite: the
    # whole load 57 -> 45 s).
    with transaction.atomic(), deferred_log_indexes(on_rebuild=demo.index_rebuilt):
        demo.run()
    # Sales Insights' reports are ready on the first visit: one pass over the
    # log instead of the worker working through the load's marks.
    demo.progress.phase("Sales Insights", 1)
    insights_refresh.rebuild()
    demo.progress.advance()
    summary = Summary(seed=seed, scale=scale, seconds=time.monotonic() - started, portal_email=demo.portal_email)
    summary.counts = {
        "users": User.objects.count(),
        "organizations": Organization.objects.count(),
        "contacts": Contact.objects.count(),
        "deals": Deal.objects.count(),
        "touchpoints": Touchpoint.objects.count(),
        "events": Event.objects.count(),
        "tasks": Task.objects.count(),
    }
    return summary
