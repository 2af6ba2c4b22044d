"""The demo's customer portal account: one contact who can sign in at
/portal/ with the demo password, and one earlier visit on their Activity."""
from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from crm.models import ContactEmail
from portal.models import EndReason, PortalAccount
from portal.services import HASHER, end_session, start_session


def demo_portal(contact_ids: list[int], password: str) -> tuple[str | None, int]:
    """(the sign-in address, touchpoints made)."""
    address = ContactEmail.objects.filter(contact_id__in=contact_ids, position=0).order_by("contact_id").first()
    if address is None:
        return None, 0
    now = timezone.now()
    account = PortalAccount.objects.create(contact_id=address.contact_id, email=address.email, password=make_password(password, hasher=HASHER), invited_at=now, activated_at=now)
    visit = start_session(account)
    end_session(visit.session.id, EndReason.LOGOUT)
    return account.email, 2
