"""Workers and writers racing, on real connections (one per thread): the
same event fired at once is one run, the same run claimed at once acts once."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from accounts.services import do_create_user
from activities.models import Task
from crm.models import Deal
from workflows import runner, services, triggers
from workflows.models import RunStatus, WorkflowRun, WorkflowRunStep

THREADS = 4


def race(target) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def wrapped() -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_racing_triggers_make_one_run_and_racing_workers_act_once():
    boss = do_create_user("boss", role="manager")
    deal = Deal.objects.create(name="Contested", owner=boss)
    workflow = services.do_create_workflow(
        boss, {"name": "Follow up", "record_type": "deal", "trigger": "record_created", "actions": [{"type": "create_task", "params": {"title": "Call"}}]}
    )

    def fire() -> None:
        with transaction.atomic():
            triggers.record_created("deal", deal.id)

    assert race(fire) == []
    (run,) = WorkflowRun.objects.filter(workflow=workflow)
    outcomes: list[str | None] = []
    assert race(lambda: outcomes.append(runner.do_process_run(run.id))) == []
    assert outcomes.count(RunStatus.DONE) == 1 and outcomes.count(None) == THREADS - 1
    assert Task.objects.count() == 1 and WorkflowRunStep.objects.count() == 1
