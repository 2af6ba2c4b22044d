"""The production set-up, run for real (docs/operations.md): gunicorn with
several workers serving static files through whitenoise, and the job queue
on Redis or PostgreSQL with one scheduler among many consumers.

Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432) are on this machine
and in CI (./dev starts them); without them these tests skip, loudly, and
under CI=true they fail.
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _need(port: int, what: str) -> None:
    if not _listening(port):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is not listening on 127.0.0.1:{port}; under CI it must be")
        pytest.skip(f"!!! {what} is not listening on 127.0.0.1:{port}: skipped !!!")


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL", "HUEY_URL")}
    return {**env, "TOUCHPOINTS_VAR_DIR": str(tmp_path / "var"), "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "config.settings", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_gunicorn_workers_and_whitenoise_serves_static_files(tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "2"],
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert server.poll() is None, server.stdout.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz")
        health = conn.getresponse()
        assert (health.status, health.read()) == (200, b'{"status": "ok", "database": "ok", "queue": "ok"}')
        conn.request("GET", "/static/web/app.css", headers={"Accept-Encoding": "gzip"})
        css = conn.getresponse()
        body = css.read()
        assert css.status == 200
        assert css.getheader("Content-Encoding") == "gzip"  # the compressed copy collectstatic wrote
        assert "max-age" in css.getheader("Cache-Control")
        assert len(body) < (ROOT / "web/static/web/app.css").stat().st_size
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 3
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.parametrize(
    ("url", "port", "storage"),
    [(REDIS_URL, 6379, "RedisStorage"), (PG_URL, 5432, "SqlStorage")],
    ids=["redis", "postgres"],
)
def test_the_job_queue_runs_on_redis_and_postgres(tmp_path, url, port, storage):
    """A job enqueued by one process is taken and run by another, through
    the queue HUEY_URL names."""
    _need(port, "Redis" if port == 6379 else "PostgreSQL")
    script = """
import sys, django
django.setup()
from huey.contrib.djhuey import HUEY

@HUEY.task()
def add(a, b):
    return a + b

if sys.argv[1] == "enqueue":
    HUEY.flush()
    print(type(HUEY.storage).__name__)
    add(2, 3)
    print(HUEY.pending_count())
else:
    task = HUEY.dequeue()
    print(HUEY.execute(task), HUEY.pending_count())
"""
    env = _env(tmp_path, HUEY_URL=url)

    def run(step: str) -> list[str]:
        return subprocess.run([sys.executable, "-c", script, step], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()

    assert run("enqueue") == [storage, "1"]
    assert run("run") == ["5", "0"]


def test_only_one_worker_schedules_periodic_jobs(tmp_path):
    """``touchpoints worker`` schedules the periodic jobs; the others run
    with --no-periodic and only take jobs."""
    _need(6379, "Redis")
    env = _env(tmp_path, HUEY_URL=REDIS_URL)

    def startup_log(*flags: str) -> str:
        worker = subprocess.Popen([sys.executable, "manage.py", "worker", *flags], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        try:
            for line in worker.stdout:
                lines.append(line)
                if "Periodic tasks are" in line:
                    break
        finally:
            worker.terminate()
            worker.wait(30)
        return "".join(lines)

    scheduler = startup_log()
    assert "Periodic tasks are enabled." in scheduler
    assert "Periodic tasks are disabled." in startup_log("--no-periodic", "--workers", "1")
