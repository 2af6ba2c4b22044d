"""File handling for documents: where bytes live, what they are, what they
are called.

- **Storage.** Bytes go to Django's ``documents`` storage
  (``settings.STORAGES["documents"]``): the local file system under
  ``var/media/`` by default, or any Django storage backend by configuration,
  such as django-storages' S3 backend for S3-compatible object storage
  (``DOCUMENT_STORAGE`` / ``DOCUMENT_STORAGE_OPTIONS``; docs/documents.md).
  Paths are content-addressed (``documents/ab/cd/<sha256>``): the same file
  uploaded twice, or attached to many emails, is stored once, and no name a
  user typed ever becomes part of a path.
- **Type.** Detected from the bytes with ``filetype`` (magic numbers), plus a
  text sniff for formats that have none. The name's extension is only a
  claim: a file whose bytes are one type and whose name or declared type
  says another is refused (a "spoofed" upload).
- **Name.** ``clean_filename`` keeps the last path component, drops control
  characters and the characters Windows and HTTP headers choke on, and
  bounds the length while keeping the extension.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import unicodedata
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import FileResponse

STORAGE_ALIAS = "documents"
GENERIC_BINARY = "application/octet-stream"
GENERIC_TEXT = "text/plain"
# Containers that hold other formats: a detector that sees only the
# container (zip, OLE2) does not contradict a name that says what is inside.
CONTAINERS = {
    "application/zip": (
        "application/vnd.openxmlformats-officedocument.",
        "application/vnd.oasis.opendocument.",
        "application/epub+zip",
        "application/java-archive",
        "application/vnd.ms-",
        "application/x-zip",
        "application/zip",
    ),
    "application/x-ole-storage": ("application/msword", "application/vnd.ms-", "application/vnd.visio", "application/x-msi"),
}
# Text formats that a plain-text sniff cannot tell apart.
TEXT_LIKE = ("text/", "application/json", "application/xml", "application/x-yaml", "application/yaml", "application/javascript", "application/sql")
# Markup a browser would render and run scripts in; the sniff finds these in
# a file that has no magic number, so a "photo.png" that is really a page
# is refused, and such files are always served as downloads (documents.views).
MARKUP = (
    (re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|script|iframe)\b", re.I | re.S), "text/html"),
    (re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!doctype\s+svg[^>]*>\s*)?<svg\b", re.I | re.S), "image/svg+xml"),
    (re.compile(rb"^\s*<\?xml\b", re.I), "application/xml"),
)
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def storage() -> Storage:
    return storages[STORAGE_ALIAS]


def content_path(sha256: str) -> str:
    return f"documents/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@dataclass
class StoredFile:
    sha256: str
    size: int


def lock_content(sha256: str) -> None:
    """Serialize writers and the purge of one content until the transaction
    ends: an upload of the same bytes and the deletion of the last document
    that had them must not interleave (the purge would remove a file the
    upload found there and did not write again). PostgreSQL: a transaction
    advisory lock on the digest; SQLite: its write lock, which every
    transaction here holds from BEGIN (IMMEDIATE)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(sha256[:15], 16)])


def store(content: File | bytes) -> StoredFile:
    """Hash the bytes and keep them once under their digest, reading in
    chunks (an upload may be 25 MB on disk, not in memory). Call inside the
    transaction that stores the row naming them (see lock_content)."""
    if isinstance(content, bytes):
        content = ContentFile(content)
    digest = hashlib.sha256()
    size = 0
    content.seek(0)
    for chunk in content.chunks():
        digest.update(chunk)
        size += len(chunk)
    sha256 = digest.hexdigest()
    lock_content(sha256)
    path = content_path(sha256)
    target = storage()
    if not target.exists(path):
        content.seek(0)
        # A plain File, so the file system storage copies an upload spooled to
        # disk instead of moving Django's temporary file away from under it.
        target.save(path, File(getattr(content, "file", content)))
    return StoredFile(sha256=sha256, size=size)


def open_content(sha256: str):
    return storage().open(content_path(sha256), "rb")


def purge_content(sha256: str) -> None:
    """Delete the bytes when no document has them any more (after the
    deleting transaction committed), under the content's lock: an upload of
    the same bytes either committed first (its row is seen, the file stays)
    or comes after (it finds no file and writes it again)."""
    from django.db import transaction

    from documents.models import Document

    with transaction.atomic():
        lock_content(sha256)
        if Document.objects.filter(sha256=sha256).exists():
            return
        target = storage()
        path = content_path(sha256)
        if target.exists(path):
            target.delete(path)


# --- names ------------------------------------------------------------------------


