"""Property tests of spreadsheet imports, the parser of the largest outside
data the CRM takes: cells (imports.values), CSV files (imports.reading) and
whole jobs (imports.services).

Invariants:
- any cell given to any column's parser is a value or a ``ValueError``
  whose message says why (the error report's reason) -- never another
  exception; dates and times are ones every database stores;
- a date or an amount written the ways people write them reads back as
  itself;
- any CSV file (random cells: quotes, delimiters, line breaks inside cells,
  CRLF, a byte-order mark, unicode, very long cells, odd dates and amounts)
  ends its job ``done``: each row is created, skipped or refused with
  reasons naming the column -- never an exception that fails the job;
- our own export imports back to the same contacts.

Derandomized, bounded, no deadline.
"""
from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from config.tests.properties import property_settings

from crm.models import Contact, Organization
from crm.services import do_create_contact
from imports import columns, services, values
from imports.models import ImportRowError, JobStatus

PROPERTY = property_settings(200)
ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", "Asia/Kolkata"]

# Cells that look like the column's values often enough to reach every
# branch, and cells that are anything at all.
CELL_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789-/.: APMTZapmUTC+$,€'", max_size=30),
    st.from_regex(r"\d{1,5}[-/.]\d{1,3}[-/.]\d{1,5}( \d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?", fullmatch=True),
    st.from_regex(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([+-]\d{2}:\d{2}|Z| UTC)?", fullmatch=True),
    st.from_regex(r"[-+]?[$€£]?\d{1,16}([.,]\d{1,4})?( ?[A-Z]{3})?", fullmatch=True),
    st.sampled_from(["inf", "NaN", "-0", "1e999999", "1e-999999", "sNaN", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
                     "9999-12-31 23:59", "0001-01-01", "12/31/9999 11:59 PM", "00:00:99", "99:99", "1:-5", "Accounts::::", "::::x"]),
)
BOUNDS = (values.MIN_DATE, values.MAX_DATE)


@PROPERTY
@given(parser=st.sampled_from(sorted(values.PARSERS)), cell=CELL_TEXT, day_first=st.booleans(), zone=st.sampled_from(ZONES))
@example(parser="datetime", cell="9999-12-31T23:59:59-01:00", day_first=False, zone="UTC")
@example(parser="datetime", cell="0001-01-01 00:00", day_first=False, zone="Pacific/Kiritimati")
@example(parser="date", cell="0001-01-01", day_first=False, zone="UTC")
def test_any_cell_is_a_value_or_a_reason(parser, cell, day_first, zone):
    cell = cell.strip()
    if not cell:
        return  # an empty cell is never parsed: the field is simply not set
    try:
        value = values.PARSERS[parser](cell, {"day_first": day_first, "time_zone": zone})
    except ValueError as exc:
        assert str(exc), "a refused cell needs a reason for the error report"
        return
    if isinstance(value, datetime):
        # An instant every database stores (found by this test: the cell
        # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC), in the years
        # the API takes.
        assert value.tzinfo is not None and BOUNDS[0] <= value.date() <= BOUNDS[1]
        value.astimezone(UTC)
    elif isinstance(value, date):
        assert BOUNDS[0] <= value <= BOUNDS[1]
    elif isinstance(value, Decimal):
        assert value.is_finite() and abs(value) < Decimal("1e12") and value == value.quantize(Decimal("0.01"))


@PROPERTY
@given(day=st.dates(date(1950, 1, 1), date(2099, 12, 31)), style=st.sampled_from(["iso", "us", "eu", "us-short", "eu-short"]), separator=st.sampled_from("-/."))
def test_a_date_written_any_way_reads_back(day, style, separator):
    """ISO always; month first (the default, Vtiger's) or day first as the
    job says; two-digit years are this century's."""
    if style.endswith("short") and day.year < 2000:
        day = day.replace(year=day.year + 100)
    year = f"{day.year % 100:02d}" if style.endswith("short") else str(day.year)
    text = {
        "iso": day.isoformat(),
        "us": f"{day.month:02d}{separator}{day.day:02d}{separator}{year}",
        "eu": f"{day.day:02d}{separator}{day.month:02d}{separator}{year}",
    }[style.split("-")[0]]
    assert values.parse_date(text, {"day_first": style.startswith("eu")}) == day


@PROPERTY
@given(
    cents=st.integers(-(10**14) + 1, 10**14 - 1),
    sign=st.sampled_from(["", "$", "€", "£"]),
    grouping=st.sampled_from(["", ",", " ", "'"]),
    code=st.sampled_from(["", " USD", "EUR"]),
)
def test_an_amount_written_any_way_reads_back(cents, sign, grouping, code):
    amount = Decimal(cents).scaleb(-2)
    whole, fraction = f"{abs(amount):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", grouping)
    text = f"{'-' if amount < 0 else ''}{sign}{grouped}.{fraction}{code}"
    assert values.amount(text, {}) == amount


