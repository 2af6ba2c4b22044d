"""Importing a spreadsheet in a real browser: from the contacts page to the
finished job, whose figures htmx refreshes while the worker runs it."""
from __future__ import annotations

from crm.models import Contact
from web.tests.browser import sign_in


def test_import_contacts_from_the_contacts_page(page, alice, tmp_path):
    csv_file = tmp_path / "Contacts.csv"
    csv_file.write_text("First Name,Last Name,Primary Email\nJohn,Doe,john@x.example\nJane,,jane@x.example\n")
    sign_in(page, alice.user)

    page.goto("/contacts/")
    page.get_by_test_id("import").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import").click()

    page.wait_for_selector('[data-testid="import-job"][data-status="done"]', timeout=20_000)
    assert page.get_by_test_id("import-created").inner_text() == "1 created"
    assert page.get_by_test_id("import-failed").inner_text().startswith("1 rows refused")
    assert Contact.objects.get().emails.get().email == "john@x.example"
    with page.expect_download() as download:
        page.get_by_role("link", name="the reasons (CSV)").click()
    assert "3,Last Name,is required and empty" in open(download.value.path()).read()


def test_a_file_that_is_not_csv_shows_why_on_the_form(page, alice, tmp_path):
    sheet = tmp_path / "Contacts.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not a csv")
    sign_in(page, alice.user)
    page.goto("/imports/new?record_type=contacts")
    page.get_by_label("CSV file").set_input_files(str(sheet))
    page.get_by_role("button", name="Import").click()
    assert "save a spreadsheet as CSV" in page.get_by_role("alert").inner_text()
