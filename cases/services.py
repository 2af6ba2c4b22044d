"""Every write of cases and their comments.

A case is registered by a user (page, API) or by its contact in the
customer portal; either way it becomes one touchpoint of kind ``case`` on
the contact and organization (direction inbound: the customer complained),
recorded and then kept in step through touchpoints.services: the
touchpoint's status is the case's status, its subject the case's title.
Deleting a case deletes its touchpoint (entered by mistake, as for events).
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit import log as audit
from cases.models import DONE_STATUSES, Case, CaseComment, CaseOrigin, CaseStatus
from cases.queries import get_visible_case
from config.errors import Forbidden, Invalid, NotFound
from crm.models import Contact, Organization
from crm.permissions import can_delete, check_can_reassign, check_owner, get_visible
from touchpoints import services as touchpoint_services
from touchpoints.rules import Direction, Kind, Source

CASE_FIELDS = ("title", "description", "status", "priority")
MAX_COMMENT = 20_000


def _apply(case: Case, data: dict) -> None:
    for name in CASE_FIELDS:
        if name in data and data[name] is not None:
            setattr(case, name, data[name])


def _set_customer(actor: User, case: Case, data: dict) -> None:
    """The contact and organization, each visible to the actor. Naming only
    a contact files the case under the contact's organization too (its
    organization at the time, as the touchpoint rollup would)."""
    if "contact_id" in data:
        before = case.contact.organization_id if case.contact_id else None
        case.contact = get_visible(Contact, actor, data["contact_id"], loc=("contact_id",)) if data["contact_id"] is not None else None
        # The organization follows the contact when it was the contact's (or none).
        if case.contact is not None and "organization_id" not in data and case.organization_id in (None, before):
            case.organization_id = case.contact.organization_id
    if "organization_id" in data:
        case.organization = (
            get_visible(Organization, actor, data["organization_id"], loc=("organization_id",)) if data["organization_id"] is not None else None
        )
    if case.contact_id is None and case.organization_id is None:
        raise Invalid.field(("contact_id",), "a case names a contact, an organization, or both")


def _stamp_resolution(case: Case, before: str | None) -> None:
    """Resolved at: when it first reached Resolved or Closed (Resolved ->
    Closed keeps the time); reopening clears it."""
    if case.status not in DONE_STATUSES:
        case.resolved_at = None
    elif before not in DONE_STATUSES or case.resolved_at is None:
        case.resolved_at = timezone.now()


def _touchpoint_fields(case: Case) -> dict:
    return {
        "status": case.status,
        "subject": f"Case #{case.id}: {case.title}"[:255],
        "summary": case.description,
        "owner_id": case.owner_id,
        "contact_ids": [case.contact_id] if case.contact_id else [],
        "organization_ids": [case.organization_id] if case.organization_id else [],
    }


def sync_case_touchpoint(case: Case) -> None:
    """Make the log agree with the case: one touchpoint, created with the
    case, its status, subject, owner and records following the case's."""
    fields = _touchpoint_fields(case)
    new = touchpoint_services.NewTouchpoint(
        kind=Kind.CASE, direction=Direction.INBOUND, occurred_at=case.created_at, source=Source.CASE, external_id=str(case.id), **fields
    )
    touchpoint_id = touchpoint_services.keep_derived_touchpoint(case.touchpoint_id, new, fields)
    if case.touchpoint_id is None:
        case.touchpoint_id = touchpoint_id
        Case.objects.filter(id=case.id).update(touchpoint_id=touchpoint_id)


@transaction.atomic
def do_create_case(actor: User, data: dict) -> Case:
    case = Case(owner_id=check_owner(actor, data.get("owner_id")), created_by=actor, origin=CaseOrigin.STAFF)
    _apply(case, data)
    if data.get("created_at") is not None:  # imported or backdated cases (as deals' created_at)
        case.created_at = data["created_at"]
    _set_customer(actor, case, {k: data.get(k) for k in ("contact_id", "organization_id") if data.get(k) is not None})
    _stamp_resolution(case, None)
    case.save()
    sync_case_touchpoint(case)
    audit.log_created(actor, "case", case)
    return case


