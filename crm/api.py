"""REST endpoints for organizations, contacts and deals."""
from __future__ import annotations

from ninja import Query, Router, Status

from config.schemas import Cursor, Id, InputSchema, Limit, RecordId, Text, responses
from crm import queries, services
from crm.models import Contact, Deal, Organization
from crm.permissions import get_visible
from crm.schemas import (
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    DealContactIn,
    DealIn,
    DealOut,
    DealPage,
    DealPatch,
    OrganizationIn,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
    Stage,
)

router = Router()


class OrganizationFilters(InputSchema):
    q: Text(100) | None = None
    owner_id: Id | None = None


class ContactFilters(OrganizationFilters):
    organization_id: Id | None = None
    email: Text(254) | None = None
    phone: Text(40) | None = None


class DealFilters(OrganizationFilters):
    organization_id: Id | None = None
    contact_id: Id | None = None
    stage: Stage | None = None


def _filters(f: InputSchema) -> queries.RecordFilters:
    return queries.RecordFilters(**f.dict())


# --- organizations ----------------------------------------------------------------


@router.get("/organizations", response=responses({200: OrganizationPage}), tags=["organizations"])
def list_organizations(request, filters: Query[OrganizationFilters], cursor: Cursor = None, limit: Limit = 50):
    page = queries.list_organizations(request.auth, _filters(filters), cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/organizations", response=responses({201: OrganizationOut}), tags=["organizations"])
def create_organization(request, payload: OrganizationIn):
    return Status(201, services.do_create_organization(request.auth, payload.dict()))


@router.get("/organizations/{organization_id}", response=responses({200: OrganizationOut}), tags=["organizations"])
def get_organization(request, organization_id: RecordId):
    return get_visible(Organization, request.auth, organization_id)


@router.patch("/organizations/{organization_id}", response=responses({200: OrganizationOut}), tags=["organizations"])
def update_organization(request, organization_id: RecordId, payload: OrganizationPatch):
    return services.do_update_organization(request.auth, organization_id, payload.dict(exclude_unset=True))


@router.delete("/organizations/{organization_id}", response=responses({204: None}), tags=["organizations"])
def delete_organization(request, organization_id: RecordId):
    services.do_delete_record(request.auth, Organization, organization_id)
    return Status(204, None)


# --- contacts -----------------------------------------------------------------------


def _contact(request, contact_id: int) -> dict:
    return queries.contact_out(queries.contacts_with_details(Contact.objects.filter(id=contact_id)).get())


@router.get("/contacts", response=responses({200: ContactPage}), tags=["contacts"])
def list_contacts(request, filters: Query[ContactFilters], cursor: Cursor = None, limit: Limit = 50):
    page = queries.list_contacts(request.auth, _filters(filters), cursor, limit)
    return {"items": [queries.contact_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/contacts", response=responses({201: ContactOut}), tags=["contacts"])
def create_contact(request, payload: ContactIn):
    contact = services.do_create_contact(request.auth, payload.dict())
    return Status(201, _contact(request, contact.id))


@router.get("/contacts/{contact_id}", response=responses({200: ContactOut}), tags=["contacts"])
def get_contact(request, contact_id: RecordId):
    get_visible(Contact, request.auth, contact_id)
    return _contact(request, contact_id)


@router.patch("/contacts/{contact_id}", response=responses({200: ContactOut}), tags=["contacts"])
def update_contact(request, contact_id: RecordId, payload: ContactPatch):
    services.do_update_contact(request.auth, contact_id, payload.dict(exclude_unset=True))
    return _contact(request, contact_id)


@router.delete("/contacts/{contact_id}", response=responses({204: None}), tags=["contacts"])
def delete_contact(request, contact_id: RecordId):
    services.do_delete_record(request.auth, Contact, contact_id)
    return Status(204, None)


# --- deals ----------------------------------------------------------------------------


def _deal(deal_id: int) -> dict:
    return queries.deal_out(queries.deals_with_details(Deal.objects.filter(id=deal_id)).get())


@router.get("/deals", response=responses({200: DealPage}), tags=["deals"])
def list_deals(request, filters: Query[DealFilters], cursor: Cursor = None, limit: Limit = 50):
    page = queries.list_deals(request.auth, _filters(filters), cursor, limit)
    return {"items": [queries.deal_out(d) for d in page.items], "next_cursor": page.next_cursor}


@router.post("/deals", response=responses({201: DealOut}), tags=["deals"])
def create_deal(request, payload: DealIn):
    deal = services.do_create_deal(request.auth, payload.dict())
    return Status(201, _deal(deal.id))


@router.get("/deals/{deal_id}", response=responses({200: DealOut}), tags=["deals"])
def get_deal(request, deal_id: RecordId):
    get_visible(Deal, request.auth, deal_id)
    return _deal(deal_id)


@router.patch("/deals/{deal_id}", response=responses({200: DealOut}), tags=["deals"])
def update_deal(request, deal_id: RecordId, payload: DealPatch):
    services.do_update_deal(request.auth, deal_id, payload.dict(exclude_unset=True))
    return _deal(deal_id)


@router.delete("/deals/{deal_id}", response=responses({204: None}), tags=["deals"])
def delete_deal(request, deal_id: RecordId):
    services.do_delete_record(request.auth, Deal, deal_id)
    return Status(204, None)


@router.post("/deals/{deal_id}/contacts", response=responses({200: DealOut}), tags=["deals"])
def link_contact(request, deal_id: RecordId, payload: DealContactIn):
    """Link a contact to the deal with a contact role (or change the role).
    The contact's touchpoints from while the deal was open join the deal's
    timeline."""
    services.do_link_contact_to_deal(request.auth, deal_id, payload.contact_id, payload.role)
    return _deal(deal_id)


@router.delete("/deals/{deal_id}/contacts/{contact_id}", response=responses({200: DealOut}), tags=["deals"])
def unlink_contact(request, deal_id: RecordId, contact_id: RecordId):
    services.do_unlink_contact_from_deal(request.auth, deal_id, contact_id)
    return _deal(deal_id)


