"""Glue between the service layer and the pages.

The services raise config.errors exceptions (the API turns them into JSON);
pages need 404 pages, form errors and htmx events instead.
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views import defaults
from django_htmx.http import HttpResponseClientRedirect

from config.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from crm.permissions import MODEL_OF, visible

# Sent with every successful quick action: the page's summary, Activity,
# Up Next and journey reload themselves on it (hx-trigger="... from:body").
CHANGED_EVENT = "touchpoints-changed"


def get_record_or_404(user, record_type: str, record_id: int, *, related: tuple[str, ...] = ()):
    """The record if the user may see it; an outsider gets a 404, never a
    403, so they cannot even learn that it exists (as the API does)."""
    record = visible(MODEL_OF[record_type], user).select_related(*related).filter(id=record_id).first()
    if record is None:
        raise Http404(f"{record_type} {record_id} not found")
    return record


def changed(response: HttpResponse) -> HttpResponse:
    response["HX-Trigger"] = CHANGED_EVENT
    return response


def quick_action(request, record_type: str, record_id: int, form_class, template: str, write: Callable) -> HttpResponse:
    """A record page's quick-action form (log a call, add a note, create an
    event or task): parse, call ``write(form)`` (a service function, the
    API's path), and answer with a fresh form plus the change event, or
    the same form with the service's errors under its fields (422).
    Without htmx (JavaScript off) it returns to the record page."""
    get_record_or_404(request.user, record_type, record_id)
    prefix = template.rsplit("/_", 1)[-1].split("_", 1)[0]  # "_call_form.html" -> "call": unique input ids per form
    form = form_class(request.POST, auto_id=f"{prefix}_%s")
    done = form.is_valid() and form.run(write, form) is not None
    if not request.htmx:
        if not done:
            report_form_errors(request, form)
        return redirect(f"{record_type}-detail", record_id=record_id)
    context = {"form": form_class(auto_id=f"{prefix}_%s") if done else form, "record_type": record_type, "record_id": record_id, "done": done}
    response = render(request, template, context, status=200 if done else 422)
    return changed(response) if done else response


def report_form_errors(request, form) -> None:
    """Without JavaScript a form posts the whole page and comes back by
    redirect; its errors travel as a message shown at the top of the page."""
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize() if name in form.fields else None
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


class ServiceErrorMiddleware:
    """A service error that reached a page (not the API, which has its own
    handlers) becomes the matching error page instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not isinstance(exc, ServiceError) or request.path.startswith("/api/"):
            return None
        if isinstance(exc, NotFound):
            return defaults.page_not_found(request, Http404(str(exc)))
        if isinstance(exc, Forbidden):
            return defaults.permission_denied(request, PermissionDenied(str(exc)))
        status = 409 if isinstance(exc, Conflict) else 422 if isinstance(exc, Invalid) else exc.status
        return HttpResponse(str(exc), status=status, content_type="text/plain; charset=utf-8")


class HtmxSessionMiddleware:
    """When the session is gone (signed out in another tab, expired), an
    htmx request gets login_required's redirect to the sign-in page, which
    htmx would follow and swap into the page as a fragment. Send the whole
    browser to sign in instead, coming back to the page it was on. A 403
    (a CSRF token from before a new sign-in) reloads the page for the same
    reason: htmx would otherwise drop it silently."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False):
            return response
        if response.status_code in (301, 302) and response.get("Location", "").startswith(settings.LOGIN_URL):
            current = urlsplit(request.htmx.current_url or "/")
            page = current.path + (f"?{current.query}" if current.query else "")
            return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': page})}")
        if response.status_code == 403:
            response["HX-Refresh"] = "true"
        return response
