"""This app's rows of the permission table (config/tests/test_permissions.py).

GET /audit answers everyone: admins and managers read the whole log, reps
their own actions (audit/tests/test_audit.py checks who sees which
entries, and that a record's history is a 404 for who may not see it).
"""
from __future__ import annotations

from config.tests.outcomes import each

TABLE: dict = {("GET", "/audit"): each(200, 200, 200, 200, 200)}


def records(alice, world, admin) -> dict:
    return {}
