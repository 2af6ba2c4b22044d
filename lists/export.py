"""The CSV export of a list, streamed.

One header row of column labels, then every record the list shows the
viewer, in the list's sort order. Rows are read in keyset chunks
(lists.queries.export_rows) and written to the response as they come, so a
list of a million records costs the memory of one chunk and the client
starts receiving at once.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils.text import slugify

from accounts.models import User
from lists.models import SavedList
from lists.queries import export_rows
from lists.rows import csv_cell


class _Line:
    """A file-like object whose write returns the line: csv.writer's output
    becomes the stream's next piece, with nothing buffered."""

    def write(self, value: str) -> str:
        return value


def csv_lines(user: User, saved_list: SavedList) -> Iterator[str]:
    columns, rows = export_rows(user, saved_list)
    writer = csv.writer(_Line())
    tz = user.tzinfo
    yield writer.writerow([c.label for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(c, row, tz) for c in columns])


def export_response(user: User, saved_list: SavedList) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(user, saved_list), content_type="text/csv; charset=utf-8")
    name = slugify(saved_list.name) or f"list-{saved_list.id}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    # A download of the viewer's records: never stored by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
