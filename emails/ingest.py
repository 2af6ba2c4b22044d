"""Every received or synced email is stored through ``do_ingest``: the IMAP
sync, the raw upload endpoint, the BCC drop and mail sent from the CRM's own
sent-folder copy all call it, a batch at a time.

For a batch it parses each message, then with a fixed number of queries:
finds the emails already stored (Message-ID), matches participants to CRM
users and contacts, applies auto-create rules, threads, and writes the
touchpoints through ``touchpoints.services.record_touchpoints`` (which rolls
them up to organizations and deals and advances Last Contacted) followed by
the email rows. A message that cannot be parsed becomes a ``Rejection``
with its reason; the rest of the batch is stored.

Decisions (the issue is silent on these):
- Dedupe is by Message-ID across all mailboxes: the same email in Alice's
  inbox and Bob's sent folder is one touchpoint, owned by whoever's copy
  arrived first. Each arrival still gets its (mailbox, folder, UID) row.
- Internal-only mail (every address belongs to a CRM user) is skipped with
  reason ``internal-only``: it is not a customer touchpoint.
- Only contacts the mailbox owner may see are matched (the same rule as
  any API writer naming records): otherwise Charlie's contact with the same
  address would carry Alice's mail onto a timeline Charlie can read. Teams
  that should share mail share the records (crm.Share) or a team.
- The direction comes from the sender: a CRM user's (or this mailbox's)
  address is outbound ("sent"), anything else inbound ("received").
  Automated mail takes status ``automated`` in either direction.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from crm.models import Contact, ContactEmail, Organization
from crm.permissions import visible
from documents.models import Document
from documents.services import store_attachment
from emails import parsing
from emails.models import (
    AutoContactRule,
    EmailMessage,
    EmailParticipant,
    EmailThread,
    Mailbox,
    MailboxMessage,
    Rejection,
)
from emails.parsing import ParsedEmail, Rejected, base_address, normalized_subject
from touchpoints.rules import Direction, Kind
from touchpoints.services import NewTouchpoint, record_touchpoints

SUMMARY_CHARS = 1000


@dataclass
class Arrival:
    """One raw message and where it came from."""

    raw: bytes
    folder_id: int | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    internal_date: datetime | None = None
    flags: str = ""


@dataclass
class Outcome:
    status: str  # "stored" | "duplicate" | "skipped" | "rejected"
    email_id: int | None = None
    touchpoint_id: int | None = None
    reason: str = ""
    message_id: str | None = None


def do_ingest(
    owner: User, arrivals: Sequence[Arrival], *, source: str, mailbox: Mailbox | None = None
) -> list[Outcome]:
    """Store a batch of raw messages for ``owner``; never raises for a bad
    message. Concurrent syncs of the same mail race on EmailMessage's unique
    Message-ID: the loser's transaction rolls back whole and is retried, and
    then finds the winner's rows."""
    parsed = [_parse(a) for a in arrivals]
    for attempt in range(3):
        try:
            with transaction.atomic():
                outcomes, created = _store(owner, arrivals, parsed, source, mailbox)
                if created:
                    from emails.tasks import score_emails  # tasks import this module

                    transaction.on_commit(lambda ids=created: score_emails(ids))
                return outcomes
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _parse(arrival: Arrival) -> ParsedEmail | Rejected:
    if len(arrival.raw) > settings.MAX_RAW_EMAIL_BYTES:
        return Rejected("too-large", f"{len(arrival.raw)} bytes, over MAX_RAW_EMAIL_BYTES={settings.MAX_RAW_EMAIL_BYTES}")
    return parsing.parse(arrival.raw)


