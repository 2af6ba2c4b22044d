"""Sales Insights fixtures: a tiny sales team and helpers to log activity
through the same service every channel uses, then refresh the rollup as the
periodic job would."""
from __future__ import annotations

import pytest

from insights import refresh


@pytest.fixture
def refreshed():
    """Call to run the periodic refresh now; returns what it did."""
    return refresh.refresh
