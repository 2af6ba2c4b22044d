"""Pages for custom lists: the lists page, creating and editing a list (the
condition builder, columns, sort, sharing), a list's records with "Load
more" and its CSV export.

Writes go through lists.services (the API's functions), reads through
lists.queries. A list the user may not use answers 404; changing one they
may use but do not own answers 403.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automation.builder import builder_context, tree_from_form
from automation.conditions import RECORD_TYPES, describe
from config.errors import Invalid, NotFound
from lists import queries, services
from lists.export import export_response, xlsx_response
from lists.forms import ListForm
from lists.models import SavedList
from lists.rows import page_cell

PREFIX = "c"
TITLES = {"organization": "Organizations", "contact": "Contacts", "deal": "Deals"}


def _list_or_404(request, list_id: int) -> SavedList:
    try:
        return queries.get_visible_list(request.user, list_id, with_owner=True)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@login_required
@require_GET
def list_index(request):
    grouped = queries.index_lists(request.user)
    sections = [{"record_type": rt, "title": TITLES[rt], **grouped[rt]} for rt in RECORD_TYPES]
    for section in sections:
        for saved_list in section["mine"] + section["others"]:
            saved_list.description = describe(saved_list.record_type, saved_list.conditions or {"all": []})
    return render(request, "lists/list_index.html", {"nav": "lists", "sections": sections, "record_type": request.GET.get("record_type")})


def _form(request, record_type: str, saved_list: SavedList | None = None, data=None, initial=None) -> ListForm:
    people, teams = queries.share_choices(request.user)
    return ListForm(data, initial=initial, record_type=record_type, user_choices=people, team_choices=teams, saved_list=saved_list, auto_id="list_%s")


def _edit_page(request, record_type: str, saved_list: SavedList | None):
    """The new/edit form. POST saves through the service; its errors show
    under their inputs, the conditions' on the builder's rows (422)."""
    shared = queries.shared_ids(saved_list) if saved_list is not None else ([], [])
    initial = ListForm.initial_for(record_type, saved_list, shared)
    tree = saved_list.conditions if saved_list is not None else {"all": []}
    tree_errors: list[dict] = []
    status = 200
    if request.method == "POST":
        form = _form(request, record_type, saved_list, data=request.POST, initial=initial)
        tree = tree_from_form(request.POST, PREFIX)
        if form.is_valid():
            data = form.data_for_service(tree)
            try:
                if saved_list is None:
                    saved_list = services.do_create_list(request.user, data)
                else:
                    services.do_update_list(request.user, saved_list.id, {k: v for k, v in data.items() if k != "record_type"})
            except Invalid as exc:
                tree_errors = form.add_service_errors(exc.errors)
            else:
                messages.success(request, f"Saved the list “{data['name']}”.")
                return redirect("list-detail", list_id=saved_list.id)
        status = 422
    else:
        form = _form(request, record_type, saved_list, initial=initial)
    context = {
        "nav": "lists",
        "form": form,
        "saved_list": saved_list,
        "record_type": record_type,
        "record_title": TITLES[record_type],
        "builder": builder_context(record_type, tree, prefix=PREFIX, errors=tree_errors, user=request.user),
    }
    return render(request, "lists/list_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def list_new(request):
    record_type = request.GET.get("record_type") or request.POST.get("record_type")
    if record_type not in RECORD_TYPES:
        return render(request, "lists/list_pick_type.html", {"nav": "lists", "types": [(rt, TITLES[rt]) for rt in RECORD_TYPES]})
    return _edit_page(request, record_type, None)


@login_required
@require_http_methods(["GET", "POST"])
def list_edit(request, list_id: int):
    saved_list = _list_or_404(request, list_id)
    services.check_can_edit(request.user, saved_list)  # Forbidden -> 403 page (web.http)
    return _edit_page(request, saved_list.record_type, saved_list)


@login_required
@require_POST
def list_delete(request, list_id: int):
    saved_list = _list_or_404(request, list_id)
    services.do_delete_list(request.user, saved_list.id)  # Forbidden -> 403 page
    messages.success(request, f"Deleted the list “{saved_list.name}”.")
    return redirect("list-index")


def _rows(request, saved_list: SavedList, page, columns) -> list[dict]:
    tz = request.user.tzinfo
    rows = []
    for record in page.items:
        cells = [page_cell(c, record, tz) for c in columns]
        # The record's name links to it (a contact's first and last name
        # both, when filled); a row showing no name links its first cell.
        for cell in cells:
            cell["link"] = cell["link"] and bool(cell["text"])
        if cells and not any(cell["link"] for cell in cells):
            cells[0]["link"] = True
        rows.append({"id": record.id, "url": reverse(f"{saved_list.record_type}-detail", args=[record.id]), "cells": cells})
    return rows


@login_required
@require_GET
def list_detail(request, list_id: int):
    """The list's records in its order; "Load more" appends the next page
    (htmx) or opens it (without JavaScript)."""
    saved_list = _list_or_404(request, list_id)
    cursor = request.GET.get("cursor")
    try:
        page, columns = queries.records_page(request.user, saved_list, cursor, settings.UI_PAGE_SIZE)
    except Invalid:  # a cursor edited by hand: start over
        cursor = None
        page, columns = queries.records_page(request.user, saved_list, None, settings.UI_PAGE_SIZE)
    context = {
        "nav": "lists",
        "saved_list": saved_list,
        "columns": columns,
        "rows": _rows(request, saved_list, page, columns),
        "next_cursor": page.next_cursor,
        "cursor": cursor,
    }
    if request.htmx and cursor:
        return render(request, "lists/_record_rows.html", context)
    user_ids, team_ids = queries.shared_ids(saved_list)
    context |= {
        "description": describe(saved_list.record_type, saved_list.conditions or {"all": []}),
        "record_title": TITLES[saved_list.record_type],
        "can_edit": queries.can_edit(request.user, saved_list),
        "shared_with": _sharing_text(saved_list, len(user_ids), len(team_ids)),
    }
    return render(request, "lists/list_detail.html", context)


def _sharing_text(saved_list: SavedList, people: int, teams: int) -> str:
    if saved_list.shared_with_everyone:
        return "Shared with everyone"
    parts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in ((people, "person"), (teams, "team")) if n]
    parts = [p.replace("persons", "people") for p in parts]
    return f"Shared with {' and '.join(parts)}" if parts else "Private"


@login_required
@require_GET
def list_export(request, list_id: int):
    """The CSV download (the API's export, for the signed-in browser)."""
    return export_response(request.user, _list_or_404(request, list_id))


@login_required
@require_GET
def list_export_xlsx(request, list_id: int):
    """The Excel download (the API's export, for the signed-in browser)."""
    return xlsx_response(request.user, _list_or_404(request, list_id))
