"""The columns a custom list may show, per record type.

Every condition field of the registry (automation.conditions.REGISTRY) is
a column, so what a list filters on it can also show, plus a few of the
record's natural columns the registry has no condition for (a contact's
primary email and phone). Each column reads one flat attribute of the row
(``key``): a model field, or an annotation the list's query adds only when
the column is shown, so a page and the CSV export read the same names from
a model instance or a ``values()`` dict.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Expression, F, OuterRef, Subquery

from automation.conditions import COUNT, REGISTRY, TEXT
from crm.models import ContactEmail, ContactPhone

MAX_COLUMNS = 20
DEFAULT_SORT = "-last_contacted_on"
DEFAULT_COLUMNS = {
    "organization": ["name", "industry", "owner", "last_contacted_via", "last_contacted_on"],
    "contact": ["first_name", "last_name", "title", "organization_name", "email", "last_contacted_via", "last_contacted_on"],
    "deal": ["name", "organization_name", "stage", "amount", "owner", "last_contacted_via", "last_contacted_on"],
}
# Columns that name the record: on the list page they link to it.
TITLE_COLUMNS = {"name", "first_name", "last_name"}
OWNER_KEYS = {"list_owner_first_name": "owner__first_name", "list_owner_last_name": "owner__last_name", "list_owner_username": "owner__username"}


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # a condition type (automation.conditions: text, choice, number, ...)
    key: str  # the row attribute holding the value
    # The ORM expression ``key`` is annotated with (None: a model field, or a
    # count, which automation.conditions.annotate_counts adds).
    expression: Callable[[], Expression] | None = None
    count: bool = False
    sort_column: str | None = None  # what sorted_page orders by; None: not a sort key
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def choice_labels(self) -> dict[str, str]:
        return dict(self.choices)


def _first(model, link: str, column: str) -> Callable[[], Expression]:
    # The first by position, as the contact page lists them.
    return lambda: Subquery(model.objects.filter(**{link: OuterRef("pk")}).order_by("position", "id").values(column)[:1])


def _from_registry(record_type: str) -> list[Column]:
    columns = []
    for spec in REGISTRY[record_type].values():
        if spec.count is not None:
            columns.append(Column(spec.name, spec.label, COUNT, spec.annotation, count=True))
        elif "__" in spec.column:  # through a relation: a flat annotation
            path = spec.column
            columns.append(Column(spec.name, spec.label, spec.type, f"list_{spec.name}", expression=lambda path=path: F(path)))
        else:
            sort = spec.column if spec.sortable else None
            columns.append(Column(spec.name, spec.label, spec.type, spec.column, sort_column=sort, choices=spec.choices))
    return columns


NATURAL = {
    "organization": [],
    "contact": [
        Column("email", "Email", TEXT, "list_email", expression=_first(ContactEmail, "contact_id", "email")),
        Column("phone", "Phone", TEXT, "list_phone", expression=_first(ContactPhone, "contact_id", "number")),
    ],
    "deal": [],
}
COLUMNS: dict[str, dict[str, Column]] = {rt: {c.name: c for c in [*_from_registry(rt), *NATURAL[rt]]} for rt in REGISTRY}


def columns_of(record_type: str, names: list[str]) -> list[Column]:
    catalogue = COLUMNS[record_type]
    return [catalogue[n] for n in names if n in catalogue]


def sort_keys(record_type: str) -> list[Column]:
    return [c for c in COLUMNS[record_type].values() if c.sort_column]

