"""The customer portal's pages, under /portal/.

A contact signs in with email and password (set from an emailed
invitation) or a one-time sign-in link, and sees their own cases (opens
new ones, comments) and the documents shared with them. The portal's
session is its own cookie (``tp_portal``, path /portal/, HttpOnly, Secure,
SameSite=Lax): staff sessions never open it and it never opens the CRM.
Every form carries Django's CSRF token. Another contact's case or document
answers 404, the same as one that does not exist.
"""
from __future__ import annotations

from datetime import UTC
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import queries as case_queries
from cases import services as case_services
from config.errors import Invalid, NotFound
from config.pagination import keyset_page
from documents import files
from documents.queries import portal_documents
from portal import services
from portal.forms import LinkRequestForm, PasswordForm, PortalCaseForm, PortalCommentForm, SignInForm

PAGE_SIZE = 25


def _client(request: HttpRequest) -> dict:
    return {"ip": request.META.get("REMOTE_ADDR") or None, "user_agent": request.META.get("HTTP_USER_AGENT", "")}


def _private(response: HttpResponse) -> HttpResponse:
    # A customer's cases and documents are never kept by a shared cache or the back button of a shared computer.
    response["Cache-Control"] = "private, no-store"
    return response


def _signed_in(request: HttpRequest, response: HttpResponse, signed: services.SignedIn) -> HttpResponse:
    """Set the new session's cookie. A session this browser still had ends
    now (signed out), not 30 minutes later as an expiry while the customer
    is still here."""
    previous = request.COOKIES.get(settings.PORTAL_COOKIE_NAME)
    if previous and previous != signed.token:
        services.do_sign_out(previous)
    response.set_cookie(
        settings.PORTAL_COOKIE_NAME,
        signed.token,
        max_age=settings.PORTAL_SESSION_MAX_HOURS * 3600,
        path="/portal/",
        secure=settings.PORTAL_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _signed_out(response: HttpResponse) -> HttpResponse:
    response.delete_cookie(settings.PORTAL_COOKIE_NAME, path="/portal/", samesite="Lax")
    return response


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/portal/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/portal/"


def portal_login_required(view):
    """The signed-in contact as ``request.portal_contact``, or the sign-in
    page (coming back here after). An expired session ends here if the
    periodic sweep has not ended it yet (one portal_logout either way)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        session = services.resume_session(request.COOKIES.get(settings.PORTAL_COOKIE_NAME))
        if session is None:
            response = redirect(f"/portal/login/?{urlencode({'next': request.get_full_path()})}")
            return _signed_out(response) if settings.PORTAL_COOKIE_NAME in request.COOKIES else response
        request.portal_session = session
        request.portal_contact = session.account.contact
        # Contacts have no time zone of their own: the portal says "UTC" beside
        # its times, whatever a staff session in the same browser would activate.
        with timezone.override(UTC):
            return _private(view(request, *args, **kwargs))

    return wrapper


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return _private(render(request, template, context, status=status))


# --- signing in and out -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest):
    form = SignInForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                signed = form.run(services.do_sign_in, form.cleaned_data["email"], form.cleaned_data["password"], **_client(request))
            except services.RateLimited as exc:
                form.add_error(None, str(exc))
                status = 429
            else:
                if signed is not None:
                    return _signed_in(request, redirect(_next(request)), signed)
    return _page(request, "portal/sign_in.html", {"form": form, "next": _next(request), "cookie_dropped": _cookie_would_be_dropped(request)}, status)


def _cookie_would_be_dropped(request: HttpRequest) -> bool:
    """Browsers keep a Secure cookie only over HTTPS or on this machine
    (localhost, 127.0.0.1): served plain elsewhere, a sign-in would seem to
    do nothing. Say so instead (PORTAL_COOKIE_SECURE, docs/indirect.md)."""
    host = request.get_host().rsplit(":", 1)[0].strip("[]")
    return settings.PORTAL_COOKIE_SECURE and not request.is_secure() and host not in ("localhost", "127.0.0.1", "::1", "testserver")


@require_http_methods(["GET", "POST"])
def link_request(request: HttpRequest):
    """Ask for a one-time sign-in link by email."""
    form = LinkRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_request_sign_in_link(form.cleaned_data["email"], ip=_client(request)["ip"])
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
            return _page(request, "portal/link_request.html", {"form": form}, 429)
        return _page(request, "portal/message.html", {"title": "Check your email", "message": f"If {form.cleaned_data['email']} has a portal account, a sign-in link is on its way. It works once, for {settings.PORTAL_SIGN_IN_LINK_MINUTES} minutes."})
    return _page(request, "portal/link_request.html", {"form": form}, 422 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def link_sign_in(request: HttpRequest, token: str):
    """GET shows a button, POST signs in: mail scanners that open every link
    in a message must not use up the link (or sign anybody in)."""
    if request.method == "POST":
        try:
            signed = services.do_sign_in_with_link(token, **_client(request))
        except NotFound as exc:
            return _page(request, "portal/message.html", {"title": "This link has expired", "message": str(exc), "offer_link": True}, 404)
        return _signed_in(request, redirect("/portal/"), signed)
    found = services.peek_token(token, "sign_in")
    if found is None:
        return _page(request, "portal/message.html", {"title": "This link has expired", "message": "It was used already or is too old. Ask for a new one.", "offer_link": True}, 404)
    return _page(request, "portal/link_confirm.html", {"email": found.account.email})


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str):
    """Set a password from the invitation link, then be signed in."""
    found = services.peek_token(token, "invitation")
    if found is None:
        return _page(request, "portal/message.html", {"title": "This invitation has expired", "message": "It was used already or is too old. Ask your contact person for a new one, or sign in.", "offer_link": True}, 404)
    form = PasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        signed = form.run(services.do_accept_invitation, token, form.cleaned_data["password"], **_client(request))
        if signed is not None:
            return _signed_in(request, redirect("/portal/"), signed)
    # "invitee", not "contact": the layout shows the signed-in navigation for "contact".
    return _page(request, "portal/invitation.html", {"form": form, "email": found.account.email, "invitee": found.account.contact}, 422 if request.method == "POST" else 200)


@require_POST
def sign_out(request: HttpRequest):
    services.do_sign_out(request.COOKIES.get(settings.PORTAL_COOKIE_NAME))
    return _signed_out(redirect("/portal/login/?signed_out=1"))


# --- the signed-in contact's pages ------------------------------------------------------------------


@require_GET
@portal_login_required
def home(request: HttpRequest):
    contact = request.portal_contact
    try:
        cases = keyset_page(case_queries.portal_cases(contact), ("-id",), request.GET.get("cases"), PAGE_SIZE)
        documents = keyset_page(portal_documents(contact), ("-id",), request.GET.get("documents"), PAGE_SIZE)
    except Invalid:  # a cursor edited by hand
        return redirect("/portal/")
    return render(request, "portal/home.html", {"contact": contact, "cases": cases, "documents": documents})


@require_http_methods(["GET", "POST"])
@portal_login_required
def case_new(request: HttpRequest):
    form = PortalCaseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        case = form.run(case_services.do_open_portal_case, request.portal_contact, form.cleaned_data)
        if case is not None:
            return redirect(f"/portal/cases/{case.id}/")
    return render(request, "portal/case_new.html", {"form": form, "contact": request.portal_contact}, status=422 if request.method == "POST" else 200)


def _case_page(request: HttpRequest, case_id: int, form: PortalCommentForm | None = None, status: int = 200) -> HttpResponse:
    try:
        case = case_queries.get_portal_case(request.portal_contact, case_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    comments = case_queries.comments(case, include_internal=False, limit=200).items
    context = {"case": case, "comments": comments, "form": form or PortalCommentForm(), "contact": request.portal_contact}
    return render(request, "portal/case_detail.html", context, status=status)


@require_GET
@portal_login_required
def case_detail(request: HttpRequest, case_id: int):
    return _case_page(request, case_id)


@require_POST
@portal_login_required
def case_comment(request: HttpRequest, case_id: int):
    form = PortalCommentForm(request.POST)
    if form.is_valid():
        try:
            done = form.run(case_services.do_portal_comment, request.portal_contact, case_id, form.cleaned_data["body"])
        except NotFound as exc:
            raise Http404(str(exc)) from exc
        if done is not None:
            return redirect(f"/portal/cases/{case_id}/#comments")
    return _case_page(request, case_id, form, status=422)


@require_GET
@portal_login_required
def document_download(request: HttpRequest, document_id: int):
    document = portal_documents(request.portal_contact).filter(id=document_id).first()
    if document is None:
        raise Http404(f"document {document_id} not found")
    return files.download_response(document)
