"""Reading a CSV file a row at a time.

The file is never loaded whole: its lines stream from disk into the csv
module (which joins the lines of a quoted cell), and the bytes of the lines
it has taken are the job's progress (the row count of a file is unknown
until its end). Text is UTF-8 (NUL characters dropped), with or without the byte-order mark Excel writes;
the delimiter (comma, semicolon, tab or pipe) is sniffed from the start.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from config.errors import Invalid

SNIFF_BYTES = 64 * 1024
# A cell may be large (an email body) but not unbounded.
csv.field_size_limit(10 * 1024 * 1024)


class CsvRows:
    """``with CsvRows(path) as rows``: ``rows.headers``, then iterate
    (line number, cells) for each data row. The line number is the row's
    position in the file as a spreadsheet shows it (the header is row 1)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __enter__(self) -> CsvRows:
        try:
            with open(self.path, "rb") as head:
                sample = head.read(SNIFF_BYTES).decode("utf-8-sig", errors="replace")
        except OSError as exc:
            raise Invalid.field(("file",), f"cannot read {self.path.name}: {exc.strerror}") from exc
        try:
            dialect = csv.Sniffer().sniff(sample.split("\n", 20)[0] if sample else ",", delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        self.bytes_read = 0
        self.file = open(self.path, "rb", buffering=1024 * 1024)
        self.reader = csv.reader(self._lines(), delimiter=dialect.delimiter, quotechar='"', doublequote=True)
        try:
            self.headers = [h.strip() for h in next(self.reader)]
        except StopIteration:
            self.close()
            raise Invalid.field(("file",), "the file is empty: the first row must name the columns") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            self.close()
            raise Invalid.field(("file",), f"the first row cannot be read as CSV text in UTF-8 ({exc})") from exc
        if not any(self.headers):
            self.close()
            raise Invalid.field(("file",), "the first row must name the columns")
        duplicated = sorted({h for h in self.headers if h and self.headers.count(h) > 1})
        if duplicated:
            self.close()
            raise Invalid.field(("file",), f"column names must differ; repeated: {', '.join(duplicated)}")
        return self

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        line = 1
        width = len(self.headers)
        for cells in self.reader:
            line += 1
            if not any(c.strip() for c in cells):
                continue  # a blank line (spreadsheets leave them at the end)
            if len(cells) < width:
                cells = [*cells, *([""] * (width - len(cells)))]
            yield line, dict(zip(self.headers, cells))

    def _lines(self) -> Iterator[str]:
        """The file's lines as text, counting their bytes as the csv reader
        takes them: after a row, ``bytes_read`` is exactly where it ends."""
        first = True
        for raw in self.file:
            self.bytes_read += len(raw)
            # NUL characters are dropped: PostgreSQL stores them in no text
            # column (the row, and with it the job, would fail), and no cell
            # means anything by one (a binary paste, a UTF-16 fragment).
            line = raw.decode("utf-8").replace("\x00", "")
            if first:
                line, first = line.removeprefix("\ufeff"), False  # Excel's byte-order mark
            yield line

    def close(self) -> None:
        if hasattr(self, "file"):
            self.file.close()

    def __exit__(self, *exc) -> None:
        self.close()
