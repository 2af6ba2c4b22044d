"""Documents through the REST API: uploading (size, type, name), the
Documents widgets of contacts, organizations and deals (rolled up and
paginated), downloading and who may, sharing and taking shares back, deleting,
and email attachments served by the same download endpoint.

Every test gets its own documents storage under tmp_path
(``document_storage``), so "nothing was stored" is checked on the disk itself,
not only in the tables.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents.files import clean_filename, content_path, storage
from documents.models import Document, DocumentShare
from emails.tests.conftest import make_mail
from touchpoints.models import Touchpoint

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode."
HTML = b"<html><script>alert(1)</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
CSV = b"name,amount\nAcme,10\nGrasspods,20\n"


def docx_bytes() -> bytes:
    """A minimal Word document: a zip whose first member is [Content_Types].xml
    and which holds word/document.xml (what filetype looks for)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>')
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def document_storage(settings, tmp_path) -> Path:
    """A documents storage of this test's own (Django resets its storage
    cache when STORAGES changes)."""
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    assert Path(storage().location) == root
    return root


def stored_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def upload(api, name: str, content: bytes, content_type: str | None = None, **fields):
    """Upload as a browser would: the part's Content-Type guessed from the
    name unless given."""
    file = SimpleUploadedFile(name, content, content_type=content_type)
    data = {"file": file, **{k: v for k, v in fields.items() if v is not None}}
    return api.client.post("/api/v1/documents", data)


def upload_raw(api, filename_param: str, content: bytes, content_type: str = "application/octet-stream", fields: dict | None = None):
    """Upload a multipart body built by hand, so the part's filename reaches
    the server exactly as given (Django's test client would basename it
    first). ``filename_param`` is the whole parameter, e.g. filename*=UTF-8''..."""
    boundary = "touchpoints-test-boundary-7d1c"
    body = b""
    for name, value in (fields or {}).items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; {filename_param}\r\nContent-Type: {content_type}\r\n\r\n'.encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return api.client.post("/api/v1/documents", body, content_type=f"multipart/form-data; boundary={boundary}")


def created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


def download(api, document_id: int):
    return api.client.get(f"/api/v1/documents/{document_id}")


def downloaded_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def nothing_stored(root: Path) -> None:
    assert Document.objects.count() == 0
    assert DocumentShare.objects.count() == 0
    assert Touchpoint.objects.filter(kind="document").count() == 0
    assert stored_files(root) == set()


def document_timeline(api, record: str, record_id: int) -> list[dict]:
    response = api.get(f"{record}/{record_id}/timeline", kinds="document")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def widget(api, record: str, record_id: int, **params) -> dict:
    response = api.get(f"{record}/{record_id}/documents", **params)
    assert response.status_code == 200, response.content
    return response.json()


