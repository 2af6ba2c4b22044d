"""The email pages in a real browser (Playwright + Debian's Chromium)
against a live server, sending through a real SMTP server on loopback
(aiosmtpd, emails.tests.smtpserver): what a rep does to email a contact."""
from __future__ import annotations

import pytest

from emails import services
from emails.tests.smtpserver import pixel_of, smtp_server  # noqa: F401  (fixture)
from web.tests.browser import sign_in, wait_for_htmx

pytestmark = pytest.mark.slow

CAROL = "carol@grasspods.example"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"


def test_compose_and_send_from_a_contact_page_then_see_it_and_its_open_in_activity(page, alice, world, smtp_server):  # noqa: F811
    services.do_create_template(alice.user, "Follow-up", "Following up, {{ first_name }}", "<p>Hi {{ first_name }},</p><p>As promised: the price list.</p>")
    sign_in(page, alice.user)
    page.goto(f"/contacts/{world['carol']}/")

    # The quick action loads its form when opened, addressed to Carol.
    page.locator(".actions summary", has_text="Send email").click()
    form = page.locator("#compose-form")
    form.wait_for()
    wait_for_htmx(page)
    assert form.get_by_label("To:", exact=True).input_value() == CAROL

    # The service's rule, under the field: no subject.
    form.get_by_label("Message").fill("Hello")
    form.get_by_role("button", name="Send email").click()
    page.locator("#compose-form .errorlist").wait_for()
    wait_for_htmx(page)
    assert "must not be empty" in page.locator("#compose_subject_error").inner_text()
    assert smtp_server.messages == []

    # A template fills subject and message; Bcc a colleague; send.
    form = page.locator("#compose-form")
    form.get_by_label("Template").select_option(label="Follow-up")
    page.wait_for_function("() => document.querySelector('#compose_subject').value === 'Following up, {{ first_name }}'")
    wait_for_htmx(page)
    assert "As promised: the price list." in form.get_by_label("Message").input_value()
    form.get_by_label("Bcc").fill("boss@ourco.example")
    form.get_by_role("button", name="Send email").click()
    status = page.locator("#compose-form [role=status]")
    status.wait_for()
    assert status.inner_text() == "Email sent to 2 recipients."

    # Activity reloads by itself and shows the email, merge fields filled in.
    sent = page.locator("#activity li.tp[data-kind=email]", has_text="Following up, Carol")
    sent.wait_for()
    assert "Sent" in sent.inner_text()
    page.wait_for_function("() => document.querySelector('[data-testid=last-contacted-via]').textContent.trim() === 'Email'")
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == ["boss@ourco.example", CAROL]
    (copy,) = smtp_server.to(CAROL)
    assert copy.message["Subject"] == "Following up, Carol" and "Hi Carol," in copy.html()

    # Carol opens her copy: after a reload the email shows one open.
    assert page.request.get(pixel_of(copy), headers={"User-Agent": CHROME}).status == 200
    page.reload()
    sent = page.locator("#activity li.tp[data-kind=email]", has_text="Following up, Carol")
    assert "👁 1 · 🖱 0" in sent.locator(".engagement").inner_text()


def test_campaign_from_ticked_contacts_with_one_found_by_search(page, alice, world, smtp_server):  # noqa: F811
    alice.post("contacts", {"first_name": "Erin", "last_name": "Bloom", "emails": ["erin@bloom.example"]})
    sign_in(page, alice.user)
    page.goto("/contacts/")
    page.get_by_label("Pick Carol Ng").check()
    page.get_by_label("Pick Dave Ito").check()
    page.get_by_role("button", name="Email campaign to the ticked contacts…").click()
    page.wait_for_url("**/campaigns/new?*")
    recipients = page.locator("#campaign-recipients")
    assert "Dave Ito" in recipients.inner_text() and "no address: will be skipped" in recipients.inner_text()

    # Find one more by typing; the ticked ones stay ticked.
    page.get_by_label("Add contacts").fill("bloom")
    found = page.get_by_label("Erin Bloom")
    found.wait_for()
    wait_for_htmx(page)
    found.check()
    assert page.get_by_label("Carol Ng").is_checked()

    page.get_by_label("Campaign name:").fill("Spring")
    page.get_by_label("Subject:").fill("Spring offer for {{ first_name }}")
    page.get_by_label("Message:").fill("Hi {{ first_name }},\n\n20% off until May.")
    page.get_by_role("button", name="Send campaign").click()
    page.wait_for_url("**/campaigns/*/?skipped=*")
    assert page.get_by_test_id("campaign-queued").inner_text() == "2"
    page.wait_for_function("() => document.querySelector('[data-testid=campaign-sent]').textContent === '2'")
    assert "Dave Ito" in page.locator("section", has=page.locator("#skipped-h")).inner_text()
    subjects = sorted(m.message["Subject"] for m in smtp_server.messages)
    assert subjects == ["Spring offer for Carol", "Spring offer for Erin"]
