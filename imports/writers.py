"""Rows of a spreadsheet to records, a batch at a time, through the same
services the API and the pages use (crm.services, touchpoints.services):
an imported contact is checked, owned, linked and announced to workflows
exactly like one typed in.

Duplicates are looked for among the records the importing user may see
(someone else's hidden contact is not "the same" contact, and updating it
would be a write the user may not make):

- organizations: the external id, else the name (case-insensitive);
- contacts: the external id, else any of the row's email addresses, else
  any of its phone numbers (E.164);
- deals: the external id, else the name within the same organization;
- touchpoints: (source "import", external id); a row without an id gets an
  idempotency key from its cells, so importing the same file twice (or a
  resumed job re-reading a batch) writes each row once.

A duplicate is skipped or updated (the job's ``on_duplicate``). An update
changes only the columns the file has, and adds emails and phone numbers
to the contact's, never removing one. Rows earlier in the same batch count
as existing records for the rows after them.

Contacts and deals name their organization by name (Vtiger's "Organization
Name") or by its external id. A name nobody has yet creates the
organization, owned like the row, as Vtiger's importer does; an external id
must already exist.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower

from accounts.models import User
from config.errors import Invalid, ServiceError
from crm import services as crm_services
from crm.models import Contact, ContactEmail, ContactPhone, Deal, Organization
from crm.permissions import visible
from touchpoints import services as touchpoint_services
from touchpoints.rules import Source


@dataclass
class Row:
    line: int
    values: dict[str, Any]  # field -> parsed value; a ``many`` field -> list
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, reason)

    def fail(self, row: Row, field_name: str, reason: str) -> None:
        self.errors.append((row.line, field_name, reason))


# A service's error location (its argument names) -> the import field.
SERVICE_FIELDS = {"emails": "email", "phones": "phone", "owner_id": "owner", "organization_id": "organization", "contact_ids": "contact_email"}


def _service_errors(outcome: Outcome, row: Row, exc: ServiceError) -> None:
    if isinstance(exc, Invalid):
        for e in exc.errors:
            name = str(e["loc"][0]) if e["loc"] else ""
            outcome.fail(row, SERVICE_FIELDS.get(name, name), e["msg"])
    else:
        outcome.fail(row, "", str(exc))


class Owners:
    """Owner cells to user ids, for one job: a username, an email address or
    a full name ("Ana Lopez", which is what Vtiger's "Assigned To" holds).
    Whether the importing user may assign that owner is the services'
    check."""

    def __init__(self) -> None:
        self.by_word: dict[str, int] | None = None

    def resolve(self, value: str) -> int | None:
        if self.by_word is None:
            self.by_word = {}
            for uid, username, email, first, last in User.objects.filter(is_active=True).values_list(
                "id", "username", "email", "first_name", "last_name"
            ).order_by("-id"):
                for word in (f"{first} {last}".strip(), email, username):  # the username wins a tie
                    if word:
                        self.by_word[word.lower()] = uid
        return self.by_word.get(value.strip().lower())


def owner_id(row: Row, owners: Owners, outcome: Outcome) -> tuple[bool, int | None]:
    value = row.values.get("owner")
    if value is None:
        return True, None
    uid = owners.resolve(value)
    if uid is None:
        outcome.fail(row, "owner", f"no user is called {value!r} (a username, email or full name); map the column to nothing to own the rows yourself")
        return False, None
    return True, uid


# --- organizations ------------------------------------------------------------


class Organizations:
    """Organizations by external id and by lower-cased name for one batch,
    among those the actor sees; a name nobody has creates one."""

    def __init__(self, actor: User, rows: Sequence[Row]):
        self.actor = actor
        ids = {r.values["organization_external_id"] for r in rows if r.values.get("organization_external_id")}
        ids |= {r.values["external_id"] for r in rows if r.values.get("external_id")}
        names = {_org_name(r).lower() for r in rows if _org_name(r)}
        self.by_external: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        qs = visible(Organization, actor)
        if ids:
            self.by_external = dict(qs.filter(external_id__in=ids).values_list("external_id", "id"))
        if names:
            for oid, lname in qs.annotate(lname=Lower("name")).filter(lname__in=names).order_by("-id").values_list("id", "lname"):
                self.by_name[lname] = oid  # the oldest wins

    def remember(self, org: Organization) -> None:
        self.by_name.setdefault(org.name.lower(), org.id)
        if org.external_id:
            self.by_external[org.external_id] = org.id

    def find_or_create(self, row: Row, owner: int | None, outcome: Outcome) -> tuple[bool, int | None]:
        """(ok, organization id) for a contact's or deal's row."""
        ext = row.values.get("organization_external_id")
        if ext:
            if ext not in self.by_external:
                outcome.fail(row, "organization_external_id", f"no organization you can see has the external id {ext!r}")
                return False, None
            return True, self.by_external[ext]
        name = _org_name(row)
        if not name:
            return True, None
        if name.lower() not in self.by_name:
            org = crm_services.do_create_organization(self.actor, {"name": name[:200], "owner_id": owner})
            self.remember(org)
        return True, self.by_name[name.lower()]


    def resolve_into(self, data: dict, row: Row, owner: int | None, outcome: Outcome) -> None:
        """Put the row's organization into a contact's or deal's ``data``;
        a refused reference undoes the row (its savepoint)."""
        ok, org = self.find_or_create(row, owner, outcome)
        if not ok:
            raise _RowRefused
        if org is not None:
            data["organization_id"] = org


def _referenced_organizations(actor: User, rows: Sequence[Row]) -> Organizations:
    return Organizations(actor, [r for r in rows if r.values.get("organization") or r.values.get("organization_external_id")])


def _by_external_id(seen, rows: Sequence[Row]) -> dict[str, int]:
    ids = {r.values["external_id"] for r in rows if r.values.get("external_id")}
    return dict(seen.filter(external_id__in=ids).values_list("external_id", "id")) if ids else {}


def _org_name(row: Row) -> str | None:
    ref = row.values.get("organization")
    return ref[1] if ref else None


def write_organizations(actor: User, rows: Sequence[Row], on_duplicate: str, owners: Owners) -> Outcome:
    outcome = Outcome()
    orgs = Organizations(actor, rows)
    for row in rows:
        ok, owner = owner_id(row, owners, outcome)
        if not ok:
            continue
        data = {k: row.values[k] for k in ("name", "website", "phone", "industry", "external_id") if k in row.values}
        if owner is not None:
            data["owner_id"] = owner
        existing = orgs.by_external.get(data.get("external_id")) or orgs.by_name.get(data["name"].lower())
        if existing is not None and on_duplicate == "skip":
            outcome.skipped += 1
            continue
        org = _savepoint(
            outcome,
            row,
            existing,
            lambda: crm_services.do_create_organization(actor, data),
            lambda: crm_services.do_update_organization(actor, existing, data),
        )
        if org is not None:
            orgs.remember(org)
    return outcome


# --- contacts -------------------------------------------------------------------


def write_contacts(actor: User, rows: Sequence[Row], on_duplicate: str, owners: Owners) -> Outcome:
    outcome = Outcome()
    orgs = _referenced_organizations(actor, rows)
    seen = visible(Contact, actor)
    emails = {e for r in rows for e in r.values.get("email", ())}
    phones = {p for r in rows for p in r.values.get("phone", ())}
    by_external = _by_external_id(seen, rows)
    by_email = _visible_owners(ContactEmail.objects.filter(email__in=emails).values_list("email", "contact_id"), seen) if emails else {}
    by_phone = _visible_owners(ContactPhone.objects.filter(number__in=phones).values_list("number", "contact_id"), seen) if phones else {}
    for row in rows:
        ok, owner = owner_id(row, owners, outcome)
        if not ok:
            continue
        existing = by_external.get(row.values.get("external_id"))
        for value in row.values.get("email", ()):
            existing = existing or by_email.get(value)
        for value in row.values.get("phone", ()):
            existing = existing or by_phone.get(value)
        if existing is not None and on_duplicate == "skip":
            outcome.skipped += 1
            continue
        data = {k: row.values[k] for k in ("first_name", "last_name", "title", "external_id") if k in row.values}
        if owner is not None:
            data["owner_id"] = owner
        if existing is not None:
            # Add the file's addresses and numbers to the contact's own.
            if row.values.get("email"):
                have = list(ContactEmail.objects.filter(contact_id=existing).order_by("position").values_list("email", flat=True))
                data["emails"] = list(dict.fromkeys([*have, *row.values["email"]]))
            if row.values.get("phone"):
                have = list(ContactPhone.objects.filter(contact_id=existing).order_by("position").values_list("number", flat=True))
                data["phones"] = list(dict.fromkeys([*have, *row.values["phone"]]))
        else:
            data["emails"] = row.values.get("email", [])
            data["phones"] = row.values.get("phone", [])

        contact = _savepoint(
            outcome, row, existing,
            lambda: crm_services.do_create_contact(actor, data),
            lambda: crm_services.do_update_contact(actor, existing, data),
            first=lambda: orgs.resolve_into(data, row, owner, outcome),
        )  # fmt: skip
        if contact is not None:
            if contact.external_id:
                by_external[contact.external_id] = contact.id
            for value in data.get("emails", ()):
                by_email.setdefault(value, contact.id)
            for value in data.get("phones", ()):
                by_phone.setdefault(value, contact.id)
    return outcome


class _RowRefused(Exception):
    """The row's error is already in the outcome; undo its savepoint."""


def _savepoint(outcome: Outcome, row: Row, existing: int | None, create: Callable | None, update: Callable, first: Callable | None = None):
    """Create or update the row's record in a savepoint of its own: a row
    refused halfway (``first`` may create its organization) leaves nothing."""
    try:
        with transaction.atomic():
            if first is not None:
                first()
            record = create() if existing is None else update()
    except _RowRefused:
        return None
    except ServiceError as exc:
        _service_errors(outcome, row, exc)
        return None
    if existing is None:
        outcome.created += 1
    else:
        outcome.updated += 1
    return record


def _visible_owners(pairs, seen) -> dict[str, int]:
    """{address or number: the oldest visible contact holding it}. Two
    indexed reads (the addresses, then which of their contacts the actor
    sees) rather than one join with the visibility rule, which the planner
    ran as a scan of every contact."""
    pairs = list(pairs)
    allowed = set(seen.filter(id__in={rid for _, rid in pairs}).values_list("id", flat=True)) if pairs else set()
    found: dict[str, int] = {}
    for key, rid in sorted(pairs, key=lambda p: p[1]):
        if rid in allowed:
            found.setdefault(key, rid)
    return found


# --- deals ------------------------------------------------------------------------


def write_deals(actor: User, rows: Sequence[Row], on_duplicate: str, owners: Owners) -> Outcome:
    outcome = Outcome()
    orgs = _referenced_organizations(actor, rows)
    seen = visible(Deal, actor)
    names = {r.values["name"].lower() for r in rows}
    by_external = _by_external_id(seen, rows)
    by_name: dict[tuple[str, int | None], int] = {}
    for did, lname, org in seen.annotate(lname=Lower("name")).filter(lname__in=names).order_by("-id").values_list("id", "lname", "organization_id"):
        by_name[(lname, org)] = did
    for row in rows:
        ok, owner = owner_id(row, owners, outcome)
        if not ok:
            continue
        data = {k: row.values[k] for k in ("name", "stage", "amount", "expected_close_date", "closed_at", "external_id") if k in row.values}
        if owner is not None:
            data["owner_id"] = owner

        existing = by_external.get(data.get("external_id"))
        if existing is None and not row.values.get("organization_external_id") and not row.values.get("organization"):
            existing = by_name.get((data["name"].lower(), None))
        if existing is None and (row.values.get("organization_external_id") or row.values.get("organization")):
            # By name within the organization: resolved without creating it.
            ext = row.values.get("organization_external_id")
            org = orgs.by_external.get(ext) if ext else orgs.by_name.get(_org_name(row).lower())
            if org is not None:
                existing = by_name.get((data["name"].lower(), org))
        if existing is not None and on_duplicate == "skip":
            outcome.skipped += 1
            continue

        deal = _savepoint(
            outcome, row, existing,
            lambda: crm_services.do_create_deal(actor, data),
            lambda: crm_services.do_update_deal(actor, existing, data),
            first=lambda: orgs.resolve_into(data, row, owner, outcome),
        )  # fmt: skip
        if deal is not None:
            if deal.external_id:
                by_external[deal.external_id] = deal.id
            by_name.setdefault((deal.name.lower(), deal.organization_id), deal.id)
    return outcome


# --- touchpoints ------------------------------------------------------------------


def write_touchpoints(actor: User, rows: Sequence[Row], on_duplicate: str, owners: Owners) -> Outcome:
    outcome = Outcome()
    contacts = _contact_ids(actor, rows)
    orgs = Organizations(actor, rows)
    deal_ext = {r.values["deal_external_id"] for r in rows if r.values.get("deal_external_id")}
    deal_names = {r.values["organization"][1].lower() for r in rows if r.values.get("organization") and _is_deal(r)}
    deals_by_ext = dict(visible(Deal, actor).filter(external_id__in=deal_ext).values_list("external_id", "id")) if deal_ext else {}
    deals_by_name = {}
    if deal_names:
        for did, lname in visible(Deal, actor).annotate(lname=Lower("name")).filter(lname__in=deal_names).order_by("-id").values_list("id", "lname"):
            deals_by_name[lname] = did
    items: list[touchpoint_services.NewTouchpoint] = []
    item_rows: list[Row] = []
    for row in rows:
        ok, owner = owner_id(row, owners, outcome)
        if not ok:
            continue
        v = row.values
        kind, event_type = v["kind"]
        links: dict[str, list[int]] = {"contact_ids": [], "organization_ids": [], "deal_ids": []}
        refused = False
        for name, key in (("contact_email", "email"), ("contact_phone", "phone"), ("contact_external_id", "external_id")):
            if v.get(name):
                cid = contacts[key].get(v[name])
                if cid is None:
                    outcome.fail(row, name, f"no contact you can see has the {key.replace('_', ' ')} {v[name]!r}")
                    refused = True
                elif cid not in links["contact_ids"]:
                    links["contact_ids"].append(cid)
        if v.get("organization_external_id"):
            oid = orgs.by_external.get(v["organization_external_id"])
            if oid is None:
                outcome.fail(row, "organization_external_id", f"no organization you can see has the external id {v['organization_external_id']!r}")
                refused = True
            else:
                links["organization_ids"].append(oid)
        if v.get("organization"):
            module, name = v["organization"]
            found = (deals_by_name if _is_deal(row) else orgs.by_name).get(name.lower())
            if found is None:
                outcome.fail(row, "organization", f"no {'deal' if _is_deal(row) else 'organization'} you can see is called {name!r}")
                refused = True
            elif found not in links["deal_ids" if _is_deal(row) else "organization_ids"]:
                links["deal_ids" if _is_deal(row) else "organization_ids"].append(found)
        if v.get("deal_external_id"):
            did = deals_by_ext.get(v["deal_external_id"])
            if did is None:
                outcome.fail(row, "deal_external_id", f"no deal you can see has the external id {v['deal_external_id']!r}")
                refused = True
            elif did not in links["deal_ids"]:
                links["deal_ids"].append(did)
        if refused:
            continue
        items.append(
            touchpoint_services.NewTouchpoint(
                kind=kind,
                event_type=event_type,
                occurred_at=v["occurred_at"],
                status=v.get("status"),
                direction=v.get("direction"),
                duration_seconds=v.get("duration_seconds"),
                subject=v.get("subject", ""),
                summary=v.get("summary", ""),
                source=Source.IMPORT,
                external_id=v.get("external_id"),
                idempotency_key=None if v.get("external_id") else _row_key(row),
                owner_id=owner,
                **links,
            )
        )
        item_rows.append(row)
    if not items:
        return outcome
    results = touchpoint_services.record_touchpoints(actor, items)
    for row, item, result in zip(item_rows, items, results):
        if result.errors:
            for e in result.errors:
                name = str(e["loc"][0]) if e["loc"] else ""
                outcome.fail(row, SERVICE_FIELDS.get(name, name), e["msg"])
        elif result.created:
            outcome.created += 1
        elif on_duplicate == "skip":
            outcome.skipped += 1
        else:
            changes = {k: row.values[k] for k in ("status", "direction", "duration_seconds", "subject", "summary", "occurred_at") if k in row.values}
            _savepoint(outcome, row, result.touchpoint_id, None, lambda: touchpoint_services.update_touchpoint(actor, result.touchpoint_id, changes))
    return outcome


def _is_deal(row: Row) -> bool:
    """Vtiger's "Related To" of an activity may name a deal ("Potentials::::...")."""
    module = row.values["organization"][0] if row.values.get("organization") else None
    return (module or "").lower() in ("potentials", "opportunities", "deals")


def _contact_ids(actor: User, rows: Sequence[Row]) -> dict[str, dict[str, int]]:
    seen = visible(Contact, actor)
    emails = {r.values["contact_email"] for r in rows if r.values.get("contact_email")}
    phones = {r.values["contact_phone"] for r in rows if r.values.get("contact_phone")}
    ids = {r.values["contact_external_id"] for r in rows if r.values.get("contact_external_id")}
    return {
        "email": _visible_owners(ContactEmail.objects.filter(email__in=emails).values_list("email", "contact_id"), seen) if emails else {},
        "phone": _visible_owners(ContactPhone.objects.filter(number__in=phones).values_list("number", "contact_id"), seen) if phones else {},
        "external_id": dict(seen.filter(external_id__in=ids).values_list("external_id", "id")) if ids else {},
    }


def _row_key(row: Row) -> str:
    """The same row imported again is the same touchpoint (its idempotency
    key, unique per importing user)."""
    digest = hashlib.sha256(repr(sorted((k, str(v)) for k, v in row.values.items())).encode()).hexdigest()
    return f"import:{digest[:48]}"


WRITERS: dict[str, Callable[[User, Sequence[Row], str, Owners], Outcome]] = {
    "organizations": write_organizations,
    "contacts": write_contacts,
    "deals": write_deals,
    "touchpoints": write_touchpoints,
}
