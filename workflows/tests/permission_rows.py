"""This app's rows of the permission table (config/tests/test_permissions.py
merges them): operation -> answer per persona, request bodies, path
parameters, and which of alice's items a list must show.

Workflows are company-wide configuration: everyone reads them and their
run log (a run's steps on records the reader may not see are only
counted: test_workflows_api.py); only admins and managers write them.
"""
from __future__ import annotations

from config.tests.outcomes import each

EDITORS_ONLY = each(403, 403, 403, 200, 200)
TABLE: dict = {
    ("GET", "/workflows"): each(200, 200, 200, 200, 200),
    ("POST", "/workflows"): each(403, 403, 403, 201, 201),
    ("GET", "/workflows/{workflow_id}"): each(200, 200, 200, 200, 200),
    ("PATCH", "/workflows/{workflow_id}"): EDITORS_ONLY,
    ("DELETE", "/workflows/{workflow_id}"): each(403, 403, 403, 204, 204),
    ("GET", "/workflows/{workflow_id}/runs"): each(200, 200, 200, 200, 200),
    ("GET", "/workflows/{workflow_id}/runs/{run_id}"): each(200, 200, 200, 200, 200),
}
NOTIFY = [{"type": "notify", "params": {"title": "Deal changed"}}]
BODIES: dict = {
    ("POST", "/workflows"): lambda ids: {"name": "New deals", "record_type": "deal", "trigger": "record_created", "actions": NOTIFY},
    ("PATCH", "/workflows/{workflow_id}"): lambda ids: {"active": False},
}
PARAMETER_ID: dict = {"workflow_id": "workflow", "run_id": "workflow_run"}
LISTED: dict = {}


def _workflow_with_a_run(admin_user, deal_id: int) -> dict:
    from crm.models import Deal
    from workflows import runner, services, triggers
    from workflows.models import WorkflowRun

    # It notifies the admin (not alice), so other apps' rows see alice's bell as they made it.
    to_admin = [{"type": "notify", "params": {"to": admin_user.id, "title": "Deal changed"}}]
    workflow = services.do_create_workflow(admin_user, {"name": "Deal changed", "record_type": "deal", "trigger": "record_updated", "actions": to_admin})

    triggers.record_updated("deal", Deal.objects.get(id=deal_id))
    run = WorkflowRun.objects.get(workflow=workflow)
    runner.do_process_run(run.id)
    return {"workflow": workflow.id, "workflow_run": run.id}


def records(alice, world, admin) -> dict:
    """A workflow of the admin's that ran on alice's deal."""
    return _workflow_with_a_run(admin.user, world["deal"])


def seed(alice, ids: dict) -> dict:
    """The same for schemathesis: {path parameter without _id: id}."""
    from accounts.models import User

    made = _workflow_with_a_run(User.objects.get(username="admin"), ids["deal"])
    return {"workflow": made["workflow"], "run": made["workflow_run"]}