def walk_widget(api, record: str, record_id: int, limit: int) -> tuple[list[int], int]:
    """Every document id on a record's widget, page by page, and the page count."""
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = widget(api, record, record_id, **params)
        assert len(page["items"]) <= limit
        seen += [item["document"]["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 20, "the cursor never ends"


def other_org_with_contact(api) -> tuple[int, int]:
    org = api.post("organizations", {"name": "Elsewhere Inc"}).json()["id"]
    contact = api.post("contacts", {"first_name": "Erin", "last_name": "Oak", "organization_id": org}).json()["id"]
    return org, contact


def mail_from_carol(api, **kwargs) -> dict:
    """An email from Carol to Alice, uploaded raw as the IMAP sync would."""
    api.user.email = "alice@ourco.example"
    api.user.save(update_fields=["email"])
    response = api.client.post("/api/v1/emails/raw", make_mail(**kwargs), content_type="message/rfc822")
    assert response.status_code == 201, response.content
    return response.json()


# --- upload and the Documents widgets ------------------------------------------------------------


def test_upload_shared_with_a_deal_contact_shows_on_contact_deal_and_organization(alice, world, document_storage):
    document = created(upload(alice, "quote.pdf", PDF, title="Quote 2024", contact_ids=[world["carol"]], deal_id=world["deal"]))
    assert (document["title"], document["filename"], document["content_type"], document["size"]) == ("Quote 2024", "quote.pdf", "application/pdf", len(PDF))
    assert document["download_url"] == f"/api/v1/documents/{document['id']}"
    (share,) = document["shares"]
    assert (share["contact_id"], share["contact_name"], share["deal_id"], share["deal_name"]) == (world["carol"], "Carol Ng", world["deal"], "Grasspods renewal")

    on_contact = widget(alice, "contacts", world["carol"])["items"]
    on_deal = widget(alice, "deals", world["deal"])["items"]
    on_org = widget(alice, "organizations", world["org"])["items"]
    assert [(i["document"]["id"], i["id"], i["path"]) for i in on_contact] == [(document["id"], share["id"], "direct")]
    assert [(i["document"]["id"], i["id"], i["path"]) for i in on_deal] == [(document["id"], share["id"], "direct")]
    # Carol works at Grasspods: the share rolls up to her organization.
    assert [(i["document"]["id"], i["id"], i["path"]) for i in on_org] == [(document["id"], share["id"], "contact")]
    assert on_org[0]["document"]["download_url"] == document["download_url"]
    assert widget(alice, "contacts", world["dave"])["items"] == []
    assert stored_files(document_storage) == {content_path(document["sha256"])}


def test_document_shared_with_a_deal_contact_outside_deal_context_rolls_up_to_the_open_deal(alice, world):
    document = created(upload(alice, "brochure.pdf", PDF, contact_ids=[world["carol"]]))
    (item,) = widget(alice, "deals", world["deal"])["items"]
    assert (item["document"]["id"], item["path"], item["deal_id"]) == (document["id"], "contact", None)


def test_document_shared_with_organization_is_direct_there_and_not_on_its_contacts(alice, world):
    document = created(upload(alice, "terms.pdf", PDF, organization_ids=[world["org"]]))
    (item,) = widget(alice, "organizations", world["org"])["items"]
    assert (item["document"]["id"], item["path"], item["organization_id"], item["organization_name"]) == (document["id"], "direct", world["org"], "Grasspods")
    assert widget(alice, "contacts", world["carol"])["items"] == []


def test_record_widgets_page_by_cursor_newest_first_each_document_once(alice, world):
    ids = [created(upload(alice, f"note-{i}.txt", f"note number {i}\n".encode(), contact_ids=[world["carol"]], deal_id=world["deal"]))["id"] for i in range(7)]
    newest_first = list(reversed(ids))
    for record, record_id in (("deals", world["deal"]), ("contacts", world["carol"]), ("organizations", world["org"])):
        seen, pages = walk_widget(alice, record, record_id, limit=3)
        assert seen == newest_first, record
        assert pages == 3, record


def test_record_widget_page_costs_the_same_queries_however_many_documents(alice, world):
    created(upload(alice, "first.txt", b"first\n", contact_ids=[world["carol"]]))

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            widget(alice, "organizations", world["org"], limit=50)
        return len(captured)

    one = queries_for_page()
    for i in range(5):
        created(upload(alice, f"more-{i}.txt", f"more {i}\n".encode(), contact_ids=[world["carol"] if i % 2 else world["dave"]]))
    assert len(widget(alice, "organizations", world["org"])["items"]) == 6
    assert queries_for_page() == one


def test_document_list_page_costs_the_same_queries_however_many_documents(alice, world):
    created(upload(alice, "first.pdf", PDF, contact_ids=[world["carol"]], organization_ids=[world["org"]], deal_id=world["deal"]))

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = alice.get("documents", limit=50)
        assert response.status_code == 200
        return len(captured)

    one = queries_for_page()
    for i in range(5):
        created(upload(alice, f"more-{i}.pdf", PDF, contact_ids=[world["carol"], world["dave"]], deal_id=world["deal"]))
    page = alice.get("documents").json()["items"]
    assert len(page) == 6 and all(d["shares"] for d in page)
    assert queries_for_page() == one


def test_widget_of_a_record_the_caller_cannot_see_is_404(alice, charlie, world):
    created(upload(alice, "quote.pdf", PDF, contact_ids=[world["carol"]]))
    for record, record_id in (("deals", world["deal"]), ("contacts", world["carol"]), ("organizations", world["org"])):
        assert charlie.get(f"{record}/{record_id}/documents").status_code == 404


def test_upload_without_a_file_is_422_naming_the_file_field(alice, world, document_storage):
    response = alice.client.post("/api/v1/documents", {"title": "No file", "contact_ids": [world["carol"]]})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "file"]]
    nothing_stored(document_storage)