class _Directory:
    """Who the batch's addresses are: CRM users and contacts, two queries."""

    def __init__(self, owner: User, addresses: set[str], mailbox: Mailbox | None):
        bases = {base_address(a) for a in addresses}
        self.users: dict[str, int] = {}
        for user_id, email in User.objects.filter(email__isnull=False).exclude(email="").values_list("id", "email"):
            self.users[base_address(email)] = user_id
        if mailbox is not None:
            self.users.setdefault(base_address(mailbox.email_address), mailbox.user_id)
        self.contacts_exact: dict[str, list[int]] = {}
        self.contacts_base: dict[str, list[int]] = {}
        rows = (
            ContactEmail.objects.filter(email__in=addresses | bases, contact__in=visible(Contact, owner).values("id")).values_list(
                "email", "contact_id"
            )
            if addresses
            else []
        )
        for email, contact_id in rows:
            self.contacts_exact.setdefault(email, []).append(contact_id)
            self.contacts_base.setdefault(base_address(email), []).append(contact_id)

    def user_of(self, address: str) -> int | None:
        return self.users.get(base_address(address))

    def contacts_of(self, address: str) -> list[int]:
        return self.contacts_exact.get(address) or self.contacts_base.get(base_address(address), [])

    def add_contact(self, address: str, contact_id: int) -> None:
        self.contacts_exact.setdefault(address, []).append(contact_id)


def _store(owner: User, arrivals, parsed, source: str, mailbox: Mailbox | None) -> tuple[list[Outcome], list[int]]:
    outcomes: list[Outcome | None] = [None] * len(arrivals)
    good = [i for i, p in enumerate(parsed) if isinstance(p, ParsedEmail)]
    for i, p in enumerate(parsed):
        if isinstance(p, Rejected):
            outcomes[i] = Outcome("rejected", reason=p.reason, message_id=p.message_id)

    # Already stored, or a repeat inside this batch.
    wanted = {parsed[i].message_id for i in good}
    existing = {
        mid: (email_id, tp_id)
        for mid, email_id, tp_id in EmailMessage.objects.filter(message_id__in=wanted).values_list("message_id", "id", "touchpoint_id")
    } if wanted else {}
    first_in_batch: dict[str, int] = {}
    fresh: list[int] = []
    for i in good:
        mid = parsed[i].message_id
        if mid in existing:
            outcomes[i] = Outcome("duplicate", email_id=existing[mid][0], touchpoint_id=existing[mid][1], message_id=mid)
        elif mid in first_in_batch:
            outcomes[i] = Outcome("duplicate", message_id=mid)  # email id filled in below
        else:
            first_in_batch[mid] = i
            fresh.append(i)

    directory = _Directory(owner, {a.address for i in fresh for a in parsed[i].participants}, mailbox)
    keep: list[int] = []
    for i in fresh:
        p = parsed[i]
        if p.participants and all(directory.user_of(a.address) for a in p.participants):
            outcomes[i] = Outcome("skipped", reason="internal-only", message_id=p.message_id)
        else:
            keep.append(i)
    _apply_auto_contact_rules(owner, [parsed[i] for i in keep], directory)

    items = [_new_touchpoint(owner, parsed[i], arrivals[i], directory, source) for i in keep]
    recorded = record_touchpoints(owner, items, checked=True)
    threads = _threads([parsed[i] for i in keep], directory)
    emails = EmailMessage.objects.bulk_create(
        [
            EmailMessage(
                touchpoint_id=r.touchpoint_id,
                message_id=parsed[i].message_id,
                thread=thread,
                in_reply_to=parsed[i].in_reply_to or "",
                references=parsed[i].references,
                from_address=parsed[i].sender.address if parsed[i].sender else "",
                from_name=parsed[i].sender.name if parsed[i].sender else "",
                body_text=parsed[i].body_text,
                has_html=parsed[i].has_html,
                automated=parsed[i].automated[:60],
                size=parsed[i].size,
            )
            for i, r, thread in zip(keep, recorded, threads)
        ]
    )
    participants = []
    for i, email in zip(keep, emails):
        outcomes[i] = Outcome("stored", email_id=email.id, touchpoint_id=email.touchpoint_id, message_id=email.message_id)
        participants.extend(_participants(email, parsed[i], directory))
    EmailParticipant.objects.bulk_create(participants)
    for i, email in zip(keep, emails):
        _store_attachments(email.touchpoint_id, parsed[i].attachments)

    stored_by_mid = {o.message_id: o for o in outcomes if o is not None and o.status == "stored"}
    for i in good:
        o = outcomes[i]
        if o.status == "duplicate" and o.email_id is None and o.message_id in stored_by_mid:
            o.email_id, o.touchpoint_id = stored_by_mid[o.message_id].email_id, stored_by_mid[o.message_id].touchpoint_id
    _record_arrivals(owner, arrivals, parsed, outcomes, source, mailbox)
    _apply_bounce_reports([parsed[i] for i in keep])
    return outcomes, [e.id for e in emails]


