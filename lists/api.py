"""REST endpoints for custom lists: the saved views, their records, and
their CSV export."""
from __future__ import annotations

from typing import Literal

from ninja import Router, Status

from config.schemas import Cursor, Limit, RecordId, responses
from lists import queries, services
from lists.export import EXPORT_TYPES, XLSX, export_response, whole_type, xlsx_response
from lists.schemas import ListIn, ListOut, ListPage, ListPatch, RecordsPage, RecordTypeName
from lists.rows import api_item

router = Router(tags=["lists"])

CSV_RESPONSE = {
    "responses": {
        200: {
            "description": "The list's records as CSV (streamed): a header row of column labels, then one row per record, "
            "datetimes in the caller's time zone, text cells starting with = + - @ prefixed by an apostrophe.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


def _one(request, list_id: int) -> dict:
    return queries.list_out(request.auth, queries.get_visible_list(request.auth, list_id))


@router.get("/lists", response=responses({200: ListPage}))
def list_lists(request, record_type: RecordTypeName | None = None, cursor: Cursor = None, limit: Limit = 50):
    """Lists the caller may use (their own, those shared with them or their
    team or with everyone; admins: all), by name."""
    page = queries.lists_page(request.auth, record_type, cursor, limit)
    return {"items": [queries.list_out(request.auth, s) for s in page.items], "next_cursor": page.next_cursor}


@router.post("/lists", response=responses({201: ListOut}))
def create_list(request, payload: ListIn):
    """Save a list view: a condition tree (checked; a 422 names the bad part,
    e.g. ``conditions.all.0.value``), columns, sort and sharing. The caller
    owns it."""
    saved_list = services.do_create_list(request.auth, payload.dict())
    return Status(201, _one(request, saved_list.id))


@router.get("/lists/{list_id}", response=responses({200: ListOut}))
def get_list(request, list_id: RecordId):
    return _one(request, list_id)


@router.patch("/lists/{list_id}", response=responses({200: ListOut}))
def update_list(request, list_id: RecordId, payload: ListPatch):
    """Only the owner and admins change a list (403 for others who may see it)."""
    services.do_update_list(request.auth, list_id, payload.dict(exclude_unset=True))
    return _one(request, list_id)


@router.delete("/lists/{list_id}", response=responses({204: None}))
def delete_list(request, list_id: RecordId):
    services.do_delete_list(request.auth, list_id)
    return Status(204, None)


@router.get("/lists/{list_id}/records", response=responses({200: RecordsPage}))
def list_records(request, list_id: RecordId, cursor: Cursor = None, limit: Limit = 50):
    """The records the list shows the caller: only records the caller may
    see, filtered by the tree in the caller's time zone ("me" is the
    caller), in the list's sort order (empty values last), cursor-paginated."""
    saved_list = queries.get_visible_list(request.auth, list_id)
    page, columns = queries.records_page(request.auth, saved_list, cursor, limit)
    return {
        "list_id": saved_list.id,
        "record_type": saved_list.record_type,
        "columns": [{"name": c.name, "label": c.label, "type": c.type} for c in columns],
        "items": [api_item(columns, row) for row in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/lists/{list_id}/export.csv", response=responses({200: None}), openapi_extra=CSV_RESPONSE)
def export_list(request, list_id: RecordId):
    """Every record the list shows the caller, as a streamed CSV download."""
    return export_response(request.auth, queries.get_visible_list(request.auth, list_id))


XLSX_RESPONSE = {
    "responses": {
        200: {
            "description": "The list's records as an Excel workbook: one sheet, a bold header row of column labels (datetime columns "
            "name the caller's time zone), then one row per record; numbers and dates typed, text never a formula.",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get("/lists/{list_id}/export.xlsx", response=responses({200: None}), openapi_extra=XLSX_RESPONSE)
def export_list_xlsx(request, list_id: RecordId):
    """Every record the list shows the caller, as an .xlsx download."""
    return xlsx_response(request.auth, queries.get_visible_list(request.auth, list_id))


ExportName = Literal[tuple(EXPORT_TYPES)]  # type: ignore[valid-type]


@router.get("/exports/{record_type}.csv", response=responses({200: None}), openapi_extra=CSV_RESPONSE, tags=["exports"], url_name="export-record-type-csv")
def export_record_type(request, record_type: ExportName):
    """Every organization, contact or deal the caller may see, with every
    column, as a streamed CSV download (as a saved list's export)."""
    return export_response(request.auth, whole_type(record_type))


@router.get("/exports/{record_type}.xlsx", response=responses({200: None}), openapi_extra=XLSX_RESPONSE, tags=["exports"], url_name="export-record-type-xlsx")
def export_record_type_xlsx(request, record_type: ExportName):
    """The same as an .xlsx workbook."""
    return xlsx_response(request.auth, whole_type(record_type))
