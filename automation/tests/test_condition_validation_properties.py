"""Property tests of the condition validator (``check_tree``), the parser
of the condition trees clients send for lists, workflows and alerts.
(test_condition_properties.py proves that accepted trees select in SQL
what the Python reference selects; this file is about what comes in.)

For any JSON a client could send -- trees that are nearly right (a wrong
key, operator, value type or depth here and there), the edges of every
limit, and arbitrary JSON:

- ``check_tree`` returns a normalized tree or raises ``Invalid``, never
  another exception;
- every error names its place: a path that exists in the tree as sent,
  ending at the offending node or key (or at the key that is missing);
- an accepted tree is a fixed point (checking it again gives it back: a
  stored tree always re-validates), compiles to one query that runs on
  this database for every context, and is storable JSON;
- over the API, saving a list with any such ``conditions`` is a 201 or a
  422 whose every error starts ``body.conditions``; never a 5xx.

Derandomized, bounded, no deadline.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

from config.tests.properties import property_settings

from automation.conditions import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_GROUPS,
    MODELS,
    OPERATORS,
    RECORD_TYPES,
    REGISTRY,
    Context,
    check_tree,
    filter_records,
)
from automation.tests import strategies
from config.errors import Invalid

PROPERTY = property_settings(100)
ALL_FIELDS = sorted({name for fields in REGISTRY.values() for name in fields})
ALL_OPERATORS = sorted({op for ops in OPERATORS.values() for op in ops})
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 30, 36500, 36501, -1, 10**9, 10**12, "me", "2026-12-07", "0001-01-01", "9999-12-31", "1e12", "NaN", "0.001", "12.50"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["prospecting", "closed_won", "Email", "Phone Call", "a\x00b", "\ud800", "x" * 600, "%_"]),
)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def condition() -> st.SearchStrategy[dict]:
    """Mostly a real field and operator with a plausible value; sometimes a
    key missing, an extra key, or anything in a place."""
    value = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), JSON)
    base = st.fixed_dictionaries(
        {"field": st.one_of(st.sampled_from(ALL_FIELDS), SCALARS), "operator": st.one_of(st.sampled_from(ALL_OPERATORS), SCALARS)},
        optional={"value": value, "negate": st.booleans()},
    )
    return base.map(lambda d: {k: v for k, v in d.items() if k != "negate" or len(d) > 3})


def trees(depth: int = MAX_DEPTH + 1) -> st.SearchStrategy:
    leaf = st.one_of(condition(), condition(), condition(), JSON)
    if depth == 0:
        return leaf
    group = st.builds(
        lambda key, children, extra: {key: children, **extra},
        st.sampled_from(["all", "any", "all", "any", "none"]),
        st.one_of(st.lists(trees(depth - 1), max_size=3), st.lists(trees(depth - 1), max_size=3), JSON),
        st.one_of(st.just({}), st.just({}), st.just({}), st.dictionaries(st.sampled_from(["any", "note"]), JSON, max_size=1)),
    )
    return st.one_of(leaf, group, group)


TREES = st.one_of(trees(), trees(), JSON, st.just({}), st.none())
# Valid trees as the condition builder makes them (automation/tests/strategies.py,
# without a world: values are drawn near a fixed context), then maybe broken
# in one place.
BUILDER_CONTEXT = Context(now=datetime(2026, 12, 7, 12, tzinfo=UTC), tz=ZoneInfo("UTC"), user_id=None)


@st.composite
def broken(draw, tree):
    """The tree with one node (a group's list, a condition, or one of its
    keys) replaced by anything, or a key added."""
    places = []

    def walk(node, path):
        places.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, (*path, i))

    walk(tree, ())
    path = draw(st.sampled_from(places))
    replacement = draw(st.one_of(JSON, condition()))
    if not path:
        return replacement
    tree = json.loads(json.dumps(tree))
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        parent[draw(st.sampled_from(["negate", "any", "value", "x"]))] = replacement
    else:
        parent[path[-1]] = replacement
    return tree


def cases() -> st.SearchStrategy[tuple[str, object]]:
    def for_type(record_type: str):
        valid = strategies.trees(record_type, strategies.World(users=[]), BUILDER_CONTEXT)
        return st.tuples(st.just(record_type), st.one_of(valid, valid, valid.flatmap(broken), TREES))

    return st.sampled_from(RECORD_TYPES).flatmap(for_type)
CONDITION_KEYS = ("field", "operator", "value")


def _names_a_place(tree, loc: list) -> bool:
    """The path exists in the tree as sent; its last step may be a
    condition key that is missing (that is the error)."""
    assert loc[0] == "conditions", loc
    node = tree
    for i, step in enumerate(loc[1:], start=1):
        last = i == len(loc) - 1
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return last and isinstance(node, dict) and step in CONDITION_KEYS
    return True


CONTEXTS = [
    Context(now=datetime(2026, 12, 7, 12, tzinfo=UTC), tz=ZoneInfo("UTC"), user_id=None),
    Context(now=datetime(2026, 3, 29, 1, tzinfo=UTC), tz=ZoneInfo("Pacific/Kiritimati"), user_id=1),
    Context(now=datetime(2026, 3, 8, 10, tzinfo=UTC), tz=ZoneInfo("Pacific/Pago_Pago"), user_id=None),
]


@PROPERTY
@given(case=cases())
@example(case=("deal", {"all": [{"field": "amount", "operator": "greater_than", "value": float("nan")}]}))
@example(case=("contact", {"any": [{"field": "owner", "operator": "in", "value": ["me", 2**70]}]}))
@example(case=("deal", {"all": [{"field": "expected_close_date", "operator": "before", "value": "9999-12-31"}]}))
@example(case=("organization", {"all": [{"field": "name", "operator": "equals", "value": "a\x00b"}]}))
@example(case=("deal", {"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]}))
@example(case=("deal", {"all": [{"field": "name", "operator": "is_empty"}] * (MAX_CONDITIONS + 1)}))
@example(case=("deal", {"any": [{"all": []}] * (MAX_GROUPS + 1)}))
def test_any_tree_is_normalized_or_refused_with_every_error_at_its_place(db, case):
    record_type, tree = case
    try:
        checked = check_tree(record_type, tree)
    except Invalid as exc:
        note(f"errors: {exc.errors}")
        event("refused")
        assert exc.errors
        for problem in exc.errors:
            assert problem["msg"] and _names_a_place(tree, problem["loc"]), problem
        return
    note(f"checked: {checked}")
    event("accepted" if any(checked.values()) else "accepted (empty)")
    assert set(checked) in ({"all"}, {"any"})
    assert check_tree(record_type, checked) == checked  # a stored tree re-validates as itself
    json.dumps(checked, allow_nan=False)  # storable JSON: no NaN, no infinities
    for ctx in CONTEXTS:
        list(filter_records(MODELS[record_type].objects.all(), record_type, checked, ctx).values_list("id", flat=True)[:1])


class Rollback(Exception):
    pass


@settings(PROPERTY, max_examples=40)
@given(case=cases())
@example(case=("deal", {"all": [{"field": "amount", "operator": "greater_than", "value": "1e12"}]}))
def test_saving_a_list_with_any_conditions_is_a_201_or_a_422_naming_them(alice, world, case):
    record_type, tree = case
    try:
        with transaction.atomic():
            response = alice.post("lists", {"name": "Any", "record_type": record_type, "conditions": tree})
            assert response.status_code in (201, 422), (response.status_code, response.content[:300])
            event(str(response.status_code))
            if response.status_code == 422:
                for problem in response.json()["detail"]:
                    assert problem["loc"][:2] == ["body", "conditions"], problem
            else:
                saved = response.json()
                assert saved["conditions"] == check_tree(record_type, tree)
                assert alice.get(f"lists/{saved['id']}/records").status_code == 200
            raise Rollback
    except Rollback:
        pass
