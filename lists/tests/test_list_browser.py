"""A custom list built in a real browser: the condition builder's htmx
rows, saving, the records table and "Load more"."""
from __future__ import annotations

import os
from datetime import timedelta

from django.utils import timezone

from crm.models import Contact
from lists.models import SavedList
from web.tests.browser import sign_in, wait_for_htmx

SHOTS = os.environ.get("LISTS_SCREENSHOTS")  # a folder: save what the test saw


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_build_a_list_of_stale_contacts_and_load_more(page, alice, world, settings):
    settings.UI_PAGE_SIZE = 5
    long_ago = timezone.now() - timedelta(days=60)
    Contact.objects.bulk_create([Contact(last_name=f"Stale {i}", owner=alice.user, last_contacted_on=long_ago - timedelta(days=i)) for i in range(7)])
    Contact.objects.filter(id=world["carol"]).update(last_contacted_on=timezone.now())
    sign_in(page, alice.user)

    page.goto("/lists/")
    page.get_by_role("link", name="New contact list").click()
    page.get_by_label("List name").fill("Stale contacts")
    page.locator('[data-section="all"]').get_by_role("button", name="Add condition").click()
    wait_for_htmx(page)
    page.locator("#c-all-0-field").select_option("last_contacted_on")
    wait_for_htmx(page)
    page.locator("#c-all-0-operator").select_option("more_than_days_ago")
    wait_for_htmx(page)
    page.locator("#c-all-0-value").fill("30")
    shot(page, "list-form")
    page.get_by_role("button", name="Create list").click()
    page.wait_for_url(lambda url: "/lists/new" not in url)

    saved = SavedList.objects.get()
    assert saved.conditions == {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}]}
    rows = page.locator('[data-testid="list-records"] tbody tr[data-testid^="record-"]')
    assert rows.count() == 5
    page.get_by_role("link", name="Load more").click()
    wait_for_htmx(page)
    assert rows.count() == 7  # the stale ones; not Carol (today), not Dave (never contacted)
    assert page.get_by_role("link", name="Load more").count() == 0
    shot(page, "list-detail")
    assert page.get_by_role("link", name="Export CSV").get_attribute("href") == f"/lists/{saved.id}/export.csv"
    page.get_by_role("link", name="All lists").click()
    assert page.locator('[data-testid="lists-contact"]').get_by_role("link", name="Stale contacts").count() == 1
    shot(page, "list-index")
