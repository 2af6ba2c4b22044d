"""POST /api/v1/imports as an integrator uses it: upload, poll, fetch the
refused rows."""
from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Contact
from imports.uploads import imports_dir

CONTACTS = b"Surname,E-mail,Nick\nDoe,doe@x.example,Johnny\n,bad,\nRoe,roe@x.example,\n"


def upload(api, content: bytes = CONTACTS, name: str = "people.csv", **fields):
    return api.client.post("/api/v1/imports", {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "record_type": "contacts", **fields})


def test_an_upload_is_queued_run_by_the_worker_and_reported(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice, mapping=json.dumps({"Nick": "first_name"}))

    assert response.status_code == 202, response.content
    queued = response.json()
    assert (queued["status"], queued["filename"], queued["mapping"]) == ("queued", "people.csv", {"Surname": "last_name", "E-mail": "email", "Nick": "first_name"})
    job = alice.get(f"imports/{queued['id']}").json()
    assert {k: job[k] for k in ("status", "progress", "rows_done", "created", "failed")} == {"status": "done", "progress": 1.0, "rows_done": 3, "created": 2, "failed": 1}
    assert sorted(Contact.objects.values_list("first_name", "last_name")) == [("", "Roe"), ("Johnny", "Doe")]

    errors = alice.client.get(job["errors_url"])
    assert errors["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(errors.streaming_content).decode().splitlines() == [
        "row,column,reason",
        "3,E-mail,'bad' is not an email address",
        "3,Surname,is required and empty",
    ]
    assert [j["id"] for j in alice.get("imports").json()["items"]] == [job["id"]]


def test_someone_elses_import_is_not_found(alice, bob, django_capture_on_commit_callbacks):
    job = upload(alice).json()
    assert bob.get(f"imports/{job['id']}").status_code == 404
    assert bob.client.get(f"/api/v1/imports/{job['id']}/errors.csv").status_code == 404
    assert bob.get("imports").json()["items"] == []


def test_bad_uploads_are_422s_naming_the_field_and_keep_nothing(alice, settings, tmp_path):
    settings.IMPORTS_DIR = tmp_path / "imports"
    cases = [
        (upload(alice, mapping='{"Nick": "shoe_size"}'), ["body", "mapping", "Nick"]),
        (upload(alice, mapping="{nope"), ["body", "mapping"]),
        (upload(alice, content=b"Nick\nJohnny\n"), ["body", "mapping"]),  # nothing holds last_name
        (upload(alice, content=b"", name="empty.csv"), ["body", "file"]),
        (upload(alice, name="people.xlsx"), ["body", "file"]),
        (upload(alice, record_type="cases"), ["body", "record_type"]),
    ]
    for response, loc in cases:
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == loc, response.json()
    assert list(imports_dir().glob("*/*")) == []  # no job, no stored file


def test_a_file_over_the_limit_is_a_413(alice, settings):
    settings.IMPORT_MAX_BYTES = 50
    response = upload(alice, content=CONTACTS * 10)
    assert response.status_code == 413
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert "IMPORT_MAX_BYTES" in response.json()["detail"][0]["msg"]
