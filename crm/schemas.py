from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from config.schemas import Id, InputSchema, Name, ShortText, Text, Timestamp
from crm.models import ContactRole, DealStage, LastContactedVia

Stage = Literal[tuple(DealStage.values)]  # type: ignore[valid-type]
Role = Literal[tuple(ContactRole.values)]  # type: ignore[valid-type]
Via = Literal[tuple(LastContactedVia.values)]  # type: ignore[valid-type]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2200, 1, 1))]
EmailList = Annotated[list[Text(254, 3)], Field(max_length=20)]
PhoneList = Annotated[list[Text(40, 2)], Field(max_length=20)]


class LastContactedOut(Schema):
    last_contacted_via: Via | None
    last_contacted_on: Timestamp | None


class OrganizationIn(InputSchema):
    name: Name
    website: ShortText = ""
    phone: Text(40) = ""
    industry: Text(100) = ""
    owner_id: Id | None = None


class OrganizationPatch(InputSchema):
    name: Name | None = None
    website: ShortText | None = None
    phone: Text(40) | None = None
    industry: Text(100) | None = None
    owner_id: Id | None = None


class OrganizationOut(LastContactedOut):
    id: int
    name: str
    website: str
    phone: str
    industry: str
    owner_id: int | None
    created_at: Timestamp
    updated_at: Timestamp


class ContactIn(InputSchema):
    first_name: Text(100) = ""
    last_name: Text(100, 1)
    title: Text(100) = ""
    organization_id: Id | None = None
    owner_id: Id | None = None
    emails: EmailList = []
    phones: PhoneList = []


class ContactPatch(InputSchema):
    first_name: Text(100) | None = None
    last_name: Text(100, 1) | None = None
    title: Text(100) | None = None
    organization_id: Id | None = None
    owner_id: Id | None = None
    emails: EmailList | None = None
    phones: PhoneList | None = None


class ContactOut(LastContactedOut):
    id: int
    first_name: str
    last_name: str
    title: str
    organization_id: int | None
    owner_id: int | None
    emails: list[str]
    phones: list[str]
    created_at: Timestamp
    updated_at: Timestamp


class DealContactIn(InputSchema):
    contact_id: Id
    role: Role = "other"


class DealContactOut(Schema):
    contact_id: int
    role: str


class DealIn(InputSchema):
    name: Name
    organization_id: Id | None = None
    owner_id: Id | None = None
    stage: Stage = "prospecting"
    amount: Amount | None = None
    expected_close_date: Day | None = None
    closed_at: Timestamp | None = None
    created_at: Timestamp | None = None
    contacts: Annotated[list[DealContactIn], Field(max_length=100)] = []


class DealPatch(InputSchema):
    name: Name | None = None
    organization_id: Id | None = None
    owner_id: Id | None = None
    stage: Stage | None = None
    amount: Amount | None = None
    expected_close_date: Day | None = None
    closed_at: Timestamp | None = None


class DealOut(LastContactedOut):
    id: int
    name: str
    organization_id: int | None
    owner_id: int | None
    stage: str
    amount: Decimal | None
    expected_close_date: date | None
    closed_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    contacts: list[DealContactOut]


class OrganizationPage(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None
