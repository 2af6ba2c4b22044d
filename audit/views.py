"""The History section of a record page: its audit entries, newest first,
loaded when the reader opens it (no cost on every page view)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import queries
from config.errors import Invalid, NotFound

PAGE = 20


@login_required
@require_GET
def history(request, record_type: str, record_id: int):
    cursor = request.GET.get("cursor") or None
    try:
        page = queries.record_history(request.user, record_type, record_id, cursor, PAGE)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except Invalid:
        return render(request, "touchpoints/_bad_cursor.html")
    entries = [
        {**queries.entry_out(e), "rows": [(name, old, new) for name, (old, new) in sorted(e.changes.items())]}
        for e in page.items
    ]
    return render(
        request,
        "audit/_history.html",
        {"entries": entries, "next_cursor": page.next_cursor, "record_type": record_type, "record_id": record_id, "more": bool(cursor)},
    )
