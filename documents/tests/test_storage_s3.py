"""The documents storage swapped for S3-compatible object storage by
configuration alone: django-storages' S3 backend pointed at a local moto
server, with no code change. Uploads, email attachments, downloads and
deletes all go to the bucket, and nothing lands on the local disk.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from documents.files import content_path, storage
from documents.models import Document
from emails.tests.conftest import make_mail

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free loopback port, for this module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def dummy_aws(monkeypatch, tmp_path):
    """Dummy credentials from the environment, as in production; no shared
    config or credentials file is read."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_S3_ACCESS_KEY_ID", "AWS_S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def bucket(s3_endpoint, dummy_aws):
    name = f"touchpoints-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture
def s3_documents(settings, s3_endpoint, bucket):
    """settings.STORAGES["documents"] pointed at the bucket, as
    DOCUMENT_STORAGE / DOCUMENT_STORAGE_OPTIONS would (Django drops its cached
    storages when STORAGES changes)."""
    client, name = bucket
    local_location = Path(settings.STORAGES["documents"]["OPTIONS"].get("location", settings.MEDIA_ROOT))
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": name, "endpoint_url": s3_endpoint}},
    }
    from storages.backends.s3 import S3Storage

    assert isinstance(storage(), S3Storage)
    return client, name, local_location


def object_keys(client, bucket_name: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket_name).get("Contents", []))


def object_bytes(client, bucket_name: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket_name, Key=key)["Body"].read()


def unique_pdf() -> bytes:
    """PDF bytes no earlier run can have stored, so a file on the local disk
    for their digest could only come from this test."""
    return b"%PDF-1.4\n% " + uuid.uuid4().hex.encode() + b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


def test_uploaded_document_is_kept_in_the_bucket_and_downloaded_from_it(alice, world, s3_documents):
    client, bucket_name, local_location = s3_documents
    content = unique_pdf()
    response = alice.client.post(
        "/api/v1/documents",
        {"file": SimpleUploadedFile("quote.pdf", content, content_type=None), "contact_ids": [world["carol"]], "deal_id": world["deal"]},
    )
    assert response.status_code == 201, response.content
    document = response.json()
    key = content_path(document["sha256"])
    assert key.startswith("documents/")
    assert object_keys(client, bucket_name) == [key]
    assert object_bytes(client, bucket_name, key) == content

    download = alice.client.get(document["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Disposition"] == 'attachment; filename="quote.pdf"'
    assert download["Content-Type"] == "application/pdf"

    assert not (local_location / key).exists()
    assert not (Path(django_settings.MEDIA_ROOT) / key).exists()


def test_same_bytes_uploaded_twice_are_one_object(alice, s3_documents):
    client, bucket_name, _ = s3_documents
    content = unique_pdf()
    for name in ("a.pdf", "b.pdf"):
        response = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile(name, content, content_type=None)})
        assert response.status_code == 201, response.content
    assert Document.objects.count() == 2
    assert object_keys(client, bucket_name) == [content_path(Document.objects.first().sha256)]


def test_deleting_the_document_deletes_its_object(alice, s3_documents, django_capture_on_commit_callbacks):
    client, bucket_name, _ = s3_documents
    response = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("quote.pdf", unique_pdf(), content_type=None)})
    document = response.json()
    assert object_keys(client, bucket_name) == [content_path(document["sha256"])]
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.delete(f"documents/{document['id']}").status_code == 204
    assert object_keys(client, bucket_name) == []
    assert alice.client.get(document["download_url"]).status_code == 404


def test_refused_upload_puts_nothing_in_the_bucket(alice, s3_documents):
    client, bucket_name, _ = s3_documents
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + uuid.uuid4().bytes
    response = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("invoice.pdf", png, content_type=None)})
    assert response.status_code == 422
    assert object_keys(client, bucket_name) == []


def test_email_attachment_is_kept_in_the_bucket_and_downloadable(alice, world, s3_documents):
    client, bucket_name, local_location = s3_documents
    alice.user.email = "alice@ourco.example"
    alice.user.save(update_fields=["email"])
    content = unique_pdf()
    raw = make_mail(attachments=[("price-list.pdf", "application/pdf", content)])
    mail = alice.client.post("/api/v1/emails/raw", raw, content_type="message/rfc822")
    assert mail.status_code == 201, mail.content
    (document,) = Document.objects.filter(touchpoint_id=mail.json()["touchpoint_id"])
    assert object_bytes(client, bucket_name, content_path(document.sha256)) == content
    download = alice.client.get(f"/api/v1/documents/{document.id}")
    assert b"".join(download.streaming_content) == content
    assert not (local_location / content_path(document.sha256)).exists()


def test_environment_variables_alone_select_the_s3_storage(s3_endpoint, bucket, tmp_path):
    """What an operator does: DOCUMENT_STORAGE and DOCUMENT_STORAGE_OPTIONS in
    the environment of a fresh process, and documents.files stores and reads
    through the bucket."""
    client, bucket_name = bucket
    content = unique_pdf()
    script = (
        "import django, sys; django.setup()\n"
        "from documents import files\n"
        "print(type(files.storage()).__name__)\n"
        "stored = files.store(sys.stdin.buffer.read())\n"
        "print(stored.sha256)\n"
        "print(files.open_content(stored.sha256).read() == files.storage().open(files.content_path(stored.sha256)).read())\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DOCUMENT_STORAGE": "storages.backends.s3.S3Storage",
        "DOCUMENT_STORAGE_OPTIONS": json.dumps({"bucket_name": bucket_name, "endpoint_url": s3_endpoint}),
    }
    result = subprocess.run([sys.executable, "-c", script], input=content, capture_output=True, cwd=PROJECT_DIR, env=env, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    backend, sha256, reads_back = result.stdout.decode().split()
    assert (backend, reads_back) == ("S3Storage", "True")
    assert object_bytes(client, bucket_name, content_path(sha256)) == content
    assert not (Path(django_settings.MEDIA_ROOT) / content_path(sha256)).exists()
