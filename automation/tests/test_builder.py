"""The condition builder: form inputs <-> trees, errors on their rows, and
the htmx endpoint that applies an edit."""
from __future__ import annotations

import re

import pytest
from django.http import QueryDict
from django.test import Client

from automation.builder import builder_context, tree_from_form
from automation.conditions import check_tree
from config.errors import Invalid


def form(pairs: list[tuple[str, str]]) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in pairs:
        q.appendlist(key, value)
    return q


def test_the_two_sections_make_all_of_then_any_of():
    data = form(
        [
            ("c-record_type", "deal"),
            ("c-all-0-field", "last_contacted_on"), ("c-all-0-operator", "more_than_days_ago"), ("c-all-0-value", "30"),
            ("c-all-3-field", "stage"), ("c-all-3-operator", "in"), ("c-all-3-value", "proposal"), ("c-all-3-value", "negotiation"),
            ("c-any-0-field", "amount"), ("c-any-0-operator", "greater_than"), ("c-any-0-value", "1000.50"),
            ("c-any-1-field", "name"), ("c-any-1-operator", "in"), ("c-any-1-value", "Renewal, Upsell"),
            ("c-any-2-field", "owner"), ("c-any-2-operator", "is_empty"), ("c-any-2-value", "ignored"),
        ]
    )  # fmt: skip
    tree = check_tree("deal", tree_from_form(data))
    assert tree == {
        "all": [
            {"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30},
            {"field": "stage", "operator": "in", "value": ["proposal", "negotiation"]},
            {
                "any": [
                    {"field": "amount", "operator": "greater_than", "value": "1000.50"},
                    {"field": "name", "operator": "in", "value": ["Renewal", "Upsell"]},
                    {"field": "owner", "operator": "is_empty", "value": None},
                ]
            },
        ]
    }


def test_a_saved_tree_shows_again_as_the_same_rows():
    tree = check_tree(
        "contact",
        {"all": [{"field": "last_contacted_via", "operator": "equals", "value": "Email"}, {"any": [{"field": "open_deal_count", "operator": "greater_than", "value": 0}]}]},
    )
    builder = builder_context("contact", tree)
    every, some = builder["sections"]
    assert [(r["field"], r["operator"], r["values"], r["widget"]) for r in every["rows"]] == [("last_contacted_via", "equals", ["Email"], "select")]
    assert [(r["field"], r["operator"], r["text_value"], r["widget"]) for r in some["rows"]] == [("open_deal_count", "greater_than", "0", "number")]
    # and posting those inputs back gives the tree again
    pairs = [("c-record_type", "contact")]
    for row in every["rows"] + some["rows"]:
        pairs += [(f"{row['base']}-field", row["field"]), (f"{row['base']}-operator", row["operator"])]
        pairs += [(f"{row['base']}-value", v) for v in row["values"]]
    assert check_tree("contact", tree_from_form(form(pairs))) == tree


def test_a_deeper_tree_is_kept_whole_and_shown_as_text():
    tree = check_tree("deal", {"any": [{"all": [{"field": "stage", "operator": "equals", "value": "proposal"}, {"any": [{"field": "amount", "operator": "is_empty"}]}]}]})
    builder = builder_context("deal", tree)
    assert "Stage equals proposal" in builder["kept_text"]
    assert check_tree("deal", tree_from_form(form([("c-json", builder["kept_json"])]))) == tree


def test_errors_land_on_their_rows():
    data = form(
        [
            ("c-record_type", "deal"),
            ("c-all-0-field", "amount"), ("c-all-0-operator", "greater_than"), ("c-all-0-value", "lots"),
            ("c-any-0-field", "last_contacted_on"), ("c-any-0-operator", "within_last_days"), ("c-any-0-value", "-3"),
        ]
    )  # fmt: skip
    raw = tree_from_form(data)
    with pytest.raises(Invalid) as exc:
        check_tree("deal", raw)
    builder = builder_context("deal", raw, errors=exc.value.errors)
    every, some = builder["sections"]
    assert every["rows"][0]["errors"] == ["value: must be a number"]
    assert some["rows"][0]["errors"][0].startswith("value: must be a whole number of days")
    assert builder["errors"] == []


def test_the_endpoint_adds_and_removes_rows_and_refits_operators(alice):
    client = Client()
    client.force_login(alice.user)
    url = "/automation/builder?prefix=c"
    added = client.post(url, {"c-record_type": "deal", "builder-action": "add:any"})
    assert added.status_code == 200
    html = added.content.decode()
    assert 'data-row="c-any-0"' in html and 'data-row="c-all-0"' not in html
    # a date field offers the date operators; switching to a text field refits the operator
    changed = client.post(url, {"c-record_type": "deal", "c-all-0-field": "name", "c-all-0-operator": "more_than_days_ago", "c-all-0-value": "3"}).content.decode()
    operators = re.search(r'<select id="c-all-0-operator".*?</select>', changed, re.S).group(0)
    assert '<option value="contains"' in operators and '<option value="today"' not in operators
    removed = client.post(url, {"c-record_type": "deal", "c-all-0-field": "name", "c-all-0-operator": "equals", "builder-action": "remove:all:0"}).content.decode()
    assert 'data-row="c-all-0"' not in removed
    # a new record type starts an empty builder of that type's fields
    other = client.post(url, {"record_type": "contact", "c-record_type": "deal", "c-all-0-field": "stage", "c-all-0-operator": "equals"}).content.decode()
    assert 'value="contact"' in other and 'data-row="c-all-0"' not in other


def test_the_endpoint_needs_a_signed_in_user(db):
    assert Client().post("/automation/builder", {"c-record_type": "deal"}).status_code == 302


def test_without_javascript_a_blank_row_adds_and_a_ticked_box_removes():
    """The page's own form carries the edit: the blank row's inputs become a
    condition, a row whose Remove box is ticked is left out."""
    builder = builder_context("deal", {"all": [{"field": "name", "operator": "equals", "value": "Renewal"}]})
    every, some = builder["sections"]
    assert (every["next"], some["next"]) == ("c-all-1", "c-any-0")
    data = form(
        [
            ("c-record_type", "deal"),
            ("c-all-0-field", "name"), ("c-all-0-operator", "equals"), ("c-all-0-value", "Renewal"), ("c-all-0-remove", "1"),
            ("c-all-1-field", "stage"), ("c-all-1-operator", "in"), ("c-all-1-value", "proposal, negotiation"),
            ("c-any-0-field", ""), ("c-any-0-operator", "equals"), ("c-any-0-value", ""),
        ]
    )  # fmt: skip
    assert check_tree("deal", tree_from_form(data)) == {"all": [{"field": "stage", "operator": "in", "value": ["proposal", "negotiation"]}]}


def test_an_operator_the_field_does_not_take_is_named_not_replaced():
    data = form([("c-record_type", "deal"), ("c-all-0-field", "stage"), ("c-all-0-operator", "contains"), ("c-all-0-value", "pro")])
    with pytest.raises(Invalid) as exc:
        check_tree("deal", tree_from_form(data))
    assert [list(e["loc"]) for e in exc.value.errors] == [["conditions", "all", 0, "operator"]]


def test_the_page_without_javascript_offers_the_blank_row_and_remove_boxes(alice):
    client = Client()
    client.force_login(alice.user)
    html = client.post("/automation/builder?prefix=c", {"c-record_type": "deal", "c-all-0-field": "name", "c-all-0-operator": "equals"}).content.decode()
    assert '<noscript><label><input type="checkbox" name="c-all-0-remove"' in html
    assert 'name="c-all-1-field"' in html and 'name="c-any-0-field"' in html
