"""Shared plumbing for the benchmarks: databases, the server, HTTP, stats.

Everything here talks to 127.0.0.1 only: the gunicorn server the benchmark
starts itself and the local PostgreSQL.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = ROOT / "var" / "bench"
PG_BASE_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DATABASES = ("sqlite", "postgres")
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# Wide enough for the tables and plans when the output goes to a file.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 130)


# --- databases ------------------------------------------------------------------


def pg_url(dbname: str) -> str:
    url = f"{PG_BASE_URL.rstrip('/')}/{dbname}"
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"benchmarks only talk to a local PostgreSQL, not {host!r}")
    return url


def sqlite_path(dbname: str) -> Path:
    return BENCH_VAR / f"{dbname}.sqlite3"


def db_env(db: str, dbname: str) -> dict[str, str]:
    """The environment a child (and its server) runs with: settings read
    the database from it at import."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TOUCHPOINTS_VAR_DIR=str(BENCH_VAR),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.pop("HUEY_URL", None)
    env.pop("HUEY_IMMEDIATE", None)
    if db == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(sqlite_path(dbname))
    else:
        env["DATABASE_URL"] = pg_url(dbname)
    return env


def postgres_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(pg_url("postgres"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def database_exists(db: str, dbname: str) -> bool:
    if db == "sqlite":
        return sqlite_path(dbname).exists()
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone() is not None


def drop_database(db: str, dbname: str) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{sqlite_path(dbname)}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def create_database(db: str, dbname: str) -> None:
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    if db == "sqlite" or database_exists(db, dbname):
        return
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')


def open_kept_database(db: str, dbname: str, rebuild: bool) -> None:
    """The benchmark's kept database (dropped first with ``--rebuild``),
    created if missing, and this process pointed at it (``setup_django``)."""
    if rebuild:
        drop_database(db, dbname)
    create_database(db, dbname)
    setup_django(db, dbname)


def setup_django(db: str, dbname: str, extra_env: dict[str, str] | None = None):
    """Point this process (and the servers it starts) at the benchmark
    database, set Django up and migrate. Call before importing app code.
    ``extra_env`` adds settings for this process and its servers (HUEY_URL...)."""
    import django

    env = db_env(db, dbname)
    env.update(extra_env or {})
    os.environ.clear()
    os.environ.update(env)

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def db_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return "PostgreSQL " + cursor.fetchone()[0].split()[0]
        cursor.execute("SELECT sqlite_version()")
        return "SQLite " + cursor.fetchone()[0]


def checkpoint() -> None:
    """Flush the WAL so the phases being compared start alike."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- the server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(label: str, workers: int | None = None, threads: int | None = None, port: int | None = None, env: dict[str, str] | None = None):
    """``manage.py serve`` (gunicorn, the production entry point) on a free
    loopback port (or ``port``), with this process's environment plus
    ``env``. Yields the port."""
    port = port or free_port()
    log_path = BENCH_VAR / f"server-{label}.log"
    argv = [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"]
    if workers:
        argv += ["--workers", str(workers)]
    if threads:
        argv += ["--threads", str(threads)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}; see {log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server did not come up; see {log_path}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()  # SIGTERM to the gunicorn master: graceful stop
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Http:
    """One persistent (keep-alive) connection, as a real API client keeps."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                start = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - start
                return resp.status, data, elapsed
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect
                # once; the retried request is the one timed.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path: str):
        status, data, _ = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} -> {status}: {data[:500]!r}")
        return json.loads(data)

    def close(self):
        self.conn.close()


# --- numbers -------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "mean_ms": statistics.fmean(values) * 1000,
        "max_ms": max(values) * 1000,
    }


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "mem_gb": mem_gb, "cpu": cpu, "python": platform.python_version()}


def write_result(name: str, db: str, result: dict) -> Path:
    path = BENCH_VAR / f"result-{name}-{db}.json"
    result = {
        "benchmark": name,
        "db": db,
        "at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        **result,
    }
    path.write_text(json.dumps(result, indent=2, default=str))
    return path


def child_args(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", choices=DATABASES, required=True)
    parser.add_argument("--profile", action="store_true", help="also cProfile the API path in-process (django.test.Client)")
    return parser


def verdict(ok: bool) -> str:
    return "[bold green]met[/]" if ok else "[bold red]MISSED[/]"


# --- kept datasets ------------------------------------------------------------------
# A benchmark's database keeps its dataset between runs; bench_meta records
# what it holds, so a run rebuilds only when the wanted dataset differs.


def read_dataset_meta() -> dict | None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_meta (name VARCHAR(50) PRIMARY KEY, value TEXT NOT NULL)")
        c.execute("SELECT value FROM bench_meta WHERE name = 'dataset'")
        row = c.fetchone()
    return json.loads(row[0]) if row else None


def write_dataset_meta(meta: dict) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("DELETE FROM bench_meta WHERE name = 'dataset'")
        c.execute("INSERT INTO bench_meta (name, value) VALUES ('dataset', %s)", [json.dumps(meta)])


def has_rows() -> bool:
    from crm.models import Organization

    return Organization.objects.exists()


def kept_dataset_or_reset(db: str, dbname: str, wanted: dict) -> dict | None:
    """The kept dataset's metadata when it is the one ``wanted`` describes;
    otherwise None, with the benchmark's database emptied and migrated for
    the caller to generate it. Call after setup_django."""
    from django.core.management import call_command
    from django.db import connection

    meta = read_dataset_meta()
    if meta is not None and all(meta.get(k) == v for k, v in wanted.items()):
        return meta
    if meta is not None or has_rows():
        console.print(f"kept dataset missing or different ({meta and {k: meta.get(k) for k in wanted}}; want {wanted}): rebuilding")
        connection.close()
        drop_database(db, dbname)
        create_database(db, dbname)
        call_command("migrate", verbosity=0, interactive=False)
        read_dataset_meta()  # creates bench_meta again
    return None