def _new_touchpoint(owner: User, p: ParsedEmail, arrival: Arrival, directory: _Directory, source: str) -> NewTouchpoint:
    from emails.sentiment import new_text

    outbound = p.sender is not None and directory.user_of(p.sender.address) is not None
    status = "automated" if p.automated else ("sent" if outbound else "received")
    contact_ids = sorted({c for a in p.participants for c in directory.contacts_of(a.address)})
    occurred_at = p.date or arrival.internal_date or timezone.now()
    return NewTouchpoint(
        kind=Kind.EMAIL,
        status=status,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        occurred_at=occurred_at,
        subject=p.subject,
        summary=(new_text(p.body_text) or p.body_text)[:SUMMARY_CHARS],
        source=source,
        # No external_id: EmailMessage.message_id is the dedupe key across
        # every source (IMAP, BCC drop, upload), which (source, external_id) is not.
        owner_id=owner.id,
        contact_ids=contact_ids,
    )


def _participants(email: EmailMessage, p: ParsedEmail, directory: _Directory) -> list[EmailParticipant]:
    rows = []
    groups = [("from", [p.sender] if p.sender else []), ("to", p.to), ("cc", p.cc), ("bcc", p.bcc)]
    for role, addresses in groups:
        for a in addresses:
            contacts = directory.contacts_of(a.address)
            rows.append(
                EmailParticipant(
                    email=email,
                    role=role,
                    address=a.address,
                    name=a.name,
                    contact_id=contacts[0] if contacts else None,
                    user_id=directory.user_of(a.address),
                )
            )
    return rows


# --- threading ------------------------------------------------------------------


def participants_key(p: ParsedEmail) -> str:
    return hashlib.sha256(",".join(sorted(base_address(a.address) for a in p.participants)).encode()).hexdigest()


def _threads(batch: list[ParsedEmail], directory: _Directory) -> list[EmailThread]:
    """The thread of each email: by References/In-Reply-To first (any known
    message of the conversation, or a thread rooted at the first reference),
    then by normalized subject + the same participants. Three queries for
    the batch; threads met earlier in the batch are reused."""
    refs_of = [list(dict.fromkeys([*p.references, *([p.in_reply_to] if p.in_reply_to else [])])) for p in batch]
    all_refs = {r for refs in refs_of for r in refs}
    by_message = dict(EmailMessage.objects.filter(message_id__in=all_refs).values_list("message_id", "thread_id")) if all_refs else {}
    roots = all_refs | {p.message_id for p in batch}
    threads: dict[int, EmailThread] = {t.id: t for t in EmailThread.objects.filter(root_message_id__in=roots)}
    by_root = {t.root_message_id: t for t in threads.values()}
    subject_keys = {normalized_subject(p.subject) for p, refs in zip(batch, refs_of) if not refs and normalized_subject(p.subject)}
    by_subject = {
        (t.subject_key, t.participants_key): t for t in EmailThread.objects.filter(subject_key__in=subject_keys).order_by("id")
    } if subject_keys else {}
    needed_ids = set(by_message.values()) - set(threads)
    threads.update({t.id: t for t in EmailThread.objects.filter(id__in=needed_ids)})

    out: list[EmailThread] = []
    new: list[EmailThread] = []
    for p, refs in zip(batch, refs_of):
        subject_key, pkey = normalized_subject(p.subject), participants_key(p)
        thread = next((threads[by_message[r]] for r in refs if r in by_message), None)
        thread = thread or next((by_root[r] for r in [*refs, p.message_id] if r in by_root), None)
        if thread is None and not refs and subject_key:
            thread = by_subject.get((subject_key, pkey))
        if thread is None:
            thread = EmailThread(root_message_id=refs[0] if refs else p.message_id, subject_key=subject_key, participants_key=pkey)
            new.append(thread)
            by_root[thread.root_message_id] = thread
            if subject_key:
                by_subject.setdefault((subject_key, pkey), thread)
        by_root.setdefault(p.message_id, thread)
        out.append(thread)
    EmailThread.objects.bulk_create(new)  # sets ids (RETURNING on PostgreSQL and SQLite >= 3.35)
    return out


