"""The CSV export of a list: streamed, the viewer's records only, readable
values (labels, names, the viewer's clock), spreadsheet formulas defused,
every record once across chunk boundaries, and memory that does not grow
with the list.
"""
from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import UTC, datetime

import pytest
from django.db import connection

from crm.models import Contact, Deal, Organization
from lists.export import csv_lines
from lists.models import SavedList
from lists.queries import export_rows


def create(api, **fields) -> dict:
    response = api.post("lists", {"name": "Export me", "record_type": "contact", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def download(api, list_id: int):
    response = api.client.get(f"/api/v1/lists/{list_id}/export.csv")
    assert response.status_code == 200
    return response


def table(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_is_a_streamed_csv_download(alice, world):
    saved = create(alice, name="Stale contacts: Q3!")

    response = download(alice, saved["id"])

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="stale-contacts-q3.csv"'
    assert response["Cache-Control"] == "private, no-store"


def test_the_export_reads_as_a_person_would(alice, world):
    alice.user.first_name, alice.user.last_name, alice.user.time_zone = "Alice", "Ames", "Europe/Berlin"
    alice.user.save()
    Deal.objects.filter(id=world["deal"]).update(
        stage="closed_won", amount="1200.00", last_contacted_via="Phone Call", last_contacted_on=datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    )
    saved = create(alice, record_type="deal", columns=["name", "stage", "amount", "owner", "organization_name", "contact_count", "last_contacted_via", "last_contacted_on", "expected_close_date"])

    assert table(download(alice, saved["id"])) == [
        ["Name", "Stage", "Amount", "Owner", "Organization", "Contacts", "Last Contacted Via", "Last Contacted On", "Expected close date"],
        ["Grasspods renewal", "Closed Won", "1200.00", "Alice Ames", "Grasspods", "1", "Phone Call", "2024-07-01T10:00:00+02:00", ""],
    ]


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(alice, world):
    Organization.objects.filter(id=world["org"]).update(name='=HYPERLINK("http://evil.example","x")', industry="@SUM(A1)", phone="+12025550143", website="-2+3")
    saved = create(alice, record_type="organization", columns=["name", "industry", "phone", "website", "contact_count"])

    [_, row] = table(download(alice, saved["id"]))

    assert row == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(A1)", "'+12025550143", "'-2+3", "2"]


def workbook(api, list_id: int):
    return workbook_at(api, f"/api/v1/lists/{list_id}/export.xlsx")


def test_the_excel_export_holds_the_same_records_typed(alice, world):
    alice.user.first_name, alice.user.last_name, alice.user.time_zone = "Alice", "Ames", "Europe/Berlin"
    alice.user.save()
    Deal.objects.filter(id=world["deal"]).update(
        stage="closed_won", amount="1200.00", last_contacted_via="Phone Call", last_contacted_on=datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    )
    saved = create(alice, name="Won: Q3/Q4 [EU]", record_type="deal", columns=["name", "stage", "amount", "owner", "organization_name", "contact_count", "last_contacted_on", "expected_close_date"])

    response, book = workbook(alice, saved["id"])

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="won-q3q4-eu.xlsx"'
    assert response["Cache-Control"] == "private, no-store"
    [sheet] = book.worksheets
    assert sheet.title == "Won  Q3 Q4  EU"  # : / [ ] are not allowed in a sheet's name
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header == ["Name", "Stage", "Amount", "Owner", "Organization", "Contacts", "Last Contacted On (Europe/Berlin)", "Expected close date"]
    # Numbers are numbers and the datetime is the viewer's clock (a sheet has no zones: the header names it).
    assert rows == [["Grasspods renewal", "Closed Won", 1200, "Alice Ames", "Grasspods", 1, datetime(2024, 7, 1, 10, 0), None]]
    assert all(cell.font.bold for cell in sheet[1])


def test_excel_text_is_never_a_formula(alice, world):
    Organization.objects.filter(id=world["org"]).update(name='=HYPERLINK("http://evil.example","x")', industry="@SUM(A1)\x07", website="-2+3")
    saved = create(alice, record_type="organization", columns=["name", "industry", "website"])

    _, book = workbook(alice, saved["id"])

    row = list(book.active.iter_rows(min_row=2))[0]
    # Stored as text (the apostrophe is CSV's defence; a typed cell needs none), control characters dropped.
    assert [(cell.value, cell.data_type) for cell in row] == [('=HYPERLINK("http://evil.example","x")', "s"), ("@SUM(A1)", "s"), ("-2+3", "s")]


def test_the_export_holds_only_the_viewers_records(alice, charlie, world):
    saved = create(alice, shared_with_everyone=True, columns=["last_name"])
    charlie.post("contacts", {"last_name": "Westwood"})

    assert sorted(table(download(alice, saved["id"]))[1:]) == [["Ito"], ["Ng"]]
    assert table(download(charlie, saved["id"])) == [["Last name"], ["Westwood"]]
    _, book = workbook(charlie, saved["id"])
    assert [[cell.value for cell in row] for row in book.active.iter_rows()] == [["Last name"], ["Westwood"]]


@pytest.mark.parametrize("sort", ["-last_contacted_on", "last_contacted_on", "last_name", "-owner"])
def test_chunks_meet_without_gaps_or_repeats_through_ties_and_empty_values(alice, bob, world, sort):
    t1, t2 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    for i, stamp in enumerate([t1, None, t2, t1, None, t2, t1, None, None]):
        Contact.objects.create(last_name=f"Row {i % 3}", owner=alice.user if i % 2 else (bob.user if i % 3 else None), last_contacted_on=stamp)
    saved = create(alice, columns=["last_name", "last_contacted_on"], sort=sort)
    paged, cursor = [], None
    while True:
        page = alice.get(f"lists/{saved['id']}/records", limit=200, **({"cursor": cursor} if cursor else {})).json()
        paged += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break

    for chunk in (1, 2, 4, 1000):
        _, rows = export_rows(alice.user, SavedList.objects.get(id=saved["id"]), chunk=chunk)
        assert [row["id"] for row in rows] == paged, chunk


def _stream(user, saved_list) -> tuple[int, int, int]:
    """(lines, characters sent, peak of traced Python memory) of one export."""
    tracemalloc.start()
    try:
        sent = lines = 0
        for line in csv_lines(user, saved_list):
            sent += len(line)
            lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines, sent, peak


@pytest.mark.slow
def test_exporting_50000_records_takes_the_memory_of_5000(alice, world):
    """The stream's peak of Python memory does not grow with the list: rows
    are read in keyset chunks (lists.queries.EXPORT_CHUNK) and written as
    they come, so 50,000 records cost what 5,000 do, a fraction of the
    CSV sent (and far below the ~50 MB of loading the rows at once)."""
    org = Organization.objects.get(id=world["org"])
    stamp = datetime(2024, 1, 1, tzinfo=UTC)

    def add(start: int, stop: int) -> None:
        # Generated by the database: building 50,000 model instances for
        # bulk_create took longer than the export under test.
        when = connection.ops.adapt_datetimefield_value(stamp)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""WITH RECURSIVE n(i) AS (SELECT CAST(%s AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < %s)
                INSERT INTO {Contact._meta.db_table} (first_name, last_name, title, organization_id, owner_id, created_at, updated_at, last_contacted_on)
                SELECT 'First' || i, 'Last name ' || i, 'Head of procurement', %s, %s, %s, %s, %s FROM n""",
                [start, stop - 1, org.id, alice.user.id, when, when, when],
            )

    saved = SavedList.objects.get(id=create(alice, columns=["first_name", "last_name", "title", "organization_name", "owner", "last_contacted_on"])["id"])
    add(0, 5_000)
    _, small_sent, small_peak = _stream(alice.user, saved)
    add(5_000, 50_000)
    started = time.monotonic()
    lines, sent, peak = _stream(alice.user, saved)

    assert lines == 50_000 + 2 + 1  # Carol, Dave and the header
    assert sent > 9 * small_sent
    assert peak < small_peak * 1.25 + 100_000, (peak, small_peak)
    assert peak < sent / 2, (peak, sent)
    assert time.monotonic() - started < 60


def test_a_record_type_exports_whole_with_every_column(alice, charlie, world):
    from lists.columns import COLUMNS

    charlie.post("contacts", {"last_name": "Westwood"})
    response = alice.client.get("/api/v1/exports/contacts.csv")
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    header, *rows = table(response)
    assert header == [c.label for c in COLUMNS["contact"].values()]
    last_name = header.index("Last name")
    assert sorted(row[last_name] for row in rows) == ["Ito", "Ng"]  # alice's team's contacts, not charlie's
    _, book = workbook_at(charlie, "/api/v1/exports/contacts.xlsx")
    assert [row[last_name].value for row in book.active.iter_rows(min_row=2)] == ["Westwood"]
    _, deals = workbook_at(alice, "/api/v1/exports/deals.xlsx")
    assert [cell.value for cell in deals.active[2]][0] == "Grasspods renewal"
    unknown = alice.client.get("/api/v1/exports/users.csv")
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["path", "record_type"]


def workbook_at(api, url: str):
    from openpyxl import load_workbook

    response = api.client.get(url)
    assert response.status_code == 200, response.content
    return response, load_workbook(io.BytesIO(b"".join(response.streaming_content)))
