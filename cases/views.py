"""Staff pages for cases: the list, a case (edit, comments), new cases, and
the deal page's One View section.

Writes go through cases.services (the API's functions); reads through
cases.queries. A case the user may not see answers 404.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import queries, services
from cases.forms import CaseForm, CommentForm
from cases.models import CasePriority, CaseStatus
from config.errors import Invalid, NotFound
from crm import queries as crm_queries
from crm.permissions import can_delete
from web.http import get_record_or_404


def _case_or_404(request, case_id: int):
    try:
        return queries.get_visible_case(request.user, case_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@login_required
@require_GET
def case_list(request):
    status = request.GET.get("status") or "open"
    if status not in (*CaseStatus.values, "open", "all"):
        status = "open"
    priority = request.GET.get("priority") if request.GET.get("priority") in CasePriority.values else None
    mine = request.GET.get("owner") == "mine"
    q = (request.GET.get("q") or "").strip()[:100] or None
    contact_id, organization_id = _int(request.GET.get("contact")), _int(request.GET.get("organization"))
    filters = queries.CaseFilters(
        status=None if status == "all" else status, priority=priority, owner_id=request.user.id if mine else None, q=q, contact_id=contact_id, organization_id=organization_id
    )
    try:
        page = queries.list_cases(request.user, filters, request.GET.get("cursor"), settings.UI_PAGE_SIZE)
    except Invalid:  # a cursor edited by hand: start over
        page = queries.list_cases(request.user, filters, None, settings.UI_PAGE_SIZE)
    keep = {k: v for k, v in {"status": status, "priority": priority, "owner": "mine" if mine else None, "q": q, "contact": contact_id, "organization": organization_id}.items() if v}
    context = {
        "nav": "cases", "cases": queries.cases_out(request.user, page.items), "status": status, "priority": priority, "mine": mine, "q": q or "",
        "statuses": CaseStatus.choices, "priorities": CasePriority.choices,
        "next_url": "?" + urlencode({**keep, "cursor": page.next_cursor}) if page.next_cursor else None,
        "first_url": "?" + urlencode(keep) if request.GET.get("cursor") else None,
    }  # fmt: skip
    return render(request, "cases/case_list.html", context)


def _form(request, case=None, data=None, initial=None) -> CaseForm:
    preset = initial.get("contact") if initial else None
    return CaseForm(
        data,
        initial=initial,
        contact_choices=queries.contact_choices(request.user, case, preset),
        organization_choices=crm_queries.organization_choices(request.user),
        owner_choices=crm_queries.owner_choices(request.user),
        case=case,
        auto_id="case_%s",
    )


def _int(value) -> int | None:
    return int(value) if (value or "").isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request):
    initial = {"status": CaseStatus.OPEN, "priority": CasePriority.NORMAL, "owner": request.user.id}
    initial |= {k: _int(request.GET.get(k)) for k in ("contact", "organization") if _int(request.GET.get(k))}
    form = _form(request, data=request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        case = form.run(services.do_create_case, request.user, form.data_for_service())
        if case is not None:
            return redirect("case-detail", case_id=case.id)
    status = 422 if request.method == "POST" else 200
    return render(request, "cases/case_form.html", {"nav": "cases", "form": form, "case": None}, status=status)


def _detail(request, case, form=None, comment_form=None, status=200):
    comments = queries.comments(case, include_internal=True, limit=200).items
    contacts, organizations = queries.names_for(request.user, [case])
    context = {
        "nav": "cases",
        "case": case,
        "out": queries.case_out(case, (contacts, organizations)),
        "form": form or _form(request, case, initial=_initial(case)),
        "comments": comments,
        "comment_form": comment_form or CommentForm(auto_id="comment_%s"),
        "can_delete": can_delete(request.user, case),
    }
    return render(request, "cases/case_detail.html", context, status=status)


def _initial(case) -> dict:
    return {
        **{f: getattr(case, f) for f in ("title", "description", "status", "priority")},
        "contact": case.contact_id,
        "organization": case.organization_id,
        "owner": case.owner_id,
    }


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request, case_id: int):
    """The case, its edit form and its comments. POST saves the edit."""
    case = _case_or_404(request, case_id)
    if request.method == "GET":
        return _detail(request, case)
    form = _form(request, case, data=request.POST, initial=_initial(case))
    if form.is_valid():
        if form.run(services.do_update_case, request.user, case.id, form.data_for_service()) is not None:
            return redirect("case-detail", case_id=case.id)
    return _detail(request, _case_or_404(request, case_id), form=form, status=422)


@login_required
@require_POST
def case_comment(request, case_id: int):
    case = _case_or_404(request, case_id)
    form = CommentForm(request.POST, auto_id="comment_%s")
    if form.is_valid() and form.run(services.do_comment_case, request.user, case.id, form.cleaned_data["body"], internal=form.cleaned_data["internal"]):
        return redirect(f"/cases/{case.id}/#comments")
    return _detail(request, case, comment_form=form, status=422)


@login_required
@require_POST
def case_delete(request, case_id: int):
    case = _case_or_404(request, case_id)
    services.do_delete_case(request.user, case.id)  # Forbidden -> 403 page
    return redirect("case-list")


# --- One View on the deal page ------------------------------------------------------------


@login_required
@require_GET
def one_view(request, record_id: int):
    """The deal's One View: cases of its contacts and organization, with
    status and priority, and how many are open. Loaded after the page."""
    deal = get_record_or_404(request.user, "deal", record_id)
    try:
        view = queries.one_view(request.user, deal, request.GET.get("cursor"), 10)
    except Invalid:
        view = queries.one_view(request.user, deal, None, 10)
    context = {"deal": deal, "view": view, "more": bool(request.GET.get("cursor"))}
    template = "cases/_one_view.html" if request.htmx else "cases/one_view_page.html"
    if request.htmx and request.GET.get("cursor"):
        template = "cases/_one_view_rows.html"
    return render(request, template, context)


@login_required
@require_GET
def record_cases(request, record_type: str, record_id: int):
    """A contact's or organization's cases, for its page."""
    if record_type == "deal":
        raise Http404("a deal's cases are its One View")
    record = get_record_or_404(request.user, record_type, record_id)
    context = {"record_type": record_type, "record": record, **queries.record_cases(request.user, record_type, record.id)}
    return render(request, "cases/_record_cases.html", context)

