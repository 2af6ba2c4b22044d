"""The record page's Activity section, emotional journey, and the quick
actions that write to the log (log a call, add a note)."""
from __future__ import annotations

from functools import partial

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.services import do_set_hidden_kinds
from config.errors import Invalid
from crm import queries as crm_queries
from telephony.services import do_log_call
from touchpoints import queries
from touchpoints.forms import CallForm, NoteForm
from touchpoints.rules import Kind
from touchpoints.services import record_touchpoint
from web.charts import plotly_html
from web.components import activity_context
from web.http import get_record_or_404, quick_action
from web.templatetags.ui import EMOTICONS


@login_required
@require_GET
def activity(request, record_type: str, record_id: int):
    """One page of the Activity section: the first (the whole section, after
    a change) or, with ``cursor``, the next rows for infinite scroll."""
    get_record_or_404(request.user, record_type, record_id)
    cursor = request.GET.get("cursor")
    try:
        context = activity_context(request.user, record_type, record_id, cursor)
    except Invalid:
        # 200, not 400: htmx swaps only successful answers into the list, and
        # this one is a message for the reader, in place of "Loading more".
        return render(request, "touchpoints/_bad_cursor.html")
    template = "touchpoints/_timeline_page.html" if cursor else "touchpoints/_activity.html"
    return render(request, template, {"activity": context})


@login_required
@require_POST
def activity_filter(request, record_type: str, record_id: int):
    """Turn kinds on or off in the Activity section; remembered per user,
    so every record page opens with the same filter."""
    get_record_or_404(request.user, record_type, record_id)
    shown = set(request.POST.getlist("kinds"))
    do_set_hidden_kinds(request.user, [k for k in Kind.values if k not in shown])
    if not request.htmx:
        return redirect(f"{record_type}-detail", record_id=record_id)
    context = activity_context(request.user, record_type, record_id)
    return render(request, "touchpoints/_activity.html", {"activity": context})


@login_required
@require_GET
def journey(request, record_type: str, record_id: int):
    """The emotional journey: a small plotly chart of emoticons over time."""
    get_record_or_404(request.user, record_type, record_id)
    points = queries.emotional_journey(record_type, record_id, viewer=request.user)
    chart = None
    if points:
        chart = plotly_html(_journey_figure(points), f"journey-{record_type}-{record_id}", height="200px", config={"displayModeBar": False, "responsive": True})
    return render(request, "touchpoints/_journey.html", {"chart": chart, "points": points})


def _journey_figure(points: list[dict]) -> dict:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers+text",
                "x": [p["occurred_at"].isoformat() for p in points],
                "y": [p["emoticon"] for p in points],
                "text": [EMOTICONS[p["emoticon"]][0] for p in points],
                "textposition": "top center",
                "hovertext": [f"{EMOTICONS[p['emoticon']][1]}: {p['subject'] or p['kind']}" for p in points],
                "hoverinfo": "text+x",
                "line": {"shape": "linear", "color": "#1f5fbf"},  # a spline would overshoot the 1..5 scale
            }
        ],
        "layout": {
            "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
            "yaxis": {"range": [0.5, 5.9], "tickvals": [1, 2, 3, 4, 5], "ticktext": [g for g, _ in EMOTICONS.values()], "fixedrange": True},
            "xaxis": {"type": "date", "fixedrange": True},
            "showlegend": False,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


def call_form_class(user, record_type: str, record):
    """CallForm for a record page: on a deal or organization page with a
    "With" picker of the record's contacts the user may see (the lists the
    page shows; crm.queries)."""
    if record_type == "deal":
        choices = [(link.contact_id, link.contact.full_name) for link in crm_queries.deal_contacts(user, record)]
        return partial(CallForm, contact_choices=choices)
    if record_type == "organization":
        choices = [(c.id, c.full_name) for c in crm_queries.organization_contacts(user, record)]
        return partial(CallForm, contact_choices=choices, contact_required=True)
    return CallForm


@login_required
@require_POST
def log_call(request, record_type: str, record_id: int):
    """The "Log a call" quick action: telephony.services.do_log_call, the
    path of the API's POST /calls/log and of the providers' callbacks."""
    record = get_record_or_404(request.user, record_type, record_id)
    form_class = call_form_class(request.user, record_type, record)
    return quick_action(request, record_type, record_id, form_class, "touchpoints/_call_form.html", lambda form: do_log_call(request.user, **form.log_arguments(record_type, record_id)))


@login_required
@require_POST
def add_note(request, record_type: str, record_id: int):
    return quick_action(request, record_type, record_id, NoteForm, "touchpoints/_note_form.html", lambda form: record_touchpoint(request.user, form.touchpoint(record_type, record_id)))
