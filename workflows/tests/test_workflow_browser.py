"""The workflow editor in a real browser: htmx adds conditions and
actions, and the form saves what the page shows."""
from __future__ import annotations

import os

from web.tests.browser import sign_in, wait_for_htmx
from workflows.models import Workflow


def test_build_a_workflow_in_the_browser(page, admin):
    sign_in(page, admin.user)
    page.goto("/workflows/new")
    page.get_by_label("Name").fill("Stale contacts")
    page.get_by_label("Records").select_option("contact")
    wait_for_htmx(page)
    page.get_by_label("Trigger").select_option("schedule")
    page.get_by_label("Daily at").fill("09:00")
    page.locator('[data-section="all"] button', has_text="Add condition").click()
    wait_for_htmx(page)
    page.locator("#c-all-0-field").select_option("last_contacted_on")
    wait_for_htmx(page)
    page.locator("#c-all-0-operator").select_option("more_than_days_ago")
    wait_for_htmx(page)
    page.locator("#c-all-0-value").fill("30")
    page.get_by_role("button", name="+ Create a task").click()
    wait_for_htmx(page)
    page.locator("#a-0-title").fill("Follow up")
    page.get_by_role("button", name="+ Notify in the app").click()
    wait_for_htmx(page)
    assert page.locator("#a-0-title").input_value() == "Follow up"  # kept across the re-render
    page.locator("#a-1-title").fill("Stale contact")
    page.get_by_role("button", name="Move up").click()
    wait_for_htmx(page)
    if os.environ.get("WORKFLOW_SCREENSHOT"):
        page.screenshot(path=os.environ["WORKFLOW_SCREENSHOT"], full_page=True)
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url("**/workflows/*/")
    workflow = Workflow.objects.get()
    assert (workflow.record_type, workflow.trigger, str(workflow.schedule_time)) == ("contact", "schedule", "09:00:00")
    assert workflow.conditions == {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}]}
    assert [a["type"] for a in workflow.actions] == ["notify", "create_task"]
