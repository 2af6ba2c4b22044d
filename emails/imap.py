"""Incremental IMAP sync of one mailbox (imapclient), INBOX and Sent.

Per folder we keep (UIDVALIDITY, last UID, HIGHESTMODSEQ):
- UIDVALIDITY changed: the server renumbered the folder (RFC 3501
  2.3.1.1), so every message is fetched again; Message-ID dedupe keeps that
  from creating a single duplicate touchpoint.
- UIDNEXT <= last UID + 1 and HIGHESTMODSEQ unchanged: nothing is new and
  no flag changed; the folder costs one SELECT. A re-sync with nothing new
  is a login and two SELECTs.
- New UIDs are fetched in batches bounded by count (IMAP_FETCH_BATCH) and
  by bytes (FETCH_BATCH_BYTES, using RFC822.SIZE first), so memory stays
  flat whatever the mailbox size; a message over MAX_RAW_EMAIL_BYTES is
  rejected from its size alone without downloading it. ``last_uid`` is
  saved after each batch commits, so an interrupted sync resumes.
- With CONDSTORE (RFC 7162), flag changes since the last HIGHESTMODSEQ are
  found with SEARCH MODSEQ and kept on the arrival rows.
"""
from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import imapclient
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from imapclient.exceptions import IMAPClientError, LoginError

from config import crypto
from emails.ingest import Arrival, do_ingest
from emails.models import Mailbox, MailboxFolder, MailboxMessage, Rejection, SyncStatus
from touchpoints.rules import Source

FETCH_BATCH_BYTES = 32 * 1024 * 1024
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail", "INBOX.Sent")
# A sync that has been "running" this long died without saying so.
STALE_RUN = timedelta(minutes=30)


class SyncError(Exception):
    pass


@dataclass
class SyncReport:
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    rejected: int = 0
    folders: dict[str, str] = field(default_factory=dict)

    def add(self, status: str) -> None:
        if status == "stored":
            self.stored += 1
        elif status == "duplicate":
            self.duplicates += 1
        elif status == "skipped":
            self.skipped += 1
        else:
            self.rejected += 1


def connect(host: str, port: int, security: str, username: str, password: str) -> imapclient.IMAPClient:
    """A logged-in client, or SyncError with a message a user can act on."""
    try:
        context = ssl.create_default_context()
        client = imapclient.IMAPClient(
            host, port=port, ssl=security == "ssl", ssl_context=context, timeout=settings.IMAP_TIMEOUT
        )
        client.normalise_times = False  # keep INTERNALDATE's own offset: aware datetimes
        if security == "starttls":
            client.starttls(context)
        client.login(username, password)
        return client
    except LoginError as exc:
        raise SyncError(f"login refused for {username}: {_text(exc)}") from exc
    except (OSError, socket.timeout, ssl.SSLError) as exc:
        raise SyncError(f"cannot reach {host}:{port}: {exc}") from exc
    except IMAPClientError as exc:
        raise SyncError(f"IMAP error: {_text(exc)}") from exc


def _text(exc: Exception) -> str:
    value = exc.args[0] if exc.args else exc
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def sent_folder_name(client: imapclient.IMAPClient, configured: str) -> str | None:
    if configured:
        return configured
    found = client.find_special_folder(imapclient.imapclient.SENT)
    if found:
        return found
    names = {name for _flags, _delim, name in client.list_folders()}
    return next((n for n in SENT_NAMES if n in names), None)


def test_connection(host: str, port: int, security: str, username: str, password: str) -> dict:
    """Log in, find INBOX and the sent folder; what the "test connection"
    button shows."""
    client = connect(host, port, security, username, password)
    try:
        inbox = client.select_folder("INBOX", readonly=True)
        return {
            "ok": True,
            "inbox_messages": inbox.get(b"EXISTS", 0),
            "sent_folder": sent_folder_name(client, ""),
            "condstore": client.has_capability("CONDSTORE"),
        }
    finally:
        _logout(client)


