"""Sales Insights in a real browser: the chart draws, hovering a bar of
Activities Completed shows count and effort, and the filters apply."""
from __future__ import annotations

from conftest import _persona, at
from insights import refresh
from insights.tests.test_reports_api import log
from web.tests.browser import sign_in


def test_completed_chart_hover_shows_count_and_effort(page, db):
    ana = _persona("ana", time_zone="Europe/Berlin")
    log(ana, "phone_call", at("2026-11-02 10:00"), "completed", duration_seconds=1800)
    log(ana, "phone_call", at("2026-11-03 10:00"), "completed", duration_seconds=600)
    log(ana, "email", at("2026-11-03 11:00"), "sent")
    refresh.refresh()
    sign_in(page, ana.user)
    page.get_by_role("link", name="Insights").click()
    page.get_by_role("link", name="Activities Completed").click()
    page.get_by_label("From").fill("2026-11-01")
    page.get_by_label("To").fill("2026-11-30")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("[data-testid=chart] .main-svg")
    bars = page.locator("[data-testid=chart] g.trace.bars path")
    assert bars.count() == 2  # calls and emails, one rep
    bars.first.hover(force=True)
    hover = page.locator(".hoverlayer")
    hover.get_by_text("Effort: 40m 00s").wait_for()
    assert "2 completed" in hover.text_content()
    # Only emails: the chart redraws with one bar.
    page.get_by_label("Emails").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("[data-testid=chart] .main-svg")
    assert page.locator("[data-testid=chart] g.trace.bars path").count() == 1
    assert page.locator("[data-testid=report-table] tbody tr").count() == 1
