"""Up Next: upcoming and overdue events and tasks, judged in the viewer's zone."""
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from accounts.services import do_create_user
from activities.queries import up_next, user_today
from activities.services import do_create_task
from conftest import _persona
from crm.models import Deal


def test_task_due_today_is_not_overdue_in_the_viewers_time_zone(db):
    # 03:00 UTC on the 26th is still 19:00 on the 25th in Los Angeles.
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    la = do_create_user("la", role="admin", time_zone="America/Los_Angeles")
    utc = do_create_user("utc", role="admin", time_zone="UTC")
    deal = Deal.objects.create(name="D", owner=la)
    do_create_task(la, {"title": "Send quote", "due_date": date(2026, 11, 25), "deal_id": deal.id})
    seen_in_la = up_next(la, "deal", deal.id, 20, now=now)
    seen_in_utc = up_next(utc, "deal", deal.id, 20, now=now)
    assert seen_in_la["today"] == date(2026, 11, 25)
    assert [i["title"] for i in seen_in_la["upcoming"]] == ["Send quote"] and seen_in_la["overdue"] == []
    assert [i["title"] for i in seen_in_utc["overdue"]] == ["Send quote"] and seen_in_utc["upcoming"] == []


def test_up_next_endpoint_splits_overdue_and_upcoming(db):
    tokyo = _persona("tokyo", time_zone="Asia/Tokyo")
    deal = tokyo.post("deals", {"name": "Tokyo deal"}).json()["id"]
    today = user_today(tokyo.user)
    now = timezone.now()
    tokyo.post("tasks", {"title": "late", "due_date": str(today - timedelta(days=1)), "deal_id": deal})
    tokyo.post("tasks", {"title": "today", "due_date": str(today), "deal_id": deal})
    tokyo.post("tasks", {"title": "done", "due_date": str(today - timedelta(days=3)), "deal_id": deal, "status": "completed"})
    tokyo.post("events", {"subject": "missed call", "event_type": "call", "start_at": (now - timedelta(hours=3)).isoformat(), "end_at": (now - timedelta(hours=2)).isoformat(), "deal_id": deal})
    tokyo.post("events", {"subject": "demo", "start_at": (now + timedelta(days=2)).isoformat(), "end_at": (now + timedelta(days=2, hours=1)).isoformat(), "deal_id": deal})
    tokyo.post("events", {"subject": "held one", "status": "held", "start_at": (now - timedelta(days=1)).isoformat(), "end_at": (now - timedelta(days=1) + timedelta(hours=1)).isoformat(), "deal_id": deal})
    body = tokyo.get(f"deals/{deal}/up-next").json()
    assert body["time_zone"] == "Asia/Tokyo" and body["today"] == str(today)
    assert sorted(i["title"] for i in body["overdue"]) == ["late", "missed call"]
    assert [i["title"] for i in body["upcoming"]] == ["today", "demo"]
    assert all(i["overdue"] for i in body["overdue"]) and not any(i["overdue"] for i in body["upcoming"])
    assert (body["overdue_count"], body["upcoming_count"]) == (2, 2)


def test_up_next_rolls_up_from_deals_to_contacts_and_organizations(alice, world):
    now = timezone.now()
    alice.post("events", {"subject": "deal meeting", "start_at": (now + timedelta(days=1)).isoformat(), "end_at": (now + timedelta(days=1, hours=1)).isoformat(), "deal_id": world["deal"]})
    alice.post("tasks", {"title": "call Dave", "due_date": str(user_today(alice.user) + timedelta(days=1)), "contact_id": world["dave"]})
    carol = [i["title"] for i in alice.get(f"contacts/{world['carol']}/up-next").json()["upcoming"]]
    dave = [i["title"] for i in alice.get(f"contacts/{world['dave']}/up-next").json()["upcoming"]]
    org = [i["title"] for i in alice.get(f"organizations/{world['org']}/up-next").json()["upcoming"]]
    assert carol == ["deal meeting"]  # Carol is on the deal
    assert dave == ["call Dave"]
    assert sorted(org) == ["call Dave", "deal meeting"]
