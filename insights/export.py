"""Sales Insights reports as CSV: the same rows the API returns, one per
line, with a header. The page's "Download CSV" links to the API's .csv
endpoints (the browser's session authenticates there too), so both give
the same file."""
from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from insights.queries import Report
from insights.rules import ACTIVITY_KINDS

COLUMNS: dict[str, tuple[str, ...]] = {
    # One line per rep and period, a column per kind counted (those the
    # kinds filter keeps), as a spreadsheet user lays it out.
    "activities-added": ("rep_id", "rep", "bucket", "activities", *ACTIVITY_KINDS),
    "activities-completed": ("rep_id", "rep", "kind", "activities", "duration_seconds"),
    "activity-efficiency": (
        "rep_id",
        "rep",
        "won_deals",
        "lost_deals",
        "activities_on_won_deals",
        "activities_on_closed_deals",
        "average_activities_per_won_deal",
        "estimated_activities_to_win",
        "average_duration_seconds",
    ),
}


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A rep's name is free text: never let a spreadsheet read it as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_response(name: str, report: Report) -> HttpResponse:
    """A report is a few thousand rows at most (it reads the rollup), so it
    is written whole rather than streamed."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = COLUMNS[name]
    if name == "activities-added" and report.filters.kinds:
        columns = tuple(c for c in columns if c not in ACTIVITY_KINDS or c in report.filters.kinds)
    writer.writerow(columns)
    for row in report.rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    f = report.filters
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv"'
    return response
