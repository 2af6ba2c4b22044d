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
