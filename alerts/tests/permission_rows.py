"""This app's rows of the permission table (config/tests/test_permissions.py
merges them): operation -> answer per persona, request bodies, path
parameters, and which of alice's items a list must show."""
from __future__ import annotations

from config.tests.outcomes import ADMIN_ONLY, BLIND, SEES, each

TABLE: dict = {
    # Notifications are personal: each sees only their own, admins included.
    ("GET", "/notifications"): each(SEES, BLIND, BLIND, BLIND, BLIND),
    ("POST", "/notifications/read-all"): each(200, 200, 200, 200, 200),  # one's own
    ("POST", "/notifications/{notification_id}/read"): each(200, 404, 404, 404, 404),
    # Everyone may read the thresholds; only admins change them.
    ("GET", "/alerts/config"): each(200, 200, 200, 200, 200),
    ("PUT", "/alerts/config"): ADMIN_ONLY,
}
BODIES: dict = {
    ("PUT", "/alerts/config"): lambda ids: {"idle_days": 10, "stage_idle_days": {"proposal": 5}, "deal_conditions": {"all": [{"field": "owner", "operator": "equals", "value": "me"}]}},
}
PARAMETER_ID: dict = {"notification_id": "notification"}
LISTED: dict = {"/notifications": "notification"}


def _notification_for(user, title: str) -> int:
    from alerts.services import do_notify

    return do_notify(user.id, "workflow", title, url="/").id


def records(alice, world, admin) -> dict:
    """Ids of this app's objects of alice's, for the table's path parameters."""
    return {"notification": _notification_for(alice.user, "Call Carol back")}


def seed(alice, ids: dict) -> dict:
    """Rows of alice's for schemathesis (config/tests/test_schemathesis.py) to
    aim path ids at: {path parameter name without _id: id}. ``ids`` holds
    the seeded organization, contact, deal, ... ids. Schemathesis calls as
    the admin, and one reaches only one's own notifications: the seeded
    one is the admin's."""
    from accounts.models import User

    admin = User.objects.filter(role="admin").order_by("id").first() or alice.user
    return {"notification": _notification_for(admin, "Seeded")}
