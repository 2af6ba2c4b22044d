"""Sales Insights pages: one page per report with its filters, a plotly
chart, the same figures as a table, and a CSV download (the API's .csv
endpoint with the same filters: one code path for the file).

Reads come from insights.queries, the API's; a filter the rules refuse
(a rep outside the viewer's scope, a period over five years) shows its
message under the input and answers 422, like the other forms."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from config.errors import Unavailable
from insights import charts, queries
from insights.forms import KIND_LABELS, InsightsFilterForm

PAGES = {
    "activities-added": "Activities Added",
    "activities-completed": "Activities Completed",
    "activity-efficiency": "Activity Efficiency",
}
INTRO = {
    "activities-added": "Every activity your team logged (events, calls, emails, campaigns, SMS, chats), whatever its outcome, on the day it happened.",
    "activities-completed": "Activities that took place (held events, completed calls, sent or received email, delivered SMS, chats), with their effort: the total duration. Hover a bar for both.",
    "activity-efficiency": "For deals closed in the period: how many activities each won deal took, an estimate of the activities it takes to win one "
    "(the effort on lost deals included), and the average duration of an activity on the won deals.",
}


@login_required
@require_GET
def insights_index(request):
    return redirect("insights-report", name="activities-added")


def _api_query(filters: queries.Filters, name: str) -> str:
    params = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if name == "activities-added":
        params["bucket"] = filters.bucket
    if filters.team_id:
        params["team_id"] = filters.team_id
    if filters.rep_ids:
        params["rep_ids"] = ",".join(map(str, filters.rep_ids))
    if filters.kinds:
        params["kinds"] = ",".join(filters.kinds)
    if filters.stages and name != "activity-efficiency":
        params["stages"] = ",".join(filters.stages)
    return urlencode(params)


@login_required
@require_GET
def report_page(request, name: str):
    if name not in PAGES:
        raise Http404("no such report")
    teams, reps = queries.filter_choices(request.user)
    data = request.GET.copy()
    today = queries.today_for(request.user)
    data.setdefault("end", today.isoformat())
    data.setdefault("start", (today - timedelta(days=queries.DEFAULT_PERIOD_DAYS - 1)).isoformat())
    form = InsightsFilterForm(data, teams=teams, reps=reps)
    context = {"nav": "insights", "name": name, "pages": PAGES, "title": PAGES[name], "intro": INTRO[name], "form": form}
    status = 200
    arguments = form.arguments()
    filters = form.run(queries.check_filters, request.user, **arguments) if arguments is not None else None
    if filters is None:
        status = 422
    else:
        try:
            report = queries.REPORTS[name](request.user, filters)
        except Unavailable as exc:
            context["preparing"] = str(exc)
            status = 503
        else:
            rows = [{**r, "kind_label": KIND_LABELS.get(r.get("kind"), ""), "effort": _hms(r.get("duration_seconds", r.get("average_duration_seconds")))} for r in report.rows]
            if name == "activities-added":
                context.update(_pivot(report.rows))
            context.update(report=report, rows=rows, chart=_chart(name, report), csv_url=f"{reverse(f'api-v1:insights-{name}-csv')}?{_api_query(filters, name)}")
    response = render(request, "insights/report.html", context, status=status)
    if status == 503:
        response["Retry-After"] = "60"
    return response


def _pivot(rows: list[dict]) -> dict:
    """Activities Added as a table: a column per kind present."""
    kinds = [k for k in KIND_LABELS if any(r[k] for r in rows)]
    return {"pivot_kinds": [KIND_LABELS[k] for k in kinds], "pivot": [{**r, "counts": [r[k] or 0 for k in kinds]} for r in rows]}


def _hms(seconds: float | int | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _chart(name: str, report: queries.Report) -> str | None:
    if not report.rows:
        return None
    if name == "activities-added":
        figure = charts.added_figure(report.rows, report.filters.bucket)
    elif name == "activities-completed":
        figure = charts.completed_figure(report.rows)
    else:
        if not any(r["won_deals"] for r in report.rows):
            return None
        figure = charts.efficiency_figure(report.rows)
    return charts.to_html(figure, div_id=f"chart-{name}")
