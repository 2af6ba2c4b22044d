"""Pages for imports: upload a CSV, then watch the job (htmx refreshes its
figures until it ends) and download the refused rows.

The same service calls as POST /api/v1/imports: the upload is stored, the
job created (a bad file or mapping shows its reason on the form) and the
worker runs it.
"""
from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from config.errors import Invalid, NotFound
from imports import columns, queries, services
from imports.uploads import store_upload

TYPES = (("contacts", "Contacts"), ("organizations", "Organizations"), ("deals", "Deals"), ("touchpoints", "Touchpoints"))


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request):
    chosen = request.POST.get("record_type") or request.GET.get("record_type") or "contacts"
    context = {"nav": "imports", "types": TYPES, "chosen": chosen, "fields": columns.FIELDS, "errors": [], "recent": queries.jobs_page(request.user, None, 10).items}
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise Invalid.field(("file",), "choose a CSV file")
            mapping = services.check_mapping(request.POST.get("mapping") or "")
            with store_upload(upload) as path:
                job = services.do_create_job(
                    request.user, chosen, path, filename=upload.name, mapping=mapping,
                    on_duplicate=request.POST.get("on_duplicate") or "skip", day_first=request.POST.get("day_first") == "on",
                )
                services.enqueue(job)
        except Invalid as exc:
            context["errors"] = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors]
            context["mapping"] = request.POST.get("mapping") or ""
            return render(request, "imports/import_new.html", context, status=422)
        return redirect("import-detail", job_id=job.id)
    return render(request, "imports/import_new.html", context)


@login_required
@require_GET
def import_detail(request, job_id: int):
    try:
        job = services.get_job(request.user, job_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    context = {"nav": "imports", "job": job, "out": queries.job_out(job), "mapping": json.dumps(job.mapping, indent=1)}
    template = "imports/_job.html" if request.htmx else "imports/import_detail.html"
    return render(request, template, context)
