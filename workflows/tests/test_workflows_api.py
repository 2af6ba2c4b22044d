"""The workflows API: who may do what, validation naming the bad part,
and the run log (records the reader may not see are only counted)."""
from __future__ import annotations

from workflows import runner
from workflows.models import Trigger, Workflow
from workflows.tests.conftest import locs, make_workflow, runs_of


def test_admin_and_manager_create_reps_only_read(admin, manager, alice, charlie):
    made = make_workflow(admin)
    assert made["active"] and made["trigger"] == "record_created" and made["conditions"] == {"all": []}
    assert made["actions"] == [{"type": "notify", "params": {"to": "record_owner", "title": "New deal", "body": ""}}]
    assert len(made["secret"]) == 64
    assert make_workflow(manager, name="Another")["created_by_id"] == manager.user.id
    denied = alice.post("workflows", {"name": "Mine", "record_type": "deal", "trigger": "record_created", "actions": []})
    assert denied.status_code == 403
    seen = charlie.get(f"workflows/{made['id']}").json()
    assert seen["name"] == "Follow up" and seen["secret"] is None  # the signing key is for editors only
    assert {w["id"] for w in alice.get("workflows").json()["items"]} == {made["id"], made["id"] + 1}
    assert alice.patch(f"workflows/{made['id']}", {"active": False}).status_code == 403
    assert alice.delete(f"workflows/{made['id']}").status_code == 403


def test_validation_names_the_bad_part(admin):
    body = {
        "name": "Bad",
        "record_type": "contact",
        "trigger": "schedule",
        "conditions": {"all": [{"field": "last_contacted_on", "operator": "equals", "value": 3}]},
        "actions": [
            {"type": "create_task", "params": {"title": "Call", "due_in_days": 2}},
            {"type": "create_task", "params": {"title": ""}},
            {"type": "update_field", "params": {"field": "stage", "value": "won"}},
            {"type": "send_email", "params": {"subject": "Hi {{ nickname }}", "body": "x"}},
            {"type": "webhook", "params": {"url": "ftp://example.com/x"}},
            {"type": "notify", "params": {"title": "x", "colour": "red"}},
        ],
    }
    assert locs(admin.post("workflows", body)) == [
        "body.schedule_time",
        "body.conditions.all.0.operator",
        "body.actions.1.params.title",
        "body.actions.2.params.field",  # stage is a deal field, not a contact's
        "body.actions.3.params.subject",
        "body.actions.4.params.url",
        "body.actions.5.params.colour",
    ]
    assert Workflow.objects.count() == 0
    assert locs(admin.post("workflows", {**body, "schedule_time": "25:00"})) == ["body.schedule_time"]  # the parser's pattern
    assert locs(admin.post("workflows", {**body, "schedule_time": "09:00", "actions": []}))[0] == "body.conditions.all.0.operator"
    nul = {"name": "x", "record_type": "deal", "trigger": "record_created", "conditions": {"all": [{"field": "name", "operator": "equals", "value": "a\x00"}]}, "actions": [{"type": "notify", "params": {"title": "t"}}]}
    assert locs(admin.post("workflows", nul)) == ["body.conditions.all.0.value"]
    nothing = {"name": "x", "record_type": "deal", "trigger": "record_created", "actions": []}
    assert locs(admin.post("workflows", nothing)) == ["body.actions"]


def test_patch_checks_the_whole_definition_again(admin):
    made = make_workflow(admin, actions=[{"type": "update_field", "params": {"field": "stage", "value": "negotiation"}}])
    # The deal's stage means nothing on a contact.
    assert locs(admin.patch(f"workflows/{made['id']}", {"record_type": "contact"})) == ["body.actions.0.params.field"]
    changed = admin.patch(f"workflows/{made['id']}", {"name": "Renamed", "trigger": "schedule", "schedule_time": "09:30"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["schedule_time"] == "09:30" and changed.json()["last_slot"] is not None  # starts with the next slot
    assert admin.patch(f"workflows/{made['id']}", {"name": None}).json()["name"] == "Renamed"  # null leaves it
    assert admin.delete(f"workflows/{made['id']}").status_code == 204
    assert admin.get(f"workflows/{made['id']}").status_code == 404


def test_run_log_lists_runs_newest_first_and_hides_steps_on_records_the_reader_cannot_see(admin, alice, charlie, world, wf):
    made = wf(record_type="contact", trigger="record_updated", actions=[{"type": "notify", "params": {"title": "Changed"}}])
    for title in ("CTO", "CEO"):
        assert alice.patch(f"contacts/{world['carol']}", {"title": title}).status_code == 200
    first, second = runs_of(made["id"])
    for run in (first, second):
        runner.do_process_run(run.id)
    page = alice.get(f"workflows/{made['id']}/runs", limit=1).json()
    assert [r["id"] for r in page["items"]] == [second.id]
    assert page["items"][0]["status"] == "done" and page["items"][0]["matched_count"] == 1
    # The first run enrolled Carol; the second left her alone (no re-enrollment).
    assert (page["items"][0]["acted_count"], page["items"][0]["step_counts"]) == (0, {})
    rest = alice.get(f"workflows/{made['id']}/runs", cursor=page["next_cursor"]).json()
    assert [r["id"] for r in rest["items"]] == [first.id] and rest["next_cursor"] is None
    assert (rest["items"][0]["acted_count"], rest["items"][0]["step_counts"]) == (1, {"done": 1})
    mine = alice.get(f"workflows/{made['id']}/runs/{first.id}").json()
    assert [(s["record_id"], s["action_type"], s["outcome"]) for s in mine["steps"]] == [(world["carol"], "notify", "done")]
    assert mine["matched_record_ids"] == [world["carol"]]
    assert alice.get(f"workflows/{made['id']}/runs/{second.id}").json()["matched_record_ids"] == [world["carol"]]  # matched, not acted on
    theirs = charlie.get(f"workflows/{made['id']}/runs/{first.id}").json()
    assert theirs["steps"] == [] and theirs["hidden_steps"] == 1 and theirs["matched_record_ids"] == []
    assert alice.get(f"workflows/{made['id']}/runs/{first.id + 1000}").status_code == 404
    assert made["trigger"] == Trigger.RECORD_UPDATED
