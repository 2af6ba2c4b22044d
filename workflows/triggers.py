"""The hooks crm.services and touchpoints.services call on each write.

Each costs one small indexed query when no workflow listens (the partial
index workflow_active_idx), and otherwise inserts the runs in the writer's
own transaction (the outbox: a rolled-back change leaves no run, a
committed one always has its run) and enqueues them after commit. A run is
unique per (workflow, event_key), so the same event delivered twice is one
run.

Changes made by workflow actions fire no workflows (``suppressed``): two
workflows setting a field back and forth would otherwise never stop.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_suppressed: ContextVar[bool] = ContextVar("workflow_triggers_suppressed", default=False)


@contextmanager
def suppressed() -> Iterator[None]:
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _listening(trigger: str, record_type: str | None = None) -> list[tuple[int, str]]:
    from workflows.models import Workflow

    if _suppressed.get():
        return []
    workflows = Workflow.objects.filter(active=True, trigger=trigger)
    if record_type is not None:
        workflows = workflows.filter(record_type=record_type)
    return list(workflows.values_list("id", "record_type"))


def create_runs(trigger: str, rows: Sequence[tuple[int, str, str, list[int] | None]]) -> list[int]:
    """Insert (workflow id, record type, event key, record ids) runs,
    skipping those that exist, and enqueue the new ones once the
    transaction commits."""
    from workflows.models import RunStatus, WorkflowRun

    if not rows:
        return []
    workflow_ids = {w for w, _, _, _ in rows}
    keys = {key for _, _, key, _ in rows}
    existing = set(WorkflowRun.objects.filter(workflow_id__in=workflow_ids, event_key__in=keys).values_list("workflow_id", "event_key"))
    fresh = [(w, record_type, key, ids) for w, record_type, key, ids in rows if (w, key) not in existing]
    if not fresh:
        return []  # delivered before: that run stands
    # ignore_conflicts: a concurrent writer may insert the same run first.
    WorkflowRun.objects.bulk_create(
        [WorkflowRun(workflow_id=w, record_type=record_type, event_key=key, trigger=trigger, record_ids=ids) for w, record_type, key, ids in fresh],
        ignore_conflicts=True,
    )
    ids: list[int] = []
    keys_by_workflow: dict[int, list[str]] = {}
    for w, _, key, _ in fresh:
        keys_by_workflow.setdefault(w, []).append(key)
    for w, keys_of in keys_by_workflow.items():
        ids += WorkflowRun.objects.filter(workflow_id=w, event_key__in=keys_of, status=RunStatus.PENDING).values_list("id", flat=True)
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _enqueue(run_ids: list[int]) -> None:
    from workflows.tasks import process_runs

    # One job per write (a batch of touchpoints is one job); a lost job is
    # re-enqueued by the sweeper (workflows.tasks.tick).
    process_runs(run_ids)


def record_created(record_type: str, record_id: int) -> None:
    workflows = _listening("record_created", record_type)
    create_runs("record_created", [(w, record_type, f"created:{record_type}:{record_id}", [record_id]) for w, _ in workflows])


def record_updated(record_type: str, record) -> None:
    """``record`` just saved: its updated_at names this change."""
    workflows = _listening("record_updated", record_type)
    key = f"updated:{record_type}:{record.id}:{record.updated_at.isoformat()}"
    create_runs("record_updated", [(w, record_type, key, [record.id]) for w, _ in workflows])


def touchpoints_logged(touchpoint_ids: Sequence[int]) -> None:
    """New touchpoints (repeats of existing ones are not new): one run per
    touchpoint and listening workflow, on the records of the workflow's type
    the touchpoint is linked to (directly or rolled up)."""
    if not touchpoint_ids:
        return
    workflows = _listening("touchpoint_logged")
    if not workflows:
        return
    from touchpoints.models import TouchpointLink

    linked: dict[tuple[int, str], list[int]] = {}
    for chunk_start in range(0, len(touchpoint_ids), 5000):
        chunk = list(touchpoint_ids[chunk_start : chunk_start + 5000])
        for tp, org, contact, deal in TouchpointLink.objects.filter(touchpoint_id__in=chunk).values_list(
            "touchpoint_id", "organization_id", "contact_id", "deal_id"
        ):
            for record_type, record_id in (("organization", org), ("contact", contact), ("deal", deal)):
                if record_id is not None:
                    linked.setdefault((tp, record_type), []).append(record_id)
    rows = [
        (w, record_type, f"touchpoint:{tp}", sorted(set(linked[(tp, record_type)])))
        for tp in touchpoint_ids
        for w, record_type in workflows
        if (tp, record_type) in linked
    ]
    create_runs("touchpoint_logged", rows)
