"""The IMAP test harness itself (emails/tests/imapserver.py): a real Dovecot
that behaves like the servers the emails app syncs with. No database."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import imapclient
import pytest
from imapclient.imapclient import SENT
from imapclient.exceptions import LoginError

from emails.tests.imapserver import sample_message

pytestmark = pytest.mark.usefixtures("dovecot")


def subjects(imap, uids) -> dict[int, bytes]:
    key = b"BODY[HEADER.FIELDS (SUBJECT)]"
    data = imap.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return {uid: data[uid][key].strip() for uid in uids}


def test_login_works_and_a_fresh_account_is_empty(imap_account):
    assert imap_account.host == "127.0.0.1"
    with imapclient.IMAPClient(imap_account.host, imap_account.port, ssl=False, timeout=10) as imap:
        imap.login(imap_account.username, imap_account.password)
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0
        assert imap.folder_status("Sent", ["MESSAGES"])[b"MESSAGES"] == 0


def test_wrong_password_is_rejected(imap_account):
    imap = imapclient.IMAPClient(imap_account.host, imap_account.port, ssl=False, timeout=10)
    try:
        with pytest.raises(LoginError):
            imap.login(imap_account.username, imap_account.password + "-wrong")
    finally:
        imap.shutdown()


def test_append_and_fetch_roundtrip(imap_account):
    raw = sample_message(1, subject="Grasspods renewal")
    when = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    uid = imap_account.append("INBOX", raw, flags=[b"\\Seen"], msg_time=when)
    with imap_account.client() as imap:
        imap.normalise_times = False
        imap.select_folder("INBOX")
        data = imap.fetch([uid], ["BODY.PEEK[]", "FLAGS", "INTERNALDATE", "RFC822.SIZE"])[uid]
    assert data[b"BODY[]"] == raw
    assert set(data[b"FLAGS"]) - {b"\\Recent"} == {b"\\Seen"}
    assert data[b"INTERNALDATE"] == when
    assert data[b"RFC822.SIZE"] == len(raw)


def test_sent_folder_has_the_sent_special_use(imap_account):
    with imap_account.client() as imap:
        assert b"SPECIAL-USE" in imap.capabilities()
        folders = {name: flags for flags, _delim, name in imap.list_folders()}
        assert "Sent" in folders and b"\\Sent" in folders["Sent"]
        assert imap.find_special_folder(SENT) == "Sent"


def test_condstore_and_qresync_are_advertised_and_select_reports_highestmodseq(imap_account):
    with imap_account.client() as imap:
        assert {b"CONDSTORE", b"QRESYNC", b"ENABLE"} <= set(imap.capabilities())
        assert imap.enable("CONDSTORE") == [b"CONDSTORE"]
        selected = imap.select_folder("INBOX")
    assert selected[b"HIGHESTMODSEQ"] >= 1
    assert selected[b"UIDVALIDITY"] > 0


def test_a_flag_change_raises_the_modseq(imap_account):
    uid = imap_account.append("INBOX", sample_message(1))
    with imap_account.client() as imap:
        imap.enable("CONDSTORE")
        before = imap.select_folder("INBOX")[b"HIGHESTMODSEQ"]
        (modseq,) = imap.fetch([uid], ["MODSEQ"])[uid][b"MODSEQ"]
        imap.add_flags([uid], [b"\\Flagged"])
        (changed,) = imap.fetch([uid], ["MODSEQ"])[uid][b"MODSEQ"]
        assert changed > modseq
        assert b"\\Flagged" in imap.fetch([uid], ["FLAGS"], modifiers=[f"CHANGEDSINCE {modseq}"])[uid][b"FLAGS"]
        assert imap.fetch([uid], ["FLAGS"], modifiers=[f"CHANGEDSINCE {changed}"]) == {}
    with imap_account.client() as imap:
        imap.enable("CONDSTORE")
        assert imap.select_folder("INBOX")[b"HIGHESTMODSEQ"] > before


def test_reset_uidvalidity_changes_it_and_keeps_the_messages(imap_account):
    for n in range(3):
        imap_account.append("Sent", sample_message(n))
    before = imap_account.server.status(imap_account.username, "Sent")
    new = imap_account.reset_uidvalidity("Sent")
    assert new != before[b"UIDVALIDITY"]
    with imap_account.client() as imap:
        selected = imap.select_folder("Sent")
        assert selected[b"UIDVALIDITY"] == new
        assert selected[b"EXISTS"] == 3
        uids = imap.search("ALL")
        assert sorted(subjects(imap, uids).values()) == [b"Subject: Message 0", b"Subject: Message 1", b"Subject: Message 2"]


def test_fast_fill_of_2000_messages_is_quick_and_visible(imap_account):
    started = time.perf_counter()
    uids = imap_account.fast_fill("INBOX", (sample_message(n) for n in range(2000)))
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"fast_fill of 2,000 messages took {elapsed:.1f}s"
    with imap_account.client() as imap:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 2000
        assert imap.search("ALL") == uids
        # UIDs follow the input order.
        assert subjects(imap, [uids[0], uids[1234], uids[-1]]) == {
            uids[0]: b"Subject: Message 0", uids[1234]: b"Subject: Message 1234", uids[-1]: b"Subject: Message 1999",
        }


def test_fast_fill_sets_flags_and_dates_and_creates_the_folder(imap_account):
    when = datetime(2023, 7, 1, 9, 0, tzinfo=UTC)
    messages = [(sample_message(0), [b"\\Seen", b"\\Answered"], when), sample_message(1)]
    uids = imap_account.fast_fill("Archive/2023", messages)
    more = imap_account.fast_fill("Archive/2023", [sample_message(2)])
    assert more[0] > uids[-1]
    with imap_account.client() as imap:
        imap.normalise_times = False
        imap.select_folder("Archive/2023")
        data = imap.fetch(uids, ["FLAGS", "INTERNALDATE"])
    assert set(data[uids[0]][b"FLAGS"]) == {b"\\Seen", b"\\Answered"}
    assert data[uids[0]][b"INTERNALDATE"] == when
    assert data[uids[1]][b"FLAGS"] == ()
