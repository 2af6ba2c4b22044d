"""This app's rows of the permission table (config/tests/test_permissions.py).

An import job is its creator's: teammates and outsiders get 404 (a job
holds a file's rows, not shared records); managers and admins, who see
every record, see every import. Anyone may import: what each row may touch
is the services' usual check.
"""
from __future__ import annotations

from config.tests.outcomes import BLIND, SEES, Multipart, each

JOB = each(200, 404, 404, 200, 200)

TABLE: dict = {
    ("POST", "/imports"): each(202, 202, 202, 202, 202),
    ("GET", "/imports"): each(SEES, BLIND, BLIND, SEES, SEES),
    ("GET", "/imports/{import_id}"): JOB,
    ("GET", "/imports/{import_id}/errors.csv"): JOB,
}


def _upload() -> Multipart:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return Multipart({"file": SimpleUploadedFile("contacts.csv", b"Last Name,Email\nDoe,doe@x.example\n", content_type="text/csv"), "record_type": "contacts"})


BODIES: dict = {("POST", "/imports"): lambda ids: _upload()}
PARAMETER_ID: dict = {"import_id": "import"}
LISTED: dict = {"/imports": "import"}


def records(alice, world, admin) -> dict:
    """Alice's import job (queued: the worker is not running)."""
    response = alice.client.post("/api/v1/imports", _upload())
    assert response.status_code == 202, response.content
    return {"import": response.json()["id"]}


def seed(alice, ids: dict) -> dict:
    return records(alice, None, None)
