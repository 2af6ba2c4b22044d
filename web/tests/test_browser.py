"""The web UI in a real browser (Playwright + Debian's Chromium) against a
live server: what a sales rep does on a deal page, end to end."""
from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from web.tests.browser import sign_in, wait_for_htmx

pytestmark = pytest.mark.slow


@pytest.fixture
def deal_with_history(alice, world):
    """Carol (phone +1 202-555-0143) on Alice's deal; 40 touchpoints (20
    emails, 20 SMS) over the last 40 days; an overdue planned meeting."""
    alice.patch(f"contacts/{world['carol']}", {"phones": ["+12025550143"]})
    now = timezone.now()
    items = []
    for i in range(40):
        kind, status = ("email", "sent") if i % 2 == 0 else ("sms", "delivered")
        when = now - timedelta(days=40 - i)
        items.append({"kind": kind, "status": status, "occurred_at": when.isoformat(), "subject": f"{kind} number {i}", "contact_ids": [world["carol"]]})
    assert alice.post("touchpoints/batch", {"items": items}).status_code == 200
    start = (now - timedelta(hours=3)).replace(second=0, microsecond=0)
    event = alice.post(
        "events",
        {"subject": "Pricing review", "event_type": "meeting", "start_at": start.isoformat(), "end_at": (start + timedelta(minutes=30)).isoformat(), "deal_id": world["deal"], "contact_ids": [world["carol"]]},
    ).json()
    return {**world, "event": event["id"], "event_start": start}


def test_toggle_email_filter_scroll_and_mark_event_held(page, alice, deal_with_history):
    world = deal_with_history
    sign_in(page, alice.user)
    page.goto(f"/deals/{world['deal']}/")
    timeline = page.locator("#activity li.tp")

    # Newest first, one page of 25, emails and SMS mixed.
    assert timeline.count() == 25
    assert page.locator("#activity li.tp[data-kind=email]").count() > 0

    # Toggle Email off: emails disappear, and the choice is remembered.
    page.get_by_label("Email", exact=True).uncheck()
    page.wait_for_function("() => document.querySelectorAll('#activity li.tp[data-kind=email]').length === 0")
    assert page.locator("#activity li.tp[data-kind=sms]").count() == 20
    page.reload()
    assert page.locator("#activity li.tp[data-kind=email]").count() == 0
    assert not page.get_by_label("Email", exact=True).is_checked()
    page.get_by_label("Email", exact=True).check()
    page.wait_for_function("() => document.querySelectorAll('#activity li.tp[data-kind=email]').length > 0")

    # Infinite scroll: reaching the end of the list loads the next page.
    assert timeline.count() == 25
    page.locator("#activity .load-more").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#activity li.tp').length === 40")
    ids = page.locator("#activity li.tp").evaluate_all("items => items.map(i => i.dataset.id)")
    assert len(set(ids)) == 40

    # The overdue meeting is highlighted in Up Next; mark it Held, very happy.
    item = page.get_by_test_id(f"up-next-event-{world['event']}")
    assert "overdue" in (item.get_attribute("class") or "")
    item.get_by_text("Mark Held / Not Held").click()
    item.get_by_label("Held", exact=True).check()
    item.get_by_label("Very happy").check()
    item.get_by_role("button", name="Save outcome").click()

    # Last Contacted follows without a reload; the timeline shows the meeting with its emoticon.
    expected = world["event_start"].astimezone(UTC).strftime("%Y-%m-%d %H:%M")  # alice's zone is UTC
    page.wait_for_function("() => document.querySelector('[data-testid=last-contacted-via]').textContent.trim() === 'Meeting'")
    assert page.get_by_test_id("last-contacted-on").inner_text().strip() == expected
    held = page.locator("#activity li.tp[data-kind=event]").first
    held.wait_for()
    assert "Pricing review" in held.inner_text() and "Held" in held.inner_text()
    assert held.get_by_role("img", name="Very happy").count() == 1
    # Up Next refreshes on its own request: wait for it rather than race it.
    page.get_by_test_id(f"up-next-event-{world['event']}").wait_for(state="detached")


