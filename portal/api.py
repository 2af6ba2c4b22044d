"""Staff endpoints for a contact's customer portal access. The portal itself
is pages under /portal/ with their own session (portal.views), not this API."""
from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from config.errors import NotFound
from config.schemas import InputSchema, Message, RecordId, Text, responses
from crm.models import Contact
from crm.permissions import get_visible
from portal import services
from portal.models import PortalAccount

router = Router(tags=["portal"])


class PortalAccountOut(Schema):
    contact_id: int
    email: str
    # Signs in: the invitation was accepted and access not turned off since.
    is_active: bool
    # Invited, and the link sent still works.
    invitation_pending: bool
    invited_at: datetime | None
    activated_at: datetime | None
    last_login_at: datetime | None


class InvitationIn(InputSchema):
    email: Text(254, 3) | None = None


class InvitationOut(PortalAccountOut):
    invitation_expires_at: datetime


def _out(account: PortalAccount) -> dict:
    out = {f: getattr(account, f) for f in ("contact_id", "email", "is_active", "invited_at", "activated_at", "last_login_at")}
    return {**out, "invitation_pending": services.invitation_pending(account)}


@router.get("/contacts/{record_id}/portal-account", response=responses({200: PortalAccountOut}), tags=["contacts"])
def get_portal_account(request, record_id: RecordId):
    """The contact's portal access: invited, active, last sign-in."""
    contact = get_visible(Contact, request.auth, record_id)
    account = PortalAccount.objects.filter(contact=contact).first()
    if account is None:
        raise NotFound(f"contact {record_id} has no portal account")
    return _out(account)


@router.post("/contacts/{record_id}/portal-invitation", response=responses({201: InvitationOut, 502: Message}), tags=["contacts"])
def invite_to_portal(request, record_id: RecordId, payload: InvitationIn):
    """Email the contact a link to set a portal password (to ``email``, one of
    the contact's addresses; the first by default). Inviting again sends a
    new link and the old one stops working. 502 when the mail server refused."""
    invitation = services.do_invite(request.auth, record_id, payload.email)
    return Status(201, {**_out(invitation.account), "invitation_expires_at": invitation.expires_at})


@router.post("/contacts/{record_id}/portal-account/revoke", response=responses({200: PortalAccountOut}), tags=["contacts"])
def revoke_portal_access(request, record_id: RecordId):
    """Turn the contact's portal access off (a new invitation turns it back
    on); live portal sessions end at once, each with its portal_logout."""
    services.do_revoke(request.auth, record_id)
    return _out(PortalAccount.objects.get(contact_id=record_id))
