"""The fault test's checks (faults.verify) catch what they claim to catch.

A small world ingested through the API, with the worker's part done in
process, passes every check; then each kind of damage a crash could leave
(a lost or an extra touchpoint, a missing link, a wrong Last Contacted, a
job lost or run twice, a stale rollup cell) is reported by its check. The
fault run itself (./dev test --faults) is too long for the suite.
"""
from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from activities.models import Task
from crm.models import Contact
from faults import verify
from faults import world as world_module
from faults.load import Ledger
from insights import refresh
from insights.models import ActivityCell
from touchpoints.models import Touchpoint, TouchpointLink
from touchpoints.services import NewTouchpoint, record_touchpoints
from workflows import runner
from workflows.models import WorkflowRun


def run_checks(items, world, ledger) -> list[str]:
    return (
        verify.stored_exactly_once(items, ledger)
        + verify.links_as_sent(items, world, ledger)
        + verify.last_contacted(items, world)
        + verify.workflow_jobs(items, world, ledger)
        + verify.insights_rollup(items)
        + ledger.violations
    )


@pytest.fixture
def ingested(db):
    rng = random.Random(7)
    world = world_module.build_world(rng, organizations=4, contacts_per_org=5, job_deals=10)
    items = world_module.make_items(rng, world, 300, "t")
    ledger = Ledger()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.token}")
    for start in range(0, len(items), 150):
        batch = items[start : start + 150]
        response = client.post("/api/v1/touchpoints/batch", json.dumps({"items": [i.json for i in batch]}), content_type="application/json")
        assert response.status_code == 200, response.content[:500]
        ledger.record(batch, response.json())
    # What the worker does: the workflow runs (enqueued after a commit that
    # never comes inside a test's transaction) and the insights refresh.
    for run_id in WorkflowRun.objects.order_by("id").values_list("id", flat=True):
        runner.do_process_run(run_id)
    refresh.refresh()
    return items, world, ledger


def test_an_undamaged_ingest_passes_every_check(ingested):
    assert run_checks(*ingested) == []
    items, world, _ = ingested
    # The world is not trivial: records were contacted, jobs ran.
    assert Contact.objects.filter(last_contacted_on__isnull=False).count() > 10
    assert Task.objects.filter(title=world_module.TASK_TITLE).count() == len(world.deal_org) == 10


def _touchpoint_naming_a_contact(items, ledger, nth: int) -> int:
    item = [i for i in items if i.contact_ids][nth]
    return ledger.acked[(item.source, item.external_id)]


def lose_a_touchpoint(items, world, ledger):
    tp_id = _touchpoint_naming_a_contact(items, ledger, 0)
    Touchpoint.objects.filter(id=tp_id).delete()


def store_one_nobody_sent(items, world, ledger):
    contact = next(iter(world.contact_org))
    record_touchpoints(None, [NewTouchpoint(kind="note", occurred_at=items[0].occurred_at, external_id="stray", contact_ids=[contact])], checked=True)


def answer_created_twice(items, world, ledger):
    item = items[0]
    ledger.created[(item.source, item.external_id)] = 2


def drop_a_direct_link(items, world, ledger):
    tp_id = _touchpoint_naming_a_contact(items, ledger, 1)
    TouchpointLink.objects.filter(touchpoint_id=tp_id, path="direct").delete()


def move_last_contacted_back(items, world, ledger):
    contact = Contact.objects.filter(last_contacted_on__isnull=False).first()
    Contact.objects.filter(id=contact.id).update(last_contacted_on=contact.last_contacted_on - timedelta(days=1))


def change_last_contacted_via(items, world, ledger):
    contact = Contact.objects.filter(last_contacted_on__isnull=False).first()
    via = "Onsite Service" if contact.last_contacted_via != "Onsite Service" else "SMS"
    Contact.objects.filter(id=contact.id).update(last_contacted_via=via)


def lose_a_job(items, world, ledger):
    Task.objects.filter(title=world_module.TASK_TITLE).order_by("id").first().delete()


def run_a_job_twice(items, world, ledger):
    task = Task.objects.filter(title=world_module.TASK_TITLE).order_by("-id").first()
    task.pk = None
    task.save()


def leave_a_run_pending(items, world, ledger):
    WorkflowRun.objects.filter(id=WorkflowRun.objects.order_by("id").values("id")[:1]).update(status="pending")


def count_an_activity_twice(items, world, ledger):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE insights_activitycell SET added = added + 1 WHERE id = %s",
            [ActivityCell.objects.filter(zone="UTC", grain="day", stage="*").values_list("id", flat=True).first()],
        )


DAMAGE = [
    (lose_a_touchpoint, "acknowledged (2xx) but not stored"),
    (store_one_nobody_sent, "touchpoints stored that nobody sent"),
    (answer_created_twice, 'answered "created" more than once'),
    (drop_a_direct_link, "direct links differ from what was sent"),
    (move_last_contacted_back, "contact Last Contacted differs from the maximum of its log"),
    (change_last_contacted_via, "contact Last Contacted differs from the newest touchpoint sent for it"),
    (lose_a_job, "a deal without exactly one workflow task"),
    (run_a_job_twice, "a deal without exactly one workflow task"),
    (leave_a_run_pending, "runs not done"),
    (count_an_activity_twice, "Sales Insights day cells differ from the activities sent"),
]


def test_each_kind_of_damage_is_reported(ingested):
    """One damage after the other (one ingest for all, to keep the suite
    short): each must add a report of its kind, or change it (a second
    deal without its one task changes the count)."""
    before: set[str] = set()
    for damage, reported in DAMAGE:
        damage(*ingested)
        problems = set(run_checks(*ingested))
        assert any(p.startswith(reported) for p in problems - before), (damage.__name__, sorted(problems - before))
        before = problems
