"""The Smart Alerts scan: raise once per idle period, clear on contact,
closed deals never idle, per-stage thresholds, overdue work in the owner's
zone, mail on and off."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from activities.models import Event, Task
from alerts.models import Notification
from alerts.services import do_email_notifications, do_save_config, do_scan_alerts
from alerts.tests.conftest import utc
from conftest import at
from crm.models import Deal

NOW = utc("2026-06-01 12:00")


def touch(api, deal_id: int, when: str, kind: str = "email") -> None:
    response = api.post("touchpoints", {"kind": kind, "occurred_at": at(when), "deal_ids": [deal_id]})
    assert response.status_code == 201, response.content


def alerts_of(user, kind: str = "idle_deal") -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=kind).order_by("id"))


def test_idle_deal_raises_one_notification_for_its_owner(alice, world):
    result = do_scan_alerts(NOW)
    assert result.raised["idle_deal"] == 1
    [alert] = alerts_of(alice.user)
    assert alert.key == f"idle:deal:{world['deal']}:2024-01-01T00:00:00+00:00"  # never contacted: quiet since its creation
    assert (alert.title, alert.url, alert.record_type, alert.record_id) == ("Idle deal: Grasspods renewal", f"/deals/{world['deal']}/", "deal", world["deal"])
    assert alert.read_at is None and alert.resolved_at is None
    assert Deal.objects.get(id=world["deal"]).idle_alerted_for == utc("2024-01-01 00:00")


def test_scanning_again_raises_nothing_more(alice, world):
    do_scan_alerts(NOW)
    again = do_scan_alerts(NOW + timedelta(minutes=5))
    later = do_scan_alerts(NOW + timedelta(days=30))
    assert again.raised["idle_deal"] == later.raised["idle_deal"] == 0
    assert len(alerts_of(alice.user)) == 1


def test_a_touchpoint_clears_the_alert_and_a_later_silence_alerts_again(alice, world):
    do_scan_alerts(NOW)
    touch(alice, world["deal"], "2026-06-01 13:00")
    cleared = do_scan_alerts(NOW + timedelta(hours=2))
    assert cleared.cleared["idle_deal"] == 1 and cleared.raised["idle_deal"] == 0
    [first] = alerts_of(alice.user)
    assert first.resolved_at is not None and first.read_at is not None  # no longer counts on the bell
    assert Deal.objects.get(id=world["deal"]).idle_alerted_for is None

    assert do_scan_alerts(NOW + timedelta(days=14)).raised["idle_deal"] == 0  # 13 days 23 hours: not yet
    assert do_scan_alerts(NOW + timedelta(days=14, hours=2)).raised["idle_deal"] == 1
    first, second = alerts_of(alice.user)
    assert second.key == f"idle:deal:{world['deal']}:2026-06-01T13:00:00+00:00" and second.resolved_at is None


def test_a_late_logged_old_touchpoint_is_a_new_period_already_idle(alice, world):
    """A call from March logged in June: the deal was contacted (the old
    alert is resolved) and has been quiet since March (a new alert)."""
    do_scan_alerts(NOW)
    touch(alice, world["deal"], "2026-03-01 09:00", kind="phone_call")
    result = do_scan_alerts(NOW + timedelta(hours=1))
    assert (result.cleared["idle_deal"], result.raised["idle_deal"]) == (1, 1)
    first, second = alerts_of(alice.user)
    assert first.resolved_at is not None and second.key.endswith(":2026-03-01T09:00:00+00:00")


def test_a_note_is_not_contact(alice, world):
    do_scan_alerts(NOW)
    touch(alice, world["deal"], "2026-06-01 13:00", kind="note")
    assert do_scan_alerts(NOW + timedelta(hours=2)).cleared["idle_deal"] == 0


@pytest.mark.parametrize("stage", ["closed_won", "closed_lost"])
def test_closed_deals_are_never_idle(alice, world, stage):
    assert alice.patch(f"deals/{world['deal']}", {"stage": stage}).status_code == 200
    assert do_scan_alerts(NOW).raised["idle_deal"] == 0
    assert alerts_of(alice.user) == []


def test_closing_an_alerted_deal_resolves_its_alert_and_reopening_alerts_again(alice, world):
    do_scan_alerts(NOW)
    alice.patch(f"deals/{world['deal']}", {"stage": "closed_lost"})
    assert do_scan_alerts(NOW + timedelta(minutes=5)).cleared["idle_deal"] == 1
    assert alerts_of(alice.user)[0].resolved_at is not None
    alice.patch(f"deals/{world['deal']}", {"stage": "negotiation"})
    # Reopened, still quiet since 2024: the same period, already alerted and
    # resolved; the key says so and nothing new is delivered.
    assert do_scan_alerts(NOW + timedelta(minutes=10)).raised["idle_deal"] == 1
    assert len(alerts_of(alice.user)) == 1


def test_a_deal_without_owner_alerts_nobody(alice, admin, world):
    Deal.objects.filter(id=world["deal"]).update(owner=None)
    assert do_scan_alerts(NOW).raised["idle_deal"] == 0


def test_per_stage_thresholds(alice, admin, world):
    proposal = alice.post("deals", {"name": "Proposal out", "stage": "proposal", "created_at": at("2026-05-01 00:00")}).json()["id"]
    early = alice.post("deals", {"name": "Early talks", "stage": "prospecting", "created_at": at("2026-05-01 00:00")}).json()["id"]
    for deal in (proposal, early):
        touch(alice, deal, "2026-05-27 12:00")  # five days before NOW
    do_save_config(admin.user, {"idle_days": 14, "stage_idle_days": {"proposal": 3}})
    alice.user.time_zone = "Australia/Sydney"
    alice.user.save(update_fields=["time_zone"])
    do_scan_alerts(NOW)
    alerted = {n.record_id for n in alerts_of(alice.user)}
    assert alerted == {world["deal"], proposal}  # early talks waits for 14 days
    # Written for its reader: the time in the owner's zone (12:00 UTC is 22:00 in Sydney in May).
    assert Notification.objects.get(record_id=proposal).body == "No contact since 2026-05-27 22:00 (Australia/Sydney): idle after 3 days."


def test_only_deals_matching_the_conditions(alice, admin, world):
    big = alice.post("deals", {"name": "Big one", "amount": "50000", "created_at": at("2026-01-01 00:00")}).json()["id"]
    do_save_config(admin.user, {"idle_days": 14, "deal_conditions": {"all": [{"field": "amount", "operator": "greater_than", "value": "10000"}]}})
    do_scan_alerts(NOW)
    assert {n.record_id for n in alerts_of(alice.user)} == {big}


def test_idle_alerts_off_raises_none_but_still_clears(alice, admin, world):
    do_scan_alerts(NOW)
    do_save_config(admin.user, {"idle_days": 14, "idle_enabled": False})
    touch(alice, world["deal"], "2026-06-01 13:00")
    result = do_scan_alerts(NOW + timedelta(days=30))
    assert (result.raised["idle_deal"], result.cleared["idle_deal"]) == (0, 1)


# --- overdue tasks and events -----------------------------------------------------------


def make_task(api, due: str, **extra) -> int:
    response = api.post("tasks", {"title": "Send quote", "due_date": due, **extra})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_overdue_task_is_judged_in_the_owners_zone(alice, bob, admin):
    """At 12:00 UTC on 10 March it is already the 11th in Auckland: a task
    due on the 10th is overdue there, and not yet for a rep in UTC."""
    alice.user.time_zone = "Pacific/Auckland"
    alice.user.save(update_fields=["time_zone"])
    do_save_config(admin.user, {"idle_days": 14, "idle_enabled": False})
    hers, his = make_task(alice, "2026-03-10"), make_task(bob, "2026-03-10")
    result = do_scan_alerts(utc("2026-03-10 12:00"))
    assert result.raised["overdue_task"] == 1
    [alert] = alerts_of(alice.user, "overdue_task")
    assert (alert.record_type, alert.record_id, alert.key) == ("task", hers, f"overdue:task:{hers}:2026-03-10")
    assert alerts_of(bob.user, "overdue_task") == []
    assert do_scan_alerts(utc("2026-03-10 23:59")).raised["overdue_task"] == 0
    assert do_scan_alerts(utc("2026-03-11 00:00")).raised["overdue_task"] == 1  # midnight in UTC: bob's now
    assert [n.record_id for n in alerts_of(bob.user, "overdue_task")] == [his]


def test_overdue_task_west_of_utc_waits_for_local_midnight(alice, admin):
    alice.user.time_zone = "America/Los_Angeles"
    alice.user.save(update_fields=["time_zone"])
    make_task(alice, "2026-03-10")
    assert do_scan_alerts(utc("2026-03-11 06:59")).raised["overdue_task"] == 0  # 23:59 on the 10th in LA (PDT from 8 March)
    assert do_scan_alerts(utc("2026-03-11 07:00")).raised["overdue_task"] == 1


def test_overdue_task_alerts_once_per_due_date(alice):
    task = make_task(alice, "2026-03-10")
    do_scan_alerts(utc("2026-03-12 09:00"))
    do_scan_alerts(utc("2026-03-13 09:00"))
    assert len(alerts_of(alice.user, "overdue_task")) == 1
    alice.patch(f"tasks/{task}", {"due_date": "2026-03-20"})  # moved: the alert is resolved
    assert do_scan_alerts(utc("2026-03-14 09:00")).cleared["overdue_task"] == 1
    assert alerts_of(alice.user, "overdue_task")[0].resolved_at is not None
    do_scan_alerts(utc("2026-03-21 09:00"))  # missed again
    assert [n.key.rsplit(":", 1)[1] for n in alerts_of(alice.user, "overdue_task")] == ["2026-03-10", "2026-03-20"]


def test_completed_task_is_resolved_and_never_alerts(alice):
    task = make_task(alice, "2026-03-10")
    done = make_task(alice, "2026-03-10")
    alice.patch(f"tasks/{done}", {"status": "completed"})
    do_scan_alerts(utc("2026-03-12 09:00"))
    assert [n.record_id for n in alerts_of(alice.user, "overdue_task")] == [task]
    alice.patch(f"tasks/{task}", {"status": "completed"})
    assert do_scan_alerts(utc("2026-03-12 09:05")).cleared["overdue_task"] == 1
    assert Task.objects.get(id=task).overdue_alerted_for is None


def test_overdue_event_alerts_once_and_clears_when_held(alice):
    event = alice.post("events", {"subject": "Demo", "start_at": at("2026-03-10 10:00"), "end_at": at("2026-03-10 11:00")}).json()["id"]
    assert do_scan_alerts(utc("2026-03-10 10:59")).raised["overdue_event"] == 0
    assert do_scan_alerts(utc("2026-03-10 11:01")).raised["overdue_event"] == 1
    assert do_scan_alerts(utc("2026-03-10 11:06")).raised["overdue_event"] == 0
    [alert] = alerts_of(alice.user, "overdue_event")
    assert alert.key == f"overdue:event:{event}:2026-03-10T11:00:00+00:00"
    assert alice.patch(f"events/{event}", {"status": "held"}).status_code == 200
    assert do_scan_alerts(utc("2026-03-10 11:10")).cleared["overdue_event"] == 1
    assert Event.objects.get(id=event).overdue_alerted_for is None


def test_overdue_alerts_off(alice, admin):
    do_save_config(admin.user, {"idle_days": 14, "overdue_enabled": False})
    make_task(alice, "2026-03-10")
    assert do_scan_alerts(utc("2026-03-12 09:00")).raised["overdue_task"] == 0


# --- mail ---------------------------------------------------------------------------------


def with_address(api, address: str):
    api.user.email = address
    api.user.save(update_fields=["email"])
    return api


def test_mail_is_off_by_default(alice, world, django_capture_on_commit_callbacks):
    with_address(alice, "alice@ourco.example")
    with django_capture_on_commit_callbacks(execute=True):
        do_scan_alerts(NOW)
    assert mail.outbox == []


def test_mail_when_enabled_is_sent_once(alice, admin, world, django_capture_on_commit_callbacks):
    with_address(alice, "alice@ourco.example")
    do_save_config(admin.user, {"idle_days": 14, "email_enabled": True})
    make_task(alice, "2026-03-10")
    with django_capture_on_commit_callbacks(execute=True):
        do_scan_alerts(NOW)
    [message] = mail.outbox
    assert message.to == ["alice@ourco.example"] and message.subject == "[Touchpoints] 2 new Smart Alerts"
    assert "Idle deal: Grasspods renewal" in message.body and f"/deals/{world['deal']}/" in message.body and "Overdue task: Send quote" in message.body
    keys = [n.key for n in Notification.objects.filter(user=alice.user)]
    assert do_email_notifications(alice.user.id, keys) == 0  # a repeated job mails nothing
    with django_capture_on_commit_callbacks(execute=True):
        do_scan_alerts(NOW + timedelta(minutes=5))
    assert len(mail.outbox) == 1


def test_a_failed_send_releases_the_claim_for_the_retry(alice, admin, world, settings):
    with_address(alice, "alice@ourco.example")
    do_save_config(admin.user, {"idle_days": 14})
    do_scan_alerts(NOW)
    keys = [n.key for n in Notification.objects.filter(user=alice.user)]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_PORT = 9  # nothing listens: the send fails
    with pytest.raises(OSError):
        do_email_notifications(alice.user.id, keys)
    assert Notification.objects.filter(user=alice.user, emailed_at__isnull=True).count() == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert do_email_notifications(alice.user.id, keys) == 1
    assert len(mail.outbox) == 1


def test_read_alerts_are_not_mailed(alice, world):
    with_address(alice, "alice@ourco.example")
    do_scan_alerts(NOW)
    Notification.objects.update(read_at=NOW)
    assert do_email_notifications(alice.user.id, [n.key for n in Notification.objects.all()]) == 0


def test_the_scan_costs_the_same_statements_for_one_deal_or_many(alice, world):
    """Conditional updates, not a Python loop over deals."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert do_scan_alerts(NOW).raised["idle_deal"] == 1
    for i in range(30):
        alice.post("deals", {"name": f"Old {i}", "created_at": at("2025-01-01 00:00")})
    with CaptureQueriesContext(connection) as many:
        assert do_scan_alerts(NOW + timedelta(minutes=5)).raised["idle_deal"] == 30
    assert len(many) == len(one)


