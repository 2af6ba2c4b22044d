"""The CSV and XLSX exports of a list.

One header row of column labels, then every record the list shows the
viewer, in the list's sort order. Rows are read in keyset chunks
(lists.queries.export_rows). The CSV is written to the response as the
rows come, so a list of a million records costs the memory of one chunk
and the client starts receiving at once. An XLSX file is a zip whose
directory comes last, so it cannot be sent before it is complete: openpyxl's
write-only workbook spools the rows to a temporary file (never the whole
sheet in memory) and the finished file is then streamed from disk.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from itertools import chain
from datetime import date, datetime
from pathlib import Path

from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import slugify

from accounts.models import User
from automation.conditions import DATETIME
from config.responses import csv_lines as csv_lines_of
from lists.columns import COLUMNS, DEFAULT_SORT
from lists.models import SavedList
from lists.queries import export_rows
from lists.rows import csv_cell, xlsx_cell


# The record types' exports, by the plural name their URL uses.
EXPORT_TYPES = {"organizations": "organization", "contacts": "contact", "deals": "deal"}


def whole_type(name: str) -> SavedList:
    """Every record of a type the viewer may see, with every column: "export
    all contacts". An unsaved list, so it is read exactly as a saved one
    (visibility, keyset chunks, readable values, sort by Last Contacted
    On)."""
    record_type = EXPORT_TYPES[name]
    return SavedList(name=name, record_type=record_type, conditions={"all": []}, columns=list(COLUMNS[record_type]), sort=DEFAULT_SORT)


def csv_lines(user: User, saved_list: SavedList) -> Iterator[str]:
    columns, rows = export_rows(user, saved_list)
    tz = user.tzinfo
    # A chain, not a list: the rows stream in keyset chunks.
    yield from csv_lines_of(chain([[c.label for c in columns]], ([csv_cell(c, row, tz) for c in columns] for row in rows)))


def export_response(user: User, saved_list: SavedList) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(user, saved_list), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(saved_list)}.csv"'
    return _private(response)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What XML 1.0 cannot hold (openpyxl refuses a string containing them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A sheet's name: at most 31 characters, none of these.
_NOT_IN_SHEET_NAME = re.compile(r"[\\/*?:\[\]]")


def write_xlsx(user: User, saved_list: SavedList, out) -> int:
    """The list as one sheet: a bold header, then a row per record. Returns
    the number of records."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    columns, rows = export_rows(user, saved_list)
    tz = user.tzinfo
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_NOT_IN_SHEET_NAME.sub(" ", saved_list.name)[:31].strip() or "List")
    bold = Font(bold=True)

    def cell(value, **style):
        written = WriteOnlyCell(sheet, value=_NOT_XML.sub("", value) if isinstance(value, str) else value)
        if isinstance(value, str):
            written.data_type = "s"  # text stays text: "=1+1" is not a formula
        elif isinstance(value, datetime):
            written.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(value, date):
            written.number_format = "yyyy-mm-dd"
        for name, setting in style.items():
            setattr(written, name, setting)
        return written

    sheet.append([cell(f"{c.label} ({tz.key})" if c.type == DATETIME else c.label, font=bold) for c in columns])
    count = 0
    for row in rows:
        sheet.append([cell(xlsx_cell(c, row, tz)) for c in columns])
        count += 1
    book.save(out)
    return count


def xlsx_response(user: User, saved_list: SavedList) -> FileResponse:
    spool = tempfile.TemporaryFile()  # closed (and deleted) by the response when sent
    write_xlsx(user, saved_list, spool)
    spool.seek(0)
    response = FileResponse(spool, content_type=XLSX, as_attachment=True, filename=f"{_file_name(saved_list)}.xlsx")
    return _private(response)


def export_to_file(user: User, name: str, path: Path) -> int:
    """``touchpoints export``: a whole record type to a .csv or .xlsx file
    (by its extension); returns the number of records."""
    saved_list = whole_type(name)
    if path.suffix.lower() == ".xlsx":
        with open(path, "wb") as out:
            return write_xlsx(user, saved_list, out)
    records = -1  # the header is not a record
    with open(path, "w", newline="", encoding="utf-8") as out:
        for line in csv_lines(user, saved_list):
            out.write(line)
            records += 1
    return records


def _file_name(saved_list: SavedList) -> str:
    return slugify(saved_list.name) or f"list-{saved_list.id}"


def _private(response):
    # A download of the viewer's records: never stored by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