def _logout(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        pass


def claim(mailbox_id: int) -> bool:
    """Mark the mailbox running unless another sync holds it (a conditional
    update, so two workers cannot both start one mailbox)."""
    now = timezone.now()
    return bool(
        Mailbox.objects.filter(id=mailbox_id, enabled=True)
        .filter(~Q(last_sync_status=SyncStatus.RUNNING) | Q(last_sync_started_at__lt=now - STALE_RUN))
        .update(last_sync_status=SyncStatus.RUNNING, last_sync_started_at=now)
    )


def do_sync_mailbox(mailbox_id: int) -> SyncReport | None:
    """Sync INBOX and Sent; records the outcome on the mailbox. None when
    another sync of this mailbox is running."""
    if not claim(mailbox_id):
        return None
    mailbox = Mailbox.objects.select_related("user").get(id=mailbox_id)
    report = SyncReport()
    error = ""
    try:
        password = crypto.decrypt(mailbox.password_encrypted)
        client = connect(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security, mailbox.username, password)
        try:
            if client.has_capability("CONDSTORE"):
                client.enable("CONDSTORE")
            folders = [("INBOX", "inbox")]
            sent = sent_folder_name(client, mailbox.sent_folder)
            if sent:
                folders.append((sent, "sent"))
            for name, role in folders:
                folder, _ = MailboxFolder.objects.get_or_create(mailbox=mailbox, name=name, defaults={"role": role})
                report.folders[name] = sync_folder(client, mailbox, folder, report)
        finally:
            _logout(client)
    except (SyncError, crypto.CredentialsUnreadable) as exc:
        error = str(exc)
    except (IMAPClientError, OSError) as exc:
        error = f"IMAP error: {_text(exc)}"
    status = SyncStatus.ERROR if error else (SyncStatus.PARTIAL if report.rejected else SyncStatus.OK)
    Mailbox.objects.filter(id=mailbox_id).update(
        last_sync_status=status,
        last_sync_finished_at=timezone.now(),
        last_sync_error=error,
        last_sync_stored=report.stored,
        last_sync_rejected=report.rejected,
    )
    return report


def sync_folder(client: imapclient.IMAPClient, mailbox: Mailbox, folder: MailboxFolder, report: SyncReport) -> str:
    info = client.select_folder(folder.name, readonly=True)
    uidvalidity = int(info[b"UIDVALIDITY"])
    uidnext = int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None
    modseq = int(info[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in info else None
    if folder.uidvalidity != uidvalidity:
        outcome = "synced" if folder.uidvalidity is None else "uidvalidity-reset"
        if folder.uidvalidity is not None:
            # Old UIDs mean nothing now; the mail itself stays stored.
            MailboxMessage.objects.filter(folder=folder).exclude(uidvalidity=uidvalidity).delete()
        folder.uidvalidity, folder.last_uid, folder.highest_modseq = uidvalidity, 0, None
        folder.save(update_fields=["uidvalidity", "last_uid", "highest_modseq"])
    elif uidnext is not None and uidnext <= folder.last_uid + 1 and (modseq is None or modseq == folder.highest_modseq):
        return "unchanged"
    else:
        outcome = "synced"
    previous_modseq = folder.highest_modseq
    # "N:*" always matches the highest UID even when it is below N (RFC 3501 6.4.8).
    new_uids = sorted(u for u in client.search(["UID", f"{folder.last_uid + 1}:*"]) if u > folder.last_uid)
    for batch, too_large in _batches(client, new_uids):
        arrivals = _fetch(client, batch, folder, uidvalidity) if batch else []
        for outcome_row in do_ingest(mailbox.user, arrivals, source=Source.IMAP, mailbox=mailbox):
            report.add(outcome_row.status)
        for uid, size in too_large:
            _reject_too_large(mailbox, folder, uidvalidity, uid, size)
            report.rejected += 1
        folder.last_uid = max([folder.last_uid, *batch, *(u for u, _ in too_large)])
        MailboxFolder.objects.filter(id=folder.id).update(last_uid=folder.last_uid)
    if modseq is not None and previous_modseq is not None and modseq != previous_modseq and folder.last_uid:
        _sync_flags(client, folder, uidvalidity, previous_modseq)
    if modseq is not None:
        MailboxFolder.objects.filter(id=folder.id).update(highest_modseq=modseq)
        folder.highest_modseq = modseq
    return outcome


def _batches(client: imapclient.IMAPClient, uids: list[int]) -> Iterator[tuple[list[int], list[tuple[int, int]]]]:
    """UIDs grouped so a batch holds at most IMAP_FETCH_BATCH messages and
    FETCH_BATCH_BYTES bytes; oversized messages come out on their own."""
    step = settings.IMAP_FETCH_BATCH
    for start in range(0, len(uids), step):
        chunk = uids[start : start + step]
        sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in client.fetch(chunk, ["RFC822.SIZE"]).items()}
        batch: list[int] = []
        too_large: list[tuple[int, int]] = []
        total = 0
        for uid in chunk:
            size = sizes.get(uid)
            if size is None:
                continue  # expunged between SEARCH and FETCH
            if size > settings.MAX_RAW_EMAIL_BYTES:
                too_large.append((uid, size))
                continue
            if batch and total + size > FETCH_BATCH_BYTES:
                yield batch, too_large
                batch, too_large, total = [], [], 0
            batch.append(uid)
            total += size
        yield batch, too_large


def _fetch(client: imapclient.IMAPClient, uids: list[int], folder: MailboxFolder, uidvalidity: int) -> list[Arrival]:
    data = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])
    arrivals = []
    for uid in uids:
        item = data.get(uid)
        if item is None:
            continue
        internal = item.get(b"INTERNALDATE")
        arrivals.append(
            Arrival(
                raw=item.get(b"BODY[]") or b"",
                folder_id=folder.id,
                uidvalidity=uidvalidity,
                uid=uid,
                internal_date=internal,
                flags=_flags(item.get(b"FLAGS", ())),
            )
        )
    return arrivals


