"""Where the time goes, in-process (django.test.Client: the same URLconf,
middleware, view and services as the server, minus HTTP and gunicorn).

``Phases`` wraps named functions with wall-clock timers (no profiler
overhead, so the split adds up to the real request time) and times every
SQL statement through connection.execute_wrapper, attributing it to the
innermost phase running. ``cprofile`` gives the per-function picture.
Nothing in app code is changed: the wrappers are set on module attributes
for the duration of the block and removed after.
"""
from __future__ import annotations

import cProfile
import gc
import inspect
import io
import pstats
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager


class Phases:
    def __init__(self, targets: list[tuple[object, str, str]]):
        """``targets``: (owner, attribute, label); owner is a module or a class."""
        self.targets = targets
        self.wall: dict[str, float] = defaultdict(float)
        self.sql: dict[str, float] = defaultdict(float)
        self.statements: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[str] = []
        self.gc_seconds = 0.0
        self.gc_collections: dict[int, int] = defaultdict(int)
        self.gc_by_generation: dict[int, float] = defaultdict(float)
        self._gc_started = 0.0

    def _wrap(self, fn, label: str):
        phases = self

        def timed(*args, **kwargs):
            phases.stack.append(label)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                phases.stack.pop()
                phases.wall[label] += elapsed
                phases.calls[label] += 1
                # A phase's own time excludes the phases nested in it.
                if phases.stack:
                    phases.wall[phases.stack[-1]] -= elapsed

        return timed

    def _sql(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            label = self.stack[-1] if self.stack else "(outside phases)"
            self.sql[label] += time.perf_counter() - start
            self.statements[label] += 1

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            elapsed = time.perf_counter() - self._gc_started
            self.gc_seconds += elapsed
            self.gc_collections[info["generation"]] += 1
            self.gc_by_generation[info["generation"]] += elapsed

    @contextmanager
    def active(self):
        from django.db import connection

        originals = []
        for owner, attr, label in self.targets:
            own = attr in vars(owner)
            raw = inspect.getattr_static(owner, attr)
            originals.append((owner, attr, raw if own else None))
            if isinstance(raw, classmethod):
                setattr(owner, attr, classmethod(self._wrap(raw.__func__, label)))
            else:
                setattr(owner, attr, self._wrap(raw, label))
        try:
            with ExitStack() as stack:
                stack.enter_context(connection.execute_wrapper(self._sql))
                gc.callbacks.append(self._gc)
                stack.callback(gc.callbacks.remove, self._gc)
                yield self
        finally:
            for owner, attr, raw in originals:
                if raw is None:
                    delattr(owner, attr)  # it was inherited
                else:
                    setattr(owner, attr, raw)

    def reset(self):
        for d in (self.wall, self.sql, self.statements, self.calls, self.gc_collections, self.gc_by_generation):
            d.clear()
        self.gc_seconds = 0.0

    def table(self, total: float, runs: int) -> list[dict]:
        """Per request: each phase's own wall time, of which SQL, in ms."""
        rows = []
        accounted = 0.0
        for label in dict.fromkeys(label for _, _, label in self.targets):
            if label in self.wall:
                rows.append(
                    {
                        "phase": label,
                        "ms": self.wall[label] * 1000 / runs,
                        "sql_ms": self.sql.get(label, 0.0) * 1000 / runs,
                        "statements": self.statements.get(label, 0) / runs,
                    }
                )
                accounted += self.wall[label]
        rows.append(
            {
                "phase": "rest (framework, middleware, view body, commit)",
                "ms": (total - accounted) * 1000 / runs,
                "sql_ms": self.sql.get("(outside phases)", 0.0) * 1000 / runs,
                "statements": self.statements.get("(outside phases)", 0) / runs,
            }
        )
        rows.append({"phase": "total", "ms": total * 1000 / runs, "sql_ms": sum(self.sql.values()) * 1000 / runs, "statements": sum(self.statements.values()) / runs})
        gens = ", ".join(
            f"gen{g} x{n / runs:.1f} {self.gc_by_generation[g] * 1000 / runs:.1f} ms" for g, n in sorted(self.gc_collections.items())
        ) or "none"
        rows.append({"phase": f"  of the total: GC pauses ({gens})", "ms": self.gc_seconds * 1000 / runs, "sql_ms": 0.0, "statements": 0.0})
        return rows


def freeze_heap() -> None:
    """Keep the benchmark's own objects (payloads, read-backs, the seeded
    world) out of the collector's way before profiling in-process: without
    this, gen2 collections walk the bench's heap and charge 10+ ms pauses
    to whichever app phase happens to be running, far more than a server
    worker (whose heap is just the app) pays."""
    gc.collect()
    gc.freeze()


def print_table(console, title: str, rows: list[dict]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("phase")
    table.add_column("ms / request", justify="right")
    table.add_column("of which SQL ms", justify="right")
    table.add_column("statements", justify="right")
    for r in rows:
        table.add_row(r["phase"], f"{r['ms']:.2f}", f"{r['sql_ms']:.2f}", f"{r['statements']:.1f}")
    console.print(table)


def cprofile(fn, top: int = 30) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    out.write("\n")
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
