"""REST endpoints for the touchpoint log and record timelines."""
from __future__ import annotations

import json
from typing import Annotated

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.params import Header, P
from ninja.schema import NinjaGenerateJsonSchema
from pydantic import Field, ValidationError

from config.errors import Invalid, error
from config.responses import json_response
from config.schemas import Cursor, Id, InputSchema, Limit, RecordId, Text, Timestamp, responses
from crm.models import Contact, Deal, Organization
from crm.permissions import get_visible
from touchpoints import queries, services
from touchpoints.models import Touchpoint
from touchpoints.rules import counts_as_contact, is_shown
from touchpoints.schemas import (
    BatchIn,
    BatchOut,
    KindName,
    TimelinePage,
    TouchpointIn,
    TouchpointItem,
    TouchpointOut,
    TouchpointPage,
    TouchpointPatch,
)

router = Router(tags=["touchpoints"])
IdempotencyKey = Header[str | None, P(alias="Idempotency-Key", max_length=255)]
BASE_FIELDS = queries.TOUCHPOINT_FIELDS


def _new(payload: TouchpointIn | TouchpointItem, idempotency_key: str | None) -> services.NewTouchpoint:
    return services.NewTouchpoint(**payload.model_dump(), idempotency_key=idempotency_key)


def touchpoints_out(user, touchpoints: list[Touchpoint]) -> list[dict]:
    links = services.direct_links_of([tp.id for tp in touchpoints], viewer=user)
    return [
        {
            **{f: getattr(tp, f) for f in BASE_FIELDS},
            **links[tp.id],
            "shown_in_activity": is_shown(tp.kind, tp.status),
            "counts_as_contact": counts_as_contact(tp.kind, tp.status),
        }
        for tp in touchpoints
    ]


def _one(user, touchpoint_id: int) -> dict:
    return touchpoints_out(user, [Touchpoint.objects.get(id=touchpoint_id)])[0]


class TouchpointFilters(InputSchema):
    kind: KindName | None = None
    source: Text(20) | None = None
    external_id: Text(255) | None = None
    owner_id: Id | None = None
    occurred_after: Timestamp | None = None
    occurred_before: Timestamp | None = None


@router.get("/touchpoints", response=responses({200: TouchpointPage}))
def list_touchpoints(request, filters: Query[TouchpointFilters], cursor: Cursor = None, limit: Limit = 50):
    """The log, newest first, as the caller may see it."""
    page = queries.list_touchpoints(services.visible_touchpoints(request.auth), filters.dict(), cursor, limit)
    return {"items": touchpoints_out(request.auth, page.items), "next_cursor": page.next_cursor}


@router.post("/touchpoints", response=responses({200: TouchpointOut, 201: TouchpointOut}))
def create_touchpoint(request, payload: TouchpointIn, idempotency_key: IdempotencyKey = None):
    """Record one touchpoint. A repeat with the same source + external_id, or
    the same Idempotency-Key, answers 200 with the existing touchpoint, or
    422 on external_id if it is one the caller may not see."""
    result = services.record_touchpoint(request.auth, _new(payload, idempotency_key))
    return Status(201 if result.created else 200, _one(request.auth, result.touchpoint_id))


def _inline_schema(model) -> dict:
    """``model``'s JSON schema with the models it uses written in place: the
    batch body is parsed by hand (to answer per item), so ninja never adds
    BatchIn to #/components/schemas and a $ref to it would dangle."""
    schema = model.model_json_schema(ref_template="{model}", schema_generator=NinjaGenerateJsonSchema, mode="validation")
    definitions = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return resolve(definitions[node["$ref"]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


BATCH_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _inline_schema(BatchIn)}},
}


