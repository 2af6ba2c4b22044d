"""The Sales Insights pages: filters, chart, table and CSV link, rendered
for each report; refusals under their input; who sees whom."""
from __future__ import annotations

import csv
import io
import re

from conftest import at
from insights import refresh
from insights.tests.test_reports_api import log
from web.tests.pages import browser, text

REPORTS = ("activities-added", "activities-completed", "activity-efficiency")


def _activity(alice, world):
    log(alice, "phone_call", at("2026-11-02 10:00"), "completed", deal_ids=[world["deal"]], duration_seconds=3725)
    log(alice, "email", at("2026-11-03 10:00"), "sent", contact_ids=[world["carol"]])
    assert alice.patch(f"deals/{world['deal']}", {"stage": "closed_won"}).status_code == 200
    refresh.refresh()


def test_each_report_renders_chart_table_and_csv_link(alice, world):
    _activity(alice, world)
    as_alice = browser(alice)
    assert as_alice.get("/insights/").url == "/insights/activities-added/"
    for name in REPORTS:
        # The deal closed today: Activity Efficiency looks at the last 90 days (the default).
        period = {} if name == "activity-efficiency" else {"start": "2026-11-01", "end": "2026-11-30"}
        page = text(response := as_alice.get(f"/insights/{name}/", period))
        assert response.status_code == 200, name
        assert 'data-testid="chart"' in page and 'data-plotly="chart-' in page and "<script>" not in page, name
        assert 'data-testid="report-table"' in page and "alice" in page, name
        assert '<a href="/insights/" aria-current="page">Insights</a>' in page
        csv_url = re.search(r'<a href="([^"]+)" download data-testid="csv-link"', page).group(1).replace("&amp;", "&")
        assert csv_url.startswith(f"/api/v1/insights/{name}.csv?start=")
        download = as_alice.get(csv_url)  # the session signs the API call too
        assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
        assert len(list(csv.reader(io.StringIO(download.content.decode())))) >= 2, name


def test_completed_shows_effort_in_the_table_and_the_hover(alice, world):
    _activity(alice, world)
    page = text(browser(alice).get("/insights/activities-completed/", {"start": "2026-11-01", "end": "2026-11-30"}))
    assert "1:02:05" in page  # 3,725 s in the table
    assert "Effort: %{customdata}" in page and "1h 02m" in page  # and on hover


def test_defaults_are_the_last_90_days_in_the_users_zone(alice):
    page = text(browser(alice).get("/insights/activities-added/"))
    assert re.search(r'name="start" value="\d{4}-\d{2}-\d{2}"', page) and 'data-testid="no-data"' in page


def test_a_rep_outside_the_scope_is_refused_under_its_input(alice, bob):
    response = browser(alice).get("/insights/activities-added/", {"rep": bob.user.id})
    assert response.status_code == 422
    assert "Select a valid choice" in text(response)
    too_long = browser(alice).get("/insights/activities-completed/", {"start": "2015-01-01", "end": "2026-01-01"})
    assert too_long.status_code == 422 and "a period is at most" in text(too_long)


def test_filter_choices_follow_the_scope(alice, bob, charlie, admin):
    from conftest import _persona

    lead = _persona("lead", role="manager", team="east")
    as_alice = text(browser(alice).get("/insights/activities-added/"))
    assert 'name="rep"' not in as_alice  # a rep reports on herself only
    as_lead = text(browser(lead).get("/insights/activities-added/"))
    assert ">bob<" in as_lead and ">charlie<" not in as_lead
    as_admin = text(browser(admin).get("/insights/activities-added/"))
    assert ">charlie<" in as_admin and 'name="team"' in as_admin


def test_pages_require_sign_in(client, db):
    response = client.get("/insights/activities-added/")
    assert response.status_code == 302 and "/login/" in response.url


def test_unknown_report_is_404(alice):
    assert browser(alice).get("/insights/pipeline/").status_code == 404
