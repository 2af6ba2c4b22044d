"""The clients: several threads, each with its own keep-alive connection,
POSTing its share of the batches to /api/v1/touchpoints/batch.

A client retries a request that failed with a connection error, a timeout
or a 5xx, with the same body (the same external ids), as a real provider
retries a webhook or a sync retries a page; it backs off while the server
is down. Only a 2xx is an acknowledgement. Whatever is odd about an answer
(a 4xx, an item reported as an error, an id that changes between answers,
an item "created" twice) is recorded as a violation.
"""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from faults.world import Item

BATCH_PATH = "/api/v1/touchpoints/batch"


@dataclass
class Ledger:
    """What the clients were told, shared by the threads (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, external_id) -> id answered
    created: Counter = field(default_factory=Counter)  # (source, external_id) -> answers saying "created"
    batches_acked: int = 0
    retries: Counter = field(default_factory=Counter)  # why requests were retried
    latencies: list[float] = field(default_factory=list)  # seconds, of the acknowledged requests
    violations: list[str] = field(default_factory=list)

    def violation(self, message: str) -> None:
        with self.lock:
            if len(self.violations) < 1000:
                self.violations.append(message)

    def record(self, batch: list[Item], answer: dict, latency: float = 0.0) -> None:
        """A 2xx answer to ``batch``: each item must be "created" or
        "existing" with an id, the same id every time it is answered."""
        results = answer.get("results", [])
        if len(results) != len(batch):
            self.violation(f"a batch of {len(batch)} was answered with {len(results)} results")
            return
        with self.lock:
            self.batches_acked += 1
            self.latencies.append(latency)
            for item, result in zip(batch, results):
                key = (item.source, item.external_id)
                if result.get("status") not in ("created", "existing") or not isinstance(result.get("id"), int):
                    self.violations.append(f"{key} answered {result}")
                    continue
                before = self.acked.setdefault(key, result["id"])
                if before != result["id"]:
                    self.violations.append(f"{key} answered id {result['id']} after id {before}")
                if result["status"] == "created":
                    self.created[key] += 1


class Client(threading.Thread):
    def __init__(self, number: int, port: int, token: str, batches: list[list[Item]], ledger: Ledger, deadline: float, seed: int):
        super().__init__(name=f"client-{number}", daemon=True)
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
        self.batches = batches
        self.ledger = ledger
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for batch in self.batches:
                self._send(batch, json.dumps({"items": [item.json for item in batch]}).encode())
        except BaseException as exc:  # reported by the runner
            self.error = exc
        finally:
            if self.conn is not None:
                self.conn.close()

    def _send(self, batch: list[Item], body: bytes) -> None:
        attempt = 0
        while True:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{self.name}: a batch was still unacknowledged at the deadline")
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                sent = time.monotonic()
                self.conn.request("POST", BATCH_PATH, body=body, headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                # Refused (server down), reset or cut mid-answer (killed),
                # timed out: the request may or may not have been stored.
                self.conn.close()
                self.conn = None
                self._count_retry(type(exc).__name__)
                attempt += 1
                time.sleep(min(0.5, 0.02 * 2**attempt) * self.rng.uniform(0.5, 1.0))
                continue
            if status >= 500:
                self._count_retry(f"HTTP {status}")
                attempt += 1
                time.sleep(min(0.5, 0.02 * 2**attempt) * self.rng.uniform(0.5, 1.0))
                continue
            if not 200 <= status < 300:
                self.ledger.violation(f"batch answered {status}, not retried: {data[:300]!r}")
                return
            self.ledger.record(batch, json.loads(data), time.monotonic() - sent)
            return

    def _count_retry(self, why: str) -> None:
        with self.ledger.lock:
            self.ledger.retries[why] += 1


def split(items: list[Item], clients: int, batch_size: int) -> list[list[list[Item]]]:
    """Batches dealt round-robin to the clients."""
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    return [batches[c::clients] for c in range(clients)]
