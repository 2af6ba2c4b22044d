"""Deleting a record resolves its open alerts: the bell stops counting what
nobody can act on, and nothing links to a page that is gone unread."""
from __future__ import annotations

from alerts.models import Notification
from alerts.services import do_scan_alerts
from alerts.tests.conftest import utc

NOW = utc("2026-06-01 12:00")


def open_alerts(user) -> list[tuple[str, int]]:
    return sorted(Notification.objects.filter(user=user, resolved_at__isnull=True).values_list("kind", "record_id"))


def test_deleting_an_idle_deal_resolves_its_alert(alice, world):
    do_scan_alerts(NOW)
    assert open_alerts(alice.user) == [("idle_deal", world["deal"])]
    assert alice.get("notifications", unread="true").json()["unread_count"] == 1
    assert alice.delete(f"deals/{world['deal']}").status_code == 204
    assert open_alerts(alice.user) == []
    assert alice.get("notifications", unread="true").json()["unread_count"] == 0


def test_deleting_an_overdue_task_or_event_resolves_its_alert(alice, world):
    task = alice.post("tasks", {"title": "Call back", "due_date": "2026-05-20", "deal_id": world["deal"]}).json()["id"]
    event = alice.post(
        "events", {"subject": "Demo", "start_at": "2026-05-20T10:00:00+00:00", "end_at": "2026-05-20T11:00:00+00:00", "deal_id": world["deal"]}
    ).json()["id"]
    do_scan_alerts(NOW)
    assert ("overdue_task", task) in open_alerts(alice.user) and ("overdue_event", event) in open_alerts(alice.user)
    assert alice.delete(f"tasks/{task}").status_code == 204
    assert alice.delete(f"events/{event}").status_code == 204
    assert open_alerts(alice.user) == [("idle_deal", world["deal"])]  # the deal is still there, and still idle
