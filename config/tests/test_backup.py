"""Backups, round-tripped on the database the suite runs on: on SQLite
``touchpoints backup`` / ``restore`` (config/backup.py); on PostgreSQL the
pg_dump / pg_restore commands docs/operations.md gives, and our commands
refusing with a pointer to them. Data is committed (transactional tests):
a backup sees what other connections see."""
from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import _persona
from crm.models import Organization
from documents.files import content_path, storage
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def document_storage(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    return root


def a_small_company():
    alice = _persona("alice")
    org = alice.post("organizations", {"name": "Acme"}).json()["id"]
    call = alice.post("touchpoints", {"kind": "phone_call", "status": "completed", "occurred_at": "2026-11-02T10:00:00Z", "organization_ids": [org]})
    assert call.status_code == 201, call.content
    document = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("notes.txt", b"call notes"), "organization_ids": [org]})
    assert document.status_code == 201, document.content
    return alice, org, call.json()["id"], document.json()


def test_backup_and_restore_round_trip(tmp_path, document_storage):
    alice, org, call, document = a_small_company()
    archive = tmp_path / "backup.tar"
    if connection.vendor == "postgresql":
        with pytest.raises(CommandError, match="pg_dump"):
            call_command("backup", str(archive))
        _pg_dump_round_trip(tmp_path, call)
        return

    out = io.StringIO()
    call_command("backup", str(archive), stdout=out)
    assert "1 documents" in out.getvalue()
    blob = content_path(document["sha256"])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        blobs = [n for n in names if n.startswith("documents/")]
        assert "touchpoints.sqlite3" in names and len(blobs) == 1
        assert tar.extractfile(blobs[0]).read() == b"call notes"
    assert manifest["engine"] == "sqlite" and manifest["documents"] == 1 and "touchpoints" in manifest["schema"]
    assert blobs == [blob]

    # The company moves on: a touchpoint deleted, an organization added, the
    # document's bytes lost.
    assert alice.delete(f"touchpoints/{call}").status_code == 204
    alice.post("organizations", {"name": "Added after the backup"})
    storage().delete(blobs[0])

    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(archive))
    call_command("restore", str(archive), "--force", stdout=io.StringIO())

    assert Touchpoint.objects.filter(id=call).exists()
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme"]
    assert storage().exists(blobs[0])
    # The restored company works through the API: the document downloads.
    download = alice.client.get(f"/api/v1/documents/{document['id']}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"call notes"
    timeline = alice.get(f"organizations/{org}/timeline").json()
    assert call in [item["id"] for item in timeline["items"]]


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    stray = tmp_path / "stray.tar"
    with tarfile.open(stray, "w") as tar:
        tar.add(__file__, arcname="notes.py")
    expected = "pg_dump" if connection.vendor == "postgresql" else "not a Touchpoints backup"
    with pytest.raises(CommandError, match=expected):
        call_command("restore", str(stray), "--force")


def _pg_dump_round_trip(tmp_path: Path, call: int) -> None:
    """docs/operations.md's commands, as written there."""
    params = connection.settings_dict
    env = {"PGHOST": params["HOST"] or "127.0.0.1", "PGPORT": str(params["PORT"] or 5432), "PGUSER": params["USER"] or "postgres", "PATH": "/usr/bin:/bin"}
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = params["PASSWORD"]
    dump = tmp_path / "touchpoints.dump"
    copy = f"restore_{uuid.uuid4().hex[:12]}"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), params["NAME"]], env=env, check=True)
    subprocess.run(["createdb", copy], env=env, check=True)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--dbname", copy, str(dump)], env=env, check=True)
        with psycopg.connect(host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], password=params.get("PASSWORD") or None, dbname=copy) as db:
            assert db.execute("SELECT count(*) FROM touchpoints_touchpoint WHERE id = %s", [call]).fetchone()[0] == 1
            assert db.execute("SELECT count(*) FROM crm_organization").fetchone()[0] == Organization.objects.count()
    finally:
        subprocess.run(["dropdb", "--if-exists", copy], env=env, check=True)


def test_a_backup_missing_a_documents_bytes_fails_and_leaves_no_file(tmp_path):
    _, _, _, document = a_small_company()
    storage().delete(content_path(document["sha256"]))
    expected = "pg_dump" if connection.vendor == "postgresql" else "missing from the document storage"
    with pytest.raises(CommandError, match=expected):
        call_command("backup", str(tmp_path / "backup.tar"))
    assert list(tmp_path.glob("backup.tar*")) == []
