"""Fixtures for the web UI's view tests (personas come from the root conftest)."""
from __future__ import annotations

import pytest
from django.test import Client

from web.tests.pages import browser


@pytest.fixture
def as_alice(alice) -> Client:
    return browser(alice)


@pytest.fixture
def as_bob(bob) -> Client:
    return browser(bob)


@pytest.fixture
def as_charlie(charlie) -> Client:
    return browser(charlie)


@pytest.fixture
def records(world) -> dict[str, int]:
    """The world's record of each type: organization, contact (Carol), deal."""
    return {"organization": world["org"], "contact": world["carol"], "deal": world["deal"]}
