"""One condition engine for custom lists, workflow entry criteria and
Smart Alerts (NetBox's "conditions as data").

A condition tree is JSON::

    {"all": [                                   # every child must hold
        {"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30},
        {"any": [                               # at least one child must hold
            {"field": "stage", "operator": "in", "value": ["proposal", "negotiation"]},
            {"field": "amount", "operator": "greater_than", "value": "10000"},
        ]},
    ]}

``check_tree`` validates a tree on save (a clear 422 naming the bad field,
operator or value by its place in the tree) and returns it normalized;
``compile_tree`` turns a checked tree into a ``Q`` over the record's
queryset, and ``filter_records`` adds the annotations the tree needs (the
counts). Nothing is evaluated row by row in Python and nothing is
``eval``-ed: every field maps to a column or a correlated subquery of the
registry below, every operator to a lookup.

Semantics, chosen to match what a CRM user expects (docs/automation.md):

* Text comparisons ignore case (``equals``, ``not_equals``, ``in``,
  ``contains``). SQLite folds ASCII letters only; PostgreSQL folds all.
* ``not_equals`` holds for empty values: "Last Contacted Via is not Email"
  lists the never-contacted too. ``greater_than``/``less_than``, ``before``
  and ``after`` never hold for an empty value.
* Date operators count calendar days in the viewer's time zone (a list's
  viewer, the company zone for workflows and alerts): ``today`` is from
  local midnight to the next; ``within_last_days N`` is the local dates
  today-N .. today; ``more_than_days_ago N`` is local dates before today-N;
  ``before D`` / ``after D`` are strictly before / after the local day D.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import Exact, In

from config.errors import Invalid, error
from crm.models import CLOSED_STAGES, Contact, Deal, DealContact, DealStage, LastContactedVia, Organization

MAX_DEPTH = 5
MAX_CONDITIONS = 50
MAX_GROUPS = 20
MAX_TEXT = 200
MAX_IN_VALUES = 100
MAX_DAYS = 36500
MIN_DATE, MAX_DATE = date(1000, 1, 1), date(9998, 12, 31)

TEXT, CHOICE, NUMBER, COUNT, DATETIME, DATE, USER = "text", "choice", "number", "count", "datetime", "date", "user"

OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: ("equals", "not_equals", "in", "contains", "is_empty", "is_not_empty"),
    CHOICE: ("equals", "not_equals", "in", "is_empty", "is_not_empty"),
    NUMBER: ("equals", "not_equals", "greater_than", "less_than", "is_empty", "is_not_empty"),
    COUNT: ("equals", "not_equals", "greater_than", "less_than"),
    DATETIME: ("before", "after", "today", "within_last_days", "more_than_days_ago", "is_empty", "is_not_empty"),
    DATE: ("before", "after", "today", "within_last_days", "more_than_days_ago", "is_empty", "is_not_empty"),
    USER: ("equals", "not_equals", "in", "is_empty", "is_not_empty"),
}
OPERATOR_LABELS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "in": "is one of",
    "contains": "contains",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "greater_than": "is greater than",
    "less_than": "is less than",
    "before": "is before",
    "after": "is after",
    "today": "is today",
    "within_last_days": "is within the last N days",
    "more_than_days_ago": "is more than N days ago",
}
NO_VALUE = {"is_empty", "is_not_empty", "today"}
DAY_COUNT = {"within_last_days", "more_than_days_ago"}


@dataclass(frozen=True)
class Field:
    """One condition field: ``column`` is the ORM path it reads, or, for a
    count, ``count`` builds the correlated subquery."""

    name: str
    label: str
    type: str
    column: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    count: Callable[[], Subquery] | None = None
    # Also a list column and a sort key (not the counts: they are subqueries).
    sortable: bool = True
    # A value read through this foreign key is shown only to who may open
    # the related record (Context.organizations).
    guard: str | None = None

    @property
    def annotation(self) -> str:
        return f"cond_{self.name}"


def _count(model, link: str, condition: Q = Q()) -> Callable[[], Subquery]:
    def build() -> Subquery:
        rows = model.objects.filter(condition, **{link: OuterRef("pk")}).order_by().values(link).annotate(n=Count("*")).values("n")
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    return build


def _touchpoint_count(record_type: str) -> Callable[[], Subquery]:
    from touchpoints.models import TouchpointLink

    # Shown links: what the record's timeline lists (tpl_*_timeline_idx).
    return _count(TouchpointLink, f"{record_type}_id", Q(shown=True))


VIA_CHOICES = tuple((v.value, v.label) for v in LastContactedVia)


def _common(record_type: str) -> list[Field]:
    return [
        Field("owner", "Owner", USER, "owner_id"),
        Field("last_contacted_via", "Last Contacted Via", CHOICE, "last_contacted_via", VIA_CHOICES),
        Field("last_contacted_on", "Last Contacted On", DATETIME, "last_contacted_on"),
        Field("created_at", "Created", DATETIME, "created_at"),
        Field("touchpoint_count", "Touchpoints", COUNT, count=_touchpoint_count(record_type), sortable=False),
    ]


REGISTRY: dict[str, dict[str, Field]] = {
    "organization": {
        f.name: f
        for f in [
            Field("name", "Name", TEXT, "name"),
            Field("industry", "Industry", TEXT, "industry"),
            Field("website", "Website", TEXT, "website"),
            Field("phone", "Phone", TEXT, "phone"),
            *_common("organization"),
            Field("open_deal_count", "Open deals", COUNT, count=_count(Deal, "organization_id", ~Q(stage__in=CLOSED_STAGES)), sortable=False),
            Field("contact_count", "Contacts", COUNT, count=_count(Contact, "organization_id"), sortable=False),
        ]
    },
    "contact": {
        f.name: f
        for f in [
            Field("first_name", "First name", TEXT, "first_name"),
            Field("last_name", "Last name", TEXT, "last_name"),
            Field("title", "Title", TEXT, "title"),
            Field("organization_name", "Organization", TEXT, "organization__name", sortable=False, guard="organization"),
            *_common("contact"),
            Field("open_deal_count", "Open deals", COUNT, count=_count(DealContact, "contact_id", ~Q(deal__stage__in=CLOSED_STAGES)), sortable=False),
        ]
    },
    "deal": {
        f.name: f
        for f in [
            Field("name", "Name", TEXT, "name"),
            Field("stage", "Stage", CHOICE, "stage", tuple((s.value, s.label) for s in DealStage)),
            Field("amount", "Amount", NUMBER, "amount"),
            Field("expected_close_date", "Expected close date", DATE, "expected_close_date"),
            Field("closed_at", "Closed", DATETIME, "closed_at"),
            Field("organization_name", "Organization", TEXT, "organization__name", sortable=False, guard="organization"),
            *_common("deal"),
            Field("contact_count", "Contacts", COUNT, count=_count(DealContact, "deal_id"), sortable=False),
        ]
    },
}
MODELS = {"organization": Organization, "contact": Contact, "deal": Deal}
RECORD_TYPES = tuple(REGISTRY)


@dataclass
class Context:
    """What a tree is judged against: the moment, the zone whose calendar
    days the date operators count, and the user "me" means."""

    now: datetime
    tz: ZoneInfo
    user_id: int | None = None
    # The organizations the viewer may open, for a viewer who does not see
    # everything (a rep's custom list): an organization's name is empty to
    # such a viewer, so a condition on it cannot tell them what the name of a
    # hidden organization is (lists show it blank too). None: no restriction.
    organizations: QuerySet | None = None
    counts_needed: set[str] = field(default_factory=set)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def midnight(self, day: date) -> datetime:
        # The first instant of a local day, as an aware datetime. zoneinfo
        # resolves a midnight skipped by a DST change to the next valid time.
        return datetime.combine(day, time(0), tzinfo=self.tz)


# --- validation -------------------------------------------------------------------


def check_tree(record_type: str, tree: Any, loc: tuple = ("conditions",)) -> dict:
    """The tree normalized (values in canonical form), or ``Invalid`` with
    every problem, each naming its place: ``conditions.all.1.operator``."""
    if record_type not in REGISTRY:
        raise Invalid.field(("record_type",), f"must be one of {', '.join(RECORD_TYPES)}")
    if tree is None or tree == {}:
        return {"all": []}
    errors: list[dict] = []
    seen = [0, 0]  # conditions, groups
    normalized = _check_node(record_type, tree, loc, 1, errors, seen)
    if not errors and "field" in normalized:  # a bare condition: wrap it so every stored tree is a group
        normalized = {"all": [normalized]}
    if errors:
        raise Invalid(errors)
    return normalized


def _check_node(record_type: str, node: Any, loc: tuple, depth: int, errors: list, seen: list) -> dict:
    if not isinstance(node, dict):
        errors.append(error(loc, "must be an object: a group {\"all\": [...]} / {\"any\": [...]} or a condition {field, operator, value}"))
        return {}
    groups = [k for k in ("all", "any") if k in node]
    if groups:
        if len(node) != 1:
            errors.append(error(loc, "a group has exactly one key, \"all\" or \"any\""))
            return {}
        key = groups[0]
        children = node[key]
        if not isinstance(children, list):
            errors.append(error((*loc, key), "must be a list of conditions"))
            return {}
        if depth > MAX_DEPTH:
            errors.append(error((*loc, key), f"groups nest at most {MAX_DEPTH} deep"))
            return {}
        # Bounded before the children are read: a request cannot make the
        # check (or the compiled query) walk an unbounded tree.
        seen[1] += 1
        if seen[1] > MAX_GROUPS:
            if seen[1] == MAX_GROUPS + 1:  # said once, at the first group too many
                errors.append(error((*loc, key), f"a tree holds at most {MAX_GROUPS} groups"))
            return {}
        if len(children) > MAX_CONDITIONS:
            errors.append(error((*loc, key), f"a group holds at most {MAX_CONDITIONS} items"))
            return {}
        return {key: [_check_node(record_type, child, (*loc, key, i), depth + 1, errors, seen) for i, child in enumerate(children)]}
    seen[0] += 1
    if seen[0] == MAX_CONDITIONS + 1:
        errors.append(error(loc, f"a tree holds at most {MAX_CONDITIONS} conditions"))
    return _check_condition(record_type, node, loc, errors)


def _check_condition(record_type: str, node: dict, loc: tuple, errors: list) -> dict:
    unknown = set(node) - {"field", "operator", "value"}
    if unknown:
        errors.append(error((*loc, sorted(unknown)[0]), "is not a condition key (field, operator, value)"))
        return {}
    fields = REGISTRY[record_type]
    name = node.get("field")
    if not isinstance(name, str) or name not in fields:
        errors.append(error((*loc, "field"), f"must be one of the {record_type} fields: {', '.join(fields)}"))
        return {}
    spec = fields[name]
    operator = node.get("operator")
    allowed = OPERATORS[spec.type]
    if operator not in allowed:
        errors.append(error((*loc, "operator"), f"{name} ({spec.type}) takes one of: {', '.join(allowed)}"))
        return {}
    if operator in NO_VALUE:
        if node.get("value") is not None:
            errors.append(error((*loc, "value"), f"{operator} takes no value"))
            return {}
        return {"field": name, "operator": operator, "value": None}
    if "value" not in node or node["value"] is None:
        errors.append(error((*loc, "value"), f"{operator} needs a value"))
        return {}
    try:
        value = _check_value(spec, operator, node["value"])
    except ItemError as exc:  # one value of an "in" list: name it by its place
        errors.append(error((*loc, "value", exc.index), exc.message))
        return {}
    except ValueError as exc:
        errors.append(error((*loc, "value"), str(exc)))
        return {}
    return {"field": name, "operator": operator, "value": value}


class ItemError(ValueError):
    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index, self.message = index, message


def _check_value(spec: Field, operator: str, value: Any) -> Any:
    if operator == "in":
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list")
        if len(value) > MAX_IN_VALUES:
            raise ValueError(f"at most {MAX_IN_VALUES} values")
        checked = []
        for i, item in enumerate(value):
            try:
                checked.append(_check_scalar(spec, item))
            except ValueError as exc:
                raise ItemError(i, str(exc)) from None
        return list(dict.fromkeys(checked))
    if operator in DAY_COUNT:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            raise ValueError(f"must be a whole number of days, 0 to {MAX_DAYS}")
        return value
    if operator in ("before", "after"):
        if not isinstance(value, str):
            raise ValueError("must be a date, YYYY-MM-DD")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date, YYYY-MM-DD") from None
        # Bounded so that the local midnights compiled from it (a day later
        # for "after", shifted by any zone's offset) stay inside datetime's range.
        if not MIN_DATE <= day <= MAX_DATE:
            raise ValueError(f"must be a date from {MIN_DATE} to {MAX_DATE}")
        return day.isoformat()
    return _check_scalar(spec, value)


def _check_scalar(spec: Field, value: Any) -> Any:
    if spec.type == TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        # Stored as JSON: PostgreSQL's jsonb takes neither NUL nor a lone surrogate.
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("must not contain NUL characters or unpaired surrogates")
        return value
    if spec.type == CHOICE:
        choices = [c for c, _ in spec.choices]
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value
    if spec.type == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 12:
            raise ValueError("must be a finite number below 10^12")
        # Amounts are stored with 2 decimals; a finer value would compare as a
        # float on SQLite and exactly on PostgreSQL, and the two would disagree.
        if number.as_tuple().exponent < -2 and number != number.quantize(Decimal("0.01")):
            raise ValueError("at most 2 decimal places")
        return str(number)
    if spec.type == COUNT:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
            raise ValueError("must be a whole number, 0 or more")
        return value
    if spec.type == USER:
        if value == "me":
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a user id or \"me\"")
        from accounts.models import User

        if not User.objects.filter(id=value).exists():
            raise ValueError(f"user {value} not found")
        return value
    raise ValueError("no value expected")  # pragma: no cover - every type is handled above


# --- compiling ----------------------------------------------------------------------


def compile_tree(record_type: str, tree: dict, ctx: Context) -> Q:
    """A checked tree as a ``Q``; ``ctx.counts_needed`` collects the count
    annotations it refers to (``filter_records`` adds them)."""
    # This tree's counts only: a context reused for another tree (or another
    # record type, whose registry lacks them) must not carry the last one's.
    ctx.counts_needed = set()
    return _compile(REGISTRY[record_type], tree, ctx)


def _compile(fields: dict[str, Field], node: dict, ctx: Context) -> Q:
    if "all" in node:
        q = Q()
        for child in node["all"]:
            q &= _compile(fields, child, ctx)
        return q
    if "any" in node:
        if not node["any"]:
            return Q(pk__in=[])  # no alternative holds: "any of nothing" is false
        q = Q(pk__in=[])
        for child in node["any"]:
            compiled = _compile(fields, child, ctx)
            if not compiled:
                # An empty Q is "always true" (an empty "all"), but Django drops
                # it from an OR (q | Q() is q): the whole group holds.
                return Q()
            q |= compiled
        return q
    spec = fields[node["field"]]
    if spec.count is not None:
        ctx.counts_needed.add(spec.name)
        column = spec.annotation
    else:
        column = spec.column
    condition = _condition(spec, column, node["operator"], node["value"], ctx)
    if spec.guard and ctx.organizations is not None:
        # Judged on the real name where the viewer may see the organization,
        # and as an empty value where they may not.
        seen = Q(**{f"{spec.guard}__in": ctx.organizations})
        return (seen & condition) | (~seen & _as_if_empty(node["operator"]))
    return condition


def _as_if_empty(operator: str) -> Q:
    # What a text operator says of an empty value (module docstring).
    return Q() if operator in ("not_equals", "is_empty") else Q(pk__in=[])


def _condition(spec: Field, column: str, operator: str, value: Any, ctx: Context) -> Q:
    if operator == "is_empty":
        return Q(**{f"{column}__isnull": True}) | (Q(**{column: ""}) if spec.type == TEXT else Q(pk__in=[]))
    if operator == "is_not_empty":
        return Q(**{f"{column}__isnull": False}) & (~Q(**{column: ""}) if spec.type == TEXT else Q())
    if spec.type in (DATETIME, DATE):
        return _date_condition(spec, column, operator, value, ctx)
    if spec.type == TEXT:
        return _text_condition(spec, column, operator, value)
    if spec.type == USER:
        # "me" without a user (a workflow's or an alert's context) is nobody.
        # It must not reach the lookup as None: owner_id = None compiles to
        # IS NULL and "owner is me" would select every unowned record.
        if operator == "in":
            value = [v for v in (ctx.user_id if v == "me" else v for v in value) if v is not None]
        elif value == "me":
            value = ctx.user_id
            if value is None:
                return Q() if operator == "not_equals" else Q(pk__in=[])
    if spec.type == NUMBER:
        value = Decimal(value)
    lookups = {"equals": "exact", "greater_than": "gt", "less_than": "lt", "in": "in"}
    if operator == "not_equals":
        # ~Q on a nullable column compiles to NOT (col = v AND col IS NOT NULL):
        # an empty value "does not equal" anything, as documented above.
        return ~Q(**{column: value})
    return Q(**{f"{column}__{lookups[operator]}": value})


def _text_condition(spec: Field, column: str, operator: str, value: Any) -> Q:
    # Lowered on both sides (not __iexact, which is LIKE on SQLite and would
    # read % and _ in the value as wildcards).
    if operator == "contains":
        return Q(**{f"{column}__icontains": value})
    if operator == "in":
        return Q(In(Lower(column), [v.lower() for v in value]))
    equal = Q(Exact(Lower(column), value.lower()))
    if operator == "equals":
        return equal
    # not_equals: an empty column (NULL, reached through an empty foreign key) counts as different.
    return ~equal | Q(**{f"{column}__isnull": True})


def _date_condition(spec: Field, column: str, operator: str, value: Any, ctx: Context) -> Q:
    today = ctx.today
    if spec.type == DATE:
        if operator == "before":
            return Q(**{f"{column}__lt": date.fromisoformat(value)})
        if operator == "after":
            return Q(**{f"{column}__gt": date.fromisoformat(value)})
        if operator == "more_than_days_ago":
            return Q(**{f"{column}__lt": today - timedelta(days=value)})
        first = today if operator == "today" else today - timedelta(days=value)
        return Q(**{f"{column}__gte": first, f"{column}__lte": today})
    # A datetime column: compare with the instants where local days begin.
    if operator == "before":
        return Q(**{f"{column}__lt": ctx.midnight(date.fromisoformat(value))})
    if operator == "after":
        return Q(**{f"{column}__gte": ctx.midnight(date.fromisoformat(value) + timedelta(days=1))})
    if operator == "more_than_days_ago":
        return Q(**{f"{column}__lt": ctx.midnight(today - timedelta(days=value))})
    first = today if operator == "today" else today - timedelta(days=value)
    return Q(**{f"{column}__gte": ctx.midnight(first), f"{column}__lt": ctx.midnight(today + timedelta(days=1))})


def annotate_counts(qs: QuerySet, record_type: str, names: set[str]) -> QuerySet:
    fields = REGISTRY[record_type]
    return qs.annotate(**{fields[n].annotation: fields[n].count() for n in sorted(names)}) if names else qs


def filter_records(qs: QuerySet, record_type: str, tree: dict, ctx: Context) -> QuerySet:
    """``qs`` (a queryset of the record type, usually already narrowed to
    what the viewer may see) filtered by a checked tree."""
    condition = compile_tree(record_type, tree, ctx)
    return annotate_counts(qs, record_type, ctx.counts_needed).filter(condition)


def field_choices(record_type: str) -> list[Field]:
    return list(REGISTRY[record_type].values())


def describe(record_type: str, tree: dict) -> str:
    """A one-line reading of a tree, for lists of saved lists and workflows."""
    fields = REGISTRY[record_type]

    def text(node: dict) -> str:
        for key, joiner in (("all", " and "), ("any", " or ")):
            if key in node:
                parts = [text(child) for child in node[key]]
                if not parts:
                    return "everything" if key == "all" else "nothing"
                joined = joiner.join(parts)
                return f"({joined})" if len(parts) > 1 else joined
        spec = fields[node["field"]]
        label = OPERATOR_LABELS[node["operator"]].replace("N days", f"{node['value']} days") if node["operator"] in DAY_COUNT else OPERATOR_LABELS[node["operator"]]
        value = "" if node["operator"] in NO_VALUE | DAY_COUNT else f" {', '.join(map(str, node['value'])) if isinstance(node['value'], list) else node['value']}"
        return f"{spec.label} {label}{value}"

    return text(tree)


def now_in(tz_name: str, user_id: int | None = None, now: datetime | None = None) -> Context:
    from django.utils import timezone

    return Context(now=now or timezone.now(), tz=ZoneInfo(tz_name), user_id=user_id)


def viewer_context(user, now: datetime | None = None) -> Context:
    """A tree judged for one viewer: their zone, "me" is them, and only the
    organizations they may open have a name."""
    from crm.permissions import visible

    ctx = now_in(user.tzinfo.key, user.id, now)
    if not user.sees_everything:
        ctx.organizations = visible(Organization, user).values("id")
    return ctx
