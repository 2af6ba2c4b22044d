"""GET /notifications, marking read, and the Smart Alerts configuration API."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.models import AlertConfig, Notification
from alerts.services import do_notify, do_scan_alerts


def notify(api, title: str, minutes_ago: int = 0) -> int:
    return do_notify(api.user.id, "workflow", title, url="/", at=timezone.now() - timedelta(minutes=minutes_ago)).id


def test_each_user_sees_only_their_own_newest_first(alice, bob, admin):
    old, new = notify(alice, "Old", 10), notify(alice, "New", 1)
    notify(bob, "Bob's")
    body = alice.get("notifications").json()
    assert [n["id"] for n in body["items"]] == [new, old]
    assert body["unread_count"] == 2 and body["next_cursor"] is None
    assert [n["title"] for n in bob.get("notifications").json()["items"]] == ["Bob's"]
    assert admin.get("notifications").json() == {"items": [], "next_cursor": None, "unread_count": 0}


def test_cursor_pages_through(alice):
    ids = [notify(alice, f"N{i}", 100 - i) for i in range(5)]
    first = alice.get("notifications", limit=2).json()
    second = alice.get("notifications", limit=2, cursor=first["next_cursor"]).json()
    third = alice.get("notifications", limit=2, cursor=second["next_cursor"]).json()
    assert [n["id"] for n in first["items"] + second["items"] + third["items"]] == ids[::-1]
    assert third["next_cursor"] is None


def test_mark_read_and_unread_filter(alice):
    a, b = notify(alice, "A", 2), notify(alice, "B", 1)
    response = alice.post(f"notifications/{a}/read")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    first_read = response.json()["read_at"]
    assert alice.post(f"notifications/{a}/read").json()["read_at"] == first_read  # again: unchanged
    body = alice.get("notifications", unread="true").json()
    assert [n["id"] for n in body["items"]] == [b] and body["unread_count"] == 1
    assert len(alice.get("notifications", unread="false").json()["items"]) == 2


def test_another_users_notification_is_not_found(alice, bob):
    mine = notify(alice, "Mine")
    response = bob.post(f"notifications/{mine}/read")
    assert response.status_code == 404 and response.json() == {"detail": f"notification {mine} not found"}
    assert bob.post("notifications/999999/read").json() == {"detail": "notification 999999 not found"}
    assert Notification.objects.get(id=mine).read_at is None


def test_read_all_marks_only_ones_own(alice, bob):
    notify(alice, "A")
    notify(alice, "B")
    notify(bob, "Bob's")
    assert alice.post("notifications/read-all").json() == {"marked": 2, "unread_count": 0}
    assert bob.get("notifications").json()["unread_count"] == 1


def test_a_scanned_alert_reaches_the_owner_through_the_api(alice, world):
    do_scan_alerts()
    [item] = alice.get("notifications").json()["items"]
    assert (item["kind"], item["record_type"], item["record_id"], item["url"]) == ("idle_deal", "deal", world["deal"], f"/deals/{world['deal']}/")


# --- configuration -------------------------------------------------------------------


def test_config_defaults_before_anyone_saves(alice, settings):
    settings.IDLE_DEAL_DAYS = 21
    body = alice.get("alerts/config").json()
    assert body == {
        "idle_enabled": True, "idle_days": 21, "stage_idle_days": {}, "deal_conditions": {"all": []}, "deal_conditions_text": "everything",
        "overdue_enabled": True, "email_enabled": False, "updated_at": None, "updated_by_id": None,
    }  # fmt: skip
    assert not AlertConfig.objects.exists()


def test_admin_replaces_the_config(admin, alice):
    body = {
        "idle_days": 10,
        "stage_idle_days": {"proposal": 5, "negotiation": None},
        "deal_conditions": {"field": "amount", "operator": "greater_than", "value": 1000},
        "email_enabled": True,
    }
    response = admin.put("alerts/config", body)
    assert response.status_code == 200, response.content
    saved = response.json()
    assert saved["stage_idle_days"] == {"proposal": 5}
    assert saved["deal_conditions"] == {"all": [{"field": "amount", "operator": "greater_than", "value": "1000"}]}  # normalized
    assert saved["deal_conditions_text"] == "Amount is greater than 1000"
    assert saved["email_enabled"] is True and saved["updated_by_id"] == admin.user.id
    assert alice.get("alerts/config").json()["idle_days"] == 10


def test_only_admins_change_the_config(alice, manager):
    for api in (alice, manager):
        response = api.put("alerts/config", {"idle_days": 3})
        assert response.status_code == 403
        assert response.json() == {"detail": "only an admin may change the Smart Alerts configuration"}
    assert not AlertConfig.objects.exists()


def test_bad_config_names_the_field(admin):
    response = admin.put("alerts/config", {"idle_days": 10, "deal_conditions": {"all": [{"field": "stage", "operator": "greater_than", "value": 1}]}})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "deal_conditions", "all", 0, "operator"]
    response = admin.put("alerts/config", {"idle_days": 0})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "idle_days"]
    response = admin.put("alerts/config", {"idle_days": 5, "stage_idle_days": {"closed_won": 3}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][:2] == ["body", "stage_idle_days"]
    response = admin.put("alerts/config", {"idle_days": 5, "deal_conditions": {"all": [{"field": "name", "operator": "contains", "value": "a\u0000b"}]}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "deal_conditions", "all", 0, "value"]