def test_upload_kept_unshared_is_listed_for_owner_and_team_only(alice, bob, charlie, world):
    document = created(upload(alice, "draft.txt", b"a draft\n"))
    assert document["shares"] == []
    assert [d["id"] for d in alice.get("documents").json()["items"]] == [document["id"]]
    assert [d["id"] for d in bob.get("documents").json()["items"]] == [document["id"]]
    assert charlie.get("documents").json()["items"] == []


def test_document_list_is_newest_first_by_cursor_and_excludes_email_attachments(alice, bob, world):
    ids = [created(upload(alice, f"n{i}.txt", f"n{i}\n".encode()))["id"] for i in range(5)]
    mail_from_carol(alice, attachments=[("attached.pdf", "application/pdf", PDF)])
    seen, cursor = [], None
    while True:
        page = bob.get("documents", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


# --- download and who may -------------------------------------------------------------------------


def test_download_is_the_same_bytes_as_an_attachment_with_nosniff(alice, world):
    document = created(upload(alice, "quote.pdf", PDF, contact_ids=[world["carol"]]))
    response = alice.client.get(document["download_url"])
    assert response.status_code == 200
    assert downloaded_bytes(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="quote.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_teammate_manager_and_admin_download_an_outsider_gets_the_same_404_as_for_no_document(alice, bob, charlie, manager, admin, world):
    document = created(upload(alice, "quote.pdf", PDF, contact_ids=[world["carol"]]))
    for reader in (alice, bob, manager, admin):
        response = download(reader, document["id"])
        assert response.status_code == 200, reader.user.username
        assert downloaded_bytes(response) == PDF
    hidden = download(charlie, document["id"])
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": f"document {document['id']} not found"}
    missing_id = document["id"] + 1000
    missing = download(charlie, missing_id)
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"document {missing_id} not found"}
    assert charlie.get(f"documents/{document['id']}/shares").status_code == 404


def test_alice_cannot_share_with_an_organization_only_charlie_sees(alice, charlie, world, document_storage):
    charlies_org = charlie.post("organizations", {"name": "Charlie's Co"}).json()["id"]
    response = upload(alice, "quote.pdf", PDF, organization_ids=[world["org"], charlies_org])
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body", "organization_ids", 1], "msg": f"organization {charlies_org} not found", "type": "value_error"}]
    nothing_stored(document_storage)


def test_document_shared_with_a_record_someone_sees_is_theirs_to_download_but_not_others(alice, charlie, manager, world):
    """Charlie sees nothing of Alice's, but a document the manager shares with
    Charlie's organization is on a record he may see."""
    charlies_org = charlie.post("organizations", {"name": "Charlie's Co"}).json()["id"]
    document = created(upload(manager, "for-charlie.pdf", PDF, organization_ids=[charlies_org]))
    assert download(charlie, document["id"]).status_code == 200
    assert [i["document"]["id"] for i in widget(charlie, "organizations", charlies_org)["items"]] == [document["id"]]
    assert download(alice, document["id"]).status_code == 404


def test_share_list_hides_records_the_viewer_cannot_open(alice, charlie, manager, world):
    charlies_org = charlie.post("organizations", {"name": "Charlie's Co"}).json()["id"]
    document = created(upload(manager, "both.pdf", PDF, organization_ids=[world["org"], charlies_org]))
    as_charlie = charlie.get(f"documents/{document['id']}/shares").json()
    assert [(s["organization_id"], s["organization_name"]) for s in as_charlie["shares"]] == [(charlies_org, "Charlie's Co")]
    as_alice = alice.get(f"documents/{document['id']}/shares").json()
    assert [(s["organization_id"], s["organization_name"]) for s in as_alice["shares"]] == [(world["org"], "Grasspods")]


# --- size ------------------------------------------------------------------------------------------


def test_oversized_upload_is_413_naming_the_file_and_stores_nothing(alice, world, settings, document_storage):
    settings.DOCUMENT_MAX_BYTES = 1000
    response = upload(alice, "big.txt", b"x" * 5000, contact_ids=[world["carol"]], deal_id=world["deal"])
    assert response.status_code == 413
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (["body", "file"], "too_large")
    assert "1,000" in detail["msg"]
    nothing_stored(document_storage)
    assert Touchpoint.objects.count() == 0


def test_upload_at_exactly_the_limit_is_kept_and_one_byte_more_is_not(alice, settings, document_storage):
    settings.DOCUMENT_MAX_BYTES = 1000
    assert created(upload(alice, "exact.txt", b"y" * 1000))["size"] == 1000
    assert upload(alice, "over.txt", b"z" * 1001).status_code == 413
    assert list(Document.objects.values_list("filename", flat=True)) == ["exact.txt"]


# --- type ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("invoice.pdf", PNG, "image/png"),
        ("photo.png", HTML, "text/html"),
        ("report.pdf", EXE, "application/x-msdownload"),
        ("logo.png", SVG, "image/svg+xml"),
        ("notes.txt", HTML, "text/html"),
        ("notes.txt", PDF, "application/pdf"),
        ("budget.docx", PDF, "application/pdf"),
    ],
)
def test_file_whose_name_claims_another_type_is_refused_and_not_stored(alice, world, document_storage, name, content, what):
    response = upload(alice, name, content, contact_ids=[world["carol"]])
    assert response.status_code == 422, response.content
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (["body", "file"], "type_mismatch")
    assert what in detail["msg"]
    nothing_stored(document_storage)


