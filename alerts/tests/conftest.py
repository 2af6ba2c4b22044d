"""Fixtures for Smart Alerts: Huey in-process, a clock, the scan."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from huey.contrib.djhuey import HUEY


@pytest.fixture(autouse=True)
def huey_in_process():
    """Tasks enqueued after commit run at once, in this process."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