@router.post("/touchpoints/batch", response=responses({200: BatchOut}), openapi_extra={"requestBody": BATCH_BODY})
def create_touchpoints_batch(request: HttpRequest):
    """Record up to 1,000 touchpoints. Each item is answered on its own: a bad
    item is reported by index and field and stores nothing of itself; the
    good ones are stored. Repeats (source + external_id) answer "existing",
    or "error" on external_id if the existing one is hidden from the caller."""
    body = _json_body(request)
    raw_items = body.get("items") if isinstance(body, dict) else None
    if set(body) - {"items"} if isinstance(body, dict) else False:
        raise Invalid([error(("body", name), "unknown field", "extra_forbidden") for name in sorted(set(body) - {"items"})])
    if not isinstance(raw_items, list) or not raw_items:
        raise Invalid.field(("body", "items"), "must be a non-empty list")
    if len(raw_items) > settings.BATCH_MAX_ITEMS:
        raise Invalid.field(("body", "items"), f"at most {settings.BATCH_MAX_ITEMS} items per batch")
    parsed: list[services.NewTouchpoint | None] = []
    early_errors: dict[int, list[dict]] = {}
    for i, raw in enumerate(raw_items):
        try:
            parsed.append(_new(TouchpointItem.model_validate(raw), None))
        except ValidationError as exc:
            parsed.append(None)
            early_errors[i] = [error(("body", "items", i, *e["loc"]), e["msg"], e["type"]) for e in exc.errors(include_url=False, include_context=False, include_input=False)]
    good = [i for i, item in enumerate(parsed) if item is not None]
    recorded = services.record_touchpoints(request.auth, [parsed[i] for i in good]) if good else []
    results = [None] * len(raw_items)
    for i, errs in early_errors.items():
        results[i] = {"index": i, "status": "error", "id": None, "errors": errs}
    for i, result in zip(good, recorded):
        if result.errors:
            errs = [error(("body", "items", i, *e["loc"]), e["msg"], e["type"]) for e in result.errors]
            results[i] = {"index": i, "status": "error", "id": None, "errors": errs}
        else:
            results[i] = {"index": i, "status": "created" if result.created else "existing", "id": result.touchpoint_id, "errors": []}
    return json_response(
        {
            "created": sum(r["status"] == "created" for r in results),
            "existing": sum(r["status"] == "existing" for r in results),
            "failed": sum(r["status"] == "error" for r in results),
            "results": results,
        }
    )


def _json_body(request: HttpRequest):
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid.field(("body",), "must be a JSON object", "json_invalid") from exc


@router.get("/touchpoints/{touchpoint_id}", response=responses({200: TouchpointOut}))
def get_touchpoint(request, touchpoint_id: RecordId):
    return touchpoints_out(request.auth, [services.get_visible_touchpoint(request.auth, touchpoint_id)])[0]


@router.patch("/touchpoints/{touchpoint_id}", response=responses({200: TouchpointOut}))
def update_touchpoint(request, touchpoint_id: RecordId, payload: TouchpointPatch):
    """Change fields or links; Last Contacted is recomputed for every record
    the touchpoint was or is on."""
    services.update_touchpoint(request.auth, touchpoint_id, payload.dict(exclude_unset=True))
    return _one(request.auth, touchpoint_id)


@router.delete("/touchpoints/{touchpoint_id}", response=responses({204: None}))
def delete_touchpoint(request, touchpoint_id: RecordId):
    services.delete_touchpoint(request.auth, touchpoint_id)
    return Status(204, None)


# --- timelines -------------------------------------------------------------------

RECORD_MODELS = {"organizations": (Organization, "organization"), "contacts": (Contact, "contact"), "deals": (Deal, "deal")}
_KIND = "|".join(KindName.__args__)
# The pattern documents the accepted values; parse_kinds enforces them, with
# a message naming the unknown kinds.
KindList = Annotated[str, Field(json_schema_extra={"pattern": rf"^\s*({_KIND})?\s*(,\s*({_KIND})?\s*)*$"})]
KindsParam = Query[KindList | None, P(max_length=300, description="Comma-separated kinds to show, e.g. email,sms; all when absent")]


def parse_kinds(kinds: str | None) -> list[str] | None:
    if not kinds:
        return None
    names = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in names if k not in KindName.__args__]
    if unknown:
        raise Invalid.field(("query", "kinds"), f"unknown kind(s): {', '.join(unknown)}")
    return names


def _timeline(request, collection: str, record_id: int, kinds: str | None, cursor: str | None, limit: int):
    model, record_type = RECORD_MODELS[collection]
    get_visible(model, request.auth, record_id)
    page = queries.timeline(record_type, record_id, kinds=parse_kinds(kinds), cursor=cursor, limit=limit, viewer=request.auth)
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/organizations/{record_id}/timeline", response=responses({200: TimelinePage}), tags=["organizations"])
def organization_timeline(request, record_id: RecordId, kinds: KindsParam = None, cursor: Cursor = None, limit: Limit = 50):
    """The organization's Activity section: its own touchpoints and those of its contacts and deals, newest first."""
    return _timeline(request, "organizations", record_id, kinds, cursor, limit)


@router.get("/contacts/{record_id}/timeline", response=responses({200: TimelinePage}), tags=["contacts"])
def contact_timeline(request, record_id: RecordId, kinds: KindsParam = None, cursor: Cursor = None, limit: Limit = 50):
    """The contact's Activity section, including events and calls on its deals, newest first."""
    return _timeline(request, "contacts", record_id, kinds, cursor, limit)


@router.get("/deals/{record_id}/timeline", response=responses({200: TimelinePage}), tags=["deals"])
def deal_timeline(request, record_id: RecordId, kinds: KindsParam = None, cursor: Cursor = None, limit: Limit = 50):
    """The deal's Activity section, including its contacts' emails, SMS and calls while it was open, newest first."""
    return _timeline(request, "deals", record_id, kinds, cursor, limit)
