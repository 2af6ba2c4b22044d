"""The job queue: SQLite by default, Redis by HUEY_URL, same task code."""
import os
import socket
import subprocess
import sys

import pytest

PROBE = (
    "import django, json; django.setup();"
    "from huey.contrib.djhuey import HUEY; print(type(HUEY).__name__, HUEY.pending_count())"
)


def probe(env_extra: dict) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env_extra}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True, timeout=60).stdout


def test_default_queue_is_sqlite(tmp_path):
    assert probe({"HUEY_URL": f"sqlite://{tmp_path}/q.sqlite3"}).startswith("SqliteHuey 0")


def test_redis_queue_by_configuration():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("!!! Redis is not running on 127.0.0.1:6379 !!!")
    assert probe({"HUEY_URL": "redis://127.0.0.1:6379/15"}).startswith("RedisHuey")


def test_bad_queue_url_stops_start_up():
    with pytest.raises(subprocess.CalledProcessError) as failure:
        probe({"HUEY_URL": "amqp://nope"})
    assert "HUEY_URL" in failure.value.stderr


def test_a_worker_clears_task_locks_left_by_a_killed_one(tmp_path):
    """A worker killed while a locked task ran leaves the lock in the queue's
    storage; the next worker to start clears it, or that task (the insights
    refresh, the alert scan) would never run again."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", TOUCHPOINTS_VAR_DIR=str(tmp_path), HUEY_URL=f"sqlite://{tmp_path}/q.sqlite3")
    lock = (
        "import django, sys; django.setup(); import insights.tasks; from huey.contrib.djhuey import HUEY;"
        "lock = HUEY.lock_task('insights-refresh');"
        "lock.acquire() if sys.argv[1] == 'take' else print(lock.is_locked())"
    )
    # The killed worker: it took the lock and never let it go.
    subprocess.run([sys.executable, "-c", lock, "take"], env=env, check=True, timeout=60)
    assert subprocess.run([sys.executable, "-c", lock, "check"], env=env, capture_output=True, text=True, check=True, timeout=60).stdout.strip() == "True"
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--no-periodic", "--workers", "1"],
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        started = ""
        for line in worker.stdout:
            started += line
            if "Huey consumer started" in line:
                break
    finally:
        worker.terminate()
        worker.wait(30)
    assert "Huey consumer started" in started, started
    assert "Found stale locks" in started
    assert subprocess.run([sys.executable, "-c", lock, "check"], env=env, capture_output=True, text=True, check=True, timeout=60).stdout.strip() == "False"