def _flags(flags) -> str:
    # \Recent belongs to the IMAP session, not the message (RFC 9051 drops it).
    names = (f.decode(errors="replace") if isinstance(f, bytes) else str(f) for f in flags)
    return " ".join(n for n in names if n.lower() != "\\recent")


def _reject_too_large(mailbox: Mailbox, folder: MailboxFolder, uidvalidity: int, uid: int, size: int) -> None:
    Rejection.objects.create(
        mailbox=mailbox,
        user_id=mailbox.user_id,
        source=Source.IMAP,
        reason="too-large",
        detail=f"{folder.name} UID {uid}: {size} bytes, over MAX_RAW_EMAIL_BYTES={settings.MAX_RAW_EMAIL_BYTES}",
        size=min(size, 2**31 - 1),
    )
    MailboxMessage.objects.bulk_create(
        [MailboxMessage(folder=folder, uidvalidity=uidvalidity, uid=uid, skip_reason="too-large")], ignore_conflicts=True
    )


def _sync_flags(client: imapclient.IMAPClient, folder: MailboxFolder, uidvalidity: int, since: int) -> None:
    # SEARCH MODSEQ (RFC 7162 3.1.5) names the messages changed since; their
    # FLAGS follow in one FETCH of just those UIDs.
    uids = client.search(["UID", f"1:{folder.last_uid}", "MODSEQ", str(since + 1)])
    changed = client.fetch(uids, ["FLAGS"]) if uids else {}
    for uid, item in changed.items():
        MailboxMessage.objects.filter(folder=folder, uidvalidity=uidvalidity, uid=uid).update(
            flags=_flags(item.get(b"FLAGS", ()))[:255]
        )