# --- contacts ---------------------------------------------------------------------


def _apply_auto_contact_rules(owner: User, batch: list[ParsedEmail], directory: _Directory) -> None:
    """Unknown external addresses whose domain has an AutoContactRule become
    contacts of the rule's organization, owned by the mailbox owner (whose
    mail introduced them). A rule applies to the mail of users who may see
    its organization. Mailing lists and machines never become contacts."""
    unknown = {
        a.address: a
        for p in batch
        if not p.automated
        for a in p.participants
        if not directory.user_of(a.address) and not directory.contacts_of(a.address)
    }
    if not unknown:
        return
    rules = {
        r.domain: r
        for r in AutoContactRule.objects.filter(
            domain__in={a.split("@")[1] for a in unknown}, organization__in=visible(Organization, owner).values("id")
        )
    }
    for address, a in sorted(unknown.items()):
        rule = rules.get(address.split("@")[1])
        if rule is None:
            continue
        contact = Contact.objects.create(organization_id=rule.organization_id, owner_id=owner.id, **name_parts(a.name, address))
        ContactEmail.objects.create(contact=contact, email=address)
        directory.add_contact(address, contact.id)


def name_parts(display: str, address: str) -> dict:
    """First and last name from "Carol Ng" / "Ng, Carol" / the address's local part."""
    display = display.strip().strip('"')
    if "," in display:
        last, first = (s.strip() for s in display.split(",", 1))
    elif display:
        first, _, last = display.rpartition(" ")
    else:
        first, last = "", address.split("@")[0]
    return {"first_name": first[:100], "last_name": (last or first or address.split("@")[0])[:100]}


# --- arrivals, rejections, attachments, bounce reports -----------------------------------


def _record_arrivals(owner, arrivals, parsed, outcomes: list[Outcome], source: str, mailbox: Mailbox | None) -> None:
    rows, rejections = [], []
    for arrival, p, o in zip(arrivals, parsed, outcomes):
        if o.status == "rejected":
            rejections.append(
                Rejection(
                    mailbox=mailbox,
                    user=owner,
                    source=source,
                    reason=o.reason,
                    detail=p.detail[:2000],
                    message_id=(p.message_id or "")[:255],
                    subject=p.subject[:255],
                    size=len(arrival.raw),
                )
            )
        if arrival.folder_id is not None:
            rows.append(
                MailboxMessage(
                    folder_id=arrival.folder_id,
                    uidvalidity=arrival.uidvalidity,
                    uid=arrival.uid,
                    email_id=o.email_id,
                    message_id=(o.message_id or "")[:255],
                    skip_reason=o.reason if o.status in ("skipped", "rejected") else "",
                    flags=arrival.flags[:255],
                )
            )
    Rejection.objects.bulk_create(rejections)
    # A re-sync that overlaps (a crash between FETCH and saving last_uid)
    # finds its rows already there.
    MailboxMessage.objects.bulk_create(rows, ignore_conflicts=True)


def _store_attachments(touchpoint_id: int, attachments: list[parsing.Attachment]) -> None:
    Document.objects.bulk_create(store_attachment(touchpoint_id, a.filename, a.content_type, a.payload) for a in attachments)


def _apply_bounce_reports(batch: list[ParsedEmail]) -> None:
    """A delivery status notification about mail we sent marks it bounced."""
    from emails.engagement import do_mark_bounced

    bounced = {p.bounced_message_id: p for p in batch if p.bounced_message_id}
    if not bounced:
        return
    for email in EmailMessage.objects.filter(message_id__in=bounced, touchpoint__direction=Direction.OUTBOUND):
        report = bounced[email.message_id]
        do_mark_bounced(email.id, recipient=None, at=report.date or timezone.now())
