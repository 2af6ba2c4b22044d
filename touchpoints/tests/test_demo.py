"""The demo command: a small, deterministic company loaded through the real
ingest path (scale 0.01: 20 organizations, 100 contacts, 30 deals, 2,000
touchpoints)."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from accounts.models import Role, Team, User
from activities.models import Event, EventStatus, Task, TaskStatus
from alerts.models import Notification
from crm.models import CLOSED_STAGES, Contact, ContactEmail, ContactPhone, Deal, DealContact, Organization
from lists.models import SavedList
from touchpoints import demo
from touchpoints.models import Touchpoint, TouchpointLink
from touchpoints.rules import Kind, Source
from workflows.models import Workflow

SCALE = 0.01

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def same_day(monkeypatch):
    """Pin "today" for the whole test so a run that straddles midnight (UTC)
    still compares like with like."""
    today = demo.anchor_day()
    monkeypatch.setattr(demo, "anchor_day", lambda: today)
    return today


def load(**options) -> str:
    out = StringIO()
    call_command("demo", scale=SCALE, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def counting_max(record_field: str):
    return Subquery(
        TouchpointLink.objects.filter(**{record_field: OuterRef("pk")}, counts=True)
        .order_by()
        .values(record_field)
        .annotate(newest=Max("occurred_at"))
        .values("newest")
    )


def fingerprint() -> dict:
    digest = hashlib.sha256()
    rows = Touchpoint.objects.values_list(
        "source", "external_id", "kind", "status", "direction", "subject", "occurred_at", "owner__username"
    )
    # An event's touchpoint carries the Event's id, which depends on the database's sequence.
    for row in sorted((source, ext if source == Source.DEMO else "", *rest) for source, ext, *rest in rows if source not in AT_LOAD_TIME):
        digest.update(repr(row).encode())
    # Shares and portal visits happen when the demo runs (now), and a case's
    # subject carries its number (the sequence): compare what they are.
    for row in sorted(r[:1] + r[2:5] + r[7:] for r in rows if r[0] in AT_LOAD_TIME):
        digest.update(repr(row).encode())
    for model, fields in (
        (Organization, ("name", "phone", "owner__username")),
        (Contact, ("first_name", "last_name", "organization__name", "last_contacted_on", "last_contacted_via")),
        (Deal, ("name", "stage", "amount", "created_at", "closed_at")),
        (Event, ("subject", "status", "start_at")),
        (Task, ("title", "status", "due_date")),
    ):
        for row in model.objects.order_by("id").values_list(*fields):
            digest.update(repr(row).encode())
    first = Touchpoint.objects.filter(source=Source.DEMO, external_id="demo-1").values_list("subject", flat=True).first()
    return {"touchpoints": Touchpoint.objects.count(), "links": TouchpointLink.objects.count(), "first": first, "digest": digest.hexdigest()}


AT_LOAD_TIME = (Source.DOCUMENT, Source.CASE, Source.PORTAL)


def wipe() -> None:
    from cases.models import Case
    from documents.models import Document
    from telephony.models import Call, Sms

    Case.objects.all().delete()
    Document.objects.all().delete()
    Call.objects.all().delete()  # the channel's logs outlive their touchpoints (SET_NULL)
    Sms.objects.all().delete()
    Touchpoint.objects.all().delete()
    for model in (Event, Task, DealContact, Deal, Contact, Organization, User, Team):
        model.objects.all().delete()


def log_indexes() -> dict:
    """The log tables' indexes and constraints as the database reports them."""
    with connection.cursor() as cursor:
        return {
            model._meta.db_table: connection.introspection.get_constraints(cursor, model._meta.db_table)
            for model in (Touchpoint, TouchpointLink)
        }


