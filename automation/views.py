"""The condition builder's htmx endpoint (automation.builder)."""
from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from automation.builder import apply_edit, builder_context, form_record_type

PREFIX = re.compile(r"^[a-z]{1,10}$")


@login_required
@require_POST
def builder(request):
    """Re-render the builder after an edit: the rows come from the form
    itself, so nothing is stored until the page's own form is saved."""
    prefix = request.GET.get("prefix") or request.POST.get("builder-prefix") or "c"
    if not PREFIX.match(prefix):
        prefix = "c"
    record_type = form_record_type(request.POST, prefix)
    if request.POST.get("record_type") and request.POST.get("record_type") != request.POST.get(f"{prefix}-record_type"):
        rows = []  # the page's record type changed: its fields are other fields
        record_type = request.POST["record_type"]
    else:
        rows = apply_edit(request.POST, prefix, request.POST.get("builder-action", ""))
    zone = request.POST.get(f"{prefix}-zone", "")
    context = {"builder": builder_context(record_type, prefix=prefix, user=request.user, rows=rows, zone=zone)}
    return render(request, "automation/_builder.html", context)
