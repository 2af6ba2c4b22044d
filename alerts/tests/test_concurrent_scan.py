"""Two scans at once raise each alert once: on PostgreSQL real concurrent
transactions; on SQLite the second writer waits for the first (IMMEDIATE
transactions, busy timeout) instead of failing with "database is locked"."""
from __future__ import annotations

import threading

import pytest
from django.db import connections

from alerts.models import Notification
from alerts.services import do_scan_alerts
from alerts.tests.conftest import utc

@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_raise_each_alert_once(alice, world):
    for i in range(50):
        alice.post("deals", {"name": f"Old {i}", "created_at": "2025-01-01T00:00:00+00:00"})
    start = threading.Barrier(2)
    raised: list[int] = []
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            start.wait()
            raised.append(do_scan_alerts(utc("2026-06-01 12:00")).raised["idle_deal"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(raised) == 51
    assert Notification.objects.filter(kind="idle_deal").count() == 51
    assert Notification.objects.filter(kind="idle_deal").values("record_id").distinct().count() == 51
