"""This app's rows of the permission table (config/tests/test_permissions.py
merges them). Every persona may ask for every report: what it covers is
their own scope (a rep: themselves; a manager: their team; an admin:
everyone), tested in test_reports_api.py."""
from __future__ import annotations

from config.tests.outcomes import each

EVERYONE = each(200, 200, 200, 200, 200)
TABLE: dict = {
    ("GET", f"/insights/{name}{suffix}"): EVERYONE
    for name in ("activities-added", "activities-completed", "activity-efficiency")
    for suffix in ("", ".csv")
}


def records(alice, world, admin) -> dict:
    return {}
