"""Pages of the telephony channel: on a contact page the Call button
(click-to-call), the SMS composer and the call log; the user's own phone
(rung first by click-to-call); and the admins' provider settings with the
webhook URLs to paste into each provider's console.

Every write is the service function the REST API calls
(telephony.services: do_start_call, do_send_sms, do_set_provider_account,
and do_set_my_phone for the phone); reads come from telephony.queries.
Outsiders get 404s for a contact through web.http.get_record_or_404; the
settings page answers 403 to anyone but an admin (services.check_admin,
the API's rule, turned into the 403 page by web.http).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import Forbidden, Invalid
from telephony import queries, services
from telephony.forms import MyPhoneForm, ProviderForm, SmsForm, sms_parts
from telephony.models import Provider
from web.http import CHANGED_EVENT, changed, get_record_or_404

CALL_LOG_PAGE_SIZE = 10
# Sent after click-to-call: the call log reloads; Activity need not (a
# ringing call is not a touchpoint yet).
CALLS_CHANGED_EVENT = "calls-changed"


def _first_name(contact) -> str:
    return contact.first_name or contact.full_name


# --- click-to-call -------------------------------------------------------------------------


def _call_widget(request, contact, *, done=None, error=None, phone_form=None, needs_provider=False, status=200) -> HttpResponse:
    context = {
        "contact": contact,
        "phone": queries.first_phone(contact.id),
        "done": done,
        "error": error,
        "phone_form": phone_form,
        "needs_provider": needs_provider,
        "is_admin": _is_admin(request.user),
    }
    template = "telephony/_call_widget.html" if request.htmx else "telephony/call.html"
    return render(request, template, context, status=status)


def _is_admin(user) -> bool:
    try:
        services.check_admin(user)
    except Forbidden:
        return False
    return True


def _calls_changed(response: HttpResponse) -> HttpResponse:
    response["HX-Trigger"] = CALLS_CHANGED_EVENT
    return response


@login_required
@require_POST
def click_to_call(request, record_id: int):
    """The contact page's Call button: services.do_start_call rings the
    user's phone, then the contact's first number. Without a phone of their
    own the user gets a small form to set it; without a provider, who must
    set one up; a provider's refusal, its message."""
    contact = get_record_or_404(request.user, "contact", record_id)
    try:
        call = services.do_start_call(request.user, contact.id)
    except services.ProviderUnavailable as exc:
        # The attempt is in the call log (Failed): let it reload.
        return _calls_changed(_call_widget(request, contact, error=str(exc), status=422))
    except Invalid as exc:
        fields = {str(e["loc"][0]) if e["loc"] else "" for e in exc.errors}
        detail = "; ".join(e["msg"] for e in exc.errors)
        if "agent_number" in fields:
            if request.user.phone:  # stored, but not a number click-to-call can ring
                form = MyPhoneForm({"phone": request.user.phone}, auto_id="myphone_%s")
                form.is_valid()
                form.add_error("phone", detail)
            else:
                form = MyPhoneForm(auto_id="myphone_%s")
            error = f"Set your phone number first: Touchpoints rings it, then connects you to {_first_name(contact)}."
            return _call_widget(request, contact, error=error, phone_form=form, status=422)
        if "provider" in fields:
            error = "No telephony provider is set up yet: an admin must add Twilio or Plivo credentials before anyone can call."
            return _call_widget(request, contact, error=error, needs_provider=True, status=422)
        if "contact_id" in fields:
            error = f"{contact.full_name} has no phone number: add one to call them."
        else:
            error = detail
        return _call_widget(request, contact, error=error, status=422)
    done = f"Calling your phone ({request.user.phone}) — answer it to be connected to {_first_name(contact)} ({call.to_number})."
    if not request.htmx:
        messages.success(request, done)
        return redirect("contact-detail", record_id=contact.id)
    return _calls_changed(_call_widget(request, contact, done=done))


