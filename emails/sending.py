"""Sending email from the CRM: ad hoc mail and campaigns, through the SMTP
server in Django's EMAIL_* settings.

Every recipient (To, Cc and Bcc alike) gets a copy of their own over SMTP:
the headers show the same To and Cc to everyone (and no Bcc), the envelope
names only that recipient, and the HTML carries that recipient's open
pixel and click links (emails.tracking). That is what makes a Bcc
recipient's opens and clicks theirs. All copies share one Message-ID: it is
one email, and a reply from any recipient threads to it.

The touchpoint is written before the first SMTP command (status
``queued``) and becomes ``sent`` when at least one copy was accepted, or
``failed`` when none was; Last Contacted moves only with ``sent``. Ad hoc
mail is sent during the request, so the writer sees a failure at once;
campaigns go to the worker (emails.tasks.send_campaign).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape, linebreaks, urlize
from inscriptis import get_text

from accounts.models import User
from config.errors import Invalid, ServiceError, error
from crm.models import Contact, ContactEmail
from crm.permissions import visible
from crm.services import normalize_email
from emails import merge, tracking
from emails.engagement import RECIPIENT_ARG
from emails.models import Campaign, EmailMessage, EmailParticipant, EmailThread, EmailTemplate, Mailbox
from emails.parsing import normalized_subject
from touchpoints.rules import Direction, Kind, Source
from touchpoints.services import NewTouchpoint, check_new_touchpoints, record_touchpoints, update_touchpoint


class SendFailed(ServiceError):
    status = 502

    def __init__(self, message: str, touchpoint_id: int):
        super().__init__(message)
        self.touchpoint_id = touchpoint_id


@dataclass
class Outgoing:
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    subject: str = ""
    body_html: str = ""
    body_text: str = ""
    template_id: int | None = None
    contact_ids: Sequence[int] = ()
    organization_ids: Sequence[int] = ()
    deal_ids: Sequence[int] = ()


@dataclass
class SendResult:
    touchpoint_id: int
    email_id: int
    message_id: str
    status: str
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


# --- checks -------------------------------------------------------------------------


def sender_of(user: User) -> tuple[str, str]:
    """(name, address) mail from ``user`` is sent as: their mailbox's
    address, else their account email, else DEFAULT_FROM_EMAIL."""
    mailbox = Mailbox.objects.filter(user=user, enabled=True).order_by("id").first()
    address = (mailbox.email_address if mailbox else "") or user.email or settings.DEFAULT_FROM_EMAIL
    return user.get_full_name() or user.username, address.lower()


def text_to_html(text: str) -> str:
    """Plain text typed in the composer, as simple HTML (so it can carry
    tracking): paragraphs, line breaks, links made clickable."""
    return linebreaks(urlize(escape(text), autoescape=False))


def check_outgoing(actor: User, out: Outgoing) -> Outgoing:
    """Validate and normalize; raises Invalid naming every bad field."""
    errors: list[dict] = []
    if out.template_id is not None:
        template = EmailTemplate.objects.filter(id=out.template_id).first()
        if template is None:
            errors.append(error(("template_id",), f"template {out.template_id} not found"))
        else:
            out.subject = out.subject or template.subject
            out.body_html = out.body_html or template.body_html
    lists = {}
    for name in ("to", "cc", "bcc"):
        normalized = []
        for i, raw in enumerate(getattr(out, name)):
            try:
                normalized.append(normalize_email(raw, (name, i)))
            except Invalid as exc:
                errors.extend(exc.errors)
        lists[name] = list(dict.fromkeys(normalized))
    if not (out.to or out.cc or out.bcc):  # given but invalid is reported above, once
        errors.append(error(("to",), "at least one recipient (to, cc or bcc) is required"))
    if not out.subject.strip():
        errors.append(error(("subject",), "must not be empty"))
    elif len(out.subject) > 255:
        errors.append(error(("subject",), "at most 255 characters"))
    if not (out.body_html.strip() or out.body_text.strip()):
        errors.append(error(("body_html",), "body_html or body_text is required"))
    for name in ("subject", "body_html", "body_text"):
        try:
            merge.check_fields(getattr(out, name), name)
        except Invalid as exc:
            errors.extend(exc.errors)
    probe = NewTouchpoint(
        kind=Kind.EMAIL,
        occurred_at=timezone.now(),
        contact_ids=out.contact_ids,
        organization_ids=out.organization_ids,
        deal_ids=out.deal_ids,
    )
    errors += check_new_touchpoints(actor, [probe])[0]
    if errors:
        raise Invalid(errors)
    return Outgoing(**{**out.__dict__, **lists})


def contacts_by_address(actor: User, addresses: set[str]) -> dict[str, Contact]:
    """The contact each address belongs to among those the actor may see
    (the first by id when several share one), with organization loaded for
    merge fields."""
    found: dict[str, Contact] = {}
    rows = (
        ContactEmail.objects.filter(email__in=addresses, contact__in=visible(Contact, actor).values("id"))
        .select_related("contact__organization")
        .order_by("contact_id")
    )
    for row in rows:
        found.setdefault(row.email, row.contact)
    return found


# --- ad hoc email -------------------------------------------------------------------


def do_send_email(actor: User, out: Outgoing) -> SendResult:
    out = check_outgoing(actor, out)
    sender = sender_of(actor)
    # Only contacts the sender may see are matched, linked and merged (as
    # for received mail, emails.ingest): another team's contact with the
    # same address neither gets this mail nor lends it its details.
    contacts = contacts_by_address(actor, set(out.to) | set(out.cc) | set(out.bcc))
    # The stored copy (touchpoint subject/summary, email body) is the first recipient's.
    first_address = (list(out.to) + list(out.cc) + list(out.bcc))[0]
    first_values = merge.values_for(contacts.get(first_address), first_address, sender)
    subject = merge.render(out.subject, first_values, html=False)
    body_html = out.body_html or text_to_html(out.body_text)
    with transaction.atomic():
        email = _record_outgoing(
            actor,
            kind=Kind.EMAIL,
            subject=subject,
            body_text=(
                merge.render(out.body_text, first_values, html=False)
                if out.body_text
                else get_text(merge.render(body_html, first_values, html=True))
            ),
            sender=sender,
            recipients=[("to", a) for a in out.to] + [("cc", a) for a in out.cc] + [("bcc", a) for a in out.bcc],
            contacts=contacts,
            extra_links={"contact_ids": out.contact_ids, "organization_ids": out.organization_ids, "deal_ids": out.deal_ids},
        )
        _score_after_commit([email.id])
    template = _Template(out.subject, body_html, out.body_text)
    accepted, refused = _deliver([email], template, sender, contacts)
    status = "sent" if accepted else "failed"
    update_touchpoint(None, email.touchpoint_id, {"status": status}, checked=True)
    result = SendResult(email.touchpoint_id, email.id, email.message_id, status, accepted, refused)
    if not accepted:
        raise SendFailed(f"the SMTP server accepted no copy: {'; '.join(f'{a}: {e}' for a, e in refused.items())}", email.touchpoint_id)
    return result


@dataclass
class _Template:
    subject: str
    body_html: str
    body_text: str


def _record_outgoing(actor, *, kind, subject, body_text, sender, recipients, contacts, extra_links=None, campaign=None) -> EmailMessage:
    """Touchpoint (queued), EmailMessage and participants for one outgoing
    email; the caller holds the transaction."""
    extra_links = extra_links or {}
    contact_ids = sorted({contacts[a].id for _, a in recipients if a in contacts} | set(extra_links.get("contact_ids", ())))
    domain = sender[1].split("@")[-1] or "touchpoints.localhost"
    message_id = make_msgid(domain=domain).strip("<>")
    (recorded,) = record_touchpoints(
        actor,
        [
            NewTouchpoint(
                kind=kind,
                status="queued",
                direction=Direction.OUTBOUND,
                occurred_at=timezone.now(),
                subject=subject[:255],
                summary=body_text[:1000],
                source=Source.SMTP,
                contact_ids=contact_ids,
                organization_ids=extra_links.get("organization_ids", ()),
                deal_ids=extra_links.get("deal_ids", ()),
            )
        ],
        checked=True,
    )
    thread = EmailThread.objects.create(root_message_id=message_id, subject_key=normalized_subject(subject), participants_key="")
    email = EmailMessage.objects.create(
        touchpoint_id=recorded.touchpoint_id,
        message_id=message_id,
        thread=thread,
        from_address=sender[1],
        from_name=sender[0],
        body_text=body_text,
        has_html=True,
        tracked=True,
        campaign=campaign,
    )
    rows = [EmailParticipant(email=email, role="from", address=sender[1], name=sender[0], user=actor)]
    for role, address in recipients:
        contact = contacts.get(address)
        rows.append(
            EmailParticipant(
                email=email, role=role, address=address, name=contact.full_name if contact else "", contact=contact
            )
        )
    EmailParticipant.objects.bulk_create(rows)
    return email


class _Copy(EmailMultiAlternatives):
    """One recipient's copy: headers show To/Cc as written, the SMTP
    envelope names only this recipient."""

    def __init__(self, envelope_to: str, **kwargs):
        super().__init__(**kwargs)
        self.envelope_to = envelope_to

    def recipients(self) -> list[str]:
        return [self.envelope_to]


def _deliver(emails: list[EmailMessage], template: _Template, sender_values: tuple[str, str], contacts: dict[str, Contact]):
    """Send every recipient copy of ``emails`` over one SMTP connection;
    ``contacts`` are the ones whose fields may fill merge fields. Returns
    (accepted addresses, {refused address: reason})."""
    accepted: list[str] = []
    refused: dict[str, str] = {}
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        reason = f"cannot connect to SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {exc}"
        for email in emails:
            for p in email.participants.exclude(role="from"):
                refused[p.address] = reason
        return accepted, refused
    try:
        for email in emails:
            participants = list(email.participants.all())
            sender = next(p for p in participants if p.role == "from")
            visible_to = [p.address for p in participants if p.role == "to"]
            visible_cc = [p.address for p in participants if p.role == "cc"]
            for p in participants:
                if p.role == "from":
                    continue
                copy = _copy_for(email, p, sender, visible_to, visible_cc, template, sender_values, contacts)
                try:
                    connection.send_messages([copy])
                    accepted.append(p.address)
                except Exception as exc:  # smtplib raises per refused recipient
                    refused[p.address] = str(exc)[:500]
    finally:
        connection.close()
    return accepted, refused


def _copy_for(email, participant, sender, visible_to, visible_cc, template: _Template, sender_values, contacts) -> _Copy:
    values = merge.values_for(contacts.get(participant.address), participant.address, sender_values)
    html = merge.render(template.body_html, values, html=True)
    text = merge.render(template.body_text, values, html=False) if template.body_text else get_text(html)
    html = tracking.instrument_for_recipient(html, participant.id, settings.PUBLIC_BASE_URL)
    token = tracking.open_token(participant.id)
    copy = _Copy(
        participant.address,
        subject=merge.render(template.subject, values, html=False),
        body=text,
        from_email=formataddr((sender.name, sender.address)),
        to=visible_to,
        cc=visible_cc,
        headers={
            **({} if visible_to or visible_cc else {"To": "undisclosed-recipients:;"}),  # Bcc only (RFC 5322 3.6.3)
            "Message-ID": f"<{email.message_id}>",
            # Echoed back on the providers' event webhooks (emails.engagement.find_recipient).
            "X-SMTPAPI": json.dumps({"unique_args": {RECIPIENT_ARG: token}}),
            "X-Mailgun-Variables": json.dumps({RECIPIENT_ARG: token}),
        },
    )
    copy.attach_alternative(html, "text/html")
    return copy


# --- campaigns ------------------------------------------------------------------------


@dataclass
class CampaignResult:
    campaign_id: int
    queued: int
    skipped: list[dict]


def do_create_campaign(actor: User, *, name: str, subject: str, body_html: str, contact_ids: Sequence[int]) -> CampaignResult:
    """One email_campaign touchpoint per contact, queued; the worker sends
    them after commit. Contacts without an address are skipped and listed."""
    errors = []
    if not name.strip():
        errors.append(error(("name",), "must not be empty"))
    if not subject.strip():
        errors.append(error(("subject",), "must not be empty"))
    if not body_html.strip():
        errors.append(error(("body_html",), "must not be empty"))
    if not contact_ids:
        errors.append(error(("contact_ids",), "at least one contact is required"))
    for loc, text in (("subject", subject), ("body_html", body_html)):
        try:
            merge.check_fields(text, loc)
        except Invalid as exc:
            errors.extend(exc.errors)
    found = {c.id: c for c in visible(Contact, actor).filter(id__in=contact_ids).select_related("organization")}
    errors += [error(("contact_ids", i), f"contact {cid} not found") for i, cid in enumerate(contact_ids) if cid not in found]
    if errors:
        raise Invalid(errors)
    primary = {}
    for row in ContactEmail.objects.filter(contact_id__in=found).order_by("contact_id", "position", "id"):
        primary.setdefault(row.contact_id, row.email)
    sender = sender_of(actor)
    skipped = [{"contact_id": cid, "reason": "no email address"} for cid in dict.fromkeys(contact_ids) if cid not in primary]
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, subject=subject, body_html=body_html, owner=actor)
        email_ids = []
        for cid in dict.fromkeys(contact_ids):
            if cid not in primary:
                continue
            contact, address = found[cid], primary[cid]
            values = merge.values_for(contact, address, sender)
            email = _record_outgoing(
                actor,
                kind=Kind.EMAIL_CAMPAIGN,
                subject=merge.render(subject, values, html=False),
                body_text=get_text(merge.render(body_html, values, html=True)),
                sender=sender,
                recipients=[("to", address)],
                contacts={address: contact},
                campaign=campaign,
            )
            email_ids.append(email.id)
        Campaign.objects.filter(id=campaign.id).update(recipients=len(email_ids))
        from emails.tasks import send_campaign

        transaction.on_commit(lambda: send_campaign(campaign.id))
        _score_after_commit(email_ids)
    return CampaignResult(campaign.id, len(email_ids), skipped)


def _score_after_commit(email_ids: list[int]) -> None:
    """Sent mail gets its emoticon too, by the same background job as received mail."""
    from emails.tasks import score_emails

    transaction.on_commit(lambda: score_emails(email_ids))


def do_send_campaign(campaign_id: int) -> None:
    """Send the campaign's queued copies; each becomes sent or failed."""
    campaign = Campaign.objects.select_related("owner").get(id=campaign_id)
    template = _Template(campaign.subject, campaign.body_html, "")
    queued = list(
        EmailMessage.objects.filter(campaign=campaign, touchpoint__status="queued").prefetch_related("participants__contact__organization")
    )
    sender = sender_of(campaign.owner)
    for start in range(0, len(queued), 100):
        batch = queued[start : start + 100]
        # Campaign contacts were checked visible to the owner when it was made.
        contacts = {p.address: p.contact for e in batch for p in e.participants.all() if p.role == "to" and p.contact}
        accepted, refused = _deliver(batch, template, sender, contacts)
        for email in batch:
            to = next(p.address for p in email.participants.all() if p.role == "to")
            status = "sent" if to in accepted else "failed"
            update_touchpoint(None, email.touchpoint_id, {"status": status}, checked=True)
        Campaign.objects.filter(id=campaign.id).update(
            sent=campaign.sent + len(accepted), failed=campaign.failed + len(refused)
        )
        campaign.sent += len(accepted)
        campaign.failed += len(refused)