def test_a_big_scan_goes_in_batches_and_misses_nothing(alice, world, monkeypatch):
    from alerts import scan

    monkeypatch.setattr(scan, "SCAN_BATCH", 3)
    for i in range(7):
        alice.post("deals", {"name": f"Old {i}", "created_at": at("2025-01-01 00:00")})
    assert do_scan_alerts(NOW).raised["idle_deal"] == 8
    assert Notification.objects.filter(kind="idle_deal").count() == 8
    for deal in Deal.objects.all():
        touch(alice, deal.id, "2026-06-01 13:00")
    assert do_scan_alerts(NOW + timedelta(hours=2)).cleared["idle_deal"] == 8
    assert Notification.objects.filter(kind="idle_deal", resolved_at__isnull=True).count() == 0


@pytest.mark.parametrize("which", ["raise", "clear"])
def test_the_scan_statements_can_use_their_partial_indexes(alice, world, which):
    """The WHERE the scan sends must match the partial index's condition
    (on SQLite only literally: a bound stage list would not)."""
    from django.db import connection

    from alerts import scan
    from alerts.services import get_config

    qs = scan.idle_deals(get_config(), NOW) if which == "raise" else scan.cleared_deals()
    index = "deal_idle_candidates_idx" if which == "raise" else "deal_idle_cleared_idx"
    sql, params = qs.values_list("pk", flat=True)[: scan.SCAN_BATCH].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A tiny table: show the index is usable at all. Bitmap scans off
            # too: with a few hundred rows the planner sometimes preferred a
            # bitmap scan of the owner index (seen once in CI), which says
            # nothing about whether the partial index matches.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert index in plan, plan