def test_global_search_finds_contact_by_phone_number(page, alice, deal_with_history):
    sign_in(page, alice.user)
    page.get_by_role("searchbox", name="Search organizations, contacts and deals").fill("(202) 555-0143")
    result = page.locator("#search-results a", has_text="Carol Ng")
    result.wait_for()
    result.click()
    page.wait_for_url(f"**/contacts/{deal_with_history['carol']}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Carol Ng"


def test_quick_action_errors_show_under_the_field_and_store_nothing(page, alice, world):
    from touchpoints.models import Touchpoint

    sign_in(page, alice.user)
    page.goto(f"/contacts/{world['carol']}/")
    page.get_by_text("Log a call").click()
    form = page.locator("#call-form")
    form.get_by_label("When").fill("")
    form.get_by_role("button", name="Log call").click()
    # htmx swaps the 422 answer in: the message sits under the field.
    page.locator("#call-form .errorlist").wait_for()
    wait_for_htmx(page)  # the swapped-in form gets its htmx behaviour when it settles
    assert "This field is required." in page.locator("#call-form").inner_text()
    assert Touchpoint.objects.count() == 0

    # And a valid call then goes through, and Last Contacted follows.
    form = page.locator("#call-form")
    form.get_by_label("When").fill("2024-03-05T09:30")
    form.get_by_role("button", name="Log call").click()
    page.wait_for_function("() => document.querySelector('[data-testid=last-contacted-via]').textContent.trim() === 'Phone Call'")
    assert page.get_by_test_id("last-contacted-on").inner_text().strip() == "2024-03-05 09:30"
    assert page.locator("#call-form").get_by_role("status").inner_text() == "Call logged."


def test_dashboard_outcome_error_shows_and_a_corrected_submit_goes_through(page, alice, deal_with_history):
    world = deal_with_history
    sign_in(page, alice.user)
    page.goto("/")
    item = page.get_by_test_id(f"dash-event-{world['event']}")
    assert "overdue" in (item.get_attribute("class") or "")
    item.get_by_text("Mark Held / Not Held").click()
    # Not Held with an emoticon: the service's rule, shown in place.
    item.get_by_label("Not Held", exact=True).check()
    item.get_by_label("Very unhappy").check()
    item.get_by_role("button", name="Save outcome").click()
    item.get_by_role("alert").wait_for()
    assert "only a held event carries an emoticon" in item.get_by_role("alert").inner_text()
    # Corrected, the same form submits again and the event leaves Overdue for Completed.
    item.get_by_label("Held", exact=True).check()
    item.get_by_role("button", name="Save outcome").click()
    page.locator("#completed-h").wait_for()
    page.wait_for_function(f"() => !document.querySelector('[data-testid=dash-event-{world['event']}]')")
    assert "Pricing review" in page.locator("section", has=page.locator("#completed-h")).inner_text()


def test_kind_filter_works_from_the_keyboard(page, alice, deal_with_history):
    sign_in(page, alice.user)
    page.goto(f"/deals/{deal_with_history['deal']}/")
    page.get_by_label("Email", exact=True).focus()
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelectorAll('#activity li.tp[data-kind=email]').length === 0")
    wait_for_htmx(page)
    # The toggles are in the tab order: Event -> Phone call -> Email.
    page.get_by_label("Event", exact=True).focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "email"
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelectorAll('#activity li.tp[data-kind=email]').length > 0")


@pytest.mark.parametrize("path", ["/", "/deals/", "/deals/{deal}/", "/contacts/{carol}/"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(browser, live_server, alice, deal_with_history, path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, base_url=live_server.url)
    phone = context.new_page()
    try:
        sign_in(phone, alice.user)
        phone.goto(path.format(**deal_with_history))
        phone.wait_for_load_state("networkidle")
        too_wide = phone.evaluate("[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className)")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, too_wide[:8]
        # The record page stacks into one column: Up Next sits below the Activity, not beside it.
        if path.startswith("/deals/{"):
            activity, up_next = phone.locator("#activity").bounding_box(), phone.locator("#up-next").bounding_box()
            assert up_next["y"] > activity["y"] and up_next["x"] < 50
    finally:
        context.close()
