"""Running workflows: claim a run, match records, perform actions once.

Exactly once in effect, not by luck:

* A run is claimed with a conditional update (pending, or running but not
  heard from for STALE_AFTER: its worker died) that bumps ``attempts``;
  a second job for the same run finds nothing to claim.
* A record is enrolled (unique per workflow and record) before its first
  action, in its own transaction; a resumed run continues with the
  records it enrolled itself and leaves those enrolled by other runs.
* Each action's database effect and its ``WorkflowRunStep`` (unique per
  run, action and record) commit together, so after a crash a step either
  happened and is logged, or neither; a resumed run skips logged steps.
* Email, SMS and webhooks are only queued in the step (workflows.delivery
  sends them, keyed by the step).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from automation.conditions import MODELS, Context, filter_records
from config.errors import ServiceError
from workflows import triggers
from workflows.actions import EXTERNAL, PERFORM, Step
from workflows.models import Enrollment, RunStatus, StepOutcome, Trigger, Workflow, WorkflowRun, WorkflowRunStep

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)  # a running run not heard from this long lost its worker
LOST_AFTER = timedelta(minutes=2)  # a pending run not picked up this long lost its job
MAX_ATTEMPTS = 5
BATCH = 500
MATCHED_KEPT = 1000  # matched record ids kept on the run


def company_tz() -> ZoneInfo:
    return ZoneInfo(settings.COMPANY_TIME_ZONE)


def actor_of(workflow: Workflow) -> User | None:
    """Who the actions act as: the last editor, else the creator, while
    they may still edit workflows (an admin or a manager)."""
    for user_id in (workflow.updated_by_id, workflow.created_by_id):
        user = User.objects.filter(id=user_id, is_active=True).first() if user_id else None
        if user is not None and user.sees_everything:
            return user
    return None


def claim(run_id: int, now: datetime | None = None) -> WorkflowRun | None:
    now = now or timezone.now()
    claimable = Q(status=RunStatus.PENDING) | Q(status=RunStatus.RUNNING, started_at__lt=now - STALE_AFTER)
    claimed = WorkflowRun.objects.filter(claimable, id=run_id, attempts__lt=MAX_ATTEMPTS).update(
        status=RunStatus.RUNNING, attempts=F("attempts") + 1, started_at=now
    )
    if not claimed:
        return None
    run = WorkflowRun.objects.select_related("workflow").get(id=run_id)
    if run.definition is None:
        # Fixed at the first claim; a resumed run keeps it (see the model).
        workflow = run.workflow
        definition = {"record_type": workflow.record_type, "conditions": workflow.conditions, "actions": workflow.actions, "reenroll": workflow.reenroll}
        WorkflowRun.objects.filter(id=run_id, definition__isnull=True).update(definition=definition)
        run.refresh_from_db(fields=["definition"])
    return run


def _finish(run: WorkflowRun, status: str, error: str = "", **counts: int) -> None:
    WorkflowRun.objects.filter(id=run.id).update(status=status, error=error[:2000], finished_at=timezone.now(), **counts)


def do_process_run(run_id: int, now: datetime | None = None) -> str | None:
    """Process one run if it can be claimed; its final status, or None.
    ``now`` (the claim's time and the moment the criteria are judged at)
    is for tests; the worker passes nothing."""
    now = now or timezone.now()
    run = claim(run_id, now)
    if run is None:
        return None
    workflow = run.workflow
    if not workflow.active:
        _finish(run, RunStatus.DONE, "the workflow was turned off before this run")
        return RunStatus.DONE
    actor = actor_of(workflow)
    if actor is None:
        _finish(run, RunStatus.FAILED, "nobody to act as: the workflow's editor is no longer an active admin or manager")
        return RunStatus.FAILED
    definition = run.definition
    if definition["record_type"] != run.record_type:
        _finish(run, RunStatus.DONE, f"the workflow was switched to {definition['record_type']} records before this run of {run.record_type} records")
        return RunStatus.DONE
    tz = company_tz()
    ctx = Context(now=now, tz=tz, user_id=actor.id)
    candidates = MODELS[run.record_type].objects.all()
    if run.record_ids is not None:
        candidates = candidates.filter(id__in=run.record_ids)
    matched = filter_records(candidates, run.record_type, definition["conditions"], ctx).order_by("id").values_list("id", flat=True)
    if definition["reenroll"]:
        # A record that no longer meets the criteria may enroll again later.
        leaving = Enrollment.objects.filter(workflow=workflow).exclude(run=run).exclude(record_id__in=matched)
        if run.record_ids is not None:
            leaving = leaving.filter(record_id__in=run.record_ids)
        leaving.delete()
    matched_count = acted = 0
    kept: list[int] = []
    last = 0
    while True:
        ids = list(matched.filter(id__gt=last)[:BATCH])
        if not ids:
            break
        kept += ids[: MATCHED_KEPT - len(kept)]
        for record_id in ids:
            matched_count += 1
            if _process_record(run, workflow, actor, record_id, definition["actions"], tz, now):
                acted += 1
        last = ids[-1]
        # Heartbeat: a long run is not taken for a dead one by the sweeper.
        WorkflowRun.objects.filter(id=run.id).update(started_at=timezone.now())
    failed = WorkflowRunStep.objects.filter(run=run, outcome=StepOutcome.FAILED).count()
    _finish(run, RunStatus.DONE, f"{failed} action(s) failed" if failed else "", matched_count=matched_count, acted_count=acted, matched_ids=kept)
    return RunStatus.DONE


def _enroll(run: WorkflowRun, workflow: Workflow, record_id: int) -> bool:
    """Whether this run acts on the record: it enrolled it now or before."""
    try:
        with transaction.atomic():
            enrollment, _ = Enrollment.objects.get_or_create(workflow=workflow, record_id=record_id, defaults={"run": run})
    except IntegrityError:  # a concurrent run enrolled it first
        return False
    return enrollment.run_id == run.id


def _process_record(run, workflow, actor, record_id: int, actions: list[dict], tz, now) -> bool:
    if not _enroll(run, workflow, record_id):
        return False
    done = set(WorkflowRunStep.objects.filter(run=run, record_id=record_id).values_list("action_index", flat=True))
    for index, action in enumerate(actions):
        if index in done:
            continue
        record = MODELS[run.record_type].objects.filter(id=record_id).first()
        if record is None:  # deleted meanwhile
            break
        step = Step(run.id, workflow.id, workflow.name, run.event_key, actor, run.record_type, record, index, tz, now)
        _perform(run, step, action)
    return True


def _perform(run: WorkflowRun, step: Step, action: dict) -> None:
    fields = {"run_id": run.id, "record_type": step.record_type, "record_id": step.record.id, "action_index": step.index, "action_type": action["type"]}
    try:
        with transaction.atomic(), triggers.suppressed():
            outcome = PERFORM[action["type"]](step, action["params"])
            row = WorkflowRunStep.objects.create(**fields, outcome=outcome.outcome, detail=outcome.detail[:2000], payload=outcome.payload)
    except IntegrityError as exc:
        if WorkflowRunStep.objects.filter(run_id=run.id, action_index=step.index, record_id=step.record.id).exists():
            return  # logged by a concurrent worker of the same run: its effect stands, this one rolled back
        _log_failure(fields, f"refused by the database: {exc}")
        return
    except ServiceError as exc:
        _log_failure(fields, str(exc))
        return
    except Exception as exc:  # a bug must not stop the other records; it is logged and visible in the run
        log.exception("workflow %s action %s failed", run.workflow_id, step.index)
        _log_failure(fields, f"internal error: {type(exc).__name__}")
        return
    if row.outcome == StepOutcome.QUEUED and action["type"] in EXTERNAL:
        transaction.on_commit(lambda: _enqueue_delivery(row.id))


def _log_failure(fields: dict, detail: str) -> None:
    try:
        with transaction.atomic():
            WorkflowRunStep.objects.create(**fields, outcome=StepOutcome.FAILED, detail=detail[:2000])
    except IntegrityError:
        pass


def _enqueue_delivery(step_id: int) -> None:
    from workflows.tasks import deliver_step

    deliver_step(step_id)


# --- the daily schedule ----------------------------------------------------------------


def latest_slot(workflow: Workflow, now: datetime, tz: ZoneInfo) -> datetime:
    """The most recent moment at or before ``now`` when the workflow was due."""
    local = now.astimezone(tz)
    slot = datetime.combine(local.date(), workflow.schedule_time, tzinfo=tz)
    if slot > now:
        slot = datetime.combine(local.date() - timedelta(days=1), workflow.schedule_time, tzinfo=tz)
    return slot


def do_schedule_due(now: datetime | None = None) -> list[int]:
    """Create the run of each scheduled workflow whose latest slot has no
    run yet. Only the latest slot counts: a worker down for three days runs
    each workflow once when it comes back, not three times. The slot is
    taken with a conditional update of ``last_slot``, so two schedulers
    racing create one run."""
    now = now or timezone.now()
    tz = company_tz()
    created: list[int] = []
    for workflow in Workflow.objects.filter(active=True, trigger=Trigger.SCHEDULE, schedule_time__isnull=False):
        slot = latest_slot(workflow, now, tz)
        if workflow.last_slot is not None and workflow.last_slot >= slot:
            continue
        with transaction.atomic():
            taken = (
                Workflow.objects.filter(id=workflow.id, active=True)
                .filter(Q(last_slot__isnull=True) | Q(last_slot__lt=slot))
                .update(last_slot=slot)
            )
            if taken:
                key = f"schedule:{slot.astimezone(tz):%Y-%m-%dT%H:%M}"
                created += triggers.create_runs(Trigger.SCHEDULE, [(workflow.id, workflow.record_type, key, None)])
    return created


# --- the sweeper ---------------------------------------------------------------------------


def runs_to_retry(now: datetime | None = None) -> list[int]:
    """Runs whose job was lost (pending too long) or whose worker died
    (running, silent too long); those out of attempts are marked failed."""
    now = now or timezone.now()
    stale = Q(status=RunStatus.PENDING, created_at__lt=now - LOST_AFTER) | Q(status=RunStatus.RUNNING, started_at__lt=now - STALE_AFTER)
    WorkflowRun.objects.filter(stale, attempts__gte=MAX_ATTEMPTS).update(
        status=RunStatus.FAILED, finished_at=now, error=f"gave up after {MAX_ATTEMPTS} attempts"
    )
    return list(WorkflowRun.objects.filter(stale, attempts__lt=MAX_ATTEMPTS).order_by("id").values_list("id", flat=True)[:1000])
