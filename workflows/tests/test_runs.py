"""Running workflows: triggers, idempotency, a worker killed mid-run, the
daily schedule, re-enrollment, and the product's example end to end."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from activities.models import Task
from alerts.models import Notification
from conftest import at
from crm.models import Deal
from workflows import actions, runner, tasks, triggers
from workflows.models import Enrollment, RunStatus, Workflow, WorkflowRun, WorkflowRunStep
from workflows.tests.conftest import runs_of

FOLLOW_UP = {"type": "create_task", "params": {"title": "Follow up", "due_in_days": 2}}


def run_all(workflow_id: int) -> None:
    """What the worker does with the runs' jobs."""
    tasks.process_runs.call_local([r.id for r in runs_of(workflow_id)])


def test_the_example_stale_contacts_with_an_open_deal_get_a_follow_up_task_for_the_deal_owner(admin, alice, bob, world, settings):
    """"When a contact's Last Contacted On is more than 30 days ago and it
    has an open deal, create a follow-up task for the deal owner.\""""
    settings.COMPANY_TIME_ZONE = "Europe/Berlin"
    alice.post("touchpoints", {"kind": "email", "occurred_at": at("2024-03-01 09:00"), "contact_ids": [world["carol"], world["dave"]]})
    # Erin was contacted yesterday and has an open deal of Bob's: not stale.
    erin = alice.post("contacts", {"last_name": "Park"}).json()["id"]
    bob.post("deals", {"name": "Erin's", "contacts": [{"contact_id": erin, "role": "user"}]})
    alice.post("touchpoints", {"kind": "email", "occurred_at": (timezone.now() - timedelta(days=1)).isoformat(), "contact_ids": [erin]})
    response = admin.post(
        "workflows",
        {
            "name": "Stale contacts",
            "record_type": "contact",
            "trigger": "schedule",
            "schedule_time": "09:00",
            "conditions": {
                "all": [
                    {"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30},
                    {"field": "open_deal_count", "operator": "greater_than", "value": 0},
                ]
            },
            "actions": [{"type": "create_task", "params": {"title": "Follow up", "due_in_days": 1, "assign_to": "deal_owners"}}],
        },
    )
    assert response.status_code == 201, response.content
    workflow = response.json()
    # Saved after today's slot: nothing now, the first run is tomorrow's.
    assert runner.do_schedule_due() == []
    tomorrow = timezone.now() + timedelta(days=1, minutes=1)
    (run_id,) = runner.do_schedule_due(tomorrow)
    tasks.process_runs.call_local([run_id])
    (task,) = Task.objects.all()
    # Dave has no deal; Carol is on Alice's open deal: the task is Alice's, on the deal and on Carol.
    assert (task.owner_id, task.deal_id, task.contact_id) == (alice.user.id, world["deal"], world["carol"])
    berlin_today = timezone.now().astimezone(runner.company_tz()).date()
    assert task.due_date == berlin_today + timedelta(days=1)
    run = alice.get(f"workflows/{workflow['id']}/runs").json()["items"][0]
    assert (run["status"], run["matched_count"], run["acted_count"], run["step_counts"]) == ("done", 1, 1, {"done": 1})
    # The next day Carol is still stale, but she already has her task.
    (next_run,) = runner.do_schedule_due(tomorrow + timedelta(days=1))
    tasks.process_runs.call_local([next_run])
    assert Task.objects.count() == 1
    assert WorkflowRun.objects.get(id=next_run).matched_count == 1


def test_the_same_trigger_delivered_twice_is_one_run_and_a_repeated_job_acts_once(wf, world, django_capture_on_commit_callbacks):
    made = wf(actions=[FOLLOW_UP])
    with django_capture_on_commit_callbacks() as enqueued:
        triggers.record_created("deal", world["deal"])
        triggers.record_created("deal", world["deal"])
    assert len(runs_of(made["id"])) == 1 and len(enqueued) == 1
    run_all(made["id"])
    run_all(made["id"])  # the job delivered again
    assert Task.objects.count() == 1
    assert WorkflowRunStep.objects.count() == 1


def test_a_record_change_rolled_back_leaves_no_run(wf, alice):
    from crm.services import do_create_deal

    made = wf()
    with pytest.raises(RuntimeError), transaction.atomic():
        do_create_deal(alice.user, {"name": "Never"})
        raise RuntimeError
    assert runs_of(made["id"]) == []
    do_create_deal(alice.user, {"name": "Kept"})
    assert len(runs_of(made["id"])) == 1


class Killed(BaseException):
    """The worker process dying: nothing in the runner may catch it."""


def test_a_worker_killed_mid_run_loses_nothing_and_repeats_no_step(wf, alice, world, monkeypatch):
    made = wf(actions=[FOLLOW_UP, {"type": "notify", "params": {"title": "Deal needs you"}}])
    triggers.record_created("deal", world["deal"])
    (run,) = runs_of(made["id"])

    def dies(step, params):
        raise Killed

    monkeypatch.setitem(actions.PERFORM, "notify", dies)
    with pytest.raises(Killed):
        runner.do_process_run(run.id)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and Task.objects.count() == 1
    assert list(WorkflowRunStep.objects.values_list("action_index", flat=True)) == [0]  # step 1 rolled back with its effect
    monkeypatch.undo()
    # Another job for the run finds it taken while its worker may still live...
    assert runner.do_process_run(run.id) is None and runner.runs_to_retry() == []
    # ...and once the worker is silent too long, the sweeper hands it out again.
    later = timezone.now() + runner.STALE_AFTER + timedelta(minutes=1)
    assert runner.runs_to_retry(later) == [run.id]
    assert runner.do_process_run(run.id, later) == RunStatus.DONE
    run.refresh_from_db()
    assert (run.status, run.attempts, run.acted_count) == (RunStatus.DONE, 2, 1)
    assert Task.objects.count() == 1  # step 0 not repeated
    assert Notification.objects.filter(user=alice.user, kind="workflow").count() == 1
    assert sorted(WorkflowRunStep.objects.values_list("action_index", "outcome")) == [(0, "done"), (1, "done")]


def test_a_run_out_of_attempts_is_failed_by_the_sweeper(wf, world):
    made = wf()
    triggers.record_created("deal", world["deal"])
    (run,) = runs_of(made["id"])
    WorkflowRun.objects.filter(id=run.id).update(status=RunStatus.RUNNING, attempts=runner.MAX_ATTEMPTS, started_at=timezone.now())
    assert runner.runs_to_retry(timezone.now() + timedelta(hours=1)) == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "gave up" in run.error


def test_a_pending_run_whose_job_was_lost_is_picked_up(wf, world):
    made = wf()
    triggers.record_created("deal", world["deal"])
    (run,) = runs_of(made["id"])
    assert runner.runs_to_retry() == []  # its job may still be on its way
    assert runner.runs_to_retry(timezone.now() + timedelta(minutes=3)) == [run.id]


# --- the schedule -----------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_schedule_missed_while_the_worker_was_down_runs_once(wf, settings):
    settings.COMPANY_TIME_ZONE = "America/New_York"
    made = wf(trigger="schedule", schedule_time="09:00")
    Workflow.objects.filter(id=made["id"]).update(last_slot=utc("2026-12-01 14:00"))  # Dec 1, 09:00 in New York
    # The worker comes back on Dec 4 at 10:00 New York time (15:00 UTC): one run, for that morning.
    (run_id,) = runner.do_schedule_due(utc("2026-12-04 15:00"))
    assert WorkflowRun.objects.get(id=run_id).event_key == "schedule:2026-12-04T09:00"
    assert runner.do_schedule_due(utc("2026-12-04 15:01")) == []
    assert runner.do_schedule_due(utc("2026-12-05 13:59")) == []  # 08:59 local: not yet
    (next_id,) = runner.do_schedule_due(utc("2026-12-05 14:00"))
    assert WorkflowRun.objects.get(id=next_id).event_key == "schedule:2026-12-05T09:00"
    assert len(runs_of(made["id"])) == 2


def test_a_schedule_slot_follows_daylight_saving_time(wf, settings):
    settings.COMPANY_TIME_ZONE = "America/New_York"
    made = wf(trigger="schedule", schedule_time="09:00")
    Workflow.objects.filter(id=made["id"]).update(last_slot=utc("2026-07-01 13:00"))  # 09:00 EDT
    assert runner.do_schedule_due(utc("2026-07-02 12:59")) == []
    assert len(runner.do_schedule_due(utc("2026-07-02 13:00"))) == 1


def test_an_inactive_workflow_gets_no_runs(wf, alice):
    made = wf()
    Workflow.objects.filter(id=made["id"]).update(active=False)
    alice.post("deals", {"name": "Quiet"})
    assert runs_of(made["id"]) == []


# --- triggers -------------------------------------------------------------------------


def test_a_logged_touchpoint_runs_on_its_records_once(wf, alice, world):
    made = wf(record_type="contact", trigger="touchpoint_logged", actions=[{"type": "notify", "params": {"title": "Carol called"}}])
    body = {"kind": "email", "occurred_at": at("2024-03-01 09:00"), "contact_ids": [world["carol"]], "source": "api", "external_id": "c-1"}
    assert alice.post("touchpoints", body).status_code == 201
    assert alice.post("touchpoints", body).status_code == 200  # the same call again: no new touchpoint, no new run
    (run,) = runs_of(made["id"])
    assert run.record_ids == [world["carol"]] and run.event_key.startswith("touchpoint:")
    run_all(made["id"])
    assert Notification.objects.get(kind="workflow").record_id == world["carol"]


def test_changes_made_by_a_workflow_fire_no_workflows(wf, alice, world):
    setter = wf(trigger="record_updated", actions=[{"type": "update_field", "params": {"field": "stage", "value": "negotiation"}}])
    back = wf(trigger="record_updated", actions=[{"type": "update_field", "params": {"field": "stage", "value": "proposal"}}])
    alice.patch(f"deals/{world['deal']}", {"amount": "100"})
    assert len(runs_of(setter["id"])) == len(runs_of(back["id"])) == 1
    run_all(setter["id"])
    assert Deal.objects.get(id=world["deal"]).stage == "negotiation"
    assert len(runs_of(back["id"])) == 1  # the workflow's own change started nothing


def test_reenroll_acts_again_only_after_the_record_left_the_criteria(wf, alice, world):
    tree = {"all": [{"field": "stage", "operator": "equals", "value": "negotiation"}]}
    again = wf(trigger="record_updated", conditions=tree, reenroll=True)
    once = wf(trigger="record_updated", conditions=tree, reenroll=False)
    for change in ({"stage": "negotiation"}, {"amount": "5"}, {"stage": "proposal"}, {"stage": "negotiation"}):
        assert alice.patch(f"deals/{world['deal']}", change).status_code == 200
        run_all(again["id"])
        run_all(once["id"])
    assert [r.acted_count for r in runs_of(again["id"])] == [1, 0, 0, 1]
    assert [r.acted_count for r in runs_of(once["id"])] == [1, 0, 0, 0]
    assert [r.matched_count for r in runs_of(once["id"])] == [1, 1, 0, 1]
    assert Enrollment.objects.filter(workflow_id=once["id"]).count() == 1


def test_a_run_acts_as_its_editor_and_fails_without_one(wf, admin, world):
    made = wf()
    triggers.record_created("deal", world["deal"])
    type(admin.user).objects.filter(id=admin.user.id).update(role="rep", is_superuser=False)
    (run,) = runs_of(made["id"])
    assert runner.do_process_run(run.id) == RunStatus.FAILED
    run.refresh_from_db()
    assert "nobody to act as" in run.error and WorkflowRunStep.objects.count() == 0


def test_a_run_whose_workflow_switched_record_type_does_nothing(wf, admin, world):
    made = wf(actions=[{"type": "notify", "params": {"title": "New"}}])
    triggers.record_created("deal", world["deal"])
    assert admin.patch(f"workflows/{made['id']}", {"record_type": "contact"}).status_code == 200
    (run,) = runs_of(made["id"])
    assert runner.do_process_run(run.id) == RunStatus.DONE
    run.refresh_from_db()
    assert "switched to contact records" in run.error and not WorkflowRunStep.objects.exists()


def test_today_in_the_criteria_is_the_company_time_zones_day(wf, alice, world, settings):
    settings.COMPANY_TIME_ZONE = "Pacific/Auckland"  # UTC+13 in December
    now = utc("2026-12-04 12:00")  # already Dec 5, 01:00 in Auckland
    alice.post("touchpoints", {"kind": "email", "occurred_at": "2026-12-04T11:30:00+00:00", "contact_ids": [world["carol"]]})  # Dec 5, 00:30 there
    alice.post("touchpoints", {"kind": "email", "occurred_at": "2026-12-04T10:30:00+00:00", "contact_ids": [world["dave"]]})  # Dec 4, 23:30 there
    made = wf(record_type="contact", trigger="schedule", schedule_time="01:00", conditions={"all": [{"field": "last_contacted_on", "operator": "today"}]}, actions=[{"type": "notify", "params": {"title": "Contacted today"}}])
    Workflow.objects.filter(id=made["id"]).update(last_slot=None)
    (run_id,) = runner.do_schedule_due(now)
    assert WorkflowRun.objects.get(id=run_id).event_key == "schedule:2026-12-05T01:00"
    runner.do_process_run(run_id, now)
    assert list(WorkflowRunStep.objects.values_list("record_id", flat=True)) == [world["carol"]]


@pytest.fixture
def huey_in_process():
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def test_the_minute_tick_creates_due_runs_and_revives_lost_ones(wf, world, huey_in_process):
    scheduled = wf(trigger="schedule", schedule_time="00:00")
    Workflow.objects.filter(id=scheduled["id"]).update(last_slot=None)
    lost = wf(actions=[FOLLOW_UP])
    triggers.record_created("deal", world["deal"])  # its job never arrives (the commit hook does not run in a test)
    WorkflowRun.objects.filter(workflow_id=lost["id"]).update(created_at=timezone.now() - timedelta(minutes=5))
    tasks.tick.call_local()
    (revived,) = runs_of(lost["id"])
    assert revived.status == RunStatus.DONE and Task.objects.count() == 1
    (due,) = runs_of(scheduled["id"])
    assert due.event_key.startswith("schedule:") and due.event_key.endswith("T00:00")
    tasks.tick.call_local()
    assert len(runs_of(scheduled["id"])) == 1
