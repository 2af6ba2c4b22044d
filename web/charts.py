"""Plotly charts without inline script: the figure goes into the page as
JSON (``<script type="application/json">``, data that no browser runs) and
web/static/web/app.js draws it, so the Content-Security-Policy can refuse
inline script (docs/security.md, "Web security")."""
from __future__ import annotations

import plotly.io
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# Characters that could end the <script> element or start markup inside it,
# escaped as JSON allows (what Django's json_script does).
_SCRIPT_SAFE = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def plotly_html(figure: dict, div_id: str, height: str, config: dict | None = None) -> SafeString:
    """The chart's container and its figure. Serialized by plotly's own
    encoder (dates, decimals), without its (slow) schema validation: the
    figures here are plain dicts this code builds."""
    payload = plotly.io.to_json({"data": figure.get("data", []), "layout": figure.get("layout", {}), "config": config or {}}, validate=False)
    figure_id = f"{div_id}-figure"
    return format_html(
        '<div style="height:{}; width:100%;"><div id="{}" class="plotly-graph-div" style="height:100%; width:100%;" data-plotly="{}"></div></div>'
        '<script type="application/json" id="{}">{}</script>',
        height, div_id, figure_id, figure_id, mark_safe(payload.translate(_SCRIPT_SAFE)),
    )  # fmt: skip