def clean_filename(raw: str, fallback: str = "document") -> str:
    """A name safe to show and to send in Content-Disposition: the last
    component of any path (``../../etc/passwd`` -> ``passwd``,
    ``C:\\temp\\a.pdf`` -> ``a.pdf``), NFC-normalized, without control or
    format characters (bidi overrides that make ``exe.pdf`` read backwards)
    and without ``<>:"/\\|?*``; no leading dots (hidden files), no Windows
    device names, at most 255 bytes of UTF-8 with the extension kept."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    stem, ext = os.path.splitext(name)
    if stem.upper() in WINDOWS_RESERVED:
        stem = f"_{stem}"
    ext = ext[:16]
    while len((stem + ext).encode()) > 255:
        stem = stem[:-1]
    name = (stem + ext).strip()
    return name if name and name not in (".", "..") else fallback


# --- types ------------------------------------------------------------------------


def _sniff_text(head: bytes) -> str | None:
    """A type for bytes without a magic number: markup, or plain text when
    they decode as UTF-8 (or UTF-16 with its BOM) without binary control
    bytes; None when they look binary."""
    for pattern, mime in MARKUP:
        if pattern.match(head):
            return mime
    sample = head[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return GENERIC_TEXT
    try:
        # The sample may end inside a multi-byte character.
        text = sample.decode("utf-8") if len(sample) < 8192 else sample[:8188].decode("utf-8", errors="ignore")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ch not in "\t\n\r\f\x1b" for ch in text):
        return None
    return GENERIC_TEXT


def detect_content_type(head: bytes) -> str:
    """The type the bytes are, from their first bytes (8 KB is enough for
    every matcher filetype has)."""
    if not head:
        return GENERIC_TEXT  # an empty file is an empty text
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    return _sniff_text(head) or GENERIC_BINARY


def claimed_type(filename: str) -> str | None:
    mime, _ = mimetypes.guess_type(filename, strict=False)
    return mime


def _agrees(detected: str, claimed: str) -> bool:
    if detected == claimed:
        return True
    if detected == GENERIC_TEXT and claimed.startswith(TEXT_LIKE):
        return True
    return claimed.startswith(CONTAINERS.get(detected, ()))


def _known_to_detector(mime: str) -> bool:
    """Whether filetype would have recognized a real file of this type (then
    bytes that were not recognized as it are not it)."""
    return any(kind.mime == mime for kind in filetype.TYPES) or mime in {"text/html", "image/svg+xml"}


class TypeMismatch(ValueError):
    pass


def resolve_content_type(head: bytes, filename: str, declared: str | None = None) -> str:
    """The type to store: what the bytes are. Raise TypeMismatch when the
    name's extension or the client's declared type claims something the
    bytes are not (a PNG called invoice.pdf, a web page called photo.png).

    A claim is contradicted only when it can be checked: text formats agree
    with a plain-text sniff, container formats (docx, xlsx, odt) with the
    zip or OLE2 they are stored in, and a binary format the detector does
    not know (.dwg, .sketch) with unrecognized bytes, stored then as
    application/octet-stream.
    """
    detected = detect_content_type(head)
    by_name = claimed_type(filename)
    claims = [(label, mime) for label, mime in (("name", by_name), ("declared type", (declared or "").split(";")[0].strip().lower())) if mime and mime != GENERIC_BINARY]
    for label, claim in claims:
        if _agrees(detected, claim):
            continue
        if detected == GENERIC_BINARY and not _known_to_detector(claim) and not claim.startswith(TEXT_LIKE):
            continue
        raise TypeMismatch(f"the file's content is {detected}, but its {label} says {claim}")
    if by_name and (detected == GENERIC_TEXT and by_name.startswith(TEXT_LIKE) or detected in CONTAINERS and _agrees(detected, by_name)):
        return by_name  # text/csv, application/json, a .docx in its zip: what the bytes are, more precisely
    return detected


# --- upload size ------------------------------------------------------------------


IMPORTS_PATH = "/api/v1/imports"


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Spools uploads to a temporary file (never whole in memory) and stops
    reading a file as soon as it passes DOCUMENT_MAX_BYTES, so an oversized
    upload costs neither memory nor disk (settings.FILE_UPLOAD_HANDLERS).
    The request is marked ``upload_too_large`` for the view or the API's
    error handler to answer 413 naming the field."""

    def __init__(self, request=None):
        super().__init__(request)
        # Imports take whole spreadsheets; every other upload is a document.
        importing = request is not None and request.path.startswith(IMPORTS_PATH)
        self.setting = "IMPORT_MAX_BYTES" if importing else "DOCUMENT_MAX_BYTES"
        self.limit = getattr(settings, self.setting)

    def new_file(self, field_name, *args, **kwargs):
        self.field = field_name
        super().new_file(field_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            if self.request is not None:
                self.request.upload_too_large = self.field
                self.request.upload_limit_setting = self.setting
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def upload_too_large(request) -> str | None:
    """The form field whose file was over the limit, if one was."""
    return getattr(request, "upload_too_large", None)


# --- downloads --------------------------------------------------------------------


def download_response(document) -> FileResponse:
    """The document's bytes as a download, for the API, the staff pages and
    the portal alike: always ``Content-Disposition: attachment`` (the name
    RFC 6266/5987-encoded by Django), ``nosniff``, and a sandboxing CSP, so
    an uploaded page or SVG is saved, never rendered on our origin."""
    response = FileResponse(open_content(document.sha256), content_type=document.content_type or GENERIC_BINARY, as_attachment=True, filename=document.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
