"""Reads of workflows and their run log.

Everyone may read workflow definitions (the webhook secret only admins
and managers) and the run log; a run's steps list only records the viewer
may see (the others are counted, as ``hidden_steps``), and the per-run
step counts are plain numbers.
"""
from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.models import User
from automation.conditions import MODELS, describe
from config.errors import NotFound
from config.pagination import Page, keyset_page
from crm.permissions import visible
from workflows.actions import describe_action
from workflows.models import Workflow, WorkflowRun, WorkflowRunStep

ORDER = ("-id",)


def list_workflows(record_type: str | None, cursor: str | None, limit: int) -> Page:
    qs = Workflow.objects.all()
    if record_type:
        qs = qs.filter(record_type=record_type)
    return keyset_page(qs, ORDER, cursor, limit)


def workflow_out(workflow: Workflow, viewer: User) -> dict:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "record_type": workflow.record_type,
        "trigger": workflow.trigger,
        "schedule_time": workflow.schedule_time.strftime("%H:%M") if workflow.schedule_time else None,
        "conditions": workflow.conditions,
        "conditions_text": describe(workflow.record_type, workflow.conditions),
        "actions": workflow.actions,
        "actions_text": [describe_action(a) for a in workflow.actions],
        "active": workflow.active,
        "reenroll": workflow.reenroll,
        "secret": workflow.secret if viewer.sees_everything else None,
        "last_slot": workflow.last_slot,
        "created_by_id": workflow.created_by_id,
        "updated_by_id": workflow.updated_by_id,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
    }


def get_run(workflow: Workflow, run_id: int) -> WorkflowRun:
    run = WorkflowRun.objects.filter(workflow=workflow, id=run_id).first()
    if run is None:
        raise NotFound(f"run {run_id} not found")
    run.step_counts = _step_counts([run.id]).get(run.id, {})
    return run


def _step_counts(run_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = WorkflowRunStep.objects.filter(run__in=run_ids).values("run_id", "outcome").annotate(n=Count("*")).order_by()
    for row in rows:
        counts.setdefault(row["run_id"], {})[row["outcome"]] = row["n"]
    return counts


def runs(workflow: Workflow, cursor: str | None, limit: int) -> Page:
    """Newest first, each with its step counts by outcome (one query for the page)."""
    page = keyset_page(WorkflowRun.objects.filter(workflow=workflow), ORDER, cursor, limit)
    counts = _step_counts([r.id for r in page.items])
    for run in page.items:
        run.step_counts = counts.get(run.id, {})
    return page


def run_out(run: WorkflowRun) -> dict:
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "event_key": run.event_key,
        "trigger": run.trigger,
        "record_type": run.record_type,
        "status": run.status,
        "attempts": run.attempts,
        "matched_count": run.matched_count,
        "acted_count": run.acted_count,
        "error": run.error,
        "step_counts": getattr(run, "step_counts", {}),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def visible_steps(run: WorkflowRun, viewer: User) -> QuerySet:
    steps = WorkflowRunStep.objects.filter(run=run)
    if viewer.sees_everything:
        return steps
    return steps.filter(record_id__in=visible(MODELS[run.record_type], viewer).values("id"))


def visible_matched_ids(run: WorkflowRun, viewer: User) -> list[int]:
    """The run's kept matched ids (runner.MATCHED_KEPT) the viewer may see, in order."""
    ids = run.matched_ids or []
    if viewer.sees_everything or not ids:
        return list(ids)
    shown = set(visible(MODELS[run.record_type], viewer).filter(id__in=ids).values_list("id", flat=True))
    return [i for i in ids if i in shown]


def record_names(record_type: str, ids: list[int]) -> dict[int, str]:
    """Names for a page of ids the viewer may see (one query)."""
    return {record.id: str(record) for record in MODELS[record_type].objects.filter(id__in=set(ids))}


def steps(run: WorkflowRun, viewer: User, cursor: str | None, limit: int) -> tuple[Page, int]:
    """The run's steps the viewer may see, in the order they happened, and
    how many others there are."""
    shown = visible_steps(run, viewer)
    page = keyset_page(shown, ("id",), cursor, limit)
    hidden = 0 if viewer.sees_everything else WorkflowRunStep.objects.filter(run=run).count() - shown.count()
    return page, hidden


def step_out(step: WorkflowRunStep) -> dict:
    return {
        "id": step.id,
        "record_type": step.record_type,
        "record_id": step.record_id,
        "action_index": step.action_index,
        "action_type": step.action_type,
        "outcome": step.outcome,
        "detail": step.detail,
        "attempts": step.attempts,
        "created_at": step.created_at,
        "updated_at": step.updated_at,
    }