def test_declared_content_type_disagreeing_with_the_bytes_is_refused(alice, document_storage):
    response = upload(alice, "a.pdf", PDF, content_type="image/png")
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (["body", "file"], "type_mismatch")
    assert "declared type" in detail["msg"]
    nothing_stored(document_storage)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("quote.pdf", PDF, "application/pdf"),
        ("figures.csv", CSV, "text/csv"),
        ("notes.txt", b"plain notes\n", "text/plain"),
        ("logo.png", PNG, "image/png"),
        ("proposal.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
)
def test_file_that_is_what_its_name_says_is_stored_with_the_detected_type(alice, document_storage, name, content, content_type):
    document = created(upload(alice, name, content))
    assert (document["filename"], document["content_type"]) == (name, content_type)
    assert Document.objects.get(id=document["id"]).content_type == content_type
    response = download(alice, document["id"])
    assert response["Content-Type"] == content_type
    assert downloaded_bytes(response) == content


def test_a_web_page_is_served_as_a_download_never_rendered(alice):
    document = created(upload(alice, "page.html", HTML))
    assert document["content_type"] == "text/html"
    response = download(alice, document["id"])
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


# --- names -----------------------------------------------------------------------------------------


def rfc2231(name: str) -> str:
    return "filename*=UTF-8''" + quote(name, safe="")


@pytest.mark.parametrize(
    ("raw_name", "content", "clean"),
    [
        ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", "passwd"),
        ("..\\..\\windows\\system32\\evil.pdf", PDF, "evil.pdf"),
        ("/abs/path/x.txt", b"absolute\n", "x.txt"),
        ("re\x00port\x01\x1f.pdf", PDF, "report.pdf"),
        ("invoice\u202efdp.txt", b"bidi\n", "invoicefdp.txt"),
        ("..\\../..hidden.txt", b"hidden\n", "hidden.txt"),
    ],
)
def test_path_and_control_characters_in_upload_names_are_neutralized(alice, document_storage, tmp_path, raw_name, content, clean):
    document = created(upload_raw(alice, rfc2231(raw_name), content))
    assert document["filename"] == clean
    assert "/" not in document["filename"] and "\\" not in document["filename"] and not document["filename"].startswith(".")
    response = download(alice, document["id"])
    assert response["Content-Disposition"] == f'attachment; filename="{clean}"'
    assert downloaded_bytes(response) == content
    # The bytes live at their digest's path in the storage, and nowhere else.
    assert storage().exists(content_path(document["sha256"]))
    assert stored_files(document_storage) == {content_path(document["sha256"])}
    assert not (tmp_path / "etc").exists() and not (tmp_path / "abs").exists()
    assert not any(p.name in ("passwd", "evil.pdf", "x.txt") for p in tmp_path.rglob("*"))