# --- whole files -----------------------------------------------------------------------

HEADERS = {
    "contacts": ["First Name", "Last Name", "Title", "Primary Email", "Secondary Email", "Office Phone", "Organization Name", "Contact Id"],
    "deals": ["Opportunity Name", "Sales Stage", "Amount", "Expected Close Date", "Closed On", "Organization Name", "Opportunity No"],
    "touchpoints": ["Activity Type", "Date", "Status", "Direction", "Duration", "Subject", "Description", "Contact Email", "Contact Phone", "Id"],
    "organizations": ["Organization Name", "Website", "Phone", "Industry", "Organization No"],
}
GOOD = {
    "First Name": ["Ana", "Jörg", "O'Neil", "李"],
    "Last Name": ["Lopez", "Ng", "Smith, Jr.", 'The "Boss"'],
    "Title": ["CTO", "=HYPERLINK()", "-", "Head of\nSales"],
    "Primary Email": ["ana@grasspods.example", "ANA@Grasspods.Example", "jorg+crm@x.example"],
    "Secondary Email": ["a@b.example; c@d.example", "not-an-email"],
    "Office Phone": ["(202) 555-0143", "+44 20 7946 0958", "'+12025550100", "555"],
    "Organization Name": ["Grasspods", "Accounts::::Grasspods", "grasspods"],
    "Contact Id": ["CON1", "CON2"],
    "Opportunity Name": ["Renewal", "Big deal"],
    "Sales Stage": ["Prospecting", "Closed Won", "Needs Analysis", "Negotiation/Review", "lost"],
    "Amount": ["$1,250.00", "1 250,00", "-3", "1e3"],
    "Expected Close Date": ["2026-12-07", "12/07/2026", "31-12-2026", "13/13/2026"],
    "Closed On": ["2026-12-07 14:30", "2026-12-07T14:30:00+01:00", "12/07/2026 2:30 PM"],
    "Opportunity No": ["POT1", "POT2"],
    "Activity Type": ["Call", "Meeting", "Email", "note", "SMS", "document"],
    "Date": ["2026-12-07 14:30", "2026-12-07T14:30:00Z", "12/07/2026 2:30 PM", "yesterday"],
    "Status": ["Held", "Not Held", "sent", "completed", "exploded"],
    "Direction": ["inbound", "Outgoing", "sideways"],
    "Duration": ["95", "1:05", "1:00:00", "-5"],
    "Subject": ["Pricing", "Re: Pricing"],
    "Description": ["Talked about\r\nthe renewal", "x" * 2000],
    "Contact Email": ["ana@grasspods.example", "nobody@x.example"],
    "Contact Phone": ["+12025550143"],
    "Id": ["A1", "A2"],
    "Website": ["https://grasspods.example"],
    "Phone": ["+1 202 555 0100", "x" * 40],
    "Industry": ["Software"],
    "Organization No": ["ACC1", "ACC2"],
}
ODD_CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(['"', '""', ",", ";", "\t", "|", "\n", "\r\n", "\r", " ", "\ufeff", "\x00", "a\x00b", "é" * 300, "'=1+1", "9999-12-31T23:59:59-01:00", "inf"]),
    st.text(alphabet="ab,;\"\n\r ", max_size=6),
)


