"""The Documents widget of deal, contact and organization pages, its "+"
upload, and downloads with the session.

The widget loads by htmx after the page (so the record page keeps its
query count) and again on ``touchpoints-changed``; without JavaScript its
link opens the same list as a page. The "+" form uploads through
documents.services.do_upload_document, the API's path: on a contact or
organization page the document is shared with that record, on a deal page
with the contacts and organization ticked, in the deal's context.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from config.errors import Invalid
from crm import queries as crm_queries
from documents import files, queries, services
from documents.forms import UploadForm
from documents.models import DocumentShare
from web.http import changed, get_record_or_404, report_form_errors


def _form(request, record_type: str, record, data=None, files_=None) -> UploadForm:
    if record_type == "deal":
        targets = []
        if record.organization_id and not crm_queries.organization_hidden(request.user, record):
            targets.append((f"organization:{record.organization_id}", f"{record.organization.name} (the organization)"))
        targets += [(f"contact:{link.contact_id}", link.contact.full_name) for link in crm_queries.deal_contacts(request.user, record)]
        return UploadForm(data, files_, targets=targets, auto_id="doc_%s")
    return UploadForm(data, files_, fixed=f"{record_type}:{record.id}", auto_id="doc_%s")


def _widget(request, record_type: str, record, form: UploadForm | None = None, status: int = 200, uploaded=None):
    try:
        page = queries.record_documents(request.user, record_type, record.id, request.GET.get("cursor"), settings.UI_PAGE_SIZE)
    except Invalid:
        page = queries.record_documents(request.user, record_type, record.id, None, settings.UI_PAGE_SIZE)
    context = {
        "record_type": record_type,
        "record": record,
        "page": page,
        "form": form or _form(request, record_type, record),
        "uploaded": uploaded,
        "max_bytes": settings.DOCUMENT_MAX_BYTES,
        "more": bool(request.GET.get("cursor")),
    }
    template = "documents/_widget.html" if request.htmx or request.method == "POST" else "documents/widget_page.html"
    if request.htmx and request.GET.get("cursor"):
        template = "documents/_rows.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def record_documents(request, record_type: str, record_id: int):
    """GET: the widget (a page of its own without htmx). POST: "+", upload and share."""
    record = get_record_or_404(request.user, record_type, record_id, related=("organization",) if record_type == "deal" else ())
    if request.method == "GET":
        return _widget(request, record_type, record)
    form = _form(request, record_type, record, request.POST, request.FILES)
    document = None
    if files.upload_too_large(request):
        # The upload handler stopped reading at the limit: the file "is missing".
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", f"The file {services.too_large_message()}.")
    elif form.is_valid():
        contacts, organizations = form.targets()
        upload = request.FILES["file"]
        document = form.run(
            services.do_upload_document,
            request.user,
            services.Upload(content=upload, filename=upload.name or "", declared_type=upload.content_type),
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            contact_ids=contacts,
            organization_ids=organizations,
            deal_id=record.id if record_type == "deal" else None,
        )
    if document is None:
        if not request.htmx:
            report_form_errors(request, form)
            return redirect(f"{record_type}-detail", record_id=record.id)
        # 422 (not 413) for the page: htmx swaps 422 answers, with the errors in them.
        return _widget(request, record_type, record, form, status=422)
    if not request.htmx:
        return redirect(f"{record_type}-detail", record_id=record.id)
    return changed(_widget(request, record_type, record, uploaded=document))


@login_required
@require_GET
def download(request, document_id: int):
    """A document's bytes with the session (the API's GET /api/v1/documents/{id})."""
    document = queries.get_visible_document(request.user, document_id)  # NotFound -> 404 page
    if not document.stored:
        raise Http404("this attachment was over MAX_ATTACHMENT_BYTES and was not kept")
    return files.download_response(document)


@login_required
@require_GET
def share_download(request, share_id: int):
    """The document of a share, from its row in Activity."""
    share = DocumentShare.objects.filter(id=share_id).only("document_id").first()
    if share is None:
        raise Http404(f"share {share_id} not found")
    return download(request, share.document_id)
