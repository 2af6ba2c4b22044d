"""The contact page's Personal data section (admins and managers): download
everything held about the contact as JSON, or erase it. The same services
as GET /api/v1/contacts/{id}/export and POST .../erase."""
from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from privacy import services


@login_required
@require_GET
def export(request, record_id: int):
    document = services.export_contact(request.user, record_id)  # NotFound/Forbidden -> 404/403 (web.http)
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{record_id}.json"'
    return response


@login_required
@require_POST
def erase(request, record_id: int):
    services.do_erase_contact(request.user, record_id)
    return redirect("contact-detail", record_id=record_id)
