"""First sync of a 20,000-message mailbox from a real IMAP server, and a
re-sync with nothing new.

A Dovecot (emails.tests.imapserver, the one the tests use) on loopback
holds an INBOX and a Sent folder filled with realistic mail for a CRM of
400 organizations: most from or to known contacts (some plus-addressed or
upper-cased), replies with References, unknown senders, mailing-list and
auto-reply mail, HTML-only mail and small attachments. Then, in this
process:

1. raw IMAP: fetch every message's bytes the way the sync does (same batch
   sizes), storing nothing (timed);
2. the first sync, ``emails.imap.do_sync_mailbox`` (timed): fetch, parse,
   dedupe, match, thread, write touchpoints, links, emails, participants,
   attachments, advance Last Contacted;
3. a re-sync with nothing new (timed; target under 1 s);
4. sentiment scoring of all the stored emails, the background job's work
   (timed, reported apart: it is not part of the sync).

Memory: the peak resident set during the sync (VmRSS sampled every 50 ms)
minus the one before it; it must not grow with the mailbox (batches are
bounded by count and bytes): compare ``--messages 5000`` with 20,000.
Prints messages/s of the sync (target >= 200) and sync / raw fetch.
"""
from __future__ import annotations

import random
import resource
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from bench import common
from bench.common import console

DBNAME = "touchpoints_bench_email"
TARGET_RATE = 200
TARGET_RESYNC_S = 1.0
USER = "bench-mailbox"
PASSWORD = "bench-password"


