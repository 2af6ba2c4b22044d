"""The compiled query and the plain-Python reference agree.

For random worlds (organizations, contacts, deals, deal contacts, shown and
hidden touchpoint links, with values on the edges: empty texts, NULLs, the
LIKE wildcards, instants a microsecond either side of local midnights,
amounts near each other), random trees (depth up to 3, every operator of
every field, values mostly taken from the world) and random contexts (a
moment near a DST change, a zone, a user or nobody), the ids
``filter_records`` returns are exactly the records the reference evaluator
(automation/tests/reference.py) accepts. Runs on whichever database the
suite runs on, so on both SQLite and PostgreSQL.

Each example writes its world inside a savepoint that is rolled back, so
examples never see each other's rows. Generation is derandomized (the same
examples on every run, as the schemathesis suite); set
``CONDITION_EXAMPLES`` to run more locally.
"""
from __future__ import annotations

import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from accounts.services import do_create_user
from automation.conditions import MODELS, check_tree, filter_records
from automation.tests import strategies
from automation.tests.reference import evaluate
from crm.models import Organization

EXAMPLES = int(os.environ.get("CONDITION_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # No explain phase: it replays a failure hundreds of times for little.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def user_ids(db) -> list[int]:
    return [do_create_user(name).id for name in ("ann", "ben")]


class Rollback(Exception):
    pass


def agree(record_type: str, data: st.DataObject, user_ids: list[int]) -> None:
    ctx = data.draw(strategies.contexts(user_ids), label="ctx")
    world = data.draw(strategies.worlds(ctx, user_ids), label="world")
    # Each world is judged by every operator of every field alone (so no
    # operator is left to the luck of the draw) and by a few random trees.
    singles = data.draw(strategies.every_condition(record_type, world, ctx), label="every condition")
    combined = data.draw(st.lists(strategies.trees(record_type, world, ctx), min_size=1, max_size=4), label="trees")
    checked = [check_tree(record_type, tree) for tree in singles + combined]
    # A viewer who may open only some organizations (None: all of them);
    # to them a hidden organization's name is empty.
    visible_orgs = data.draw(st.none() | st.sets(st.integers(0, len(world.orgs) - 1)), label="visible organizations")
    try:
        with transaction.atomic():
            ids = strategies.build_world(world)
            values = strategies.world_values(world, ids, visible_orgs)[record_type]
            if visible_orgs is not None:
                ctx.organizations = Organization.objects.filter(id__in=[ids["organization"][i] for i in visible_orgs]).values("id")
            note(f"values: {values}")
            for tree in checked:
                got = set(filter_records(MODELS[record_type].objects.all(), record_type, tree, ctx).values_list("id", flat=True))
                expected = {pk for pk, row in values.items() if evaluate(record_type, tree, row, ctx)}
                if tree in checked[len(singles) :]:
                    event("tree matched " + ("none" if not expected else "all" if expected == set(values) else "some"))
                assert got == expected, f"{tree}: query returned {sorted(got)}, reference {sorted(expected)}"
            raise Rollback
    except Rollback:
        pass


@SETTINGS
@given(data=st.data())
def test_deal_query_agrees_with_reference(user_ids, data):
    agree("deal", data, user_ids)


@SETTINGS
@given(data=st.data())
def test_contact_query_agrees_with_reference(user_ids, data):
    agree("contact", data, user_ids)


@SETTINGS
@given(data=st.data())
def test_organization_query_agrees_with_reference(user_ids, data):
    agree("organization", data, user_ids)
