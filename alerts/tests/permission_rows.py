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
