"""Quick actions on record pages, and Up Next judged in the user's time zone."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

import activities.queries
from accounts.models import User
from activities.models import Event, EventStatus, Task, TaskStatus
from crm.models import Contact, Deal
from telephony.models import Call
from touchpoints.models import Touchpoint


from web.tests.pages import *  # noqa: F403  (helpers and constants)


# --- 5. quick actions -----------------------------------------------------------------------


def test_logging_a_completed_call_on_a_contact_moves_last_contacted(as_alice, world):
    # Logged through telephony.services.do_log_call: the touchpoint is titled
    # as a provider's call is, the notes are its summary, and the call log has it.
    data = {"summary": "Intro call", "status": "completed", "direction": "outbound", "occurred_at": "2024-05-01T10:00", "duration_minutes": "12"}
    response = as_alice.post(record_path("contact", world["dave"], "calls"), data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "touchpoints-changed"
    assert "Call logged." in text(response)
    dave = Contact.objects.get(id=world["dave"])
    assert dave.last_contacted_via == "Phone Call"
    assert dave.last_contacted_on == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert '<dd data-testid="last-contacted-via">Phone Call</dd>' in text(as_alice.get(record_path("contact", world["dave"], "last-contacted")))
    page = text(as_alice.get(record_path("contact", world["dave"], "activity")))
    assert timeline_titles(page) == ["Call to Dave Ito"] and "12 min" in page and "Intro call" in page
    call = Call.objects.get()
    assert (call.provider, call.status, call.duration_seconds, call.contact_id, call.notes) == ("manual", "completed", 720, world["dave"], "Intro call")


def test_call_time_is_read_in_the_users_time_zone(as_alice, alice, world):
    User.objects.filter(id=alice.user.id).update(time_zone="America/Los_Angeles")
    data = {"status": "completed", "direction": "inbound", "occurred_at": "2024-05-01T10:00"}
    assert as_alice.post(record_path("contact", world["dave"], "calls"), data, **HTMX).status_code == 200
    assert Contact.objects.get(id=world["dave"]).last_contacted_on == datetime(2024, 5, 1, 17, tzinfo=UTC)  # PDT is UTC-7


def test_a_busy_call_is_stored_but_does_not_move_last_contacted(as_alice, world):
    data = {"status": "busy", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}
    response = as_alice.post(record_path("contact", world["dave"], "calls"), data, **HTMX)
    assert response.status_code == 200
    assert Touchpoint.objects.filter(kind="phone_call", status="busy").count() == 1
    assert Contact.objects.get(id=world["dave"]).last_contacted_on is None


def test_call_without_a_time_is_rejected_with_a_message_and_stores_nothing(as_alice, world):
    before = Touchpoint.objects.count()
    response = as_alice.post(record_path("contact", world["dave"], "calls"), {"status": "completed", "direction": "outbound", "summary": "Oops"}, **HTMX)
    assert response.status_code == 422
    assert not response.has_header("HX-Trigger")
    page = text(response)
    assert page.startswith('<form class="stack" id="call-form"')
    assert re.search(r'id="call_occurred_at_error"[^>]*><li>This field is required.</li>', page)
    assert '>\nOops</textarea>' in page  # the user's input is kept
    assert Touchpoint.objects.count() == before
    assert Contact.objects.get(id=world["dave"]).last_contacted_on is None


def test_a_call_in_the_future_is_rejected_so_last_contacted_is_not_pinned_ahead(as_alice, world):
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = as_alice.post(record_path("contact", world["dave"], "calls"), {"status": "completed", "direction": "outbound", "occurred_at": later}, **HTMX)
    assert response.status_code == 422
    assert "a call that was made is not in the future" in text(response)  # telephony.services.do_log_call's rule
    assert Contact.objects.get(id=world["dave"]).last_contacted_on is None


def test_call_with_a_bad_status_is_rejected(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "calls"), {"status": "ringing", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}, **HTMX)
    assert response.status_code == 422 and "Select a valid choice" in text(response)
    assert not Touchpoint.objects.exists()


def test_quick_action_without_htmx_redirects_to_the_record(as_alice, world):
    response = as_alice.post(record_path("contact", world["dave"], "notes"), {"summary": "Plain form post"})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{world['dave']}/"
    assert Touchpoint.objects.get().summary == "Plain form post"


def test_adding_a_note_shows_in_the_timeline_but_is_not_contact(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": "Budget approved\nper CFO"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Note added." in text(response)
    page = text(as_alice.get(record_path("deal", world["deal"])))
    assert timeline_titles(page) == ["Budget approved"]
    assert '<dd data-testid="last-contacted-via">—</dd>' in page
    assert Deal.objects.get(id=world["deal"]).last_contacted_on is None


def test_empty_note_is_rejected(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": ""}, **HTMX)
    assert response.status_code == 422 and "This field is required." in text(response)
    assert not Touchpoint.objects.exists()


def test_created_event_and_task_appear_in_up_next(as_alice, world):
    deal_path = record_path("deal", world["deal"])
    start = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    response = as_alice.post(f"{deal_path}events", {"subject": "On-site demo", "event_type": "onsite_meeting", "start_at": start, "duration_minutes": "90"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Event created." in text(response)
    due = (timezone.now().date() + timedelta(days=3)).isoformat()
    response = as_alice.post(f"{deal_path}tasks", {"title": "Send contract", "due_date": due}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Task created." in text(response)

    event = Event.objects.get(subject="On-site demo")
    assert (event.end_at - event.start_at) == timedelta(minutes=90) and event.deal_id == world["deal"]
    task = Task.objects.get(title="Send contract")
    up_next = text(as_alice.get(f"{deal_path}up-next", **HTMX))
    assert up_next_item(up_next, "event", event.id) == "event"
    assert up_next_item(up_next, "task", task.id) == "task"
    assert "<strong>On-site demo</strong>" in up_next and "Onsite meeting" in up_next
    assert "0 overdue · 2 upcoming" in up_next
    # Planned work is not activity yet.
    assert timeline_rows(text(as_alice.get(f"{deal_path}activity"))) == []


def test_event_created_on_a_contact_shows_in_its_up_next(as_alice, world):
    start = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    as_alice.post(record_path("contact", world["dave"], "events"), {"subject": "Coffee", "event_type": "meeting", "start_at": start, "duration_minutes": "30"}, **HTMX)
    assert "<strong>Coffee</strong>" in text(as_alice.get(record_path("contact", world["dave"], "up-next")))


def test_event_without_a_subject_is_rejected(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "events"), {"event_type": "meeting", "start_at": "2030-01-01T10:00", "duration_minutes": "30"}, **HTMX)
    assert response.status_code == 422 and re.search(r'id="event_subject_error"[^>]*><li>This field is required.</li>', text(response))
    assert not Event.objects.exists()


def test_marking_an_event_held_with_an_emoticon_moves_last_contacted_and_shows_it(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "held", "emoticon": "5"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "touchpoints-changed" and "Saved." in text(response)
    deal = Deal.objects.get(id=world["deal"])
    assert deal.last_contacted_on == datetime(2024, 6, 3, 15, 0, tzinfo=UTC)
    assert deal.last_contacted_via == "Meeting"
    page = text(as_alice.get(record_path("deal", world["deal"])))
    assert '<time datetime="2024-06-03T15:00:00+00:00">2024-06-03 15:00</time>' in page.split('id="last-contacted"')[1]
    assert timeline_titles(page) == ["Pricing review"]
    row = page.split('<li class="tp" ')[1]
    assert 'aria-label="Very happy"' in row and '<span class="badge badge-good">Held</span>' in row
    assert "1 emoticons" in text(as_alice.get(record_path("deal", world["deal"], "journey")))
    assert up_next_item(text(as_alice.get(record_path("deal", world["deal"], "up-next"))), "event", event) is None


def test_marking_an_event_not_held_with_an_emoticon_is_rejected_with_the_services_message(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "not_held", "emoticon": "2"}, **HTMX)
    assert response.status_code == 422
    assert "only a held event carries an emoticon" in text(response)
    assert Event.objects.get(id=event).status == EventStatus.PLANNED
    assert not Touchpoint.objects.exists()


def test_marking_an_event_not_held_logs_it_without_contact(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "not_held"}, **HTMX)
    assert response.status_code == 200
    assert Deal.objects.get(id=world["deal"]).last_contacted_on is None
    assert '<span class="badge badge-bad">Not Held</span>' in text(as_alice.get(record_path("deal", world["deal"], "activity")))


def test_event_outcome_without_a_status_is_rejected(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"emoticon": "3"}, **HTMX)
    assert response.status_code == 422 and "This field is required." in text(response)


def test_event_outcome_without_htmx_returns_to_the_page_it_came_from(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "held", "next": f"/deals/{world['deal']}/"})
    assert response.status_code == 302 and response["Location"] == f"/deals/{world['deal']}/"
    response = as_alice.post(f"/events/{event}/outcome", {"status": "held", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_marking_a_task_done_removes_it_from_up_next(as_alice, alice, world):
    task = make_task(alice, "Send contract", timezone.now().date() + timedelta(days=1), deal_id=world["deal"])
    up_next_url = record_path("deal", world["deal"], "up-next")
    assert up_next_item(text(as_alice.get(up_next_url)), "task", task) == "task"
    response = as_alice.post(f"/tasks/{task}/done", **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert up_next_item(text(as_alice.get(up_next_url)), "task", task) is None
    assert Task.objects.get(id=task).status == TaskStatus.COMPLETED


def test_teammate_can_log_a_call_on_alices_contact(as_bob, world):
    data = {"status": "completed", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}
    assert as_bob.post(record_path("contact", world["carol"], "calls"), data, **HTMX).status_code == 200
    assert Contact.objects.get(id=world["carol"]).last_contacted_via == "Phone Call"


# --- 6. Up Next's "overdue" in the user's time zone ------------------------------------


@pytest.fixture
def in_los_angeles(alice):
    User.objects.filter(id=alice.user.id).update(time_zone="America/Los_Angeles")
    alice.user = reload(alice.user)
    return alice


def test_task_due_today_in_los_angeles_is_not_overdue_though_utc_is_a_day_ahead(in_los_angeles, bob, world, monkeypatch):
    # 03:00 UTC on the 26th is 19:00 on the 25th in Los Angeles.
    fixed = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    monkeypatch.setattr(activities.queries, "timezone", SimpleNamespace(now=lambda: fixed))
    task = make_task(in_los_angeles, "Send quote", date(2026, 11, 25), deal_id=world["deal"])
    url = record_path("deal", world["deal"], "up-next")

    la_page = text(browser(in_los_angeles).get(url))
    assert "(America/Los_Angeles)" in la_page
    assert up_next_item(la_page, "task", task) == "task"
    assert "0 overdue · 1 upcoming" in la_page

    utc_page = text(browser(bob).get(url))  # Bob is in UTC, where it is the 26th
    assert up_next_item(utc_page, "task", task) == "task overdue"
    assert "1 overdue · 0 upcoming" in utc_page

    dashboard = text(browser(in_los_angeles).get("/"))
    assert "Today is Wednesday, 2026-11-25 in America/Los_Angeles." in dashboard
    assert f'data-testid="dash-task-{task}"' in section(dashboard, "upcoming-h")
    assert f'data-testid="dash-task-{task}"' not in section(dashboard, "overdue-h")


def test_task_due_today_in_the_users_zone_is_never_overdue(in_los_angeles, world):
    today_in_la = timezone.now().astimezone(ZoneInfo("America/Los_Angeles")).date()
    task = make_task(in_los_angeles, "Today's task", today_in_la, deal_id=world["deal"])
    late = make_task(in_los_angeles, "Yesterday's task", today_in_la - timedelta(days=1), deal_id=world["deal"])
    page = text(browser(in_los_angeles).get(record_path("deal", world["deal"], "up-next")))
    assert up_next_item(page, "task", task) == "task"
    assert up_next_item(page, "task", late) == "task overdue"
    assert page.index(f"up-next-task-{late}") < page.index(f"up-next-task-{task}")  # overdue first


def test_planned_event_that_has_ended_is_overdue(as_alice, alice, world):
    event = make_event(alice, "Missed call", timezone.now() - timedelta(hours=3), event_type="call", deal_id=world["deal"])
    page = text(as_alice.get(record_path("deal", world["deal"], "up-next")))
    assert up_next_item(page, "event", event) == "event overdue"
    assert '<span class="overdue-flag">Overdue</span>' in page


def test_without_javascript_a_rejected_call_comes_back_with_its_error(as_alice, world):
    response = as_alice.post(record_path("contact", world["dave"], "calls"), {"status": "completed", "direction": "outbound"}, follow=True)
    assert response.redirect_chain == [(record_path("contact", world["dave"]), 302)]
    assert '<li class="msg-error">When: This field is required.</li>' in text(response)
    assert Contact.objects.get(id=world["dave"]).last_contacted_on is None


def test_without_javascript_a_rejected_outcome_comes_back_with_its_error(as_alice, alice, world):
    event = make_event(alice, "Review", datetime(2024, 4, 1, 10, tzinfo=UTC), deal_id=world["deal"])
    back = record_path("deal", world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "not_held", "emoticon": "2", "next": back}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    assert "only a held event carries an emoticon" in text(response)
    assert Event.objects.get(id=event).status == EventStatus.PLANNED
