"""The telephony quick actions in a real browser (Playwright + Debian's
Chromium) against a live server, with Twilio pointed at the loopback
stand-in of its REST API (telephony.tests.standin): what a rep does to text
and call a contact."""
from __future__ import annotations

import pytest

from telephony.models import Call, Sms
from telephony.tests.conftest import CAROL_PHONE, OUR_NUMBER
from web.tests.browser import sign_in, wait_for_htmx

pytestmark = pytest.mark.slow


@pytest.fixture
def carol_phone(alice, world):
    alice.patch(f"contacts/{world['carol']}", {"phones": [CAROL_PHONE]})
    return world


def test_send_an_sms_from_a_contact_page_and_see_it_in_activity(page, alice, carol_phone, twilio_api):
    sign_in(page, alice.user)
    page.goto(f"/contacts/{carol_phone['carol']}/")
    page.locator("#call-log").get_by_text("No calls yet.").wait_for()  # the call log loads by itself

    # The quick action loads its composer when opened, addressed to Carol's number.
    page.locator(".actions summary", has_text="Send SMS").click()
    form = page.locator("#sms-form")
    form.wait_for()
    wait_for_htmx(page)
    assert CAROL_PHONE in form.locator(".sms-to").inner_text()
    assert form.locator("#sms_count").inner_text() == "0 / 1600 characters · 0 messages"

    # The service's rule, under the field: an empty text.
    form.get_by_role("button", name="Send SMS").click()
    page.locator("#sms_text_error").wait_for()
    wait_for_htmx(page)
    assert page.locator("#sms_text_error").inner_text() == "must not be empty"
    assert twilio_api.requests == []

    # The counter follows the typing.
    message = page.locator("#sms-form").get_by_label("Message")
    message.fill("See you at 3pm — bring the price list")
    assert page.locator("#sms_count").inner_text() == "37 / 1600 characters · 1 message (Unicode)"  # the dash is not GSM
    message.fill("See you at 3pm, Carol")
    assert page.locator("#sms_count").inner_text() == "21 / 1600 characters · 1 message"
    page.locator("#sms-form").get_by_role("button", name="Send SMS").click()
    status = page.get_by_test_id("sms-done")
    status.wait_for()
    assert status.inner_text() == f"Text sent to Carol Ng ({CAROL_PHONE})."
    assert page.locator("#sms-form").get_by_label("Message").input_value() == ""

    # Activity reloads by itself and shows the text; Last Contacted follows.
    sent = page.locator("#activity li.tp[data-kind=sms]", has_text="See you at 3pm, Carol")
    sent.wait_for()
    assert "Dispatched" in sent.inner_text()
    page.wait_for_function("() => document.querySelector('[data-testid=last-contacted-via]').textContent.trim() === 'SMS'")
    (request,) = twilio_api.requests
    assert (request.form["To"], request.form["From"], request.form["Body"]) == (CAROL_PHONE, OUR_NUMBER, "See you at 3pm, Carol")
    assert Sms.objects.get().status == "dispatched"


def test_click_to_call_asks_for_my_phone_then_calls_and_the_call_log_shows_it(page, alice, carol_phone, twilio_api):
    sign_in(page, alice.user)
    page.goto(f"/contacts/{carol_phone['carol']}/")
    page.locator("#call-log").get_by_text("No calls yet.").wait_for()

    page.get_by_role("button", name="Call Carol").click()
    phone = page.get_by_label("Your phone")
    phone.wait_for()
    wait_for_htmx(page)
    assert "Set your phone number first" in page.get_by_test_id("call-error").inner_text()
    phone.fill("(202) 555-0177")
    page.get_by_role("button", name="Save my phone").click()
    page.get_by_test_id("call-done").wait_for()
    wait_for_htmx(page)
    assert "your phone is +12025550177" in page.get_by_test_id("call-done").inner_text()

    page.get_by_role("button", name="Call Carol").click()
    page.get_by_test_id("call-done").filter(has_text="Calling your phone").wait_for()
    assert page.get_by_test_id("call-done").inner_text() == f"Calling your phone (+12025550177) — answer it to be connected to Carol ({CAROL_PHONE})."
    call = Call.objects.get()
    # The call log reloads (calls-changed) and shows the queued call.
    row = page.locator(f"#call-log [data-testid=call-{call.id}]")
    row.wait_for()
    assert "Queued" in row.inner_text() and "Outbound" in row.inner_text()
    (request,) = twilio_api.requests
    assert request.form["To"] == "+12025550177"
