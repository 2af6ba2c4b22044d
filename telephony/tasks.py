"""Jobs of the telephony channel: draining stored provider webhooks."""
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import TaskLockedException

from telephony.inbox import do_drain


@db_task()
def drain_webhooks() -> None:
    # One drain at a time per queue; a second one finds the lock and leaves
    # the work to the running one (which loops until nothing is pending).
    with HUEY.lock_task("telephony-drain"):
        do_drain()


@db_periodic_task(crontab(minute="*"))
def drain_leftovers() -> None:
    """Whatever a lost or locked-out drain job left behind, within a minute."""
    try:
        drain_webhooks.call_local()
    except TaskLockedException:
        pass  # a drain is running: it takes these too
