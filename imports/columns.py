"""What a spreadsheet's columns can hold, and how a header is recognised.

Each record type has a small set of import fields. A file's header row is
matched to them by name: ours (``last_name``), their labels ("Last Name"),
the usual spreadsheet words ("Surname", "E-mail", "Company") and the column
labels of a Vtiger CRM export ("Contact Id", "Primary Email", "Office
Phone", "Organization Name", "Assigned To", "Opportunity Name", "Sales
Stage", ...), so a Vtiger export imports without any manual mapping. The
caller can override any column (``{"Header": "field"}``, or ``""`` to ignore
it). Columns nobody recognises are ignored and listed on the job, so the
user sees what was left out.

Matching is on the header lower-cased with everything that is not a letter
or a digit squeezed to one space ("E-Mail Address" = "e mail address").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from config.errors import Invalid, error

RECORD_TYPES = ("organizations", "contacts", "deals", "touchpoints")


@dataclass(frozen=True)
class Field:
    name: str
    parse: str  # a parser in imports.values
    required: bool = False
    many: bool = False  # several columns may feed it (emails, phones)


FIELDS: dict[str, tuple[Field, ...]] = {
    "organizations": (
        Field("name", "text200", required=True),
        Field("website", "text200"),
        Field("phone", "text32"),
        Field("industry", "text100"),
        Field("owner", "owner"),
        Field("external_id", "external_id"),
    ),
    "contacts": (
        Field("first_name", "text100"),
        Field("last_name", "text100", required=True),
        Field("title", "text100"),
        Field("email", "email", many=True),
        Field("phone", "phone", many=True),
        Field("organization", "reference"),
        Field("organization_external_id", "external_id"),
        Field("owner", "owner"),
        Field("external_id", "external_id"),
    ),
    "deals": (
        Field("name", "text200", required=True),
        Field("stage", "stage"),
        Field("amount", "amount"),
        Field("expected_close_date", "date"),
        Field("closed_at", "datetime"),
        Field("organization", "reference"),
        Field("organization_external_id", "external_id"),
        Field("owner", "owner"),
        Field("external_id", "external_id"),
    ),
    "touchpoints": (
        Field("kind", "kind", required=True),
        Field("occurred_at", "datetime", required=True),
        Field("status", "status"),
        Field("direction", "direction"),
        Field("duration_seconds", "duration"),
        Field("subject", "text255"),
        Field("summary", "long_text"),
        Field("contact_email", "email"),
        Field("contact_phone", "phone"),
        Field("contact_external_id", "external_id"),
        Field("organization", "reference"),
        Field("organization_external_id", "external_id"),
        Field("deal_external_id", "external_id"),
        Field("owner", "owner"),
        Field("external_id", "external_id"),
    ),
}

# Header words per field, beyond the field's own name and its spaced form
# ("first_name" -> "first name"). Vtiger's export labels are marked.
_COMMON = {
    "owner": ("assigned to", "owner name", "user", "sales rep", "rep"),  # Vtiger: Assigned To
    "organization": ("organization name", "organisation", "organisation name", "company", "company name", "account", "account name", "related to"),
    "organization_external_id": ("organization no", "organization number", "account no", "account id", "organization id", "company id"),
}
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "organizations": {
        "name": ("organization name", "organisation name", "company", "company name", "account name", "organization", "account"),
        "website": ("web site", "url", "domain", "homepage"),
        "phone": ("phone number", "office phone", "telephone", "main phone"),
        "owner": _COMMON["owner"],
        # Vtiger: "Organization No" (account_no), ACC123
        "external_id": ("id", "organization no", "organization number", "account no", "account id", "record id", "organization id"),
    },
    "contacts": {
        "first_name": ("first", "firstname", "given name", "forename"),
        "last_name": ("last", "lastname", "surname", "family name"),
        "title": ("job title", "position", "role"),
        # Vtiger: Primary Email, Secondary Email
        "email": ("email address", "e mail", "e mail address", "primary email", "secondary email", "other email", "work email", "personal email", "emails"),
        # Vtiger: Office Phone, Mobile Phone, Home Phone, Other Phone
        "phone": ("phone number", "office phone", "mobile", "mobile phone", "home phone", "other phone", "work phone", "cell", "cell phone", "telephone", "phones"),
        "organization": _COMMON["organization"],
        "organization_external_id": _COMMON["organization_external_id"],
        "owner": _COMMON["owner"],
        # Vtiger: "Contact Id" (contact_no), CON123
        "external_id": ("id", "contact id", "contact no", "contact number", "record id"),
    },
    "deals": {
        # Vtiger calls deals Opportunities (Potentials in the code).
        "name": ("deal name", "opportunity name", "potential name", "opportunity", "deal"),
        "stage": ("sales stage", "deal stage", "pipeline stage"),
        "amount": ("value", "deal value", "opportunity amount"),
        "expected_close_date": ("close date", "closing date", "expected close"),
        "closed_at": ("closed", "closed on", "closed date", "date closed"),
        "organization": _COMMON["organization"],
        "organization_external_id": _COMMON["organization_external_id"],
        "owner": _COMMON["owner"],
        "external_id": ("id", "opportunity no", "opportunity number", "potential no", "deal id", "record id"),
    },
    "touchpoints": {
        # Vtiger's Calendar export: Activity Type (Call / Meeting), Start
        # Date & Time, Status (Held / Not Held), Contact Name, Related To.
        "kind": ("type", "activity type", "touchpoint type", "channel"),
        "occurred_at": ("date", "time", "date time", "when", "start date time", "start date", "occurred on", "timestamp"),
        "duration_seconds": ("duration", "duration seconds"),
        "subject": ("title",),
        "summary": ("description", "notes", "body", "note"),
        "contact_email": ("email", "contact email address", "email address"),
        "contact_phone": ("phone", "phone number", "contact phone number"),
        "contact_external_id": ("contact id", "contact no"),
        "organization": _COMMON["organization"],
        "organization_external_id": _COMMON["organization_external_id"],
        "deal_external_id": ("deal id", "opportunity no", "opportunity number"),
        "owner": _COMMON["owner"],
        "external_id": ("id", "activity id", "message id", "record id"),
    },
}

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalize(header: str) -> str:
    return _NOT_WORD.sub(" ", header.lower()).strip()


def _lookup(record_type: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for f in FIELDS[record_type]:
        for word in (f.name, f.name.replace("_", " "), *SYNONYMS[record_type].get(f.name, ())):
            table.setdefault(normalize(word), f.name)
    return table


LOOKUP = {record_type: _lookup(record_type) for record_type in RECORD_TYPES}


FIELD_BY_NAME = {record_type: {f.name: f for f in FIELDS[record_type]} for record_type in RECORD_TYPES}


def field_names(record_type: str) -> dict[str, Field]:
    """The record type's fields by name (built once: parse_row asks per row)."""
    return FIELD_BY_NAME[record_type]


