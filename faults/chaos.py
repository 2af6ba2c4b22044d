"""The chaos thread: ``kill -9`` the server and/or the worker at random
moments, then start them again.

The moments are drawn from the seeded RNG as points in the ingest's
progress (a fraction of the batches acknowledged) plus a random delay of up
to a few hundred milliseconds, so a run always gets its kills, however fast
the machine, and most of them land in the middle of requests and jobs.
The same seed gives the same plan (the exact instants still depend on
timing).
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from faults.procs import Service


@dataclass
class Kill:
    at_fraction: float
    delay: float  # seconds after reaching the fraction
    targets: tuple[str, ...]  # "server", "worker" or both
    down_for: float  # seconds before restarting


class Chaos(threading.Thread):
    def __init__(self, plan: list[Kill], services: dict[str, Service], progress: Callable[[], float]):
        super().__init__(name="chaos", daemon=True)
        self.plan = plan
        self.services = services
        self.progress = progress  # the fraction of batches acknowledged
        self.log: list[str] = []
        self.error: BaseException | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        try:
            for kill in self.plan:
                while self.progress() < kill.at_fraction:
                    if self.stopped.wait(0.01):
                        return
                if self.stopped.wait(kill.delay):
                    return
                for name in kill.targets:
                    self.services[name].kill9()
                killed_at = time.monotonic()
                at = self.progress()
                time.sleep(kill.down_for)
                # The worker first: the server's start waits for /healthz.
                for name in sorted(kill.targets, reverse=True):
                    self.services[name].start()
                self.log.append(
                    f"{killed_at - started:7.2f}s  kill -9 {' + '.join(kill.targets)} at {at:.0%} acknowledged; "
                    f"back after {time.monotonic() - killed_at:.1f} s"
                )
        except BaseException as exc:  # reported by the runner
            self.error = exc


def make_plan(rng: random.Random, server_kills: int, worker_kills: int) -> list[Kill]:
    """``server_kills`` kills of the server and ``worker_kills`` of the
    worker, about a third of them together, at random points between 5 %
    and 80 % of the ingest (the last fifth is long enough for the last
    kill's delay, however fast the machine: a run must get all its kills)."""
    targets: list[tuple[str, ...]] = []
    both = min(server_kills, worker_kills) // 3
    targets += [("server", "worker")] * both
    targets += [("server",)] * (server_kills - both)
    targets += [("worker",)] * (worker_kills - both)
    fractions = sorted(rng.uniform(0.05, 0.8) for _ in targets)
    rng.shuffle(targets)
    return [Kill(f, rng.uniform(0, 0.3), t, rng.uniform(0, 0.3)) for f, t in zip(fractions, targets)]
