"""Workflow pages: list, editor (condition builder and actions block),
run log; reps read, admins and managers edit."""
from __future__ import annotations

from web.tests.pages import HTMX, browser, text
from workflows import runner, triggers
from workflows.models import Workflow
from workflows.tests.conftest import runs_of

FORM = {
    "name": "Stale contacts",
    "record_type": "contact",
    "trigger": "schedule",
    "schedule_time": "09:00",
    "c-record_type": "contact",
    "c-all-0-field": "last_contacted_on",
    "c-all-0-operator": "more_than_days_ago",
    "c-all-0-value": "30",
    "c-all-1-field": "open_deal_count",
    "c-all-1-operator": "greater_than",
    "c-all-1-value": "0",
    "a-0-type": "create_task",
    "a-0-title": "Follow up",
    "a-0-due_in_days": "1",
    "a-0-assign_to": "deal_owners",
    "a-0-description": "",
    "a-1-type": "notify",
    "a-1-to": "record_owner",
    "a-1-title": "Stale",
    "a-1-body": "",
    "active": "on",
}


def test_admin_creates_a_workflow_with_the_page(admin):
    page = browser(admin)
    assert page.get("/workflows/new").status_code == 200
    response = page.post("/workflows/new", FORM)
    assert response.status_code == 302, text(response)
    workflow = Workflow.objects.get()
    assert response["Location"] == f"/workflows/{workflow.id}/"
    assert (workflow.record_type, workflow.trigger, workflow.schedule_time.isoformat(), workflow.active, workflow.reenroll) == ("contact", "schedule", "09:00:00", True, False)
    assert workflow.conditions == {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}, {"field": "open_deal_count", "operator": "greater_than", "value": 0}]}
    assert [a["type"] for a in workflow.actions] == ["create_task", "notify"]
    assert workflow.actions[0]["params"] == {"title": "Follow up", "description": "", "due_in_days": 1, "assign_to": "deal_owners"}
    shown = text(page.get(f"/workflows/{workflow.id}/"))
    assert 'value="Stale contacts"' in shown and 'name="a-1-title" value="Stale"' in shown
    listed = text(page.get("/workflows/"))
    assert "Stale contacts" in listed and "Daily at 09:00" in listed and "Last Contacted On is more than 30 days ago" in listed


def test_errors_show_beside_the_inputs(admin):
    page = browser(admin)
    bad = {**FORM, "name": "", "c-all-0-value": "many", "a-0-title": "", "a-1-type": "webhook", "a-1-url": "ftp://x"}
    response = page.post("/workflows/new", bad)
    assert response.status_code == 422
    body = text(response)
    assert "must not be empty" in body  # name, and the task's title
    assert "value: must be a whole number of days" in body  # on the condition's row
    assert "must be an http:// or https:// address" in body
    assert Workflow.objects.count() == 0


def test_edit_saves_and_rep_only_reads(admin, alice):
    browser(admin).post("/workflows/new", FORM)
    workflow = Workflow.objects.get()
    response = browser(admin).post(f"/workflows/{workflow.id}/", {**FORM, "name": "Renamed", "a-1-title": "Very stale"})
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.name == "Renamed" and workflow.actions[1]["params"]["title"] == "Very stale"
    rep = browser(alice)
    shown = text(rep.get(f"/workflows/{workflow.id}/"))
    assert "Only admins and managers change workflows" in shown and 'name="name"' not in shown
    assert "Contacts. Daily at 09:00 (UTC)." in shown
    assert rep.post(f"/workflows/{workflow.id}/", {**FORM, "name": "Mine"}).status_code == 403
    assert rep.get("/workflows/new").status_code == 403
    assert rep.post(f"/workflows/{workflow.id}/delete").status_code == 403
    assert browser(admin).post(f"/workflows/{workflow.id}/delete").status_code == 302
    assert not Workflow.objects.exists()


def test_actions_block_adds_moves_and_removes(admin):
    page = browser(admin)
    form = {k: v for k, v in FORM.items() if k.startswith("a-") or k == "record_type"}
    added = text(page.post("/workflows/actions", {**form, "actions-edit": "add:webhook"}, **HTMX))
    assert 'name="a-2-url"' in added and 'name="a-0-title" value="Follow up"' in added
    moved = text(page.post("/workflows/actions", {**form, "actions-edit": "up:1"}, **HTMX))
    assert moved.index('name="a-0-to"') < moved.index('name="a-1-title" value="Follow up"')
    removed = text(page.post("/workflows/actions", {**form, "actions-edit": "remove:0"}, **HTMX))
    assert 'name="a-0-to"' in removed and "Follow up" not in removed
    retyped = text(page.post("/workflows/actions", {**form, "a-1-type": "update_field"}, **HTMX))
    assert 'name="a-1-field"' in retyped and "Expected close date" not in retyped  # contact fields only
    assert "First name" in retyped


def test_run_log_pages(admin, alice, charlie, world, wf):
    made = wf(actions=[{"type": "notify", "params": {"title": "New"}}])
    triggers.record_created("deal", world["deal"])
    (run,) = runs_of(made["id"])
    runner.do_process_run(run.id)
    log = text(browser(alice).get(f"/workflows/{made['id']}/runs/"))
    assert f"created:deal:{world['deal']}" in log and "1 done" in log
    detail = text(browser(alice).get(f"/workflows/{made['id']}/runs/{run.id}"))
    assert f'href="/deals/{world["deal"]}/">Grasspods renewal</a>' in detail and "notified user(s)" in detail
    outsider = text(browser(charlie).get(f"/workflows/{made['id']}/runs/{run.id}"))
    assert "1 more step on records you cannot see" in outsider and f"/deals/{world['deal']}/" not in outsider and "Grasspods" not in outsider
    assert browser(alice).get(f"/workflows/{made['id']}/runs/{run.id + 99}").status_code == 404
    assert browser(alice).get(f"/workflows/{made['id'] + 99}/runs/").status_code == 404


def test_admin_shows_workflows_runs_and_steps_read_only(admin, world, wf):
    from django.contrib.auth import get_user_model

    from workflows.models import WorkflowRunStep

    made = wf()
    triggers.record_created("deal", world["deal"])
    (run,) = runs_of(made["id"])
    runner.do_process_run(run.id)
    root = browser(admin)
    get_user_model().objects.filter(id=admin.user.id).update(is_staff=True, is_superuser=True)
    step = WorkflowRunStep.objects.get()
    for path in (f"workflow/{made['id']}", f"workflowrun/{run.id}", f"workflowrunstep/{step.id}"):
        response = root.get(f"/admin/workflows/{path}/change/")
        assert response.status_code == 200, path
        assert made["secret"] not in text(response)