@login_required
@require_POST
def my_phone(request):
    """Set the user's own phone (services.do_set_my_phone) from the call
    widget of the contact page named by ``contact``, which comes back."""
    contact_id = request.POST.get("contact") or ""
    contact = get_record_or_404(request.user, "contact", int(contact_id)) if contact_id.isdigit() else None
    if contact is None:
        raise Http404("no contact")
    form = MyPhoneForm(request.POST, auto_id="myphone_%s")
    number = form.run(services.do_set_my_phone, request.user, form.cleaned_data["phone"]) if form.is_valid() else None
    if number is None:
        return _call_widget(request, contact, error="Your phone was not saved.", phone_form=form, status=422)
    done = f"Saved: your phone is {number}. Click “Call {_first_name(contact)}” to be connected."
    if not request.htmx:
        messages.success(request, done)
        return redirect("contact-detail", record_id=contact.id)
    return _call_widget(request, contact, done=done)


# --- SMS composer ----------------------------------------------------------------------------


def _sms_response(request, contact, form, *, done=None, status=200) -> HttpResponse:
    number = queries.first_phone(contact.id)
    context = {
        "contact": contact,
        "number": number,
        "opt_out": queries.opt_out_of(number) if number else None,
        "ready": queries.provider_ready(),
        "is_admin": _is_admin(request.user),
        "form": form,
        "parts": sms_parts(form["text"].value() or ""),
        "max_length": services.MAX_SMS_LENGTH,
        "done": done,
    }
    template = "telephony/_sms_form.html" if request.htmx else "telephony/sms.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def sms_compose(request, record_id: int):
    """The contact page's "Send SMS" quick action. GET: the composer
    (loaded by htmx when the quick action opens; a page of its own without
    JavaScript), or why there is none (no number, opted out, no provider).
    POST: services.do_send_sms to the contact's first number."""
    contact = get_record_or_404(request.user, "contact", record_id)
    if request.method == "GET":
        return _sms_response(request, contact, SmsForm(auto_id="sms_%s"))
    form = SmsForm(request.POST, auto_id="sms_%s")
    results = form.run(services.do_send_sms, request.user, form.cleaned_data["text"], [contact.id], []) if form.is_valid() else None
    if results is None:
        return _sms_response(request, contact, form, status=422)
    (result,) = results
    if result.status == "failed":
        # Kept as a Failed SMS, which Activity shows: let it reload.
        form.add_error(None, f"Not sent: {result.error or 'the provider refused the message'}. It is kept in Activity as a failed SMS.")
        return changed(_sms_response(request, contact, form, status=422))
    done = f"Text sent to {contact.full_name} ({result.to})."
    if not request.htmx:
        messages.success(request, done)
        return redirect("contact-detail", record_id=contact.id)
    return changed(_sms_response(request, contact, SmsForm(auto_id="sms_%s"), done=done))


# --- call log ----------------------------------------------------------------------------------


@login_required
@require_GET
def call_log(request, record_id: int):
    """A contact's call log (queries.call_log): every call, also the busy,
    unanswered, failed and canceled ones that are not touchpoints, newest
    first. htmx: the section (reloaded on touchpoints-changed and
    calls-changed), or with ``cursor`` the next rows. Without JavaScript a
    page of its own with a link to the next.

    While a call on the first page is still queued, ringing or in progress,
    the section polls with ``live=<ids>``; the answer that finds one of them
    ended also sends touchpoints-changed, since a finished call may be a
    touchpoint now (Activity, Last Contacted)."""
    contact = get_record_or_404(request.user, "contact", record_id)
    cursor = request.GET.get("cursor") or None
    try:
        page = queries.contact_calls(request.user, contact.id, cursor, CALL_LOG_PAGE_SIZE)
    except Invalid:
        if request.htmx and cursor:
            return render(request, "telephony/_bad_cursor.html")
        page, cursor = None, None
    context = {
        "contact": contact,
        "calls": page.items if page else [],
        "next_cursor": page.next_cursor if page else None,
        "cursor": cursor,
        "bad_cursor": page is None,
    }
    if not request.htmx:
        return render(request, "telephony/call_log.html", context)
    if cursor:
        return render(request, "telephony/_call_rows.html", context)
    context["live_ids"] = ",".join(str(c.id) for c in context["calls"] if c.live and _recent(c))
    response = render(request, "telephony/_call_log.html", context)
    polled = [int(v) for v in (request.GET.get("live") or "").split(",") if v.isdigit()][:CALL_LOG_PAGE_SIZE]
    if polled and queries.calls_finished(request.user, polled):
        response["HX-Trigger"] = CHANGED_EVENT
    return response


