"""Pages of the email channel: mailbox settings, the composer on record
pages, campaigns, the Actions dashboard's Engagements tab, one email's page
(opened from Activity) and unmatched senders.

Every write is the service function the REST API calls (emails.services,
emails.sending, emails.imap.do_sync_mailbox); reads come from
emails.queries. Outsiders get 404s: a record through
web.http.get_record_or_404, a mailbox or campaign through the services'
and queries' own NotFound (turned into a 404 page by web.http).
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget
from inscriptis import get_text

from config.errors import Invalid
from crm import queries as crm_queries
from documents.files import download_response
from documents.queries import get_visible_document
from emails import imap, merge, queries, sending, services
from emails.forms import CampaignForm, ComposeForm, ContactFromAddressForm, EngagementFilterForm, IdListField, MailboxForm
from emails.ingest import name_parts
from web.http import changed, get_record_or_404

# --- mailbox settings ------------------------------------------------------------------------


def _mailbox_page(request, form=None, *, new_test=None, tests=None, status=200) -> HttpResponse:
    mailboxes = list(queries.mailboxes_of(request.user))
    context = {
        "nav": "mailboxes",
        "mailboxes": mailboxes,
        "rejections": queries.rejections_by_mailbox(mailboxes),
        "tests": tests or {},
        "form": form or MailboxForm(auto_id="mb_%s"),
        "new_test": new_test,
        "drop_address": services.drop_address_of(request.user),
        "drop_host": settings.BCC_DROP_HOST,
        "drop_port": settings.BCC_DROP_PORT,
    }
    return render(request, "emails/mailboxes.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_settings(request):
    """The user's mailboxes, the form to connect one, and the drop address."""
    if request.method == "GET":
        return _mailbox_page(request)
    form = MailboxForm(request.POST, auto_id="mb_%s")
    mailbox = form.run(services.do_connect_mailbox, request.user, form.data_for_service()) if form.is_valid() else None
    if mailbox is None:
        return _mailbox_page(request, form, status=422)
    messages.success(request, f"Connected {mailbox.email_address}. It syncs every {settings.MAILBOX_SYNC_MINUTES} minutes; “Sync now” starts at once.")
    return redirect("mailbox-settings")


@login_required
@require_POST
def mailbox_test_new(request):
    """Try the connect form's settings before saving them."""
    form = MailboxForm(request.POST, auto_id="mb_%s")
    result = form.run(services.test_mailbox, request.user, data=form.data_for_service()) if form.is_valid() else None
    if request.htmx:
        return render(request, "emails/_test_result.html", {"result": result, "form": form})
    return _mailbox_page(request, form, new_test={"result": result, "form": form}, status=200 if result else 422)


@login_required
@require_POST
def mailbox_test(request, mailbox_id: int):
    """Try a saved mailbox. From its edit form with a password typed, the
    form's settings are tried as typed (nothing saved); otherwise the saved
    settings and password."""
    mailbox = services.get_own_mailbox(request.user, mailbox_id)
    form = MailboxForm(request.POST, auto_id="mbe_%s", editing=True) if "imap_host" in request.POST else None
    if form is not None and not form.is_valid():
        result, tried = None, ""  # "Cannot test yet" with the form's errors
    elif form is not None and form.cleaned_data.get("password"):
        result = form.run(services.test_mailbox, request.user, data=form.data_for_service())
        tried = "the settings in the form"
    else:
        result = services.test_mailbox(request.user, mailbox.id)
        tried = "the saved settings" if form is None else "the saved settings (to try changes in the form, type the password too)"
    context = {"result": result, "form": form, "tried": tried}
    if request.htmx:
        return render(request, "emails/_test_result.html", context)
    if form is not None:
        return _edit_page(request, mailbox, form, test=context)
    return _mailbox_page(request, tests={mailbox.id: context})


