"""Workflow jobs. They take ids and call workflows.runner / delivery; the
schedule is Huey's periodic task, never a loop of our own."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from workflows import delivery, runner


@db_task()
def process_runs(run_ids: list[int]) -> None:
    for run_id in run_ids:
        runner.do_process_run(run_id)


@db_task()
def deliver_step(step_id: int) -> None:
    retry_in = delivery.do_deliver_step(step_id)
    if retry_in is not None:
        # Exponential backoff (delivery.WEBHOOK_BACKOFF); the sweeper below
        # picks the step up too if this scheduled job is lost.
        deliver_step.schedule((step_id,), delay=retry_in)


@db_periodic_task(crontab(minute="*"))
def tick() -> None:
    """Every minute: create due scheduled runs, and re-enqueue runs and
    deliveries whose job or worker was lost."""
    runner.do_schedule_due()
    run_ids = runner.runs_to_retry()
    if run_ids:
        process_runs(run_ids)
    for step_id in delivery.steps_to_retry():
        deliver_step(step_id)
