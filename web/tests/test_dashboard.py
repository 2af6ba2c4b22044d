"""The Actions dashboard's Me tab."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone



from web.tests.pages import *  # noqa: F403  (helpers and constants)


# --- 7. the dashboard -------------------------------------------------------------------


@pytest.fixture
def my_work(alice, world) -> dict[str, int]:
    now = timezone.now()
    today = now.date()
    org, deal, dave = world["org"], world["deal"], world["dave"]
    return {
        "overdue_event": make_event(alice, "Missed demo", now - timedelta(days=2), deal_id=deal),
        "overdue_task": make_task(alice, "Late quote", today - timedelta(days=2), organization_id=org),
        "upcoming_event": make_event(alice, "Next demo", now + timedelta(days=2), contact_ids=[dave]),
        "upcoming_task": make_task(alice, "Call Dave", today + timedelta(days=2), contact_id=dave),
        "completed_event": make_event(alice, "Great meeting", now - timedelta(days=1), status="held", emoticon=5, organization_id=org),
        "completed_task": make_task(alice, "Sent NDA", today, status="completed", deal_id=deal),
    }


def test_dashboard_lists_my_overdue_upcoming_and_completed_work_with_links(as_alice, world, my_work):
    page = text(as_alice.get("/"))
    overdue, upcoming, completed = section(page, "overdue-h"), section(page, "upcoming-h"), section(page, "completed-h")
    assert '<span class="count">2</span>' in overdue and '<span class="count">2</span>' in upcoming and '<span class="count">2</span>' in completed

    assert f'data-testid="dash-event-{my_work["overdue_event"]}"' in overdue
    assert f'<a href="/deals/{world["deal"]}/"><strong>Missed demo</strong></a>' in overdue
    assert f'<a href="/organizations/{world["org"]}/"><strong>Late quote</strong></a>' in overdue

    assert f'<a href="/contacts/{world["dave"]}/"><strong>Next demo</strong></a>' in upcoming
    assert f'<a href="/contacts/{world["dave"]}/"><strong>Call Dave</strong></a>' in upcoming
    assert "Missed demo" not in upcoming and "Overdue" not in upcoming

    assert f'<a href="/organizations/{world["org"]}/"><strong>Great meeting</strong></a>' in completed
    assert 'aria-label="Very happy"' in completed
    assert f'<a href="/deals/{world["deal"]}/"><strong>Sent NDA</strong></a>' in completed


def test_dashboard_does_not_list_a_teammates_work(as_bob, my_work):
    page = text(as_bob.get("/"))
    for title in ("Missed demo", "Late quote", "Next demo", "Call Dave", "Great meeting", "Sent NDA"):
        assert title not in page


def test_marking_a_dashboard_task_done_moves_it_to_completed(as_alice, my_work):
    as_alice.post(f"/tasks/{my_work['overdue_task']}/done", **HTMX)
    page = text(as_alice.get("/"))
    assert "Late quote" not in section(page, "overdue-h") and "Late quote" in section(page, "completed-h")


def test_dashboard_lists_an_old_never_contacted_open_deal_as_idle(as_alice, world):
    idle = section(text(as_alice.get("/")), "idle-h")
    assert '<span class="count">1</span>' in idle
    assert f'<a href="/deals/{world["deal"]}/">Grasspods renewal</a> <small class="muted">Grasspods · never contacted</small>' in idle


def test_recently_contacted_deal_is_not_idle(as_alice, alice, world):
    log(alice, "phone_call", (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), "Check-in", "completed", deal_ids=[world["deal"]])
    idle = section(text(as_alice.get("/")), "idle-h")
    assert "Grasspods renewal" not in idle and "No idle deals." in idle


def test_deal_contacted_long_ago_is_idle(as_alice, alice, world):
    log(alice, "phone_call", "2024-02-01 10:00", "Check-in", "completed", deal_ids=[world["deal"]])
    idle = section(text(as_alice.get("/")), "idle-h")
    assert "Grasspods renewal</a>" in idle and "last contacted 2024-02-01" in idle


def test_a_note_does_not_keep_a_deal_from_being_idle(as_alice, world):
    as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": "Internal thoughts"}, **HTMX)
    assert "Grasspods renewal</a>" in section(text(as_alice.get("/")), "idle-h")


@pytest.mark.parametrize("stage", ["closed_won", "closed_lost"])
def test_closed_deals_are_not_idle(as_alice, alice, world, stage):
    assert alice.patch(f"deals/{world['deal']}", {"stage": stage}).status_code == 200
    idle = section(text(as_alice.get("/")), "idle-h")
    assert "Grasspods renewal" not in idle and "No idle deals." in idle


def test_idle_days_setting_changes_the_threshold(as_alice, alice):
    created = (timezone.now() - timedelta(days=10)).isoformat()
    alice.post("deals", {"name": "Ten days quiet", "created_at": created})
    page = text(as_alice.get("/"))
    assert "Ten days quiet" not in section(page, "idle-h")  # default: 14 days
    assert 'name="idle_deal_days" min="1" max="365" value="14"' in page

    response = as_alice.post("/me/idle-days", {"idle_deal_days": "7"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = text(as_alice.get("/"))
    assert "Ten days quiet</a>" in section(page, "idle-h")
    assert 'value="7"' in section(page, "idle-h")


@pytest.mark.parametrize("value", ["0", "366", "soon", ""])
def test_idle_days_rejects_a_bad_value_with_a_message(as_alice, value):
    response = as_alice.post("/me/idle-days", {"idle_deal_days": value}, follow=True)
    page = text(response)
    assert "Idle after: enter a number of days between 1 and 365." in page
    assert 'name="idle_deal_days" min="1" max="365" value="14"' in page


def test_deal_not_idle_for_a_user_who_does_not_own_it(as_bob, world):
    assert "Grasspods renewal" not in section(text(as_bob.get("/")), "idle-h")


def test_dashboard_does_not_name_or_link_a_record_the_user_cannot_open(as_alice, alice, charlie):
    secret = charlie.post("deals", {"name": "West secret deal"}).json()["id"]
    soon = timezone.now() + timedelta(days=2)
    # An admin books Alice on Charlie's deal: the event is hers, the deal is not.
    from activities.services import do_create_event
    from accounts.models import User

    boss = User.objects.create(username="boss", role="admin")
    do_create_event(boss, {"subject": "Joint visit", "start_at": soon, "end_at": soon + timedelta(hours=1), "deal_id": secret, "owner_id": alice.user.id})
    page = text(as_alice.get("/"))
    assert "Joint visit" in page
    assert "West secret deal" not in page and f"/deals/{secret}/" not in page