def _edit_page(request, mailbox, form, *, test=None, status=200) -> HttpResponse:
    return render(request, "emails/mailbox_edit.html", {"nav": "mailboxes", "mailbox": mailbox, "form": form, "test": test}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_edit(request, mailbox_id: int):
    mailbox = services.get_own_mailbox(request.user, mailbox_id)
    initial = {name: getattr(mailbox, name) for name in ("email_address", "imap_host", "imap_port", "imap_security", "username", "sent_folder", "enabled")}
    form = MailboxForm(request.POST if request.method == "POST" else None, initial=initial, auto_id="mbe_%s", editing=True)
    if request.method == "POST" and form.is_valid():
        if form.run(services.do_update_mailbox, request.user, mailbox.id, form.data_for_service()) is not None:
            messages.success(request, f"Saved {form.cleaned_data['email_address'] or mailbox.email_address}.")
            return redirect("mailbox-settings")
    return _edit_page(request, mailbox, form, status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def mailbox_delete(request, mailbox_id: int):
    """Disconnect: the emails already stored stay on the timelines."""
    mailbox = services.get_own_mailbox(request.user, mailbox_id)
    services.do_delete_mailbox(request.user, mailbox.id)
    text = f"Disconnected {mailbox.email_address}. Emails already stored stay in Activity."
    if request.htmx:
        return render(request, "emails/_flash.html", {"text": text})
    messages.success(request, text)
    return redirect("mailbox-settings")


@login_required
@require_POST
def mailbox_sync(request, mailbox_id: int):
    """Sync now, in this request (the periodic job calls the same function)."""
    mailbox = services.get_own_mailbox(request.user, mailbox_id)
    if not mailbox.enabled:
        flash, ok = "Sync is off for this mailbox: edit it and tick “Sync this mailbox”.", False
    else:
        report = imap.do_sync_mailbox(mailbox.id)
        mailbox = services.get_own_mailbox(request.user, mailbox_id)
        if report is None:
            flash, ok = "A sync of this mailbox is running already.", False
        elif mailbox.last_sync_error:
            flash, ok = f"Sync failed: {mailbox.last_sync_error}", False
        else:
            flash = f"Synced: {report.stored} stored, {report.duplicates} already stored, {report.skipped} skipped, {report.rejected} rejected."
            ok = True
    if not request.htmx:
        (messages.success if ok else messages.error)(request, flash)
        return redirect("mailbox-settings")
    context = {"m": mailbox, "rejections": queries.recent_rejections(mailbox, 10), "flash": flash, "flash_ok": ok}
    return render(request, "emails/_mailbox_card.html", context)


# --- composer on record pages ---------------------------------------------------------------------


def _compose_form(request, record_type: str, record_id: int, data=None, initial=None) -> ComposeForm:
    addresses = queries.recipient_choices(request.user, record_type, record_id)
    initial = dict(initial or {})
    kwargs = {"template_choices": queries.template_choices(), "auto_id": "compose_%s"}
    if record_type == "contact":
        if addresses:
            initial.setdefault("to", addresses[0][0])  # the contact's first (primary) address
    else:
        kwargs["address_choices"] = addresses
    return ComposeForm(data, initial=initial, **kwargs)


def _template_initial(template_id) -> dict:
    """A template's subject and body for the plain-text composer."""
    template = queries.get_template(int(template_id))
    return {"template": template.id, "subject": template.subject, "body": get_text(template.body_html).strip()}


def _compose_response(request, record, record_type, form, *, done=None, status=200) -> HttpResponse:
    context = {"form": form, "record": record, "record_type": record_type, "record_id": record.id, "done": done, "merge_fields": merge.FIELDS}
    template = "emails/_compose_form.html" if request.htmx else "emails/compose.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def compose(request, record_type: str, record_id: int):
    """The record page's "Send email" quick action. GET: the form (loaded by
    htmx when the quick action opens; a page of its own without JavaScript).
    POST: send through emails.sending.do_send_email, linked to the record."""
    record = get_record_or_404(request.user, record_type, record_id)
    if request.method == "GET":
        template_id = request.GET.get("template") or ""
        initial = _template_initial(template_id) if template_id.isdigit() else None
        return _compose_response(request, record, record_type, _compose_form(request, record_type, record.id, initial=initial))
    form = _compose_form(request, record_type, record.id, data=request.POST)

    failed = False

    def send(form: ComposeForm):
        nonlocal failed
        try:
            return sending.do_send_email(request.user, form.outgoing(record_type, record.id))
        except sending.SendFailed as exc:
            failed = True
            form.add_error(None, f"Not sent: {exc}. The attempt is kept in Activity as a failed email; check the addresses or try again later.")
            return None

    result = form.run(send, form) if form.is_valid() else None
    if result is not None:
        done = f"Email sent to {len(result.accepted)} recipient{'s' if len(result.accepted) != 1 else ''}."
        if result.refused:
            done += " Not accepted: " + "; ".join(f"{a} ({why})" for a, why in result.refused.items())
        if not request.htmx:
            messages.success(request, done)
            return redirect(f"{record_type}-detail", record_id=record.id)
        return changed(_compose_response(request, record, record_type, _compose_form(request, record_type, record.id), done=done))
    response = _compose_response(request, record, record_type, form, status=422)
    # A failed attempt is a (failed) email in Activity: let the section reload.
    return changed(response) if failed else response


@login_required
@require_GET
def template_fill(request):
    """The composer's subject and message from a template (htmx, on picking one)."""
    template_id = request.GET.get("template") or ""
    if not template_id.isdigit():
        return HttpResponse(status=204)  # "— none —": keep what is typed
    form = ComposeForm(initial=_template_initial(template_id), auto_id="compose_%s")
    return render(request, "emails/_compose_fill.html", {"form": form})


# --- campaigns -----------------------------------------------------------------------------------


def _ids(values) -> list[int]:
    try:
        return IdListField().to_python(values)
    except ValidationError:
        return []


def _recipients_context(request, selected_ids: list[int], q: str) -> dict:
    selected = queries.campaign_contacts(request.user, selected_ids)
    chosen = {c.id for c in selected}
    found = [c for c in queries.contact_search(request.user, q) if c.id not in chosen] if q else []
    return {"selected": selected, "found": found, "q": q, "searched": len(q.strip()) >= 2}


def _campaign_page(request, form, selected_ids, q="", status=200) -> HttpResponse:
    context = {
        "nav": "contact",
        "form": form,
        "merge_fields": merge.FIELDS,
        "campaigns": queries.campaigns_of(request.user),
        **_recipients_context(request, selected_ids, q),
    }
    return render(request, "emails/campaign_new.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    """The campaign composer: contacts checked on the contacts list (or found
    here), name, subject and message with merge fields. Sends through
    emails.sending.do_create_campaign; the worker sends the copies."""
    if request.method == "GET":
        initial = {k: request.GET[k] for k in ("name", "subject", "body", "body_format") if k in request.GET}
        form = CampaignForm(initial=initial, auto_id="cmp_%s")
        return _campaign_page(request, form, _ids(request.GET.getlist("contacts")), (request.GET.get("q") or "").strip()[:100])
    form = CampaignForm(request.POST, auto_id="cmp_%s")
    result = form.run(sending.do_create_campaign, request.user, **form.data_for_service()) if form.is_valid() else None
    if result is None:
        return _campaign_page(request, form, _ids(request.POST.getlist("contacts")), status=422)
    skipped = ",".join(str(s["contact_id"]) for s in result.skipped)
    return redirect(reverse("campaign-detail", args=[result.campaign_id]) + (f"?{urlencode({'skipped': skipped})}" if skipped else ""))


@login_required
@require_GET
def campaign_recipients(request):
    """The composer's recipient list: the checked contacts plus what the
    search box finds (htmx, as the user types)."""
    q = (request.GET.get("q") or "").strip()[:100]
    return render(request, "emails/_campaign_recipients.html", _recipients_context(request, _ids(request.GET.getlist("contacts")), q))


@login_required
@require_GET
def campaign_detail(request, campaign_id: int):
    """A campaign's outcome: queued, sent, failed, and the contacts skipped
    for having no address (named only when the viewer may see them)."""
    campaign = queries.get_campaign(request.user, campaign_id)
    pending = max(campaign.recipients - campaign.sent - campaign.failed, 0)
    context = {"nav": "contact", "campaign": campaign, "pending": pending}
    if request.htmx and request.GET.get("part") == "counts":
        return render(request, "emails/_campaign_counts.html", context)
    skipped_ids = [int(v) for v in (request.GET.get("skipped") or "").split(",") if v.strip().isdigit()][:5000]
    names = queries.contact_names(request.user, skipped_ids)
    context["skipped"] = [(cid, names.get(cid)) for cid in skipped_ids]
    return render(request, "emails/campaign_detail.html", context)


# --- Engagements (Actions dashboard tab) ---------------------------------------------------------

ROLE_LABELS = {"to": "To", "cc": "Cc", "bcc": "Bcc", "from": "From"}
KIND_LABELS = {"open": "Open", "click": "Click", "automated_open": "Automated open", "automated_click": "Automated click"}


def _engagement_rows(viewer, engagements: list) -> list[dict]:
    """The API's rows (a contact the viewer may not open is not named), plus labels."""
    rows = queries.engagements_out(viewer, engagements)
    for row, e in zip(rows, engagements):
        row |= {
            "owner_name": (e.owner.get_full_name() or e.owner.username) if e.owner_id else "",
            "role_label": ROLE_LABELS.get(row["role"], row["role"]),
            "kind_label": KIND_LABELS.get(row["kind"], row["kind"]),
        }
    return rows


@login_required
@require_GET
def engagements(request):
    """Opens and clicks per recipient (Bcc included), newest activity first,
    filtered by days in the user's zone, rep and contact. Automated ones
    (proxy prefetches, link scanners) are a tab of their own, never mixed
    with the people's. More rows load as the list scrolls (cursor)."""
    automated = request.GET.get("automated") == "1"
    form = EngagementFilterForm(request.GET, owner_choices=crm_queries.owner_choices(request.user), automated=automated, auto_id="eng_%s")
    args = form.query(automated)
    cursor = request.GET.get("cursor") or None
    bad_cursor = False
    try:
        page = queries.engagements_page(request.user, **args, cursor=cursor, limit=settings.UI_PAGE_SIZE)
    except Invalid:  # a cursor edited by hand: start over
        bad_cursor, cursor = True, None
        page = queries.engagements_page(request.user, **args, cursor=None, limit=settings.UI_PAGE_SIZE)
    keep = {k: v for k, v in request.GET.items() if k != "cursor" and v and k not in form.errors}
    context = {
        "nav": "dashboard",
        "form": form,
        "automated": automated,
        "rows": _engagement_rows(request.user, page.items),
        "next_url": "?" + urlencode(keep | {"cursor": page.next_cursor}) if page.next_cursor else None,
        "first_url": "?" + urlencode(keep) if cursor else None,
        "bad_cursor": bad_cursor,
        "tab_url": {name: "?" + urlencode({k: v for k, v in keep.items() if k not in ("automated", "kind")} | extra) for name, extra in (("people", {}), ("automated", {"automated": "1"}))},
        "clear_url": "?automated=1" if automated else "?",
        "filtered": bool(keep.keys() - {"automated"}),
        # A contact's name in a row filters by that contact (the other filters kept).
        "contact_url": "?" + urlencode({k: v for k, v in keep.items() if k != "contact"} | {"contact": ""}),
    }
    if request.htmx and cursor:
        return render(request, "emails/_engagement_rows.html", context)
    contact_id = args["contact_id"]
    context["contact_filter"] = (contact_id, queries.contact_names(request.user, [contact_id]).get(contact_id)) if contact_id else None
    context["without_contact_url"] = "?" + urlencode({k: v for k, v in keep.items() if k != "contact"})
    return render(request, "emails/engagements.html", context)


# --- one email -----------------------------------------------------------------------------------

ROLE_ORDER = ("from", "to", "cc", "bcc")
SOURCE_LABELS = {"imap": "Synced from a mailbox", "bcc": "BCC/forward drop", "smtp": "Sent from Touchpoints", "api": "Uploaded through the API", "demo": "Demo data"}


@login_required
@require_GET
def email_by_touchpoint(request, touchpoint_id: int):
    """Activity's link on an email: the email behind the touchpoint, or 404
    (none stored, or one the viewer may not see)."""
    return redirect("email-detail", email_id=queries.email_id_of_touchpoint(request.user, touchpoint_id))


def _participants(request, email, detail: dict, engagements: list) -> dict[str, list[dict]]:
    """The email's addresses by role, each with the name of its contact (only
    a contact the viewer may open; another contact shows as its address
    alone), whether it is unmatched (may become a contact), and its opens
    and clicks."""
    names = queries.contact_names(request.user, {p["contact_id"] for p in detail["participants"] if p["contact_id"]})
    unmatched = queries.unmatched_participant_ids(email)
    by_participant: dict[int, list] = {}
    for e in engagements:
        by_participant.setdefault(e.participant_id, []).append(e)
    groups: dict[str, list[dict]] = {role: [] for role in ROLE_ORDER}
    for p in detail["participants"]:
        hits = by_participant.get(p["id"], [])
        people = [e for e in hits if e.kind in ("open", "click")]
        row = p | {
            "contact_name": names.get(p["contact_id"]),
            "unmatched": p["id"] in unmatched,
            # The name as written, except for a contact the viewer may not open.
            "name": p["name"] if p["contact_id"] in names or p["user_id"] or p["id"] in unmatched else "",
            "role_label": ROLE_LABELS.get(p["role"], p["role"]),
            "opens": sum(e.count for e in hits if e.kind == "open"),
            "clicks": sum(e.count for e in hits if e.kind == "click"),
            "first_at": min((e.first_at for e in people), default=None),
            "last_at": max((e.last_at for e in people), default=None),
            "last_url": next((e.last_url for e in sorted(people, key=lambda e: e.last_at, reverse=True) if e.last_url), ""),
            "automated": [{"kind_label": KIND_LABELS.get(e.kind, e.kind), "count": e.count, "last_at": e.last_at, "reason": e.reason} for e in hits if e.kind not in ("open", "click")],
        }
        groups.setdefault(p["role"], []).append(row)
    return groups


@login_required
@require_GET
def email_detail(request, email_id: int):
    """One email as stored: who wrote to whom (contacts linked when the viewer
    may open them), the full text, attachments, each recipient's opens and
    clicks (automated ones apart) and the rest of its conversation."""
    email = queries.get_email(request.user, email_id)  # NotFound -> 404
    detail = queries.email_detail(request.user, email)
    engagements = queries.email_engagements(email)
    participants = _participants(request, email, detail, engagements)
    recipients = [p for role in ("to", "cc", "bcc") for p in participants[role]]
    cursor = request.GET.get("thread") or None
    try:
        thread = queries.thread_page(request.user, email.thread_id, cursor, settings.UI_PAGE_SIZE)
    except Invalid:  # a cursor edited by hand: start over
        cursor, thread = None, queries.thread_page(request.user, email.thread_id, None, settings.UI_PAGE_SIZE)
    context = {
        "nav": "",
        "email": detail,
        "source_label": SOURCE_LABELS.get(email.touchpoint.source, email.touchpoint.source),
        "from_name": email.from_name,
        "participants": participants,
        "recipients": recipients,
        "engaged": any(p["opens"] or p["clicks"] for p in recipients),
        "automated_hits": [(p, a) for p in recipients for a in p["automated"]],
        # A page of the conversation by date: the API's pages follow arrival
        # (ids), and a first sync stores INBOX before Sent, replies first.
        "thread": sorted(thread.items, key=lambda m: (m.touchpoint.occurred_at, m.id)) if (cursor or len(thread.items) > 1 or thread.next_cursor) else [],
        "thread_next": "?" + urlencode({"thread": thread.next_cursor}) if thread.next_cursor else None,
        "thread_first": "?" if cursor else None,
    }
    return render(request, "emails/email_detail.html", context)


@login_required
@require_GET
def document_download(request, document_id: int):
    """An attachment's bytes, to whoever may see its email (as the API's
    GET /api/v1/documents/{id}, with the session)."""
    document = get_visible_document(request.user, document_id)  # NotFound -> 404
    if not document.stored:
        raise Http404("this attachment was over MAX_ATTACHMENT_BYTES and was not kept")
    return download_response(document)


# --- unmatched senders ---------------------------------------------------------------------------


def _unmatched_form(request, data=None, *, address: str = "", name: str = "") -> ContactFromAddressForm:
    """The "Make a contact" form of one address, names prefilled from the
    display name as ingest reads it, organization from the domain's
    auto-create rule. Input ids are unique per address (several rows may be
    open at once)."""
    address = (data.get("address") if data is not None else address) or ""
    prefix = "uc" + hashlib.sha1(address.strip().lower().encode()).hexdigest()[:8]
    initial = None
    if data is None:
        initial = {"address": address, **name_parts(name, address), "organization": queries.suggested_organization(request.user, address)}
    return ContactFromAddressForm(data, initial=initial, organization_choices=crm_queries.organization_choices(request.user), auto_id=prefix + "_%s")


def _safe_next(request, value: str | None) -> str | None:
    """A same-site path to return to after creating (the email page), else None."""
    return value if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=request.is_secure()) else None


@login_required
@require_GET
def unmatched(request):
    """Addresses on the viewer's emails that are neither a contact nor a
    user (automated mail left out), alphabetically, with how many emails
    and when last seen; each can be made a contact."""
    cursor = request.GET.get("cursor") or None
    bad_cursor = False
    try:
        page = queries.unmatched_addresses(request.user, cursor, settings.UI_PAGE_SIZE)
    except Invalid:  # a cursor edited by hand: start over
        bad_cursor, cursor = True, None
        page = queries.unmatched_addresses(request.user, None, settings.UI_PAGE_SIZE)
    context = {
        "nav": "",
        "rows": page.items,
        "next_url": "?" + urlencode({"cursor": page.next_cursor}) if page.next_cursor else None,
        "first_url": "?" if cursor else None,
        "bad_cursor": bad_cursor,
    }
    return render(request, "emails/unmatched.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def unmatched_contact(request):
    """GET: the "Make a contact" form for ``?address=`` (loaded by htmx when a
    row's details open; a page of its own without JavaScript). POST: create
    it through emails.services.do_create_contact_from_address (the API's
    path), which links the address's visible emails to the new contact."""
    if request.method == "GET":
        address = (request.GET.get("address") or "").strip()[:254]
        if not address:
            return redirect("unmatched-senders")
        form = _unmatched_form(request, address=address, name=(request.GET.get("name") or "")[:200])
        return _unmatched_form_response(request, form, next_url=_safe_next(request, request.GET.get("next")))
    form = _unmatched_form(request, request.POST)
    next_url = _safe_next(request, request.POST.get("next"))
    contact = form.run(services.do_create_contact_from_address, request.user, form.cleaned_data["address"], form.data_for_service()) if form.is_valid() else None
    if contact is None:
        return _unmatched_form_response(request, form, next_url=next_url, status=422)
    linked = queries.emails_linked_count(request.user, contact.id)
    done = f"Contact created: {contact.full_name}; {linked} email{'s' if linked != 1 else ''} linked."
    if not request.htmx:
        messages.success(request, done)
        return redirect(next_url or "unmatched-senders")
    response = render(request, "emails/_unmatched_done.html", {"done": done, "contact": contact, "address": form.cleaned_data["address"]})
    # The row (not just the form) becomes the outcome: the address is matched now.
    return reswap(retarget(response, "closest li"), "outerHTML")


def _unmatched_form_response(request, form, *, next_url=None, status=200) -> HttpResponse:
    # A row's form on the list posts by htmx and becomes the row's outcome; the
    # page of its own (no JavaScript, or from an email's page) posts plainly.
    context = {"form": form, "address": form["address"].value() or "", "next_url": next_url, "standalone": not request.htmx}
    template = "emails/_unmatched_form.html" if request.htmx else "emails/unmatched_new.html"
    return render(request, template, context, status=status)
