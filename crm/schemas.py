from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import BeforeValidator, Field, WithJsonSchema

from config.schemas import Day, Id, InputSchema, Name, ShortText, Text, Timestamp
from crm.models import ContactRole, DealStage, LastContactedVia

Stage = Literal[tuple(DealStage.values)]  # type: ignore[valid-type]
Role = Literal[tuple(ContactRole.values)]  # type: ignore[valid-type]
Via = Literal[tuple(LastContactedVia.values)]  # type: ignore[valid-type]
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


def _amount(value):
    """An amount is a JSON number or a decimal string ("1200.50"), both with
    at most 12 digits before the point and 2 after, as the schema says."""
    if isinstance(value, bool) or (isinstance(value, str) and not re.fullmatch(AMOUNT_PATTERN[1:-1], value)):
        raise ValueError("must be a number or a decimal string like 1200.50, at most 2 decimal places")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(ge=0, max_digits=14, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 999_999_999_999.99, "multipleOf": 0.01},
                {"type": "string", "maxLength": 15, "pattern": AMOUNT_PATTERN},
            ]
        }
    ),
]
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
