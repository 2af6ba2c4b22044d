"""The contact page's "Customer portal" card: whether the contact has
access, when they last signed in, and buttons to invite (or send a new
invitation) and to turn access off. Calls portal.services, like the API."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.errors import Forbidden, Invalid, NotFound
from portal import services
from portal.models import PortalAccount
from web.http import get_record_or_404


@login_required
@require_http_methods(["GET", "POST"])
def portal_card(request, record_id: int):
    contact = get_record_or_404(request.user, "contact", record_id)
    notice, error, status = None, None, 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                services.do_revoke(request.user, contact.id)
                notice = "Portal access turned off; open sessions ended."
            else:
                invitation = services.do_invite(request.user, contact.id, request.POST.get("email") or None)
                notice = f"Invitation sent to {invitation.account.email}."
        except (Invalid, NotFound, Forbidden, services.MailNotSent) as exc:
            error = exc.errors[0]["msg"] if isinstance(exc, Invalid) else str(exc)
            status = 422
        if not request.htmx:
            (messages.error if error else messages.success)(request, f"Customer portal: {error or notice}")
            return redirect("contact-detail", record_id=contact.id)
    account = PortalAccount.objects.filter(contact=contact).first()
    context = {
        "contact": contact,
        "account": account,
        # Invited, not accepted yet: a link that still works was sent.
        "pending": account is not None and services.invitation_pending(account),
        "addresses": list(contact.emails.values_list("email", flat=True)),
        "notice": notice,
        "error": error,
    }
    return render(request, "portal/_staff_card.html", context, status=status)