@transaction.atomic
def do_update_case(actor: User, case_id: int, data: dict) -> Case:
    case = get_visible_case(actor, case_id, for_update=True)
    audit_before = audit.snapshot("case", case)
    if "owner_id" in data and data["owner_id"] != case.owner_id:
        check_can_reassign(actor, case)
        case.owner_id = check_owner(actor, data["owner_id"])
    before = case.status
    _apply(case, data)
    _set_customer(actor, case, {k: data[k] for k in ("contact_id", "organization_id") if k in data})
    _stamp_resolution(case, before)
    case.save()
    sync_case_touchpoint(case)
    audit.log_updated(actor, "case", case, audit_before)
    return case


@transaction.atomic
def do_delete_case(actor: User, case_id: int) -> None:
    case = get_visible_case(actor, case_id, for_update=True)
    if not can_delete(actor, case):
        raise Forbidden("only the owner, an admin or a manager may delete this case")
    touchpoint_id = case.touchpoint_id
    audit.log_deleted(actor, "case", case)
    case.delete()
    if touchpoint_id is not None:
        touchpoint_services.delete_touchpoint(None, touchpoint_id, checked=True)


# The comment's field is called "body": a bare ("body",) loc would read as
# "the request body" (config.api leaves a leading "body" alone), so name the
# location as well. The portal's form drops both parts (a message above the field).
BODY_LOC = ("body", "body")


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise Invalid.field(BODY_LOC, "a comment says something")
    if len(body) > MAX_COMMENT:
        raise Invalid.field(BODY_LOC, f"at most {MAX_COMMENT:,} characters")
    return body


@transaction.atomic
def do_comment_case(actor: User, case_id: int, body: str, *, internal: bool = False) -> CaseComment:
    """A colleague's comment; ``internal`` ones are never shown in the portal."""
    case = get_visible_case(actor, case_id, for_update=True)
    comment = CaseComment.objects.create(case=case, body=_check_body(body), author_user=actor, internal=internal)
    Case.objects.filter(id=case.id).update(updated_at=timezone.now())
    return comment


# --- the customer portal -------------------------------------------------------------------


@transaction.atomic
def do_open_portal_case(contact: Contact, data: dict) -> Case:
    """A case the contact opens in the portal: theirs, at their
    organization, owned by the contact's owner (their account manager)."""
    title = (data.get("title") or "").strip()
    if not title:
        raise Invalid.field(("title",), "say in a few words what the problem is")
    if len(title) > 200:
        raise Invalid.field(("title",), "at most 200 characters")
    case = Case(
        title=title,
        description=(data.get("description") or "").strip()[:MAX_COMMENT],
        contact=contact,
        organization_id=contact.organization_id,
        owner_id=contact.owner_id,
        origin=CaseOrigin.PORTAL,
    )
    case.save()
    sync_case_touchpoint(case)
    audit.log_created(None, "case", case, via="portal")
    return case


@transaction.atomic
def do_portal_comment(contact: Contact, case_id: int, body: str) -> CaseComment:
    """The contact's comment on their own case. A customer answering a case
    that waited for their response, or writing on a resolved one, puts it
    back to Open so its owner sees it needs attention; a closed case takes
    no more comments."""
    case = Case.objects.select_for_update().filter(id=case_id, contact=contact).first()
    if case is None:
        raise NotFound(f"case {case_id} not found")
    if case.status == CaseStatus.CLOSED:
        raise Invalid.field(("body",), "this case is closed: open a new case")
    comment = CaseComment.objects.create(case=case, body=_check_body(body), author_contact=contact)
    if case.status in (CaseStatus.WAIT_FOR_RESPONSE, CaseStatus.RESOLVED):
        before = audit.snapshot("case", case)
        case.status = CaseStatus.OPEN
        case.resolved_at = None
        case.save()
        sync_case_touchpoint(case)
        audit.log_updated(None, "case", case, before, via="portal")
    else:
        Case.objects.filter(id=case.id).update(updated_at=timezone.now())
    return comment
