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

import csv
import re
import tempfile
from collections.abc import Iterator
from datetime import date, datetime

from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import slugify

from accounts.models import User
from automation.conditions import DATETIME
from lists.columns import COLUMNS, DEFAULT_SORT
from lists.models import SavedList
from lists.queries import export_rows
from lists.rows import csv_cell, xlsx_cell


class _Line:
    """A file-like object whose write returns the line: csv.writer's output
    becomes the stream's next piece, with nothing buffered."""

    def write(self, value: str) -> str:
        return value


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
    writer = csv.writer(_Line())
    tz = user.tzinfo
    yield writer.writerow([c.label for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(c, row, tz) for c in columns])


def export_response(user: User, saved_list: SavedList) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(user, saved_list), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(saved_list)}.csv"'
    return _private(response)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What XML 1.0 cannot hold (openpyxl refuses a string containing them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A sheet's name: at most 31 characters, none of these.
_NOT_IN_SHEET_NAME = re.compile(r"[\\/*?:\[\]]")


def write_xlsx(user: User, saved_list: SavedList, out) -> None:
    """The list as one sheet: a bold header, then a row per record."""
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
    for row in rows:
        sheet.append([cell(xlsx_cell(c, row, tz)) for c in columns])
    book.save(out)


def xlsx_response(user: User, saved_list: SavedList) -> FileResponse:
    spool = tempfile.TemporaryFile()  # closed (and deleted) by the response when sent
    write_xlsx(user, saved_list, spool)
    spool.seek(0)
    response = FileResponse(spool, content_type=XLSX, as_attachment=True, filename=f"{_file_name(saved_list)}.xlsx")
    return _private(response)


def _file_name(saved_list: SavedList) -> str:
    return slugify(saved_list.name) or f"list-{saved_list.id}"


def _private(response):
    # A download of the viewer's records: never stored by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
