"""Where an uploaded import file waits for its job: a folder of its own
under IMPORTS_DIR (default VAR_DIR/imports/): the job reads it from there
and writes the error report beside it. The name the user gave is cleaned (documents.files);
it never chooses the folder."""
from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from config.errors import Invalid
from documents.files import clean_filename

IMPORT_EXTENSIONS = (".csv", ".txt", ".tsv")


def imports_dir() -> Path:
    return Path(settings.IMPORTS_DIR)


@contextmanager
def store_upload(upload) -> Iterator[Path]:
    """Copy the upload to its folder; the folder is removed again if the
    block raises (no job: nothing to keep)."""
    name = clean_filename(upload.name or "import.csv") or "import.csv"
    if not name.lower().endswith(IMPORT_EXTENSIONS):
        raise Invalid.field(("file",), f"an import is a CSV file (.csv, .tsv or .txt), not {name!r}; save a spreadsheet as CSV (UTF-8) first")
    folder = imports_dir() / secrets.token_hex(8)
    folder.mkdir(parents=True)
    path = folder / name
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield path
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
