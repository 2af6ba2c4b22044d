"""The bell, the notifications page and Actions -> Configuration."""
from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import AlertConfig, Notification
from alerts.services import do_notify
from web.tests.pages import HTMX, browser, text


def notify(api, title: str, minutes_ago: int = 0, url: str = "/") -> int:
    return do_notify(api.user.id, "workflow", title, url=url, at=timezone.now() - timedelta(minutes=minutes_ago)).id


def bell(page: str) -> str:
    return re.search(r'<a class="bell[^>]*>.*?</a>', page, re.S).group(0)


def test_bell_shows_the_unread_count_on_every_page(alice, bob):
    as_alice = browser(alice)
    assert "count" not in bell(text(as_alice.get("/")))
    notify(alice, "One")
    notify(alice, "Two")
    notify(bob, "Not hers")
    for path in ("/", "/deals/", "/notifications/"):
        shown = bell(text(as_alice.get(path)))
        assert 'aria-label="Notifications: 2 unread"' in shown and '<span class="count">2</span>' in shown, path


def test_bell_refreshes_itself(alice):
    notify(alice, "One")
    as_alice = browser(alice)
    assert 'hx-get="/notifications/bell"' in bell(text(as_alice.get("/")))
    answer = text(as_alice.get("/notifications/bell", **HTMX))
    assert answer.strip().startswith("<a class=\"bell bell-unread\"") and '<span class="count">1</span>' in answer
    assert Client().get("/notifications/bell")["Location"].startswith("/login/")  # signed out: sent to sign in


def test_bell_costs_one_query(alice):
    as_alice = browser(alice)
    as_alice.get("/cases/")
    with CaptureQueriesContext(connection) as queries:
        as_alice.get("/cases/")
    counts = [q["sql"] for q in queries.captured_queries if "alerts_notification" in q["sql"]]
    assert len(counts) == 1 and "COUNT" in counts[0].upper()


def test_notifications_page_lists_ones_own_newest_first_and_loads_more(alice, bob, settings):
    ids = [notify(alice, f"Note {i:02d}", 100 - i) for i in range(30)]
    notify(bob, "Bob's secret")
    as_alice = browser(alice)
    page = text(as_alice.get("/notifications/"))
    shown = re.findall(r'data-testid="notification-(\d+)"', page)
    assert [int(i) for i in shown] == ids[::-1][:25]
    assert "Bob's secret" not in page
    more = re.search(r'hx-get="(/notifications/\?cursor=[^"]+)"', page).group(1).replace("&amp;", "&")
    rest = text(as_alice.get(more, **HTMX))
    assert [int(i) for i in re.findall(r'data-testid="notification-(\d+)"', rest)] == ids[::-1][25:]
    assert "<html" not in rest and "Older" not in rest


def test_mark_read_with_htmx_answers_the_row_and_the_bell(alice):
    first, second = notify(alice, "First", 2), notify(alice, "Second", 1)
    as_alice = browser(alice)
    answer = text(as_alice.post(f"/notifications/{first}/read", **HTMX))
    assert f'data-testid="notification-{first}"' in answer and "Mark read" not in answer
    assert 'hx-swap-oob="true"' in answer and '<span class="count">1</span>' in answer
    assert Notification.objects.get(id=first).read_at is not None and Notification.objects.get(id=second).read_at is None


def test_opening_a_notification_marks_it_read_and_goes_there(alice, world):
    n = notify(alice, "Idle", url=f"/deals/{world['deal']}/")
    response = browser(alice).post(f"/notifications/{n}/read", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == f"/deals/{world['deal']}/"
    assert Notification.objects.get(id=n).read_at is not None


def test_another_users_notification_is_a_404_page(alice, bob):
    n = notify(alice, "Hers")
    assert browser(bob).post(f"/notifications/{n}/read").status_code == 404
    assert Notification.objects.get(id=n).read_at is None


def test_mark_all_read_and_the_unread_tab(alice):
    notify(alice, "A")
    as_alice = browser(alice)
    assert "A</strong>" in text(as_alice.get("/notifications/?unread=1"))
    response = as_alice.post("/notifications/read-all", follow=True)
    page = text(response)
    assert "Marked 1 notification read." in page and "count" not in bell(page)
    assert "No unread notifications." in text(as_alice.get("/notifications/?unread=1"))


# --- configuration -------------------------------------------------------------------------


def test_configuration_is_for_admins_only(alice, manager, admin):
    assert browser(alice).get("/actions/configuration").status_code == 403
    assert browser(manager).post("/actions/configuration", {"idle_days": "3"}).status_code == 403
    assert not AlertConfig.objects.exists()
    page = text(browser(admin).get("/actions/configuration"))
    assert 'name="idle_days"' in page and 'value="14"' in page and 'id="c-builder"' in page


def test_dashboard_links_configuration_for_admins(alice, admin):
    assert "/actions/configuration" not in text(browser(alice).get("/"))
    assert 'href="/actions/configuration"' in text(browser(admin).get("/"))


def test_admin_saves_thresholds_and_conditions(admin):
    form = {
        "idle_enabled": "on", "idle_days": "10", "stage_proposal": "4", "stage_negotiation": "",
        "overdue_enabled": "on", "email_enabled": "on",
        "c-record_type": "deal", "c-all-0-field": "amount", "c-all-0-operator": "greater_than", "c-all-0-value": "5000",
    }  # fmt: skip
    response = browser(admin).post("/actions/configuration", form, follow=True)
    assert "Saved the Smart Alerts configuration." in text(response)
    config = AlertConfig.objects.get()
    assert (config.idle_days, config.stage_idle_days, config.email_enabled, config.overdue_enabled) == (10, {"proposal": 4}, True, True)
    assert config.deal_conditions == {"all": [{"field": "amount", "operator": "greater_than", "value": "5000"}]}
    page = text(response)
    assert 'name="stage_proposal"' in page and 'value="4"' in page and 'value="5000"' in page


def test_a_bad_condition_shows_on_its_row_and_saves_nothing(admin):
    form = {"idle_enabled": "on", "idle_days": "10", "c-record_type": "deal", "c-all-0-field": "amount", "c-all-0-operator": "greater_than", "c-all-0-value": "lots"}
    response = browser(admin).post("/actions/configuration", form)
    assert response.status_code == 422
    row = re.search(r'<div class="cond-row" data-row="c-all-0">.*?</div>', text(response), re.S).group(0)
    assert "value: must be a number" in row
    assert not AlertConfig.objects.exists()


def test_a_bad_threshold_shows_under_its_input(admin):
    response = browser(admin).post("/actions/configuration", {"idle_days": "0", "c-record_type": "deal"})
    assert response.status_code == 422 and "Ensure this value is greater than or equal to 1." in text(response)


def test_configuration_says_conditions_count_days_in_the_company_zone(admin, settings):
    settings.COMPANY_TIME_ZONE = "Europe/Berlin"
    assert "Dates count whole days in the company time zone, Europe/Berlin." in text(browser(admin).get("/actions/configuration"))
