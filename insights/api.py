"""REST endpoints of Sales Insights: three activity reports, as JSON and
as CSV. They read the rollup (insights.queries), which the worker refreshes
every minute: ``refreshed_at`` says how fresh the figures are."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpResponse, JsonResponse
from ninja import Query, Router, Schema
from ninja.params import P
from ninja.responses import NinjaJSONEncoder

from config.errors import Invalid
from config.schemas import Day, Id, InputSchema, Message, responses
from insights import queries
from insights.export import csv_response

router = Router(tags=["insights"])

CommaList = Query[str | None, P(max_length=500, pattern=r"^[A-Za-z0-9_,\s]*$")]


class ReportFilters(InputSchema):
    """Common filters. Days are the caller's local days (their time zone),
    both ends included; by default the last 90 days."""

    start: Day | None = None
    end: Day | None = None
    team_id: Id | None = None


class BucketFilters(ReportFilters):
    bucket: Literal["week", "month"] = "week"


class Period(Schema):
    start: date
    end: date
    time_zone: str
    bucket: str | None = None


class AddedRow(Schema):
    """One rep's week (or month): the activities added, then per kind;
    a kind the ``kinds`` filter leaves out is null (not counted)."""

    rep_id: int
    rep: str
    bucket: date
    activities: int
    event: int | None
    phone_call: int | None
    email: int | None
    email_campaign: int | None
    sms: int | None
    chat: int | None


class CompletedRow(Schema):
    rep_id: int
    rep: str
    kind: str
    activities: int
    duration_seconds: int


class EfficiencyRow(Schema):
    rep_id: int
    rep: str
    won_deals: int
    lost_deals: int
    activities_on_won_deals: int
    activities_on_closed_deals: int
    average_activities_per_won_deal: float | None
    estimated_activities_to_win: float | None
    average_duration_seconds: float | None


class AddedReport(Schema):
    period: Period
    refreshed_at: datetime | None
    rows: list[AddedRow]


class CompletedReport(Schema):
    period: Period
    refreshed_at: datetime | None
    rows: list[CompletedRow]


class EfficiencyReport(Schema):
    period: Period
    refreshed_at: datetime | None
    rows: list[EfficiencyRow]


CSV_RESPONSE = {
    "responses": {
        200: {
            "description": "The same rows as CSV, a header first.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}
# 503 (with Retry-After): the caller's time zone is being prepared by the worker.
UNAVAILABLE = {503: Message}


def _ids(text: str | None) -> list[int]:
    ids = []
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 2**53 - 1:
            raise Invalid.field(("query", "rep_ids"), f"{part!r} is not a user id")
        ids.append(int(part))
    if len(ids) > 100:
        raise Invalid.field(("query", "rep_ids"), "at most 100 reps")
    return ids


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _run(request, name: str, filters: ReportFilters, rep_ids: str | None, kinds: str | None, stages: str | None = None) -> queries.Report:
    checked = queries.check_filters(
        request.auth,
        **filters.dict(),
        rep_ids=_ids(rep_ids),
        kinds=_names(kinds),
        stages=_names(stages),
    )
    return queries.REPORTS[name](request.auth, checked)


def _out(report: queries.Report, bucketed: bool) -> HttpResponse:
    """The report as JSON, rendered directly rather than validated row by
    row against the response schema: the rows are built to that schema by
    insights.queries (the API tests and schemathesis check the answers).
    For the admin's year by week at 10M (5,724 rows), validating and dumping
    through the schema took 113 ms, rendering them directly 19 ms, the
    report itself 43 ms (bench/insights.py's dataset)."""
    f = report.filters
    period = {"start": f.start, "end": f.end, "time_zone": report.time_zone, "bucket": f.bucket if bucketed else None}
    return JsonResponse({"period": period, "refreshed_at": report.refreshed_at, "rows": report.rows}, encoder=NinjaJSONEncoder)


REPS = "Comma-separated user ids (within the caller's scope)"
KINDS = "Comma-separated activity kinds: event, phone_call, email, email_campaign, sms, chat"
STAGES = "Comma-separated deal stages, or none for activities on no deal"


@router.get("/insights/activities-added", response=responses({200: AddedReport, **UNAVAILABLE}))
def activities_added(request, filters: Query[BucketFilters], rep_ids: CommaList = None, kinds: CommaList = None, stages: CommaList = None):
    """Activities added (any status) per rep, week or month, and kind, on the
    local day they happened. Admins see everyone, managers their team, reps
    themselves."""
    return _out(_run(request, "activities-added", filters, rep_ids, kinds, stages), True)


@router.get("/insights/activities-added.csv", response=responses({200: None, **UNAVAILABLE}), openapi_extra=CSV_RESPONSE, url_name="insights-activities-added-csv")
def activities_added_csv(request, filters: Query[BucketFilters], rep_ids: CommaList = None, kinds: CommaList = None, stages: CommaList = None):
    return csv_response("activities-added", _run(request, "activities-added", filters, rep_ids, kinds, stages))


@router.get("/insights/activities-completed", response=responses({200: CompletedReport, **UNAVAILABLE}))
def activities_completed(request, filters: Query[ReportFilters], rep_ids: CommaList = None, kinds: CommaList = None, stages: CommaList = None):
    """Completed activities (held events, completed or hung-up calls, sent or
    received email, delivered SMS, ...) per rep and kind, with their effort:
    the total duration in seconds."""
    return _out(_run(request, "activities-completed", filters, rep_ids, kinds, stages), False)


@router.get("/insights/activities-completed.csv", response=responses({200: None, **UNAVAILABLE}), openapi_extra=CSV_RESPONSE, url_name="insights-activities-completed-csv")
def activities_completed_csv(request, filters: Query[ReportFilters], rep_ids: CommaList = None, kinds: CommaList = None, stages: CommaList = None):
    return csv_response("activities-completed", _run(request, "activities-completed", filters, rep_ids, kinds, stages))


@router.get("/insights/activity-efficiency", response=responses({200: EfficiencyReport, **UNAVAILABLE}))
def activity_efficiency(request, filters: Query[ReportFilters], rep_ids: CommaList = None, kinds: CommaList = None):
    """Per rep, over their deals closed in the period: average activities on
    a won deal, estimated activities to win one (activities on every closed
    deal, won or lost, per deal won) and the average duration of an activity
    on their won deals. Activities count up to the deal's closing."""
    return _out(_run(request, "activity-efficiency", filters, rep_ids, kinds), False)


@router.get("/insights/activity-efficiency.csv", response=responses({200: None, **UNAVAILABLE}), openapi_extra=CSV_RESPONSE, url_name="insights-activity-efficiency-csv")
def activity_efficiency_csv(request, filters: Query[ReportFilters], rep_ids: CommaList = None, kinds: CommaList = None):
    return csv_response("activity-efficiency", _run(request, "activity-efficiency", filters, rep_ids, kinds))
