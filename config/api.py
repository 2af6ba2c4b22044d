"""The REST API under /api/v1/ (OpenAPI at /api/v1/openapi.json).

Every operation requires a Bearer token (or the browser session with its
CSRF token). Errors are JSON: ``{"detail": "..."}`` for 401/403/404/409 and
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` for 422, naming the
field at fault, whether the schema or a service rule rejected it.
"""
from __future__ import annotations

from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from accounts.api import router as accounts_router
from activities.api import router as activities_router
from alerts.api import router as alerts_router
from audit.api import router as audit_router
from automation.api import router as automation_router
from config.auth import TokenAuth
from config.errors import Invalid, ServiceError, TooLarge, error
from cases.api import router as cases_router
from crm.api import router as crm_router
from crm.api_shares import router as crm_shares_router
from documents.api import router as documents_router
from documents.files import upload_too_large
from documents.services import too_large_message
from emails.api import router as emails_router
from imports.api import router as imports_router
from insights.api import router as insights_router
from lists.api import router as lists_router
from portal.api import router as portal_router
from privacy.api import router as privacy_router
from telephony.api import router as telephony_router
from touchpoints.api import router as touchpoints_router
from workflows.api import router as workflows_router

api = NinjaAPI(
    title="Touchpoints API",
    version="1",
    description="Customer touchpoints: records, the unified log, timelines and Last Contacted.",
    auth=[TokenAuth(), django_auth],
    urls_namespace="api-v1",
)
api.add_router("/", accounts_router)
api.add_router("/", crm_router)
api.add_router("/", crm_shares_router)
api.add_router("/", activities_router)
api.add_router("/", touchpoints_router)
api.add_router("/", emails_router)
api.add_router("/", telephony_router)
api.add_router("/", documents_router)
api.add_router("/", cases_router)
api.add_router("/", portal_router)
api.add_router("/", automation_router)
api.add_router("/", lists_router)
api.add_router("/", workflows_router)
api.add_router("/", alerts_router)
api.add_router("/", insights_router)
api.add_router("/", imports_router)
api.add_router("/", audit_router)
api.add_router("/", privacy_router)


@api.exception_handler(Invalid)
def on_invalid(request, exc: Invalid):
    errors = []
    for e in exc.errors:
        loc = list(e["loc"])
        if not loc or loc[0] not in ("body", "query", "path", "header"):
            loc = ["body", *loc]
        errors.append({**e, "loc": loc})
    return api.create_response(request, {"detail": errors}, status=exc.status)


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    response = api.create_response(request, {"detail": str(exc)}, status=exc.status)
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    too_large = upload_too_large(request)
    if too_large:
        # The upload handler stopped reading the file at the limit, so the
        # parser found no file: say why (documents.files.LimitedUploadHandler).
        return on_invalid(request, TooLarge([error((too_large,), too_large_message(getattr(request, "upload_limit_setting", "DOCUMENT_MAX_BYTES")), "too_large")]))
    # Ninja reports body fields under ["body", "payload", ...]; drop the
    # parameter name so locs match the JSON the client sent.
    errors = []
    for e in exc.errors:
        loc = list(e.get("loc", []))
        if len(loc) >= 2 and loc[0] == "body" and loc[1] == "payload":
            loc = ["body", *loc[2:]]
        elif loc and loc[0] == "file":  # a multipart file part: ["file", name]
            loc = ["body", *loc[1:]]
        elif loc and loc[0] == "form":  # multipart fields: ["form", name]
            loc = ["body", *loc[1:]]
        errors.append({"loc": loc, "msg": e.get("msg", ""), "type": e.get("type", "value_error")})
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(request, {"detail": "Authentication required: send 'Authorization: Bearer <token>'"}, status=401)
