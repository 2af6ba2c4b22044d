"""Plotly figures of the three reports, as plain dicts (web.charts puts
them in the page as JSON, without plotly's slow schema validation). Each figure says what it shows
in its title and hover text; the table under the chart carries the same
figures for screen readers and for copying."""
from __future__ import annotations

from collections import defaultdict

from insights.forms import KIND_LABELS
from web.charts import plotly_html

# One colour per kind, the same in every chart (colour-blind safe: Okabe-Ito).
KIND_COLOURS = {"event": "#0072B2", "phone_call": "#E69F00", "email": "#009E73", "email_campaign": "#CC79A7", "sms": "#D55E00", "chat": "#56B4E9"}
LAYOUT = {
    "barmode": "stack",
    "margin": {"l": 50, "r": 20, "t": 40, "b": 60},
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "hoverlabel": {"namelength": -1},
}


def duration_text(seconds: float | int | None) -> str:
    if not seconds:
        return "0m"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def bucket_label(bucket, size: str, years: int = 1) -> str:
    """Short tick labels ("Jun", "8 Jun"), the year added when the period
    spans several: a rep's periods stand under their name on the axis."""
    text = bucket.strftime("%b") if size == "month" else f"{bucket.day} {bucket:%b}"
    return f"{text} {bucket:%y}" if years > 1 else text


def short_name(name: str) -> str:
    """"Amara R." for "Amara Russo": many reps side by side on one axis."""
    first, _, rest = name.partition(" ")
    return f"{first} {rest[0]}." if rest else first


def added_figure(rows: list[dict], bucket: str) -> dict:
    """Bars per rep and week (or month), stacked by kind: a two-level x axis
    (rep, period) keeps each rep's periods together."""
    years = len({r["bucket"].year for r in rows})
    many = len({r["rep_id"] for r in rows}) > 6
    axis = [[short_name(r["rep"]) if many else r["rep"] for r in rows], [bucket_label(r["bucket"], bucket, years) for r in rows]]
    data = [
        {
            "type": "bar",
            "name": KIND_LABELS[kind],
            "x": axis,
            "y": [r[kind] for r in rows],
            "marker": {"color": KIND_COLOURS[kind]},
            "hovertemplate": "%{x}<br>" + KIND_LABELS[kind] + ": %{y}<extra></extra>",
        }
        for kind in KIND_COLOURS
        if any(r[kind] for r in rows)
    ]
    layout = {
        **LAYOUT,
        "margin": {**LAYOUT["margin"], "b": 90, "t": 70},
        "title": {"text": f"Activities added per rep and {bucket}", "x": 0.01, "xanchor": "left"},
        "yaxis": {"title": {"text": "Activities"}},
        "xaxis": {"tickangle": -90, "tickfont": {"size": 10}},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    }
    return {"data": data, "layout": layout}


def completed_figure(rows: list[dict]) -> dict:
    """Bars per rep stacked by kind; hovering a bar shows its count and effort."""
    reps: list[str] = []
    cells: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        if r["rep"] not in reps:
            reps.append(r["rep"])
        cells[r["kind"]][r["rep"]] = r
    data = []
    for kind in KIND_COLOURS:
        if kind not in cells:
            continue
        by_rep = cells[kind]
        data.append(
            {
                "type": "bar",
                "name": KIND_LABELS[kind],
                "x": reps,
                "y": [by_rep[rep]["activities"] if rep in by_rep else 0 for rep in reps],
                "customdata": [duration_text(by_rep[rep]["duration_seconds"]) if rep in by_rep else "0m" for rep in reps],
                "marker": {"color": KIND_COLOURS[kind]},
                "hovertemplate": "<b>%{x}</b><br>" + KIND_LABELS[kind] + ": %{y} completed<br>Effort: %{customdata}<extra></extra>",
            }
        )
    return {"data": data, "layout": {**LAYOUT, "title": {"text": "Activities completed per rep (hover: count and effort)"}, "yaxis": {"title": {"text": "Completed activities"}}}}


def efficiency_figure(rows: list[dict]) -> dict:
    """Per rep: average activities per won deal and the estimate to win one,
    side by side; the average duration per activity on a second axis."""
    won = [r for r in rows if r["won_deals"]]
    reps = [r["rep"] for r in won]
    hover = [f"{r['won_deals']} won, {r['lost_deals']} lost" for r in won]
    data = [
        {
            "type": "bar",
            "name": "Average activities per won deal",
            "x": reps,
            "y": [r["average_activities_per_won_deal"] for r in won],
            "customdata": hover,
            "marker": {"color": "#0072B2"},
            "hovertemplate": "<b>%{x}</b><br>%{y} activities per won deal<br>%{customdata}<extra></extra>",
        },
        {
            "type": "bar",
            "name": "Estimated activities to win a deal",
            "x": reps,
            "y": [r["estimated_activities_to_win"] for r in won],
            "customdata": hover,
            "marker": {"color": "#E69F00"},
            "hovertemplate": "<b>%{x}</b><br>about %{y} activities to win a deal (lost deals' effort included)<br>%{customdata}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "Average duration per activity (minutes)",
            "x": reps,
            "y": [round((r["average_duration_seconds"] or 0) / 60, 1) for r in won],
            "customdata": [duration_text(r["average_duration_seconds"]) for r in won],
            "yaxis": "y2",
            "marker": {"color": "#009E73", "size": 12, "symbol": "diamond"},
            "hovertemplate": "<b>%{x}</b><br>%{customdata} per activity<extra></extra>",
        },
    ]
    layout = {
        **LAYOUT,
        "margin": {**LAYOUT["margin"], "r": 80},
        "barmode": "group",
        "title": {"text": "Activity efficiency on deals closed in the period"},
        "yaxis": {"title": {"text": "Activities"}},
        "yaxis2": {"title": {"text": "Minutes per activity", "standoff": 10}, "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
    }
    return {"data": data, "layout": layout}


def to_html(figure: dict, div_id: str) -> str:
    return plotly_html(figure, div_id, height="420px", config={"displayModeBar": False, "responsive": True})