LIVE_POLL_HOURS = 2  # a call still "ringing" after this lost its callbacks: stop polling


def _recent(call) -> bool:
    return (timezone.now() - call.started_at).total_seconds() < LIVE_POLL_HOURS * 3600


# --- provider settings (admins) --------------------------------------------------------------

WEBHOOKS = {
    Provider.TWILIO: [
        ("sms-inbound", "Incoming messages", "Phone Numbers → your number → Messaging: “A message comes in” (Webhook, HTTP POST)"),
        ("voice-status", "Call status", "Phone Numbers → your number → Voice: “Call status changes” (HTTP POST)"),
        ("sms-status", "Message status", "Messaging Service → Integration: “Delivery Status Callback” (Touchpoints also sends it with every message)"),
    ],
    Provider.PLIVO: [
        ("sms-inbound", "Incoming messages", "Messaging → Applications → your application: “Message URL” (POST), with the number assigned to it"),
        ("voice-status", "Call status", "Voice → Applications → your application: “Hangup URL” (POST)"),
        ("sms-status", "Message status", "Touchpoints sends it with every message (“url”); nothing to paste unless you send from elsewhere"),
    ],
}  # fmt: skip


def _provider_form(provider: str, account, data=None) -> ProviderForm:
    initial = {"enabled": True}
    if account is not None:
        initial = {name: getattr(account, name) for name in ("account_id", "from_number", "api_base", "enabled", "is_default")}
    return ProviderForm(data, initial=initial, provider=provider, saved=account is not None, auto_id=f"{provider}_%s")


def _settings_page(request, bound: ProviderForm | None = None, status=200) -> HttpResponse:
    accounts = {a.provider: a for a in queries.provider_accounts()}
    cards = []
    for provider, label in Provider.choices:
        account = accounts.get(provider)
        form = bound if bound is not None and bound.provider == provider else _provider_form(provider, account)
        hooks = [(kind, title, where, services.webhook_url(provider, kind)) for kind, title, where in WEBHOOKS[provider]]
        cards.append({"provider": provider, "label": label, "account": account, "form": form, "webhooks": hooks})
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    context = {
        "nav": "telephony",
        "cards": cards,
        "default": next((a for a in accounts.values() if a.enabled and a.is_default), None),
        "public_base_url": settings.PUBLIC_BASE_URL,
        "local_base_url": host in ("localhost", "testserver") or host.startswith("127.") or host == "::1",
    }
    return render(request, "telephony/settings.html", context, status=status)


@login_required
@require_GET
def telephony_settings(request):
    """Admins: each provider's credentials and the webhook URLs to paste
    into its console."""
    services.check_admin(request.user)
    return _settings_page(request)


@login_required
@require_POST
def provider_save(request, provider: str):
    services.check_admin(request.user)
    if provider not in Provider.values:
        raise Http404(f"provider {provider} not found")
    account = next((a for a in queries.provider_accounts() if a.provider == provider), None)
    form = _provider_form(provider, account, request.POST)
    saved = form.run(services.do_set_provider_account, request.user, provider, form.data_for_service()) if form.is_valid() else None
    if saved is None:
        return _settings_page(request, form, status=422)
    messages.success(request, f"Saved the {saved.get_provider_display()} account." + ("" if saved.enabled else " It is disabled: nothing is sent through it and its webhooks are refused."))
    return redirect(reverse("telephony-settings") + f"#provider-{provider}")
