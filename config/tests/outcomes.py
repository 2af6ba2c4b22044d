"""The answers a persona may get, for the permission table
(config/tests/test_permissions.py and each app's tests/permission_rows.py)."""


PERSONAS = ("alice", "bob", "charlie", "manager", "admin")
SEES = "sees"  # 200, and alice's record is in the list
BLIND = "blind"  # 200, and alice's record is not in the list
AUTH_REQUIRED = {"detail": "Authentication required: send 'Authorization: Bearer <token>'"}


def each(alice, bob, charlie, manager, admin) -> dict:
    return {"alice": alice, "bob": bob, "charlie": charlie, "manager": manager, "admin": admin}


READ = each(200, 200, 404, 200, 200)  # alice's record: visible to her team and to managers/admins
DELETE = each(204, 403, 404, 204, 204)  # reps delete only what they own
LIST = each(SEES, SEES, BLIND, SEES, SEES)
CREATE = each(201, 201, 201, 201, 201)  # nothing of alice's involved
CREATE_ON_ALICES = each(201, 201, 422, 201, 201)  # the body names one of alice's records
PRIVATE = each(200, 404, 404, 404, 200)
ADMIN_ONLY = each(403, 403, 403, 403, 200)  # a user's own (mailboxes): admins may help, nobody else

# Apps whose permission rows live beside their code (<app>/tests/permission_rows.py).
ROW_APPS = ("lists", "workflows", "alerts", "insights", "imports", "accounts", "audit", "privacy")


class Multipart(dict):
    """A multipart/form-data body (an upload), sent as the test client's form."""
