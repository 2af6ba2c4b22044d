"""Pages for organizations, contacts and deals: lists, record pages, forms
and the top bar's global search.

Views parse input and render; reads come from crm.queries (and the
touchpoints / activities queries for the record page's sections), writes
from crm.services, exactly as the REST API does.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import Invalid
from crm import queries, services
from crm.forms import ContactForm, DealContactForm, DealForm, OrganizationForm
from crm.models import DealStage
from crm.permissions import can_delete
from touchpoints.forms import CallForm
from web.components import record_page_context
from web.http import changed, get_record_or_404, report_form_errors


@dataclass(frozen=True)
class Column:
    label: str
    sort: str | None = None  # field to sort by, None: not sortable
    optional: bool = False  # hidden on narrow screens


@dataclass(frozen=True)
class ListSpec:
    title: str
    query: object
    columns: tuple[Column, ...]
    default_sort: str


LAST_CONTACTED = (Column("Last Contacted Via", "last_contacted_via"), Column("Last Contacted On", "last_contacted_on"))
LISTS = {
    "organization": ListSpec(
        "Organizations",
        queries.list_organizations,
        (Column("Name", "name"), Column("Industry", "industry", True), Column("Owner", None, True), *LAST_CONTACTED),
        "name",
    ),
    "contact": ListSpec(
        "Contacts",
        queries.list_contacts,
        (Column("Name", "last_name"), Column("Title", "title", True), Column("Organization"), Column("Email", None, True), *LAST_CONTACTED),
        "last_name",
    ),
    "deal": ListSpec(
        "Deals",
        queries.list_deals,
        (Column("Name", "name"), Column("Organization", None, True), Column("Stage", "stage"), Column("Amount", "amount", True), *LAST_CONTACTED),
        "-last_contacted_on",
    ),
}


def _list(request: HttpRequest, record_type: str) -> HttpResponse:
    spec = LISTS[record_type]
    sort = request.GET.get("sort") or spec.default_sort
    if sort.lstrip("-") not in {c.sort for c in spec.columns if c.sort}:
        sort = spec.default_sort
    mine = request.GET.get("owner") == "mine"
    stage = request.GET.get("stage") if request.GET.get("stage") in DealStage.values else None
    q = (request.GET.get("q") or "").strip()[:100] or None
    filters = queries.RecordFilters(q=q, owner_id=request.user.id if mine else None, stage=stage)
    try:
        page = spec.query(request.user, filters, request.GET.get("cursor"), settings.UI_PAGE_SIZE, sort=sort)
    except Invalid:  # a cursor edited by hand, or from another sort: start over
        page = spec.query(request.user, filters, None, settings.UI_PAGE_SIZE, sort=sort)
    keep = {k: v for k, v in {"q": q, "owner": "mine" if mine else None, "stage": stage}.items() if v}
    headers = []
    for column in spec.columns:
        header = {"column": column, "aria_sort": None, "url": None}
        if column.sort:
            current = sort.lstrip("-") == column.sort
            descending = sort.startswith("-")
            if current:
                header["aria_sort"] = "descending" if descending else "ascending"
            next_sort = column.sort if current and descending else f"-{column.sort}" if current else column.sort
            header["url"] = _query(keep | {"sort": next_sort})
        headers.append(header)
    context = {
        "nav": record_type, "record_type": record_type, "spec": spec, "page": page, "headers": headers,
        "q": q or "", "mine": mine, "stage": stage, "stages": DealStage.choices,
        "next_url": _query(keep | {"sort": sort, "cursor": page.next_cursor}) if page.next_cursor else None,
        "first_url": _query(keep | {"sort": sort}) if request.GET.get("cursor") else None,
    }  # fmt: skip
    return render(request, f"crm/{record_type}_list.html", context)


def _query(params: dict) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v})


@login_required
@require_GET
def organization_list(request):
    return _list(request, "organization")


@login_required
@require_GET
def contact_list(request):
    return _list(request, "contact")


@login_required
@require_GET
def deal_list(request):
    return _list(request, "deal")


# --- record pages ---------------------------------------------------------------------


@login_required
@require_GET
def organization_detail(request, record_id: int):
    org = get_record_or_404(request.user, "organization", record_id, related=("owner",))
    context = record_page_context(request, "organization", org)
    context |= {"contacts": queries.organization_contacts(request.user, org), "deals": queries.organization_deals(request.user, org)}
    # "Log a call" names one of these contacts (telephony.services.do_log_call takes a contact or a deal).
    context["call_form"] = CallForm(auto_id="call_%s", contact_choices=[(c.id, c.full_name) for c in context["contacts"]], contact_required=True)
    return render(request, "crm/organization_detail.html", context)


@login_required
@require_GET
def contact_detail(request, record_id: int):
    contact = get_record_or_404(request.user, "contact", record_id, related=("organization", "owner"))
    context = record_page_context(request, "contact", contact)
    context |= {"deal_links": queries.contact_deals(request.user, contact), "hide_organization": queries.organization_hidden(request.user, contact)}
    context["phones"] = list(contact.phones.all())  # the summary, the Call button and the SMS action: one query
    return render(request, "crm/contact_detail.html", context)


@login_required
@require_GET
def deal_detail(request, record_id: int):
    deal = get_record_or_404(request.user, "deal", record_id, related=("organization", "owner"))
    context = record_page_context(request, "deal", deal)
    context |= {"deal_contacts": queries.deal_contacts(request.user, deal), "contact_form": DealContactForm(auto_id="dc_%s")}
    context["call_form"] = CallForm(auto_id="call_%s", contact_choices=[(link.contact_id, link.contact.full_name) for link in context["deal_contacts"]])
    context["hide_organization"] = queries.organization_hidden(request.user, deal)
    return render(request, "crm/deal_detail.html", context)


@login_required
@require_GET
def last_contacted(request, record_type: str, record_id: int):
    """The Last Contacted Via / On fields alone: reloaded after a quick action."""
    record = get_record_or_404(request.user, record_type, record_id)
    return render(request, "crm/_last_contacted.html", {"record": record, "record_type": record_type})


# --- create and edit ------------------------------------------------------------------

FORMS = {"organization": OrganizationForm, "contact": ContactForm, "deal": DealForm}
CREATE = {"organization": services.do_create_organization, "contact": services.do_create_contact, "deal": services.do_create_deal}
UPDATE = {"organization": services.do_update_organization, "contact": services.do_update_contact, "deal": services.do_update_deal}


def _initial(record_type: str, record) -> dict:
    return {**_record_initial(record_type, record), "owner": record.owner_id}


def _record_initial(record_type: str, record) -> dict:
    if record_type == "organization":
        return {f: getattr(record, f) for f in ("name", "website", "phone", "industry")}
    if record_type == "contact":
        return {
            **{f: getattr(record, f) for f in ("first_name", "last_name", "title")},
            "organization": record.organization_id,
            "emails": ", ".join(e.email for e in record.emails.all()),
            "phones": ", ".join(p.number for p in record.phones.all()),
        }
    return {**{f: getattr(record, f) for f in ("name", "stage", "amount", "expected_close_date")}, "organization": record.organization_id}


def _form(record_type: str, request, record=None, **kwargs):
    owners = queries.owner_choices(request.user)
    organizations = queries.organization_choices(request.user) if record_type != "organization" else None
    form = FORMS[record_type](request.POST if request.method == "POST" else None, owner_choices=owners, organization_choices=organizations, **kwargs)
    if record is not None:
        if organizations is not None and record.organization_id and record.organization_id not in {value for value, _ in organizations}:
            # A shared contact or deal whose organization the user may not
            # see: no picker (it would offer "none" and clear it on save).
            form.hide("organization")
        if not can_delete(request.user, record) or record.owner_id not in {value for value, _ in owners}:
            form.hide("owner")  # only who may delete may reassign (crm.permissions.check_can_reassign)
    return form


def _edit(request, record_type: str, record=None) -> HttpResponse:
    initial = _initial(record_type, record) if record is not None else {"owner": request.user.id}
    if record is None and request.GET.get("organization", "").isdigit():
        initial["organization"] = int(request.GET["organization"])
    form = _form(record_type, request, record, initial=initial)
    if request.method == "POST" and form.is_valid():
        if record is None:
            saved = form.run(CREATE[record_type], request.user, form.data_for_service())
        else:
            saved = form.run(UPDATE[record_type], request.user, record.id, form.data_for_service())
        if saved is not None:
            return redirect(f"{record_type}-detail", record_id=saved.id)
    status = 422 if request.method == "POST" else 200
    context = {"nav": record_type, "record_type": record_type, "record": record, "form": form}
    return render(request, "crm/record_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def record_create(request, record_type: str):
    return _edit(request, record_type)


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request, record_type: str, record_id: int):
    record = get_record_or_404(request.user, record_type, record_id)
    if record_type == "contact":
        record = queries.contacts_with_details(type(record).objects.filter(id=record.id)).get()
    return _edit(request, record_type, record)


# --- deal contacts ----------------------------------------------------------------------


@login_required
@require_POST
def deal_contact_add(request, record_id: int):
    deal = get_record_or_404(request.user, "deal", record_id)
    form = DealContactForm(request.POST, auto_id="dc_%s")
    if form.is_valid():
        form.run(services.do_link_contact_to_deal, request.user, deal.id, form.cleaned_data["contact"], form.cleaned_data["role"])
    ok = form.is_valid()
    context = {"deal": deal, "deal_contacts": queries.deal_contacts(request.user, deal), "contact_form": DealContactForm(auto_id="dc_%s") if ok else form}
    if not request.htmx:
        if not ok:
            report_form_errors(request, form)
        return redirect("deal-detail", record_id=deal.id)
    response = render(request, "crm/_deal_contacts.html", context, status=200 if ok else 422)
    return changed(response) if ok else response


@login_required
@require_POST
def deal_contact_remove(request, record_id: int, contact_id: int):
    deal = get_record_or_404(request.user, "deal", record_id)
    services.do_unlink_contact_from_deal(request.user, deal.id, contact_id)
    if not request.htmx:
        return redirect("deal-detail", record_id=deal.id)
    context = {"deal": deal, "deal_contacts": queries.deal_contacts(request.user, deal), "contact_form": DealContactForm(auto_id="dc_%s")}
    return changed(render(request, "crm/_deal_contacts.html", context))


@login_required
@require_GET
def contact_options(request):
    """<option>s for the deal page's contact picker, searched by name/email."""
    organization_id = request.GET.get("organization")
    contacts = queries.contact_choices(
        request.user, (request.GET.get("q") or "").strip()[:100] or None, int(organization_id) if (organization_id or "").isdigit() else None
    )
    return render(request, "crm/_contact_options.html", {"contacts": contacts})


# --- global search --------------------------------------------------------------------------


@login_required
@require_GET
def search(request):
    """The top bar's search: a dropdown of results for htmx, a full page
    without it (Enter in the search box, or JavaScript off)."""
    q = (request.GET.get("q") or "").strip()
    results = queries.search(request.user, q, limit=5 if request.htmx else 25)
    context = {"results": results, "search_query": q, "empty": not any(results.values())}
    if request.htmx:
        return render(request, "crm/_search_results.html", context)
    return render(request, "crm/search.html", context)