def detect(record_type: str, headers: list[str]) -> dict[str, str]:
    """{header: field} for the headers recognised. A field that is not
    ``many`` takes the first column that names it; a later one is left out."""
    fields = field_names(record_type)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for header in headers:
        name = LOOKUP[record_type].get(normalize(header))
        if name is None or (name in taken and not fields[name].many):
            continue
        taken.add(name)
        mapping[header] = name
    return mapping


def resolve_mapping(record_type: str, headers: list[str], overrides: dict[str, str] | None) -> dict[str, str]:
    """The detected mapping with the caller's overrides applied, checked:
    every override names a column of the file and a field of the record
    type, a single-valued field has one column, the required fields have
    one. Errors name ``mapping.<header>`` (or ``mapping`` for a missing
    required field)."""
    fields = field_names(record_type)
    mapping = detect(record_type, headers)
    errors = []
    for header, name in (overrides or {}).items():
        if header not in headers:
            errors.append(error(("mapping", header), f"the file has no column {header!r} (its columns: {', '.join(headers)})"))
        elif name in ("", None):
            mapping.pop(header, None)
        elif name not in fields:
            errors.append(error(("mapping", header), f"{name!r} is not a {record_type} field; choose from {', '.join(fields)}"))
        else:
            if not fields[name].many:
                for other in [h for h, n in mapping.items() if n == name and h != header]:
                    del mapping[other]  # the override wins over a detected column
            mapping[header] = name
    if errors:
        raise Invalid(errors)
    mapped = set(mapping.values())
    missing = [f.name for f in FIELDS[record_type] if f.required and f.name not in mapped]
    if missing:
        raise Invalid.field(
            ("mapping",),
            f"no column holds {', '.join(missing)}; name the column(s) in the mapping, e.g. {{\"<your header>\": \"{missing[0]}\"}}",
        )
    return {h: mapping[h] for h in headers if h in mapping}