def test_name_quoted_with_backslashes_in_the_header_keeps_only_its_last_component(alice, document_storage):
    document = created(upload_raw(alice, 'filename="..\\\\..\\\\windows\\\\evil.pdf"', PDF, "application/pdf"))
    assert document["filename"] == "evil.pdf"
    assert stored_files(document_storage) == {content_path(document["sha256"])}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\temp\\a.pdf", "a.pdf"),
        ("..", "document"),
        ("...", "document"),
        ("", "document"),
        (".bashrc", "bashrc"),
        ("a\x00b\x07c.txt", "abc.txt"),
        ("exe\u202efdp.pdf", "exefdp.pdf"),
        ('what<>:"|?*.txt', "what_______.txt"),
        ("CON.txt", "_CON.txt"),
        ("  many   spaces .txt", "many spaces .txt"),
    ],
)
def test_clean_filename_keeps_a_safe_last_component(raw, clean):
    """The same cleaning applies to email attachments, whose names never pass
    through Django's multipart parser."""
    assert clean_filename(raw) == clean


def test_very_long_name_is_bounded_and_keeps_its_extension():
    name = clean_filename("ä" * 300 + ".pdf")
    assert len(name.encode()) <= 255
    assert name.endswith(".pdf")


def test_email_attachment_with_a_path_for_a_name_is_stored_by_digest_under_a_clean_name(alice, world, document_storage):
    mail = mail_from_carol(alice, attachments=[("../../etc/passwd.pdf", "application/pdf", PDF)])
    (document,) = Document.objects.filter(touchpoint_id=mail["touchpoint_id"])
    assert document.filename == "passwd.pdf"
    assert stored_files(document_storage) == {content_path(document.sha256)}
    assert download(alice, document.id)["Content-Disposition"] == 'attachment; filename="passwd.pdf"'


# --- sharing ---------------------------------------------------------------------------------------


def test_sharing_twice_with_the_same_organization_is_one_share_and_one_touchpoint(alice, world):
    document = created(upload(alice, "terms.pdf", PDF))
    first = alice.post(f"documents/{document['id']}/shares", {"organization_id": world["org"]})
    assert first.status_code == 201, first.content
    again = alice.post(f"documents/{document['id']}/shares", {"organization_id": world["org"]})
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["touchpoint_id"] == first.json()["touchpoint_id"]
    (item,) = document_timeline(alice, "organizations", world["org"])
    assert (item["id"], item["kind"], item["status"]) == (first.json()["touchpoint_id"], "document", "shared")
    assert "terms.pdf" in item["subject"]
    assert DocumentShare.objects.filter(document_id=document["id"]).count() == 1


def test_sharing_a_document_does_not_move_last_contacted(alice, world):
    mail_from_carol(alice, when="2024-03-01 10:00")
    before = {
        "contact": alice.get(f"contacts/{world['carol']}").json(),
        "organization": alice.get(f"organizations/{world['org']}").json(),
    }
    assert before["contact"]["last_contacted_via"] == "Email"
    assert before["contact"]["last_contacted_on"].startswith("2024-03-01T10:00")
    document = created(upload(alice, "quote.pdf", PDF, contact_ids=[world["carol"]], deal_id=world["deal"]))
    assert alice.post(f"documents/{document['id']}/shares", {"organization_id": world["org"]}).status_code == 201
    assert alice.post(f"documents/{document['id']}/shares", {"contact_id": world["dave"]}).status_code == 201
    for record, record_id in (("contact", world["carol"]), ("organization", world["org"])):
        after = alice.get(f"{record}s/{record_id}").json()
        assert (after["last_contacted_on"], after["last_contacted_via"]) == (before[record]["last_contacted_on"], before[record]["last_contacted_via"])
    dave = alice.get(f"contacts/{world['dave']}").json()
    assert (dave["last_contacted_on"], dave["last_contacted_via"]) == (None, None)


