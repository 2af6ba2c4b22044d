"""Workflow pages: the list, the editor (condition builder, trigger,
ordered actions), and the run log.

Writes go through workflows.services (the API's functions), reads through
workflows.queries. Everyone may read; admins and managers edit.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automation.builder import builder_context
from automation.conditions import RECORD_TYPES
from config.errors import Forbidden, Invalid, NotFound
from crm.queries import owner_choices
from workflows import editor, queries, services
from workflows.models import Trigger, Workflow

RECORD_TYPE_LABELS = [(t, t.capitalize() + "s") for t in RECORD_TYPES]


def _workflow_or_404(workflow_id: int) -> Workflow:
    try:
        return services.get_workflow(workflow_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


WHEN = {
    Trigger.RECORD_CREATED: "When one is created",
    Trigger.RECORD_UPDATED: "When one is updated",
    Trigger.TOUCHPOINT_LOGGED: "When a touchpoint is logged on one",
}


def _with_labels(out: dict) -> dict:
    return {**out, "when": f"Daily at {out['schedule_time']}" if out["trigger"] == Trigger.SCHEDULE else WHEN[out["trigger"]]}


def _page_url(cursor: str | None) -> str | None:
    return "?" + urlencode({"cursor": cursor}) if cursor else None


def _page(fetch, cursor: str | None):
    try:
        return fetch(cursor)
    except Invalid:  # a cursor edited by hand: start over
        return fetch(None)


@login_required
@require_GET
def workflow_index(request):
    page = _page(lambda c: queries.list_workflows(None, c, settings.UI_PAGE_SIZE), request.GET.get("cursor"))
    context = {
        "nav": "workflows",
        "workflows": [_with_labels(queries.workflow_out(w, request.user)) for w in page.items],
        "can_edit": request.user.sees_everything,
        "next_url": _page_url(page.next_cursor),
        "first_url": "?" if request.GET.get("cursor") else None,
    }
    return render(request, "workflows/workflow_list.html", context)


def _editor(request, values: dict, *, workflow: Workflow | None = None, errors: list[dict] | None = None, status: int = 200) -> HttpResponse:
    fields, condition_errors = editor.form_errors(errors or [])
    users = owner_choices(request.user)
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "values": {**values, "schedule_time": values.get("schedule_time") or ""},
        "errors": fields,
        "other_errors": [e["msg"] for e in errors or [] if not [p for p in e["loc"] if p != "body"]],
        "builder": builder_context(values["record_type"], values["conditions"], errors=condition_errors, user=request.user, zone=f"the company time zone, {settings.COMPANY_TIME_ZONE}"),
        "actions": editor.actions_context(values["record_type"], values["actions"], errors=errors, users=users),
        "record_types": RECORD_TYPE_LABELS,
        "triggers": list(Trigger.choices),
        "can_edit": request.user.sees_everything,
        "company_time_zone": settings.COMPANY_TIME_ZONE,
        "out": _with_labels(queries.workflow_out(workflow, request.user)) if workflow else None,
    }
    return render(request, "workflows/workflow_form.html", context, status=status)


def _values_of(workflow: Workflow) -> dict:
    return {
        "name": workflow.name,
        "record_type": workflow.record_type,
        "trigger": workflow.trigger,
        "schedule_time": workflow.schedule_time.strftime("%H:%M") if workflow.schedule_time else "",
        "conditions": workflow.conditions,
        "actions": workflow.actions,
        "active": workflow.active,
        "reenroll": workflow.reenroll,
    }


@login_required
@require_http_methods(["GET", "POST"])
def workflow_new(request):
    if not request.user.sees_everything:
        raise Forbidden("only admins and managers create workflows")
    if request.method == "GET":
        record_type = request.GET.get("record_type") if request.GET.get("record_type") in RECORD_TYPES else "deal"
        values = {"name": "", "record_type": record_type, "trigger": Trigger.RECORD_UPDATED, "schedule_time": "09:00", "conditions": {}, "actions": [], "active": True, "reenroll": False}
        return _editor(request, values)
    values = editor.workflow_from_form(request.POST)
    try:
        workflow = services.do_create_workflow(request.user, values)
    except Invalid as exc:
        return _editor(request, _shown(values), errors=exc.errors, status=422)
    return redirect("workflow-detail", workflow_id=workflow.id)


def _shown(values: dict) -> dict:
    # An unknown record type (a forged form) shows as the first one.
    return {**values, "record_type": values["record_type"] if values["record_type"] in RECORD_TYPES else RECORD_TYPES[0]}


@login_required
@require_http_methods(["GET", "POST"])
def workflow_detail(request, workflow_id: int):
    """The workflow: its editor for admins and managers, read-only for others."""
    workflow = _workflow_or_404(workflow_id)
    if request.method == "GET":
        return _editor(request, _values_of(workflow), workflow=workflow)
    values = editor.workflow_from_form(request.POST)
    try:
        services.do_update_workflow(request.user, workflow.id, values)
    except Invalid as exc:
        return _editor(request, _shown(values), workflow=workflow, errors=exc.errors, status=422)
    return redirect("workflow-detail", workflow_id=workflow.id)


@login_required
@require_POST
def workflow_delete(request, workflow_id: int):
    workflow = _workflow_or_404(workflow_id)
    services.do_delete_workflow(request.user, workflow.id)
    return redirect("workflow-index")


@login_required
@require_POST
def actions_block(request):
    """htmx: the actions block after an edit (add, remove, move up, a type changed)."""
    record_type = request.POST.get("record_type") if request.POST.get("record_type") in RECORD_TYPES else RECORD_TYPES[0]
    actions = editor.apply_edit(editor.actions_from_form(request.POST), request.POST.get("actions-edit", ""))
    context = {"actions": editor.actions_context(record_type, actions, users=owner_choices(request.user))}
    return render(request, "workflows/_actions.html", context)


@login_required
@require_GET
def workflow_runs(request, workflow_id: int):
    workflow = _workflow_or_404(workflow_id)
    page = _page(lambda c: queries.runs(workflow, c, settings.UI_PAGE_SIZE), request.GET.get("cursor"))
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "runs": [queries.run_out(r) for r in page.items],
        "next_url": _page_url(page.next_cursor),
        "first_url": "?" if request.GET.get("cursor") else None,
    }
    return render(request, "workflows/run_list.html", context)


@login_required
@require_GET
def workflow_run(request, workflow_id: int, run_id: int):
    workflow = _workflow_or_404(workflow_id)
    try:
        run = queries.get_run(workflow, run_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    page, hidden = _page(lambda c: queries.steps(run, request.user, c, 100), request.GET.get("cursor"))
    matched_ids = queries.visible_matched_ids(run, request.user)[:200]
    names = queries.record_names(run.record_type, [s.record_id for s in page.items] + matched_ids)
    steps = [{**queries.step_out(s), "name": names.get(s.record_id) or f"{run.record_type.capitalize()} {s.record_id} (deleted)"} for s in page.items]
    context = {
        "nav": "workflows",
        "workflow": workflow,
        "run": queries.run_out(run),
        "steps": steps,
        "hidden": hidden,
        "matched": [(i, names.get(i) or f"{run.record_type.capitalize()} {i} (deleted)") for i in matched_ids],
        "record_url": f"{run.record_type}-detail",
        "next_url": _page_url(page.next_cursor),
        "first_url": "?" if request.GET.get("cursor") else None,
    }
    return render(request, "workflows/run_detail.html", context)
