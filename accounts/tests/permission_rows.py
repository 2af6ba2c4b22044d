"""This app's rows of the permission table (config/tests/test_permissions.py).

Tokens are their owner's: everyone lists and creates their own, teammates,
outsiders and managers get 404 on someone else's, and admins may revoke
anyone's (a leaked token is an emergency). IP restrictions are set by
admins only; everyone else gets 403 (not 404: the users and teams exist for
them, the action is what they may not do).
"""
from __future__ import annotations

from config.tests.outcomes import ADMIN_ONLY, BLIND, SEES, each

TABLE: dict = {
    ("GET", "/tokens"): each(SEES, BLIND, BLIND, BLIND, BLIND),  # one's own; admins pass user_id for others'
    ("POST", "/tokens"): each(201, 201, 201, 201, 201),
    ("DELETE", "/tokens/{token_id}"): each(204, 404, 404, 404, 204),
    ("GET", "/users/{user_id}/allowed-ips"): ADMIN_ONLY,
    ("PUT", "/users/{user_id}/allowed-ips"): ADMIN_ONLY,
    ("GET", "/teams/{team_id}/allowed-ips"): ADMIN_ONLY,
    ("PUT", "/teams/{team_id}/allowed-ips"): ADMIN_ONLY,
}

# The test client's address is 127.0.0.1: these keep alice (and her team) working.
RANGES = {"allowed_ips": ["127.0.0.0/8", "2001:db8::/32"]}

BODIES: dict = {
    ("POST", "/tokens"): lambda ids: {"name": "ci", "scope": "read", "expires_in_days": 30},
    ("PUT", "/users/{user_id}/allowed-ips"): lambda ids: RANGES,
    ("PUT", "/teams/{team_id}/allowed-ips"): lambda ids: RANGES,
}
PARAMETER_ID: dict = {"token_id": "alice_token", "user_id": "alice_user", "team_id": "alice_team"}
LISTED: dict = {"/tokens": "alice_token"}


def records(alice, world, admin) -> dict:
    """A second token of alice's (made through the API), alice and her team."""
    response = alice.post("tokens", {"name": "laptop", "scope": "write"})
    assert response.status_code == 201, response.content
    return {"alice_token": response.json()["id"], "alice_user": alice.user.id, "alice_team": alice.user.team_id}


def seed(alice, ids: dict) -> dict:
    """For schemathesis (config/tests/test_schemathesis.py): path ids named
    token_id, user_id and team_id reach these rows."""
    made = records(alice, None, None)
    return {"token": made["alice_token"], "user": made["alice_user"], "team": made["alice_team"]}