def test_taking_a_share_back_removes_it_and_its_touchpoint(alice, charlie, world):
    document = created(upload(alice, "terms.pdf", PDF))
    share = alice.post(f"documents/{document['id']}/shares", {"organization_id": world["org"]}).json()
    assert charlie.delete(f"documents/{document['id']}/shares/{share['id']}").status_code == 404
    assert len(document_timeline(alice, "organizations", world["org"])) == 1
    response = alice.delete(f"documents/{document['id']}/shares/{share['id']}")
    assert response.status_code == 204
    assert document_timeline(alice, "organizations", world["org"]) == []
    assert widget(alice, "organizations", world["org"])["items"] == []
    assert not Touchpoint.objects.filter(id=share["touchpoint_id"]).exists()
    assert alice.get(f"documents/{document['id']}/shares").json()["shares"] == []
    # The document itself stays, in Alice's documents.
    assert download(alice, document["id"]).status_code == 200
    assert alice.delete(f"documents/{document['id']}/shares/{share['id']}").status_code == 404


def test_share_must_name_exactly_one_record(alice, world):
    document = created(upload(alice, "terms.pdf", PDF))
    assert alice.post(f"documents/{document['id']}/shares", {}).status_code == 422
    both = alice.post(f"documents/{document['id']}/shares", {"organization_id": world["org"], "contact_id": world["carol"]})
    assert both.status_code == 422
    assert DocumentShare.objects.count() == 0


def test_outsider_cannot_share_a_document_they_cannot_see(alice, charlie, world):
    document = created(upload(alice, "terms.pdf", PDF))
    charlies_org = charlie.post("organizations", {"name": "Charlie's Co"}).json()["id"]
    response = charlie.post(f"documents/{document['id']}/shares", {"organization_id": charlies_org})
    assert response.status_code == 404
    assert response.json() == {"detail": f"document {document['id']} not found"}
    assert DocumentShare.objects.count() == 0


def test_in_deal_context_a_contact_neither_on_the_deal_nor_at_its_organization_is_refused(alice, world, document_storage):
    _, stranger = other_org_with_contact(alice)
    response = upload(alice, "quote.pdf", PDF, contact_ids=[stranger], deal_id=world["deal"])
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "contact_ids", 0]
    assert "neither on deal" in detail["msg"]
    nothing_stored(document_storage)


def test_in_deal_context_a_contact_at_the_deal_organization_is_accepted(alice, world):
    document = created(upload(alice, "quote.pdf", PDF, contact_ids=[world["dave"]], deal_id=world["deal"]))
    (share,) = document["shares"]
    assert (share["contact_id"], share["deal_id"]) == (world["dave"], world["deal"])
    assert [i["document"]["id"] for i in widget(alice, "deals", world["deal"])["items"]] == [document["id"]]


def test_in_deal_context_another_organization_is_refused(alice, world, document_storage):
    other_org, _ = other_org_with_contact(alice)
    response = upload(alice, "quote.pdf", PDF, organization_ids=[other_org], deal_id=world["deal"])
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "organization_ids", 0]]
    nothing_stored(document_storage)


def test_deal_context_without_anyone_to_share_with_is_refused_naming_the_deal(alice, world, document_storage):
    response = upload(alice, "quote.pdf", PDF, deal_id=world["deal"])
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "deal_id"]]
    nothing_stored(document_storage)


def test_share_endpoint_checks_deal_context_too(alice, world):
    document = created(upload(alice, "quote.pdf", PDF))
    _, stranger = other_org_with_contact(alice)
    response = alice.post(f"documents/{document['id']}/shares", {"contact_id": stranger, "deal_id": world["deal"]})
    assert response.status_code == 422
    assert DocumentShare.objects.count() == 0


# --- delete ----------------------------------------------------------------------------------------


