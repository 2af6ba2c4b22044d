"""GET /contacts/{id}/export and POST /contacts/{id}/erase (privacy.services)."""
from __future__ import annotations

from typing import Any

from ninja import Router, Schema

from config.schemas import RecordId, responses
from privacy import services

router = Router(tags=["privacy"])


class ErasureOut(Schema):
    erased: dict[str, int]


@router.get("/contacts/{record_id}/export", response=responses({200: dict[str, Any]}))
def export_contact(request, record_id: RecordId):
    """Everything held about the contact as one JSON document (a data
    subject access request). Admins and managers only; logged in the audit
    log."""
    return services.export_contact(request.auth, record_id)


@router.post("/contacts/{record_id}/erase", response=responses({200: ErasureOut}))
def erase_contact(request, record_id: RecordId):
    """Erase the contact's personal data: the contact is anonymized, their
    touchpoints keep what reports count and lose their content, their
    portal account is deleted. Admins and managers only; logged in the
    audit log. Erasing again changes nothing."""
    return {"erased": services.do_erase_contact(request.auth, record_id)}
