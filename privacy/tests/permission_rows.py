"""This app's rows of the permission table (config/tests/test_permissions.py).

Exporting or erasing a contact's personal data is for admins and managers
(who see every record, so the export is complete); a rep who can see Carol
gets 403, one who cannot 404 (privacy/tests/test_privacy.py).
"""
from __future__ import annotations

from config.tests.outcomes import each

PRIVACY = each(403, 403, 404, 200, 200)

TABLE: dict = {
    ("GET", "/contacts/{record_id}/export"): PRIVACY,
    ("POST", "/contacts/{record_id}/erase"): PRIVACY,
}


def records(alice, world, admin) -> dict:
    return {}