def test_demo_loads_a_believable_company(same_day):
    indexes_before = log_indexes()
    output = load()
    # The load defers the log's indexes (touchpoints.bulk): all are back, as they were.
    assert log_indexes() == indexes_before and "tpl_org_timeline_idx" in indexes_before["touchpoints_touchpointlink"]
    assert "200,000" not in output and "2,000 touchpoints" in output

    # Counts follow the scale.
    assert Organization.objects.count() == 20
    assert Contact.objects.count() == 100
    assert Deal.objects.count() == 30
    assert Touchpoint.objects.count() == 2000
    assert 80 <= Contact.objects.exclude(organization=None).count() < 100

    # People: reps in four teams across time zones, a manager, the admin of the README.
    reps = User.objects.filter(role=Role.REP)
    assert reps.count() >= 4
    assert Team.objects.count() == 4 and not reps.filter(team=None).exists()
    assert len(set(reps.values_list("time_zone", flat=True))) >= 4
    assert User.objects.filter(role=Role.MANAGER).exists()
    admin = User.objects.get(username="demo-admin")
    assert admin.role == Role.ADMIN and admin.check_password("demo-password")
    assert reps.first().check_password("demo-password")

    # Contacts reachable by email and E.164 phone.
    assert ContactEmail.objects.count() >= 90
    numbers = list(ContactPhone.objects.values_list("number", flat=True)) + list(Organization.objects.values_list("phone", flat=True))
    assert len(numbers) >= 100
    for number in numbers:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed) and phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number

    # Deals: closed ones carry closed_at, open ones do not; contacts linked with roles.
    for stage, created_at, closed_at in Deal.objects.values_list("stage", "created_at", "closed_at"):
        assert (closed_at is not None) == (stage in CLOSED_STAGES)
        assert created_at < same_day and (closed_at is None or created_at < closed_at < same_day)
    assert Deal.objects.filter(stage__in=CLOSED_STAGES).exists() and Deal.objects.exclude(stage__in=CLOSED_STAGES).exists()
    assert DealContact.objects.count() >= 30 and DealContact.objects.filter(role="decision_maker").exists()

    # Every kind, over the last 18 months, mostly counting, with the odd failure.
    assert set(Touchpoint.objects.values_list("kind", flat=True).distinct()) == set(Kind.values)
    times = Touchpoint.objects.filter(source=Source.DEMO).values_list("occurred_at", flat=True)
    assert min(times) >= same_day - timedelta(days=demo.DAYS + 1) and max(times) < same_day
    for kind, status in (("email", "bounced"), ("sms", "failed"), ("phone_call", "busy"), ("event", "not_held")):
        assert Touchpoint.objects.filter(kind=kind, status=status).exists(), (kind, status)
    assert TouchpointLink.objects.filter(path="direct", counts=True).count() > TouchpointLink.objects.filter(path="direct", counts=False).count()
    assert Touchpoint.objects.exclude(subject="").count() == 2000

    # Held meetings went through activities.services: real events with their touchpoints.
    held = Event.objects.exclude(status=EventStatus.PLANNED)
    assert held.exists() and not held.filter(touchpoint=None).exists()
    assert Touchpoint.objects.filter(source=Source.EVENT).count() == held.count()

    # Up Next: planned events and open tasks, some of them overdue.
    now = timezone.now()
    planned = Event.objects.filter(status=EventStatus.PLANNED)
    assert planned.filter(start_at__lt=now).exists() and planned.filter(start_at__gt=now).exists()
    open_tasks = Task.objects.exclude(status=TaskStatus.COMPLETED)
    assert open_tasks.filter(due_date__lt=same_day.date()).exists() and open_tasks.filter(due_date__gt=same_day.date()).exists()

    # Last Contacted was written by the ingest path: it is the newest counting link, everywhere.
    for model, record_field in ((Contact, "contact"), (Organization, "organization"), (Deal, "deal")):
        rows = list(model.objects.annotate(newest=counting_max(record_field)).values_list("last_contacted_on", "newest"))
        assert all(on == newest for on, newest in rows), model
        assert sum(1 for on, _ in rows if on is not None) > len(rows) // 2, model

    # Automation (issue #7): lists for each rep, a team list and one for everyone; the
    # product's example workflow; Smart Alerts raised for idle deals of the demo's reps.
    assert SavedList.objects.filter(name="My stale contacts").count() == reps.count()
    assert SavedList.objects.filter(shared_with_everyone=True).exists()
    assert Workflow.objects.filter(trigger="schedule", record_type="contact", active=True).exists()
    assert Notification.objects.filter(kind="idle_deal").exists()


def test_same_seed_same_data():
    load(seed=7)
    first = fingerprint()
    assert first["touchpoints"] == 2000 and first["first"]
    wipe()
    load(seed=7)
    assert fingerprint() == first
    wipe()
    load(seed=8)
    assert fingerprint()["digest"] != first["digest"]


def test_if_empty_is_a_no_op_the_second_time():
    load(if_empty=True)
    before = fingerprint()
    assert before["touchpoints"] == 2000
    assert load(if_empty=True) == ""
    assert fingerprint() == before
    with pytest.raises(CommandError, match="already has organizations"):
        load()
