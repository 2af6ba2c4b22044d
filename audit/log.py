"""Writing the audit log (the only module that does).

Every service that creates, changes or deletes a record calls one of the
functions below inside its own transaction, so an entry exists exactly when
the change committed. What is recorded for each record type is data
(``AUDITED``): its model, how it is named, which fields are left out
(derived values such as Last Contacted, timestamps the row keeps itself)
and which related values count as its fields (a contact's addresses, a
deal's contacts).

Decisions (docs/audit.md):
- Updates record only the fields that changed, as ``{field: [old, new]}``;
  an update that changes nothing writes nothing.
- Creates record the initial values (``[null, value]``), deletes the last
  ones (``[value, null]``), so a deleted record can be reconstructed.
- A touchpoint's create entry leaves out its text (subject stays, summary
  does not): the touchpoint row keeps it, and the log of a 10M-touchpoint
  installation should not hold every email body twice.
- Changes made by no user (a provider webhook, the customer portal, the
  worker) have no actor; ``actor_name`` says which system made them.
- Derived writes are not separate entries: Last Contacted, rollup links
  and the touchpoint an event or case keeps in step are consequences of the
  audited change, not changes someone made.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.db.models import DateField, DecimalField, Model
from django.utils import timezone

from audit.models import Action, AuditEntry

LABEL_LENGTH = AuditEntry._meta.get_field("label").max_length


@dataclass(frozen=True)
class Audited:
    model: str  # app_label.Model, resolved lazily (audit is below every app)
    label: Callable[[Model], str]
    exclude: frozenset[str] = frozenset()
    # Values kept in other tables that users edit as part of the record.
    related: dict[str, Callable[[Model], Any]] = field(default_factory=dict)
    # Fields a create entry leaves out (see the module docstring).
    omit_on_create: frozenset[str] = frozenset()

    @property
    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)


def _kind_label(kind: str) -> str:
    from touchpoints.rules import Kind

    return Kind(kind).label if kind in Kind.values else kind


def _contact_name(c) -> str:
    return " ".join(p for p in (c.first_name, c.last_name) if p)


ROW_STAMPS = frozenset({"id", "created_at", "updated_at", "erased_at"})
LAST_CONTACTED = frozenset({"last_contacted_on", "last_contacted_via"})

AUDITED: dict[str, Audited] = {
    "organization": Audited("crm.Organization", lambda o: o.name, ROW_STAMPS | LAST_CONTACTED),
    "contact": Audited(
        "crm.Contact",
        _contact_name,
        ROW_STAMPS | LAST_CONTACTED,
        related={
            "emails": lambda c: list(c.emails.order_by("position", "id").values_list("email", flat=True)),
            "phones": lambda c: list(c.phones.order_by("position", "id").values_list("number", flat=True)),
        },
    ),
    "deal": Audited(
        "crm.Deal",
        lambda d: d.name,
        frozenset({"id", "updated_at", "idle_alerted_for"}) | LAST_CONTACTED,  # created_at is editable on a deal (imports)
        related={"contact_ids": lambda d: sorted(d.contacts.values_list("id", flat=True))},
    ),
    "event": Audited(
        "activities.Event",
        lambda e: e.subject,
        ROW_STAMPS | {"touchpoint", "overdue_alerted_for"},
        related={"contact_ids": lambda e: sorted(e.contacts.values_list("id", flat=True))},
    ),
    "task": Audited("activities.Task", lambda t: t.title, ROW_STAMPS | {"overdue_alerted_for"}),
    "case": Audited("cases.Case", lambda c: c.title, frozenset({"id", "updated_at", "touchpoint"})),
    "touchpoint": Audited(
        "touchpoints.Touchpoint",
        lambda t: t.subject or _kind_label(t.kind),
        frozenset({"id", "recorded_at"}),
        omit_on_create=frozenset({"summary"}),
    ),
}


# Security settings audited with explicit entries (log_action) rather than
# snapshots: a user row holds a password hash that must never be copied.
ACCOUNT_TYPES = ("user", "team", "token")
RECORD_TYPES = (*AUDITED, *ACCOUNT_TYPES)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _fields(spec: Audited) -> list:
    return [f for f in spec.model_class._meta.concrete_fields if f.name not in spec.exclude]


def snapshot(record_type: str, record: Model) -> dict[str, Any]:
    """The record's audited values now, JSON-ready, keyed as the API names
    them (``owner_id``, ``organization_id``)."""
    spec = AUDITED[record_type]
    values = {f.attname: jsonable(getattr(record, f.attname)) for f in _fields(spec)}
    for name, read in spec.related.items():
        values[name] = jsonable(read(record))
    return values


def _actor_name(actor, via: str) -> str:
    if actor is not None:
        return actor.get_username()
    return via or "system"


def _entry(actor, action: str, record_type: str, record_id: int, label: str, changes: dict, via: str, at: datetime | None = None) -> AuditEntry:
    return AuditEntry(
        at=at or timezone.now(),
        actor_id=actor.id if actor is not None else None,
        actor_name=_actor_name(actor, via),
        action=action,
        record_type=record_type,
        record_id=record_id,
        label=(label or "")[:LABEL_LENGTH],
        changes=changes,
    )


def log_created(actor, record_type: str, record: Model, *, via: str = "") -> None:
    spec = AUDITED[record_type]
    values = snapshot(record_type, record)
    changes = {k: [None, v] for k, v in values.items() if k not in spec.omit_on_create and v not in (None, "", [])}
    _entry(actor, Action.CREATE, record_type, record.pk, spec.label(record), changes, via).save()


ENTRY_COLUMNS = ("at", "actor_id", "actor_name", "action", "record_type", "record_id", "label", "changes")


def log_created_rows(actor, record_type: str, field_names: Sequence[str], rows: Iterable[Sequence], *, via: Callable[[Sequence], str]) -> None:
    """Create entries for a batch of new rows given as the tuples the
    ingest path inserts (``field_names`` order, "id" among them), in one
    bulk INSERT (COPY on PostgreSQL) like the rows themselves: the ORM's
    bulk_create cost more than the touchpoints' own insert (measured,
    docs/benchmarks.md). ``via`` names the system for a row without actor."""
    from touchpoints.bulk import insert_rows

    spec = AUDITED[record_type]
    model = spec.model_class
    id_at = field_names.index("id")
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    keep = [(i, name) for i, name in enumerate(field_names) if name != "id" and by_attname[name].name not in spec.exclude and name not in spec.omit_on_create]
    # Only some columns need converting (datetimes, dates, decimals): decide
    # per column once, not per value (this runs for every ingested row).
    plain = [(i, name) for i, name in keep if not isinstance(by_attname[name], (DateField, DecimalField))]
    converted = [(i, name) for i, name in keep if (i, name) not in plain]
    now = timezone.now()
    actor_id = actor.id if actor is not None else None
    entries = []
    for row in rows:
        changes = {name: [None, row[i]] for i, name in plain if row[i] is not None and row[i] != ""}
        for i, name in converted:
            if row[i] is not None:
                changes[name] = [None, jsonable(row[i])]
        label = spec.label(SimpleNamespace(**dict(zip(field_names, row))))
        entries.append((now, actor_id, _actor_name(actor, via(row)), Action.CREATE, record_type, row[id_at], (label or "")[:LABEL_LENGTH], changes))
    insert_rows(AuditEntry, ENTRY_COLUMNS, entries)


def log_updated(actor, record_type: str, record: Model, before: dict[str, Any], *, via: str = "") -> bool:
    """Record what changed since ``before`` (a snapshot taken under the
    row lock, before the change). Returns whether anything did."""
    after = snapshot(record_type, record)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if not changes:
        return False
    _entry(actor, Action.UPDATE, record_type, record.pk, AUDITED[record_type].label(record), changes, via).save()
    return True


def log_deleted(actor, record_type: str, record: Model, *, via: str = "") -> None:
    """Call before the row is deleted (its related values are still there)."""
    values = snapshot(record_type, record)
    changes = {k: [v, None] for k, v in values.items() if v not in (None, "", [])}
    _entry(actor, Action.DELETE, record_type, record.pk, AUDITED[record_type].label(record), changes, via).save()


def log_action(actor, action: str, record_type: str, record_id: int, label: str, changes: dict | None = None, *, via: str = "") -> None:
    """An entry that is not a field change: a privacy export or erasure."""
    _entry(actor, action, record_type, record_id, label, changes or {}, via).save()