@st.composite
def csv_files(draw, record_type: str) -> tuple[list[str], list[list[str]], dict]:
    headers = draw(st.lists(st.sampled_from(HEADERS[record_type]), min_size=1, unique=True))
    required = [h for h in HEADERS[record_type] if columns.LOOKUP[record_type].get(columns.normalize(h)) in {f.name for f in columns.FIELDS[record_type] if f.required}]
    headers = list(dict.fromkeys(required + headers))
    cell = lambda header: st.one_of(st.sampled_from(GOOD[header]), st.sampled_from(GOOD[header]), st.just(""), ODD_CELL)  # noqa: E731
    rows = draw(st.lists(st.tuples(*(cell(h) for h in headers)).map(list), min_size=1, max_size=6))
    if draw(st.booleans()):  # a ragged row: fewer or more cells than headers
        rows.append(rows[0][: max(0, len(headers) - 1)] + draw(st.lists(ODD_CELL, max_size=2)))
    layout = {
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "lineterminator": draw(st.sampled_from(["\r\n", "\n"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        "bom": draw(st.booleans()),
    }
    return headers, rows, layout


class Rollback(Exception):
    pass


@settings(PROPERTY, max_examples=20)
@given(data=st.data(), record_type=st.sampled_from(["contacts", "deals", "touchpoints", "organizations"]), day_first=st.booleans())
def test_any_csv_file_ends_done_with_every_row_written_or_refused_naming_its_column(alice, world, tmp_path, data, record_type, day_first):
    headers, rows, layout = data.draw(csv_files(record_type), label="file")
    path = tmp_path / "file.csv"
    with open(path, "w", newline="", encoding="utf-8-sig" if layout["bom"] else "utf-8") as out:
        csv.writer(out, delimiter=layout["delimiter"], lineterminator=layout["lineterminator"], quoting=layout["quoting"]).writerows([headers, *rows])
    note(path.read_bytes()[:3000])
    try:
        with transaction.atomic():
            job = services.do_create_job(alice.user, record_type, path, day_first=day_first)
            job = services.run_import(job.id)
            refused = list(ImportRowError.objects.filter(job=job).values_list("row", "column", "reason"))
            note(f"job: {job.status} {job.error!r} created={job.created} updated={job.updated} skipped={job.skipped} failed={job.failed} rows={job.rows_done} refused={refused}")
            assert job.status == JobStatus.DONE, job.error
            assert job.created + job.updated + job.skipped + job.failed == job.rows_done
            mapped = set(job.mapping)
            for row, column, reason in refused:
                assert 2 <= row and reason, (row, column, reason)
                assert set(column.split(" / ")) <= mapped, f"row {row}: {column!r} is not a column of the file ({reason})"
            raise Rollback
    except Rollback:
        pass


# --- export, then import ---------------------------------------------------------------

NAME = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")) | st.sampled_from(",;\"'=+-@\n"), min_size=1, max_size=15).map(str.strip).filter(bool)
CONTACT = st.fixed_dictionaries(
    {
        "first_name": NAME,
        "last_name": NAME,
        "title": NAME,
        "emails": st.lists(st.from_regex(r"[a-z0-9]{1,8}@[a-z]{1,8}\.example", fullmatch=True), max_size=1),
        "phones": st.lists(st.sampled_from(["+12025550143", "+442079460958", "+61291234567"]), max_size=1),
    }
)


@settings(PROPERTY, max_examples=10)
# Distinct names, addresses and numbers: a shared address or number is the
# same person to the importer (a duplicate, skipped), by design.
@given(
    contacts=st.lists(
        CONTACT,
        min_size=1,
        max_size=4,
        unique_by=(
            lambda c: (c["first_name"], c["last_name"]),
            lambda c: c["emails"][0] if c["emails"] else object(),
            lambda c: c["phones"][0] if c["phones"] else object(),
        ),
    )
)
@example(contacts=[{"first_name": "=1+1", "last_name": "-Ng", "title": "@home", "emails": [], "phones": ["+12025550143"]}])
def test_our_export_imports_back_to_the_same_contacts(alice, tmp_path, contacts):
    """Found by this test: the export guards text starting with = + - @ with
    an apostrophe (CSV injection), and the import kept the apostrophe."""
    def people() -> list[tuple]:
        return sorted(
            (c.first_name, c.last_name, c.title, tuple(c.emails.values_list("email", flat=True)), tuple(c.phones.values_list("number", flat=True)))
            for c in Contact.objects.prefetch_related("emails", "phones")
        )

    try:
        with transaction.atomic():
            for contact in contacts:
                do_create_contact(alice.user, contact)
            before = people()
            path = tmp_path / "contacts.csv"
            call_command("export", "contacts", str(path), "--user", "alice")
            Contact.objects.all().delete()
            Organization.objects.all().delete()
            job = services.run_import(services.do_create_job(alice.user, "contacts", path).id)
            assert (job.status, job.failed, job.skipped) == (JobStatus.DONE, 0, 0), list(ImportRowError.objects.filter(job=job).values_list("column", "reason"))
            assert people() == before
            raise Rollback
    except Rollback:
        pass


def test_imported_dates_are_in_the_years_the_api_takes():
    """An imported row holds what a request could (config.schemas: 1900-2199)."""
    assert (values.MIN_DATE, values.MAX_DATE) == (date(1900, 1, 1), date(2199, 12, 31))
    assert values.parse_datetime("2199-12-31T23:59:00-01:00", {}).year == 2199
    for cell in ("1899-12-31", "2200-01-01", "12/31/1899"):
        with pytest.raises(ValueError, match="is not a date from 1900-01-01 to 2199-12-31"):
            values.parse_date(cell, {})
    with pytest.raises(ValueError, match="is not a date from"):
        values.parse_datetime("2200-01-01 00:00", {"time_zone": "Pacific/Kiritimati"})


def test_nul_characters_in_cells_are_dropped_not_a_failed_job(alice, write_csv):
    """Found by the file property on PostgreSQL (which stores NUL in no text
    column): one NUL in a cell failed the whole job."""
    path = write_csv([["Organization Name", "Industry"], ["Grass\x00pods", "\x00"], ["\x00", "Software"]])
    job = services.run_import(services.do_create_job(alice.user, "organizations", path).id)
    assert (job.status, job.created, job.failed) == (JobStatus.DONE, 1, 1)
    assert Organization.objects.get().name == "Grasspods"
    assert list(ImportRowError.objects.filter(job=job).values_list("row", "column", "reason")) == [(3, "Organization Name", "is required and empty")]