def test_only_the_owner_deletes_and_then_the_document_and_its_share_touchpoints_are_gone(alice, bob, world, document_storage, django_capture_on_commit_callbacks):
    document = created(upload(alice, "quote.pdf", PDF, contact_ids=[world["carol"]], deal_id=world["deal"]))
    share = alice.post(f"documents/{document['id']}/shares", {"organization_id": world["org"]}).json()
    assert len(document_timeline(alice, "organizations", world["org"])) == 2

    forbidden = bob.delete(f"documents/{document['id']}")
    assert forbidden.status_code == 403
    assert download(bob, document["id"]).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        assert alice.delete(f"documents/{document['id']}").status_code == 204
    assert download(alice, document["id"]).status_code == 404
    assert document_timeline(alice, "organizations", world["org"]) == []
    assert document_timeline(alice, "contacts", world["carol"]) == []
    assert document_timeline(alice, "deals", world["deal"]) == []
    assert widget(alice, "deals", world["deal"])["items"] == []
    assert not Touchpoint.objects.filter(id=share["touchpoint_id"]).exists()
    assert Touchpoint.objects.filter(kind="document").count() == 0
    # No other document has these bytes: they go too, after the commit.
    assert stored_files(document_storage) == set()


def test_deleting_one_of_two_documents_with_the_same_bytes_keeps_the_bytes(alice, document_storage, django_capture_on_commit_callbacks):
    first = created(upload(alice, "a.pdf", PDF))
    second = created(upload(alice, "b.pdf", PDF))
    assert first["sha256"] == second["sha256"]
    assert stored_files(document_storage) == {content_path(first["sha256"])}
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.delete(f"documents/{first['id']}").status_code == 204
    assert downloaded_bytes(download(alice, second["id"])) == PDF


def test_outsider_deleting_gets_404(alice, charlie):
    document = created(upload(alice, "quote.pdf", PDF))
    assert charlie.delete(f"documents/{document['id']}").status_code == 404
    assert Document.objects.filter(id=document["id"]).exists()


# --- email attachments -----------------------------------------------------------------------------


def test_email_attachment_downloads_for_who_sees_the_email_and_cannot_be_deleted_alone(alice, bob, charlie, manager, world):
    mail = mail_from_carol(alice, attachments=[("price-list.pdf", "application/pdf", PDF)])
    (document,) = Document.objects.filter(touchpoint_id=mail["touchpoint_id"])
    for reader in (alice, bob, manager):
        response = download(reader, document.id)
        assert response.status_code == 200, reader.user.username
        assert downloaded_bytes(response) == PDF
        assert response["Content-Disposition"] == 'attachment; filename="price-list.pdf"'
    hidden = download(charlie, document.id)
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": f"document {document.id} not found"}

    conflict = alice.delete(f"documents/{document.id}")
    assert conflict.status_code == 409
    assert "email" in conflict.json()["detail"]
    assert Document.objects.filter(id=document.id).exists()


def test_an_upload_spooled_to_disk_is_stored_whole_and_its_temporary_file_left_to_django(alice, world, document_storage, settings):
    """Over FILE_UPLOAD_MAX_MEMORY_SIZE an upload arrives as a temporary file:
    it is copied into storage, never moved from under Django."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    content = b"a,b\n" + b"1,2\n" * 50_000  # 200 KB of CSV

    document = created(upload(alice, "numbers.csv", content, contact_ids=[world["carol"]]))

    assert document["size"] == len(content) and document["content_type"] == "text/csv"
    assert downloaded_bytes(download(alice, document["id"])) == content


def test_a_share_whose_contact_was_deleted_leaves_a_touchpoint_that_can_be_removed(alice, world):
    """The share goes with its contact; what it left on the organization's
    and deal's Activity is the log's own again, and its owner may delete it."""
    document = created(upload(alice, "terms.pdf", b"%PDF-1.4 terms", contact_ids=[world["dave"]]))
    touchpoint_id = document["shares"][0]["touchpoint_id"]
    assert alice.delete(f"touchpoints/{touchpoint_id}").status_code == 409  # while the share exists: take it back instead

    assert alice.delete(f"contacts/{world['dave']}").status_code == 204

    assert [i["id"] for i in document_timeline(alice, "organizations", world["org"])] == [touchpoint_id]
    assert alice.delete(f"touchpoints/{touchpoint_id}").status_code == 204
    assert document_timeline(alice, "organizations", world["org"]) == []
