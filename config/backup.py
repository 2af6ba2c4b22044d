"""Backup and restore of an embedded (SQLite) installation: ``touchpoints
backup [FILE]`` and ``touchpoints restore FILE``.

A backup is one tar file holding
- ``manifest.json``: format, when, the schema (the last migration of each
  app) and what is inside;
- ``touchpoints.sqlite3``: a consistent snapshot of the live database taken
  with SQLite's online backup API, so the server and the worker keep
  running (and writing) while it is taken; checked with ``PRAGMA
  integrity_check`` before it is packed;
- ``documents/...``: the bytes of every stored document, read through the
  document storage (the file system by default, S3 when configured), as
  they are kept nowhere else.

Restore writes the snapshot into the configured database through the same
backup API (SQLite's own locking: no file swapped under a running process,
no stale ``-wal`` file), puts back the documents the storage lacks, then
migrates, so a backup taken by an older version comes forward. A database
that already holds data is only overwritten with ``--force``.

The job queue (``var/huey.sqlite3``) is not included: it holds work in
flight, which the periodic jobs redo. On PostgreSQL both commands refuse
and point at ``pg_dump`` / ``pg_restore`` (docs/operations.md), which
PostgreSQL does better than any copy we could make.
"""
from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

FORMAT = 1
DATABASE_MEMBER = "touchpoints.sqlite3"
MANIFEST_MEMBER = "manifest.json"
DOCUMENTS_PREFIX = "documents/"
TABLES = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass
class Summary:
    path: Path
    tables: int
    documents: int
    bytes: int


def _sqlite_path() -> Path:
    if connection.vendor != "sqlite":
        raise BackupError(
            "the database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
            "(docs/operations.md, 'Backups'); document files are in the document storage"
        )
    return Path(connection.settings_dict["NAME"])


def _schema(snapshot: Path) -> dict[str, str]:
    """The last migration of each app, as the snapshot records them."""
    with _open(snapshot) as db:
        rows = db.execute(f"SELECT app, name FROM {MigrationRecorder.Migration._meta.db_table} ORDER BY app, name").fetchall()
    return dict(rows)  # the last name per app wins


def _open(path: Path, **kwargs) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path, **kwargs))


def _one(path: Path, sql: str):
    with _open(path) as db:
        return db.execute(sql).fetchone()[0]


def _integrity(path: Path) -> None:
    result = _one(path, "PRAGMA integrity_check")
    if result != "ok":
        raise BackupError(f"the database snapshot failed its integrity check: {result}")


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def default_path() -> Path:
    return settings.VAR_DIR / "backups" / f"touchpoints-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar"


def backup(path: Path | None = None) -> Summary:
    """Snapshot the live database and the documents into ``path``."""
    from documents.models import Document

    source = _sqlite_path()
    path = Path(path or default_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        snapshot = Path(work) / DATABASE_MEMBER
        # The backup API copies page by page under SQLite's locks: a
        # consistent copy while other connections read and write.
        with _open(source) as live, _open(snapshot) as copy:
            live.backup(copy)
        _integrity(snapshot)
        tables = _one(snapshot, TABLES)
        # The snapshot's own list of documents: the bytes of exactly those.
        with _open(snapshot) as db:
            digests = sorted(row[0] for row in db.execute(f"SELECT DISTINCT sha256 FROM {Document._meta.db_table}"))
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "engine": "sqlite",
            "sqlite_version": sqlite3.sqlite_version,
            "schema": _schema(snapshot),
            "documents": len(digests),
        }
        partial = path.with_name(path.name + ".partial")
        try:
            _pack(partial, manifest, snapshot, digests)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)  # never a half-written file under the final name
    return Summary(path, tables, len(digests), path.stat().st_size)


def _pack(partial: Path, manifest: dict, snapshot: Path, digests: list[str]) -> None:
    from documents.files import content_path, storage

    with tarfile.open(partial, "w") as archive:
        _add_bytes(archive, MANIFEST_MEMBER, json.dumps(manifest, indent=2).encode())
        archive.add(snapshot, arcname=DATABASE_MEMBER)
        files = storage()
        for sha in digests:
            name = content_path(sha)
            if not files.exists(name):
                raise BackupError(f"document content {sha} is missing from the document storage")
            with files.open(name, "rb") as content:
                info = tarfile.TarInfo(name)
                info.size = files.size(name)
                archive.addfile(info, content)


def _read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST_MEMBER)
    except KeyError:
        raise BackupError("not a Touchpoints backup: no manifest.json") from None
    manifest = json.loads(archive.extractfile(member).read())
    if manifest.get("format") != FORMAT or manifest.get("engine") != "sqlite":
        raise BackupError(f"unsupported backup format {manifest.get('format')!r} ({manifest.get('engine')!r})")
    return manifest


def has_data() -> bool:
    from accounts.models import User
    from touchpoints.models import Touchpoint

    return User.objects.exists() or Touchpoint.objects.exists()


def restore(path: Path, *, force: bool = False) -> Summary:
    """Replace the database with the backup's and put back its documents."""
    from django.core.management import call_command

    from documents.files import storage

    target = _sqlite_path()
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    if not force and has_data():
        raise BackupError("the database already holds data: restoring replaces all of it; run again with --force")
    with tarfile.open(path, "r") as archive, tempfile.TemporaryDirectory(dir=target.parent) as work:
        manifest = _read_manifest(archive)
        snapshot = Path(work) / DATABASE_MEMBER
        try:
            source = archive.extractfile(DATABASE_MEMBER)
        except KeyError:
            raise BackupError(f"the backup has no {DATABASE_MEMBER}") from None
        with open(snapshot, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        _integrity(snapshot)
        # Written through the live database's own locks, by the API that
        # took it: connections elsewhere see the restored pages when they
        # next read.
        connection.close()
        with _open(snapshot) as copy, _open(target, timeout=60) as live:
            copy.backup(live)
        files = storage()
        documents = 0
        for member in archive:
            if not member.isfile() or not member.name.startswith(DOCUMENTS_PREFIX) or ".." in member.name:
                continue
            documents += 1
            if not files.exists(member.name):
                files.save(member.name, archive.extractfile(member))
    call_command("migrate", interactive=False, verbosity=0)
    tables = _one(target, TABLES)
    if documents != manifest.get("documents"):
        raise BackupError(f"the backup lists {manifest.get('documents')} documents but holds {documents}")
    return Summary(path, tables, documents, path.stat().st_size)
