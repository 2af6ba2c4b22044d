"""Fixtures for browser tests: a live server, Playwright on Debian's
Chromium, and a signed-in page. Loaded for every test by the root conftest
(``pytest_plugins``): a later issue's browser test asks for ``page`` and
calls ``sign_in``, and only writes its steps.

Without Chromium the tests skip with a loud reason; under CI (CI=true)
they fail instead, so a broken install never passes unnoticed.
"""
from __future__ import annotations

import os

import pytest

from web.browser import chromium_missing_reason, launch

PASSWORD = "browser-test-password"


@pytest.fixture(scope="session")
def browser():
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(f"!!! SKIPPED browser test: {reason} !!!")
    # Playwright's sync API runs an event loop in this thread; Django's ORM
    # refuses to run inside one unless told that this is deliberate. The
    # test's own ORM calls are plain synchronous code between browser steps.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # What the Content-Security-Policy blocked (an inline script, eval, a
    # foreign source): the browser reports it on the console, and it fails
    # the test like a JavaScript error (docs/security.md, "Web security").
    page.on("console", lambda message: message.type == "error" and "Content Security Policy" in message.text and errors.append(message.text))
    yield page
    context.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


def sign_in(page, user, password: str = PASSWORD) -> None:
    """Sign in through the real form (CSRF and session included)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def wait_for_htmx(page) -> None:
    """Until htmx has finished its requests, swaps and settling. New content
    gets its htmx behaviour when it settles (~20 ms after the swap), so a
    test that acts on swapped-in controls at machine speed waits for this;
    a person never outruns it.

    A predicate is a function (``"() => ..."``), never a bare expression:
    Playwright polls a bare expression with eval, which the page's
    Content-Security-Policy refuses."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
