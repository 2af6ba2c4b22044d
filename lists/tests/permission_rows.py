"""This app's rows of the permission table (config/tests/test_permissions.py
merges them): operation -> answer per persona, request bodies, path
parameters, and which of alice's items a list must show."""
from __future__ import annotations

TABLE: dict = {}
BODIES: dict = {}
PARAMETER_ID: dict = {}
LISTED: dict = {}


def records(alice, world, admin) -> dict:
    """Ids of this app's objects of alice's, for the table's path parameters."""
    return {}


def seed(alice, ids: dict) -> dict:
    """Rows of alice's for schemathesis (config/tests/test_schemathesis.py) to
    aim path ids at: {path parameter name without _id: id}. ``ids`` holds
    the seeded organization, contact, deal, ... ids."""
    return {}
