"""REST endpoints for workflows and their run log."""
from __future__ import annotations

from ninja import Router, Status

from config.schemas import Cursor, Limit, RecordId, responses
from workflows import queries, services
from workflows.schemas import RecordTypeName, RunDetail, RunPage, WorkflowIn, WorkflowOut, WorkflowPage, WorkflowPatch

router = Router(tags=["workflows"])

# Fields that cannot be empty: null in a PATCH leaves them as they are.
NOT_NULL = ("name", "record_type", "trigger", "conditions", "actions", "active", "reenroll")


@router.get("/workflows", response=responses({200: WorkflowPage}))
def list_workflows(request, record_type: RecordTypeName | None = None, cursor: Cursor = None, limit: Limit = 50):
    """Every workflow, newest first (everyone may read them)."""
    page = queries.list_workflows(record_type, cursor, limit)
    return {"items": [queries.workflow_out(w, request.auth) for w in page.items], "next_cursor": page.next_cursor}


@router.post("/workflows", response=responses({201: WorkflowOut}))
def create_workflow(request, payload: WorkflowIn):
    """Admins and managers: a trigger, entry criteria (a condition tree) and
    ordered actions, each checked (422 naming e.g. ``actions.1.params.title``)."""
    workflow = services.do_create_workflow(request.auth, payload.dict())
    return Status(201, queries.workflow_out(workflow, request.auth))


@router.get("/workflows/{workflow_id}", response=responses({200: WorkflowOut}))
def get_workflow(request, workflow_id: RecordId):
    return queries.workflow_out(services.get_workflow(workflow_id), request.auth)


@router.patch("/workflows/{workflow_id}", response=responses({200: WorkflowOut}))
def update_workflow(request, workflow_id: RecordId, payload: WorkflowPatch):
    data = payload.dict(exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None or k not in NOT_NULL}
    return queries.workflow_out(services.do_update_workflow(request.auth, workflow_id, data), request.auth)


@router.delete("/workflows/{workflow_id}", response=responses({204: None}))
def delete_workflow(request, workflow_id: RecordId):
    services.do_delete_workflow(request.auth, workflow_id)
    return Status(204, None)


@router.get("/workflows/{workflow_id}/runs", response=responses({200: RunPage}))
def list_runs(request, workflow_id: RecordId, cursor: Cursor = None, limit: Limit = 50):
    """Newest first: status, records matched and acted on, step counts by outcome."""
    page = queries.runs(services.get_workflow(workflow_id), cursor, limit)
    return {"items": [queries.run_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.get("/workflows/{workflow_id}/runs/{run_id}", response=responses({200: RunDetail}))
def get_run(request, workflow_id: RecordId, run_id: RecordId, cursor: Cursor = None, limit: Limit = 200):
    """One run with its steps (what each action did on each record), in
    order, paginated; steps on records the caller may not see are only counted."""
    run = queries.get_run(services.get_workflow(workflow_id), run_id)
    page, hidden = queries.steps(run, request.auth, cursor, limit)
    steps = [queries.step_out(s) for s in page.items]
    return {**queries.run_out(run), "matched_record_ids": queries.visible_matched_ids(run, request.auth), "steps": steps, "hidden_steps": hidden, "next_cursor": page.next_cursor}
