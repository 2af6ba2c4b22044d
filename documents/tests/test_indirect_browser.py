"""Documents, One View, cases and the customer portal in a real browser
(Playwright + Debian's Chromium) against a live server: what a rep and a
customer do."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import make_password

from cases.models import Case
from documents.models import Document
from portal.models import PortalAccount
from touchpoints.models import Touchpoint
from web.tests.browser import sign_in, wait_for_htmx

pytestmark = pytest.mark.slow
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_rep_uploads_a_document_on_a_deal_and_sees_it_with_the_cases_in_one_view(page, alice, world, tmp_path):
    case = alice.post("cases", {"title": "Invoice shows the wrong amount", "contact_id": world["carol"], "priority": "high"}).json()
    sign_in(page, alice.user)
    page.goto(f"/deals/{world['deal']}/")

    # One View loads by itself: Carol's case, its status and priority, one open.
    one_view = page.locator("#one-view")
    one_view.get_by_test_id(f"one-view-case-{case['id']}").wait_for()
    assert "1 open of 1 case" in one_view.get_by_test_id("one-view-counts").inner_text()
    assert "Open" in one_view.inner_text() and "High" in one_view.inner_text()

    # The Documents widget's "+": pick a file, tick Carol, upload.
    widget = page.locator("#documents-widget")
    widget.get_by_text("No documents shared yet.").wait_for()
    widget.locator("summary", has_text="+").click()
    wait_for_htmx(page)
    path = tmp_path / "Proposal v2.pdf"
    path.write_bytes(PDF)
    widget.get_by_label("File").set_input_files(str(path))
    widget.get_by_label("Title").fill("Proposal v2")
    widget.get_by_label("Carol Ng").check()
    widget.get_by_role("button", name="Upload and share").click()
    page.get_by_role("status").filter(has_text="“Proposal v2” shared.").wait_for()
    (document,) = Document.objects.all()
    row = page.get_by_test_id(f"document-{document.id}")
    assert "Shared with Carol Ng" in row.inner_text()

    # Activity reloads by itself with the share; its link downloads the file.
    shared = page.locator("#activity li.tp[data-kind=document]", has_text="Shared “Proposal v2”")
    shared.wait_for()
    with page.expect_download() as download:
        row.get_by_role("link", name="Proposal v2").click()
    assert download.value.suggested_filename == "Proposal v2.pdf"
    assert open(download.value.path(), "rb").read() == PDF

    # A spoofed file is refused under the field, nothing stored.
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    widget.locator("summary", has_text="+").click()
    widget.get_by_label("File").set_input_files(str(fake))
    widget.get_by_label("Carol Ng").check()
    widget.get_by_role("button", name="Upload and share").click()
    page.get_by_text("the file's content is image/png, but its name says application/pdf").wait_for()
    assert Document.objects.count() == 1

    # The case page: a status change shows in One View and on the case's touchpoint.
    one_view.get_by_role("link", name=re.compile("Invoice shows the wrong amount")).click()
    page.wait_for_url(f"**/cases/{case['id']}/")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/cases/{case['id']}/")
    assert Case.objects.get(id=case["id"]).resolved_at is not None
    assert Touchpoint.objects.get(id=case["touchpoint_id"]).status == "resolved"


def test_customer_signs_in_to_the_portal_opens_a_case_and_downloads_a_shared_document(page, alice, world, settings, tmp_path):
    # The cookie is Secure: Chromium keeps it on http://127.0.0.1 (a secure context), as on HTTPS.
    upload = alice.client.post("/api/v1/documents", {"file": _file("Contract.pdf"), "contact_ids": [world["carol"]]}).json()
    alice.client.post("/api/v1/documents", {"file": _file("Dave only.pdf"), "contact_ids": [world["dave"]]})
    PortalAccount.objects.create(contact_id=world["carol"], email="carol@grasspods.example", password=make_password("correct horse battery", hasher="argon2"))

    page.goto("/portal/")
    page.wait_for_url("**/portal/login/**")
    page.get_by_label("Email address").fill("carol@grasspods.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Hello, Carol").wait_for()

    # Only what was shared with her.
    documents = page.locator("section", has=page.get_by_role("heading", name="Documents shared with me"))
    assert "Contract.pdf" in documents.inner_text() and "Dave only" not in documents.inner_text()
    with page.expect_download() as download:
        documents.get_by_role("link", name="Contract.pdf").click()
    assert download.value.suggested_filename == "Contract.pdf"

    # Open a case, comment on it.
    page.get_by_role("link", name="Open a case").first.click()
    page.get_by_label("What is the problem?").fill("The contract has the wrong address")
    page.get_by_label("Details").fill("Our new address is 5 Main St.")
    page.get_by_role("button", name="Open the case").click()
    page.get_by_role("heading", name=re.compile("The contract has the wrong address")).wait_for()
    page.get_by_label("Your comment").fill("Any news?")
    page.get_by_role("button", name="Add comment").click()
    page.locator("#comments").get_by_text("Any news?").wait_for()
    (case,) = Case.objects.filter(contact_id=world["carol"])
    assert case.origin == "portal" and case.comments.count() == 1

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    kinds = list(Touchpoint.objects.filter(source="portal").order_by("id").values_list("kind", flat=True))
    assert kinds == ["portal_login", "portal_logout"]
    assert upload["id"]

    # The rep sees the visit and the case in Carol's Activity.
    sign_in(page, alice.user)
    page.goto(f"/contacts/{world['carol']}/")
    activity = page.locator("#activity")
    for text in ("Signed in to the customer portal", "Signed out of the customer portal", "The contract has the wrong address"):
        activity.get_by_text(text).first.wait_for()


def _file(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")
