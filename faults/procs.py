"""The server and the worker as real subprocesses, killed with SIGKILL.

Each runs in its own session, so ``kill -9`` of its process group takes the
gunicorn master and its workers (or the Huey consumer and its threads)
down at once, as a crash or an OOM kill of the machine's service would: no
signal handler, no graceful shutdown, no atexit.
"""
from __future__ import annotations

import ctypes
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Linux: orphans of our process groups (gunicorn's workers, once their
    master is killed) become our children instead of init's, so we reap
    them at once (init in a container may take a second or more) and their
    CPU time is counted in our RUSAGE_CHILDREN."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Service:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, port: int | None = None):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0

    def start(self, wait: bool = True) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {self.starts + 1} at {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        if wait and self.port is not None:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while starting; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become healthy in {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL to the whole process group, then reap the leader."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._reap_group()
        self.kills += 1

    def stop(self) -> None:
        """A graceful stop (SIGTERM) at the end of the run."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._reap_group()

    def _reap_group(self) -> None:
        # gunicorn's workers are the master's children, not ours: wait until
        # the group is gone so the next start does not race them for the port
        # or the database.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            reap_orphans()
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)


def server(env: dict[str, str], port: int, log_dir: Path, workers: int = 2) -> Service:
    argv = [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4"]
    return Service("server", argv, env, log_dir / "server.log", port)


def worker(env: dict[str, str], log_dir: Path) -> Service:
    # The only worker, so it also schedules the periodic jobs (the workflow
    # sweeper, the insights refresh), as `touchpoints worker` does on one machine.
    argv = [sys.executable, "manage.py", "worker", "--workers", "2"]
    return Service("worker", argv, env, log_dir / "worker.log")
