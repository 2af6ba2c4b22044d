"""A tree judged for a viewer: what a rep may not open does not answer
conditions either."""
from __future__ import annotations

import pytest

from automation.conditions import check_tree, filter_records, viewer_context
from config.errors import Invalid
from crm.models import Contact
from crm.permissions import visible
from crm.services import do_create_contact, do_create_organization


@pytest.fixture
def shared_contact(alice, charlie):
    """A contact of charlie's (team west) at alice's organization, which
    charlie may not open."""
    org = do_create_organization(alice.user, {"name": "Grasspods"})
    return do_create_contact(charlie.user, {"last_name": "Ng"}), org


def names_matching(user, operator: str, value=None) -> list[str]:
    tree = check_tree("contact", {"all": [{"field": "organization_name", "operator": operator, "value": value}]})
    qs = filter_records(visible(Contact, user), "contact", tree, viewer_context(user))
    return list(qs.values_list("last_name", flat=True))


def test_a_hidden_organization_name_answers_as_empty(shared_contact, charlie, manager):
    contact, org = shared_contact
    Contact.objects.filter(id=contact.id).update(organization=org)
    # Charlie sees his contact but not alice's organization: its name is empty to him.
    assert names_matching(charlie.user, "equals", "Grasspods") == []
    assert names_matching(charlie.user, "contains", "grass") == []
    assert names_matching(charlie.user, "is_empty") == ["Ng"]
    assert names_matching(charlie.user, "not_equals", "Grasspods") == ["Ng"]
    # A manager sees every organization: the real name answers.
    assert names_matching(manager.user, "equals", "Grasspods") == ["Ng"]
    assert names_matching(manager.user, "is_empty") == []


@pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
def test_text_that_json_storage_cannot_hold_is_refused_by_name(text):
    with pytest.raises(Invalid) as exc:
        check_tree("deal", {"all": [{"field": "name", "operator": "equals", "value": text}]})
    assert list(exc.value.errors[0]["loc"]) == ["conditions", "all", 0, "value"]


@pytest.mark.parametrize(
    ("tree", "loc"),
    [
        ({"all": [{"all": []}] * 21}, ["conditions", "all", 19, "all"]),  # the 21st group
        ({"any": [{"field": "name", "operator": "equals", "value": "x"}] * 51}, ["conditions", "any"]),
        ({"all": [{"field": "amount", "operator": "greater_than", "value": "0.999"}]}, ["conditions", "all", 0, "value"]),
    ],
)
def test_trees_and_amounts_are_bounded(tree, loc):
    with pytest.raises(Invalid) as exc:
        check_tree("deal", tree)
    assert [list(e["loc"]) for e in exc.value.errors] == [loc]


def test_an_amount_with_trailing_zeros_is_an_amount():
    tree = check_tree("deal", {"all": [{"field": "amount", "operator": "greater_than", "value": "10.5000"}]})
    assert tree["all"][0]["value"] == "10.5000"
