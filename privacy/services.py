"""A contact's data: export everything held about them, or erase it.

Both are for admins and managers (``check_may_handle``): they see every
record, so an export is complete, and erasure is not something a rep
should be able to do to a colleague's customer. Both are written to the
audit log in the same transaction.

Export (``export_contact``): the contact, their addresses and numbers,
organization, deals, every touchpoint on them (direct or rolled up) with
its email, call or SMS details, events, tasks, cases with comments,
documents shared with them, their portal account (no password hash or
tokens), email engagements, SMS opt-outs and the audit entries about them.

Erase (``do_erase_contact``) anonymizes instead of deleting, so reports
and Last Contacted stay true (the right to erasure covers personal data,
not the fact that a company had N calls last quarter):
- the contact keeps its row, owner, organization and links; names, title,
  external id, addresses and numbers go; ``erased_at`` is set;
- touchpoints they took part in directly keep kind, direction, status,
  time, duration, sentiment and emoticon (what the counts and charts use)
  and lose subject and summary; their emails lose bodies, the contact's
  address and name, and attachments (bytes purged); their calls and SMS
  lose the contact's number, text, notes and recording link;
- their cases keep status, priority and times, and lose title,
  description and comments' text; their portal account is deleted; their
  email engagements keep counts and lose the clicked URLs;
- earlier audit entries about the contact and those touchpoints have the
  erased values replaced by "[erased]" (who changed what when stays).
Kept on purpose: SMS opt-outs (a suppression list must outlive erasure, or
the next import could text them again) and records staff wrote about
their own work (events, tasks, deals), which name the contact only by id.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from accounts.models import User
from audit import log as audit
from audit.models import Action, AuditEntry
from config.errors import Forbidden
from crm.models import Contact
from crm.permissions import get_visible

ERASED = "[erased]"
ERASED_NAME = "Erased contact"
# Audit values that stop being kept once a contact is erased.
PERSONAL_FIELDS = {
    "contact": {"first_name", "last_name", "title", "external_id", "emails", "phones"},
    "touchpoint": {"subject", "summary"},
    "case": {"title", "description"},
}


def check_may_handle(actor: User, contact_id: int, *, for_update: bool = False) -> Contact:
    contact = get_visible(Contact, actor, contact_id, for_update=for_update)  # 404 for who may not see it
    if not actor.sees_everything:
        raise Forbidden("only admins and managers may export or erase a contact's personal data")
    return contact


def row(obj: Model, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {f.attname: audit.jsonable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields if f.name not in exclude}


# --- export ---------------------------------------------------------------------------


def _touchpoint_ids(contact_id: int) -> list[int]:
    from touchpoints.models import TouchpointLink

    return sorted(set(TouchpointLink.objects.filter(contact_id=contact_id).values_list("touchpoint_id", flat=True)))


def _touchpoints(contact_id: int) -> list[dict]:
    from emails.models import EmailMessage, EmailParticipant
    from telephony.models import Call, Sms
    from touchpoints.models import Touchpoint

    ids = _touchpoint_ids(contact_id)
    emails = {e.touchpoint_id: e for e in EmailMessage.objects.filter(touchpoint_id__in=ids)}
    participants: dict[int, list[dict]] = {}
    for p in EmailParticipant.objects.filter(email__in=emails.values()).order_by("id"):
        participants.setdefault(p.email_id, []).append(row(p, ("email",)))
    calls = {c.touchpoint_id: c for c in Call.objects.filter(touchpoint_id__in=ids)}
    texts = {s.touchpoint_id: s for s in Sms.objects.filter(touchpoint_id__in=ids)}
    out = []
    for tp in Touchpoint.objects.filter(id__in=ids).order_by("occurred_at", "id"):
        item = row(tp)
        if tp.id in emails:
            item["email"] = {**row(emails[tp.id], ("touchpoint",)), "participants": participants.get(emails[tp.id].id, [])}
        if tp.id in calls:
            item["call"] = row(calls[tp.id], ("touchpoint",))
        if tp.id in texts:
            item["sms"] = row(texts[tp.id], ("touchpoint",))
        out.append(item)
    return out


def export_contact(actor: User, contact_id: int) -> dict[str, Any]:
    """Everything held about the contact, as one JSON document; logged."""
    from activities.models import Event, Task
    from cases.models import Case, CaseComment
    from crm.models import DealContact
    from documents.models import DocumentShare
    from emails.models import Engagement
    from portal.models import PortalAccount
    from telephony.models import OptOut

    with transaction.atomic():
        contact = check_may_handle(actor, contact_id)
        numbers = list(contact.phones.order_by("position").values_list("number", flat=True))
        cases = list(Case.objects.filter(contact_id=contact.id).order_by("id"))
        comments: dict[int, list[dict]] = {}
        for c in CaseComment.objects.filter(case__in=cases).order_by("id"):
            comments.setdefault(c.case_id, []).append(row(c, ("case",)))
        account = PortalAccount.objects.filter(contact_id=contact.id).first()
        document = {
            "exported_at": audit.jsonable(timezone.now()),
            "contact": row(contact),
            "emails": list(contact.emails.order_by("position").values_list("email", flat=True)),
            "phones": numbers,
            "organization": {"id": contact.organization_id, "name": contact.organization.name} if contact.organization_id else None,
            "deals": [
                {"id": link.deal_id, "name": link.deal.name, "stage": link.deal.stage, "role": link.role}
                for link in DealContact.objects.filter(contact_id=contact.id).select_related("deal").order_by("deal_id")
            ],
            "touchpoints": _touchpoints(contact.id),
            "events": [
                {**row(e, ("touchpoint",)), "contact_ids": sorted(e.contacts.values_list("id", flat=True))}
                for e in Event.objects.filter(contacts=contact).order_by("start_at", "id")
            ],
            "tasks": [row(t) for t in Task.objects.filter(contact_id=contact.id).order_by("due_date", "id")],
            "cases": [{**row(c), "comments": comments.get(c.id, [])} for c in cases],
            "documents_shared": [
                {**row(s), "document": {"id": s.document_id, "title": s.document.title, "filename": s.document.filename}}
                for s in DocumentShare.objects.filter(contact_id=contact.id).select_related("document").order_by("id")
            ],
            "portal_account": row(account, ("password",)) if account else None,
            "email_engagements": [row(e) for e in Engagement.objects.filter(contact_id=contact.id).order_by("id")],
            "sms_opt_outs": [row(o) for o in OptOut.objects.filter(number__in=numbers).order_by("id")],
            "audit": [
                row(e) for e in AuditEntry.objects.filter(record_type="contact", record_id=contact.id).order_by("id")
            ],
        }
        audit.log_action(actor, Action.EXPORT, "contact", contact.id, contact.full_name, {"touchpoints": [None, len(document["touchpoints"])]})
    return document


# --- erase ----------------------------------------------------------------------------


def _redact_audit(record_type: str, record_ids: list[int], label: str | None = None) -> None:
    fields = PERSONAL_FIELDS[record_type]
    for entry in AuditEntry.objects.filter(record_type=record_type, record_id__in=record_ids).exclude(action=Action.ERASE):
        changes = {k: ([ERASED if v not in (None, "", []) else v for v in pair] if k in fields else pair) for k, pair in entry.changes.items()}
        # The label is the record's name then: personal for all three types.
        AuditEntry.objects.filter(id=entry.id).update(changes=changes, label=label if label is not None else ERASED)


@transaction.atomic
def do_erase_contact(actor: User, contact_id: int) -> dict[str, int]:
    """Anonymize the contact and their touchpoints (see the module
    docstring); returns what was done. Erasing an erased contact changes
    nothing and logs nothing."""
    from cases.models import Case, CaseComment
    from documents.files import purge_content
    from documents.models import Document
    from emails.models import EmailMessage, EmailParticipant, Engagement
    from portal.models import PortalAccount, SignInAttempt
    from telephony.models import Call, Sms
    from touchpoints.models import LinkPath, Touchpoint, TouchpointLink

    contact = check_may_handle(actor, contact_id, for_update=True)
    if contact.erased_at is not None:
        return {"already_erased": 1}
    emails = list(contact.emails.values_list("email", flat=True))
    numbers = list(contact.phones.values_list("number", flat=True))

    touchpoint_ids = sorted(set(
        TouchpointLink.objects.filter(contact_id=contact.id, path=LinkPath.DIRECT).values_list("touchpoint_id", flat=True)
    ))
    Touchpoint.objects.filter(id__in=touchpoint_ids).update(subject="", summary="")
    messages = EmailMessage.objects.filter(Q(touchpoint_id__in=touchpoint_ids) | Q(participants__contact_id=contact.id)).distinct()
    message_ids = list(messages.values_list("id", flat=True))
    EmailMessage.objects.filter(id__in=message_ids).update(body_text="")
    EmailMessage.objects.filter(id__in=message_ids, from_address__in=emails).update(from_address="", from_name="")
    EmailParticipant.objects.filter(Q(contact_id=contact.id) | Q(email_id__in=message_ids, address__in=emails)).update(address="", name="")
    Engagement.objects.filter(contact_id=contact.id).update(last_url="")
    attachments = list(Document.objects.filter(touchpoint_id__in=touchpoint_ids, touchpoint__kind="email"))
    for document in attachments:
        document.delete()
        transaction.on_commit(lambda sha=document.sha256: purge_content(sha))

    calls = Call.objects.filter(Q(contact_id=contact.id) | Q(touchpoint_id__in=touchpoint_ids))
    calls.update(notes="", recording_url="")
    calls.filter(from_number__in=numbers).update(from_number="")
    calls.filter(to_number__in=numbers).update(to_number="")
    texts = Sms.objects.filter(Q(contact_id=contact.id) | Q(touchpoint_id__in=touchpoint_ids))
    texts.update(body="")
    texts.filter(from_number__in=numbers).update(from_number="")
    texts.filter(to_number__in=numbers).update(to_number="")

    case_ids = list(Case.objects.filter(contact_id=contact.id).values_list("id", flat=True))
    Case.objects.filter(id__in=case_ids).update(title=ERASED, description="")
    CaseComment.objects.filter(case_id__in=case_ids).update(body=ERASED)
    Touchpoint.objects.filter(case__id__in=case_ids).update(subject="", summary="")

    account = PortalAccount.objects.filter(contact_id=contact.id).first()
    if account is not None:
        SignInAttempt.objects.filter(email=account.email).delete()
        account.delete()

    contact.emails.all().delete()
    contact.phones.all().delete()
    label = f"{ERASED_NAME} #{contact.id}"
    Contact.objects.filter(id=contact.id).update(first_name="", last_name=ERASED_NAME, title="", external_id=None, erased_at=timezone.now())
    _redact_audit("contact", [contact.id], label=label)
    _redact_audit("touchpoint", touchpoint_ids)
    _redact_audit("case", case_ids)
    done = {
        "touchpoints": len(touchpoint_ids),
        "emails": len(message_ids),
        "attachments": len(attachments),
        "cases": len(case_ids),
        "portal_account": int(account is not None),
    }
    audit.log_action(actor, Action.ERASE, "contact", contact.id, label, {k: [None, v] for k, v in done.items()})
    return done
