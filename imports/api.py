"""REST endpoints for spreadsheet imports: upload a CSV, poll the job,
download the rows it refused."""
from __future__ import annotations

from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from config.responses import csv_download
from config.schemas import Cursor, Limit, RecordId, ValidationErrors, responses
from imports import queries, services
from imports.schemas import ImportForm, ImportOut, ImportPage
from imports.uploads import store_upload

router = Router(tags=["imports"])


@router.post("/imports", response=responses({202: ImportOut, 413: ValidationErrors}))
def create_import(request, file: File[UploadedFile], data: Form[ImportForm]):
    """Import a CSV file (multipart/form-data, field ``file``, UTF-8, comma,
    semicolon or tab separated, at most IMPORT_MAX_BYTES) of organizations,
    contacts, deals or touchpoints. Columns are matched to fields by their
    headers (a Vtiger CRM export needs no mapping); ``mapping`` overrides
    any. A bad header or mapping is a 422 naming it; otherwise the job is
    queued (202) and a worker runs it: poll ``GET /imports/{id}`` for
    ``progress``, then fetch the refused rows from ``errors_url``."""
    mapping = services.check_mapping(data.mapping)
    with store_upload(file) as path:
        job = services.do_create_job(
            request.auth, data.record_type, path, filename=file.name or path.name, mapping=mapping,
            on_duplicate=data.on_duplicate, day_first=data.day_first,
        )
        services.enqueue(job)
    return Status(202, queries.job_out(job))


@router.get("/imports", response=responses({200: ImportPage}))
def list_imports(request, cursor: Cursor = None, limit: Limit = 50):
    """The caller's imports, newest first (admins and managers: everyone's)."""
    page = queries.jobs_page(request.auth, cursor, limit)
    return {"items": [queries.job_out(job) for job in page.items], "next_cursor": page.next_cursor}


@router.get("/imports/{import_id}", response=responses({200: ImportOut}))
def get_import(request, import_id: RecordId):
    return queries.job_out(services.get_job(request.auth, import_id))


@router.get(
    "/imports/{import_id}/errors.csv",
    url_name="import-errors",
    response=responses({200: None}),
    openapi_extra={"responses": {200: {"description": "The refused rows: row (as a spreadsheet numbers it; the header is row 1), column, reason.", "content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def import_errors(request, import_id: RecordId):
    job = services.get_job(request.auth, import_id)
    return csv_download(services.error_rows(job), f"import-{job.id}-errors.csv")
