"""Answering hot endpoints without re-validating what we just built.

Ninja validates every response against its declared schema; for a
1,000-item batch answer or a 50-item timeline page that costs more than the
database work (measured in docs/benchmarks.md). Endpoints that assemble
their answer from typed rows return it through ``json_response`` instead;
the declared schema still documents it, and the schemathesis test checks
that what is sent conforms.
"""
import csv
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, StreamingHttpResponse


def json_response(data, status: int = 200) -> HttpResponse:
    # DjangoJSONEncoder is what ninja's renderer uses, so the bytes are the
    # same as the validated path's.
    return HttpResponse(DjangoJSONEncoder(separators=(", ", ": ")).encode(data), status=status, content_type="application/json; charset=utf-8")


class _Line:
    """A file-like object whose write returns the line: csv.writer's output
    becomes the stream's next piece, with nothing buffered."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """Rows as CSV text, one line at a time (for a StreamingHttpResponse)."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow(row)


def csv_download(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A private CSV download, streamed as the rows come."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # the viewer's records: never in a shared cache
    return response
