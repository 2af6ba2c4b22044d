"""Up Next on record pages, the quick actions for planned work, and the
Actions dashboard."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.services import do_set_idle_deal_days
from activities import queries, services
from activities.forms import EventForm, OutcomeForm, TaskForm
from activities.models import TaskStatus
from config.errors import Invalid
from web.components import EMOTICON_CHOICES, preference, up_next_context
from web.http import changed, get_record_or_404, quick_action, report_form_errors


@login_required
@require_GET
def up_next(request, record_type: str, record_id: int):
    get_record_or_404(request.user, record_type, record_id)
    return render(request, "activities/_up_next.html", up_next_context(request.user, record_type, record_id))


@login_required
@require_POST
def create_event(request, record_type: str, record_id: int):
    return quick_action(request, record_type, record_id, EventForm, "activities/_event_form.html", lambda form: services.do_create_event(request.user, form.data_for_service(record_type, record_id)))


@login_required
@require_POST
def create_task(request, record_type: str, record_id: int):
    return quick_action(request, record_type, record_id, TaskForm, "activities/_task_form.html", lambda form: services.do_create_task(request.user, form.data_for_service(record_type, record_id)))


@login_required
@require_POST
def event_outcome(request, event_id: int):
    """Mark an event Held / Not Held (with an emoticon when held): it
    becomes a touchpoint and, when held, moves Last Contacted. Answers with
    nothing but the change event: Up Next, Activity and the summary reload."""
    queries.get_visible_event(request.user, event_id)  # an outsider gets 404 whatever they posted
    form = OutcomeForm(request.POST, auto_id=f"outcome_{event_id}_%s")
    if form.is_valid() and form.run(services.do_update_event, request.user, event_id, form.data_for_service()) is not None:
        if not request.htmx:
            return redirect(_back(request))
        return changed(render(request, "activities/_outcome_done.html"))
    if not request.htmx:
        report_form_errors(request, form)
        return redirect(_back(request))
    return render(request, "activities/_outcome_errors.html", {"form": form}, status=422)


@login_required
@require_POST
def task_done(request, task_id: int):
    services.do_update_task(request.user, task_id, {"status": TaskStatus.COMPLETED})
    if not request.htmx:
        return redirect(_back(request))
    return changed(render(request, "activities/_outcome_done.html"))


@login_required
@require_GET
def dashboard(request):
    """The Actions dashboard, "Me" tab: my overdue, upcoming and recently
    completed activities, and my idle deals."""
    days = preference(request.user).idle_deal_days or None
    context = {"nav": "dashboard", "me": queries.my_actions(request.user, idle_days=days), "emoticon_choices": EMOTICON_CHOICES}
    return render(request, "activities/dashboard.html", context)


@login_required
@require_POST
def idle_days(request):
    try:
        do_set_idle_deal_days(request.user, int(request.POST.get("idle_deal_days", "")))
    except (ValueError, Invalid):
        messages.error(request, "Idle after: enter a number of days between 1 and 365.")
    return redirect("dashboard")


def _back(request) -> str:
    """Where a plain (non-htmx) form post returns: the page it came from."""
    target = request.POST.get("next") or ""
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else reverse("dashboard")