def rss_mb() -> float:
    """The process's resident set now (VmRSS), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssPeak:
    """The highest VmRSS seen while the block runs, sampled every 50 ms
    (ru_maxrss cannot tell: its peak may predate the block)."""

    def __enter__(self):
        import threading

        self.before = self.peak = rss_mb()
        self._stop = threading.Event()

        def sample():
            while not self._stop.wait(0.05):
                self.peak = max(self.peak, rss_mb())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.before


def build_messages(rng: random.Random, contacts: list[tuple[str, str]], n: int, own: str, now: datetime):
    """(folder, raw) for n messages, one at a time (the mailbox never sits in
    this process's memory, so the sync's memory growth is its own); about
    15% in Sent."""
    sent_ids: list[str] = []
    for i in range(n):
        name, address = rng.choice(contacts)
        kind = rng.random()
        msg = EmailMessage()
        when = now - timedelta(minutes=rng.randint(1, 365 * 24 * 60))
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<bench-{i}-{rng.getrandbits(32):08x}@mail.example>"
        folder = "INBOX"
        if kind < 0.15:
            folder = "Sent"
            msg["From"] = own
            msg["To"] = f"{name} <{address}>"
            msg["Subject"] = f"Proposal for {name.split()[0]} #{i % 500}"
            sent_ids.append(msg["Message-ID"])
            body = f"Hi {name.split()[0]},\n\nplease find the proposal we discussed. Looking forward to your thoughts.\n\nBest regards,\nAna"
        elif kind < 0.55 and sent_ids:
            parent = rng.choice(sent_ids)
            msg["From"] = f"{name} <{address.upper() if i % 7 == 0 else address}>"
            msg["To"] = own
            msg["Subject"] = f"Re: Proposal for {name.split()[0]} #{i % 500}"
            msg["In-Reply-To"] = parent
            msg["References"] = parent
            body = rng.choice(
                [
                    "Thanks, this looks great. Let's schedule a call next week.",
                    "I'm not happy with the pricing, it is much higher than last year.",
                    "Received, I'll get back to you after our board meeting.",
                ]
            ) + "\n\nOn Monday, Ana wrote:\n> please find the proposal we discussed.\n> Best regards"
        elif kind < 0.70:
            local, domain = address.split("@")
            msg["From"] = f"{name} <{local}+crm@{domain}>"
            msg["To"] = own
            msg["Subject"] = f"Question {i}"
            body = "Could you send me the invoice for last month? Thank you!"
        elif kind < 0.80:
            msg["From"] = f"Stranger {i} <person{i}@unknown{i % 300}.example>"
            msg["To"] = own
            msg["Subject"] = f"Introduction {i}"
            body = "Hello, I found your company online and would like to talk."
        elif kind < 0.88:
            msg["From"] = f"{name} <{address}>"
            msg["To"] = own
            msg["Subject"] = f"Automatic reply: Proposal #{i % 500}"
            msg["Auto-Submitted"] = "auto-replied"
            body = "I am out of the office until Monday."
        elif kind < 0.94:
            msg["From"] = "News <news@lists.example>"
            msg["To"] = own
            msg["List-Id"] = "<news.lists.example>"
            msg["Subject"] = f"Newsletter {i}"
            body = None
            msg.set_content(f"<html><body><h1>News {i}</h1><p>All the <b>news</b> that fits.</p></body></html>", subtype="html")
        else:
            msg["From"] = f"{name} <{address}>"
            msg["To"] = own
            msg["Subject"] = f"Signed contract {i}"
            body = "Attached is the signed contract."
        if body is not None:
            msg.set_content(body + "\n" + "Lorem ipsum dolor sit amet. " * rng.randint(5, 40))
            if kind >= 0.94:
                msg.add_attachment(b"%PDF-1.4 " + bytes(rng.getrandbits(8) for _ in range(2048)), maintype="application", subtype="pdf", filename=f"contract-{i}.pdf")
        yield folder, msg.as_bytes()


def main(argv=None) -> int:
    parser = common.child_args("First IMAP sync of a large mailbox, and an empty re-sync")
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args(argv)
    db = args.db

    from emails.tests.imapserver import DovecotServer, dovecot_missing_reason

    reason = dovecot_missing_reason()
    if reason:
        console.print(f"[bold red]!!! cannot run the email benchmark: {reason} (scripts/ensure_dovecot.sh installs it) !!![/]")
        return 1

    common.drop_database(db, DBNAME)
    common.create_database(db, DBNAME)
    common.setup_django(db, DBNAME)

    from django.db import connection

    from accounts.services import do_create_user
    from bench import seed
    from crm.models import Contact, ContactEmail
    from config import crypto
    from emails.imap import connect, do_sync_mailbox
    from emails.models import EmailMessage, Mailbox
    from emails.sentiment_jobs import do_score_emails

    version = common.db_version()
    console.rule(f"[bold]email[/] on {version}")
    rng = random.Random(20241201)
    now = datetime.now(UTC)
    with console.status("seeding the CRM"):
        seed.create_world(
            rng, orgs=400, contacts_per_org=8, deals_per_org=2, busiest_contacts=8, busiest_deals=2,
            deal_created=(now - timedelta(days=500), now - timedelta(days=90)), closed_share=0.2, now=now,
        )  # fmt: skip
        contacts = list(Contact.objects.values_list("id", "first_name", "last_name", "organization_id"))
        ContactEmail.objects.bulk_create(
            [ContactEmail(contact_id=cid, email=f"{first.lower()}.{last.lower()}{cid}@org{org}.example") for cid, first, last, org in contacts],
            batch_size=2000,
        )
        addresses = [(f"{first} {last}", f"{first.lower()}.{last.lower()}{cid}@org{org}.example") for cid, first, last, org in contacts]
        owner = do_create_user("ana", role="rep", team_name="team0")
        owner.email = "ana@ourco.example"
        owner.save(update_fields=["email"])

    with DovecotServer() as server:
        server.add_user(USER, PASSWORD)
        with console.status(f"filling the mailbox with {args.messages:,} messages"):
            sizes: list[int] = []
            for folder in ("INBOX", "Sent"):
                # The same seed twice: each pass keeps one folder's messages.
                messages = build_messages(random.Random(7), addresses, args.messages, "Ana <ana@ourco.example>", now)
                server.fast_fill(USER, folder, (raw for f, raw in messages if f == folder and not sizes.append(len(raw))))
            total_bytes = sum(sizes)
        console.print(f"mailbox: {args.messages:,} messages, {total_bytes / 1e6:.1f} MB, Dovecot on {server.host}:{server.port}")

        # 1. Raw fetch, same batches, nothing stored.
        from django.conf import settings

        started = time.perf_counter()
        client = connect(server.host, server.port, "none", USER, PASSWORD)
        fetched = 0
        for folder in ("INBOX", "Sent"):
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            for start in range(0, len(uids), settings.IMAP_FETCH_BATCH):
                chunk = uids[start : start + settings.IMAP_FETCH_BATCH]
                client.fetch(chunk, ["RFC822.SIZE"])
                fetched += len(client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"]))
        client.logout()
        raw_s = time.perf_counter() - started
        raw_rate = fetched / raw_s

        mailbox = Mailbox.objects.create(
            user=owner, email_address="ana@ourco.example", imap_host=server.host, imap_port=server.port,
            imap_security="none", username=USER, password_encrypted=crypto.encrypt(PASSWORD),
        )  # fmt: skip
        # 2. First sync.
        with RssPeak() as memory:
            started = time.perf_counter()
            report = do_sync_mailbox(mailbox.id)
            first_s = time.perf_counter() - started
        rss_growth = memory.growth
        common.checkpoint()
        # 3. Re-sync with nothing new.
        started = time.perf_counter()
        again = do_sync_mailbox(mailbox.id)
        resync_s = time.perf_counter() - started

    handled = report.stored + report.duplicates + report.skipped + report.rejected
    first_rate = handled / first_s
    # 4. Background sentiment scoring of what was stored.
    ids = list(EmailMessage.objects.values_list("id", flat=True))
    started = time.perf_counter()
    do_score_emails(ids)
    score_s = time.perf_counter() - started

    console.print(f"raw IMAP fetch      {fetched:,} msgs in {raw_s:6.1f} s = {raw_rate:8,.0f} msg/s")
    console.print(
        f"first sync          {handled:,} msgs in {first_s:6.1f} s = {first_rate:8,.0f} msg/s "
        f"(stored {report.stored:,}, duplicates {report.duplicates}, skipped {report.skipped}, rejected {report.rejected}); "
        f"sync / raw fetch = {first_rate / raw_rate:.2f}x"
    )
    console.print(f"peak RSS growth during the sync: {rss_growth:.0f} MB (from {memory.before:.0f} MB)")
    console.print(f"re-sync, nothing new: {resync_s * 1000:.0f} ms ({again.folders})")
    console.print(f"sentiment job: {len(ids):,} emails in {score_s:.1f} s = {len(ids) / score_s:,.0f} emails/s (background, not in the sync)")
    met = first_rate >= TARGET_RATE and resync_s < TARGET_RESYNC_S and handled == args.messages and again.stored == 0
    console.print(f"target: >= {TARGET_RATE} msg/s and re-sync < {TARGET_RESYNC_S:.0f} s: {common.verdict(met)}")
    common.write_result(
        "email",
        db,
        {
            "db_version": version,
            "vendor": connection.vendor,
            "messages": handled,
            "mailbox_mb": round(total_bytes / 1e6, 1),
            "raw_fetch_rate": raw_rate,
            "first_rate": first_rate,
            "first_s": first_s,
            "sync_over_raw": first_rate / raw_rate,
            "rss_growth_mb": rss_growth,
            "resync_s": resync_s,
            "score_rate": len(ids) / score_s,
            "stored": report.stored,
            "rejected": report.rejected,
            "skipped": report.skipped,
            "target_rate": TARGET_RATE,
            "met": met,
        },
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
