"""This app's rows of the permission table (config/tests/test_permissions.py
merges them): operation -> answer per persona, request bodies, path
parameters, and which of alice's items a list must show.

Alice's list here is shared with her team (east): bob uses it but may not
change it (403: he knows it exists); charlie (west) and the manager, with
whom it is not shared, get 404: lists are views, not records, so seeing
every record does not show a manager every list. Admins see and change all.
"""
from __future__ import annotations

from config.tests.outcomes import CREATE, SEES, BLIND, each

SHARED_WITH_TEAM = each(200, 200, 404, 404, 200)

TABLE: dict = {
    ("GET", "/lists"): each(SEES, SEES, BLIND, BLIND, SEES),
    ("POST", "/lists"): CREATE,
    ("GET", "/lists/{list_id}"): SHARED_WITH_TEAM,
    ("PATCH", "/lists/{list_id}"): each(200, 403, 404, 404, 200),
    ("DELETE", "/lists/{list_id}"): each(204, 403, 404, 404, 204),
    ("GET", "/lists/{list_id}/records"): SHARED_WITH_TEAM,
    ("GET", "/lists/{list_id}/export.csv"): SHARED_WITH_TEAM,
    ("GET", "/lists/{list_id}/export.xlsx"): SHARED_WITH_TEAM,
    # Everyone exports the records they may see (what each gets is tested in lists/tests/test_lists_export.py).
    ("GET", "/exports/{record_type}.csv"): each(200, 200, 200, 200, 200),
    ("GET", "/exports/{record_type}.xlsx"): each(200, 200, 200, 200, 200),
}
BODIES: dict = {
    ("POST", "/lists"): lambda ids: {"name": "Stale deals", "record_type": "deal", "conditions": {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}]}},
    ("PATCH", "/lists/{list_id}"): lambda ids: {"columns": ["name", "stage"]},
}
PARAMETER_ID: dict = {"list_id": "list", "record_type": "export_type"}
LISTED: dict = {"/lists": "list"}


def _team_list(alice) -> int:
    from accounts.models import Team

    response = alice.post(
        "lists",
        {
            "name": "Open deals",
            "record_type": "deal",
            "conditions": {"all": [{"field": "stage", "operator": "not_equals", "value": "closed_lost"}]},
            "columns": ["name", "stage", "amount", "owner", "touchpoint_count"],
            "shared_team_ids": [Team.objects.get(name="east").id],
        },
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def records(alice, world, admin) -> dict:
    """Ids of this app's objects of alice's, for the table's path parameters."""
    return {"list": _team_list(alice), "export_type": "contacts"}


def seed(alice, ids: dict) -> dict:
    """Rows of alice's for schemathesis (config/tests/test_schemathesis.py) to
    aim path ids at: {path parameter name without _id: id}. ``ids`` holds
    the seeded organization, contact, deal, ... ids."""
    return {"list": _team_list(alice)}
