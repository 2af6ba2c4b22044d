"""Custom lists through the REST API: saving one (defaults, validation
naming the bad part), changing and deleting it, who may use it (owner,
shares with a user, a team, everyone; admins), and its records: only those
the viewer may see, filtered in the viewer's time zone, sorted with empty
values last and cursor-paginated at a fixed number of queries per page.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Team
from crm.models import Contact, Deal, Organization


def create(api, **fields) -> dict:
    response = api.post("lists", {"name": "Stale contacts", "record_type": "contact", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def locs(response) -> list[list]:
    assert response.status_code == 422, response.content
    return [e["loc"] for e in response.json()["detail"]]


def records(api, list_id: int, **params) -> dict:
    response = api.get(f"lists/{list_id}/records", **params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(api, list_id: int, **params) -> list[int]:
    return [item["id"] for item in records(api, list_id, **params)["items"]]


STALE = {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}]}


# --- saving a list -----------------------------------------------------------------------------


def test_a_new_list_gets_the_record_types_default_columns_and_sort(alice, world):
    saved = create(alice)

    assert saved["columns"] == ["first_name", "last_name", "title", "organization_name", "email", "last_contacted_via", "last_contacted_on"]
    assert saved["sort"] == "-last_contacted_on"
    assert saved["conditions"] == {"all": []}
    assert saved["description"] == "everything"
    assert (saved["owner_id"], saved["can_edit"], saved["shared_with_everyone"]) == (alice.user.id, True, False)
    assert (saved["shared_user_ids"], saved["shared_team_ids"]) == ([], [])
    assert alice.get(f"lists/{saved['id']}").json() == saved


def test_a_list_stores_its_tree_normalized(alice, world):
    bare = {"field": "amount", "operator": "greater_than", "value": 10000}
    saved = create(alice, record_type="deal", conditions=bare, columns=["name", "amount"], sort="amount")

    assert saved["conditions"] == {"all": [{"field": "amount", "operator": "greater_than", "value": "10000"}]}
    assert saved["description"] == "Amount is greater than 10000"
    assert (saved["columns"], saved["sort"]) == (["name", "amount"], "amount")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"conditions": {"all": [{"field": "stage", "operator": "contains", "value": "x"}]}, "record_type": "deal"}, ["body", "conditions", "all", 0, "operator"]),
        ({"conditions": {"all": [STALE["all"][0], {"field": "last_contacted_on", "operator": "within_last_days", "value": -1}]}}, ["body", "conditions", "all", 1, "value"]),
        ({"conditions": {"any": [{"field": "shoe_size", "operator": "equals", "value": 1}]}}, ["body", "conditions", "any", 0, "field"]),
        ({"conditions": {"all": [{"field": "title", "operator": "equals", "value": "C\x00EO"}]}}, ["body", "conditions", "all", 0, "value"]),
        ({"conditions": {"all": [{"field": "title", "operator": "in", "value": ["CEO", "\ud800"]}]}}, ["body", "conditions", "all", 0, "value", 1]),
        ({"columns": ["first_name", "last_name", "shoe_size"]}, ["body", "columns", 2]),
        ({"columns": ["first_name", "first_name"]}, ["body", "columns", 1]),
        ({"columns": ["amount"]}, ["body", "columns", 0]),  # a deal's column, not a contact's
        ({"sort": "shoe_size"}, ["body", "sort"]),
        ({"sort": "-open_deal_count"}, ["body", "sort"]),  # a count: shown, not a sort key
        ({"sort": "organization_name"}, ["body", "sort"]),  # through a relation: not a sort key
        ({"shared_user_ids": [999999]}, ["body", "shared_user_ids", 0]),
        ({"shared_user_ids": ["alice", 999999]}, ["body", "shared_user_ids", 1]),  # "alice": the owner's id, filled in below
        ({"shared_team_ids": [999999]}, ["body", "shared_team_ids", 0]),
    ],
)
def test_a_bad_part_of_a_list_is_422_naming_it(alice, world, fields, expected):
    if "shared_user_ids" in fields:
        fields = {"shared_user_ids": [alice.user.id if i == "alice" else i for i in fields["shared_user_ids"]]}
    response = alice.post("lists", {"name": "Bad", "record_type": "contact", **fields})

    assert locs(response) == [expected]


def test_every_bad_part_is_named_at_once(alice, world):
    response = alice.post(
        "lists", {"name": "Bad", "record_type": "contact", "conditions": {"all": [{"field": "x", "operator": "equals", "value": 1}]}, "columns": ["y"], "sort": "z"}
    )

    assert locs(response) == [["body", "conditions", "all", 0, "field"], ["body", "columns", 0], ["body", "sort"]]


def test_the_schema_rejects_an_unknown_record_type_and_empty_columns(alice, world):
    assert locs(alice.post("lists", {"name": "Bad", "record_type": "case"})) == [["body", "record_type"]]
    assert locs(alice.post("lists", {"name": "Bad", "record_type": "deal", "columns": []})) == [["body", "columns"]]


def test_changing_a_list_changes_only_what_is_given(alice, world):
    saved = create(alice, conditions=STALE)

    changed = alice.patch(f"lists/{saved['id']}", {"name": "Very stale", "columns": ["last_name"], "sort": "last_name"}).json()

    assert (changed["name"], changed["columns"], changed["sort"]) == ("Very stale", ["last_name"], "last_name")
    assert changed["conditions"] == saved["conditions"]
    assert alice.patch(f"lists/{saved['id']}", {"conditions": {}}).json()["conditions"] == {"all": []}
    assert locs(alice.patch(f"lists/{saved['id']}", {"sort": "amount"})) == [["body", "sort"]]
    assert locs(alice.patch(f"lists/{saved['id']}", {"record_type": "deal"})) == [["body", "record_type"]]  # fixed at creation


def test_shares_are_replaced_as_a_set(alice, bob, charlie, world):
    east, west = Team.objects.get(name="east"), Team.objects.get(name="west")
    saved = create(alice, shared_user_ids=[bob.user.id, alice.user.id], shared_team_ids=[west.id])
    assert (saved["shared_user_ids"], saved["shared_team_ids"]) == ([bob.user.id], [west.id])  # the owner needs no share

    changed = alice.patch(f"lists/{saved['id']}", {"shared_user_ids": [charlie.user.id], "shared_team_ids": [east.id, west.id]}).json()
    assert (changed["shared_user_ids"], changed["shared_team_ids"]) == ([charlie.user.id], sorted([east.id, west.id]))
    kept = alice.patch(f"lists/{saved['id']}", {"shared_with_everyone": True}).json()
    assert (kept["shared_user_ids"], kept["shared_with_everyone"]) == ([charlie.user.id], True)


def test_deleting_a_list_leaves_its_records(alice, world):
    saved = create(alice)

    assert alice.delete(f"lists/{saved['id']}").status_code == 204
    assert alice.get(f"lists/{saved['id']}").status_code == 404
    assert Contact.objects.filter(id=world["carol"]).exists()


# --- who may use a list ----------------------------------------------------------------------


def test_a_private_list_is_its_owners_and_the_admins(alice, bob, charlie, manager, admin, world):
    saved = create(alice)

    for api in (bob, charlie, manager):
        response = api.get(f"lists/{saved['id']}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"list {saved['id']} not found"}
        assert api.get(f"lists/{saved['id']}/records").status_code == 404
        assert api.get("lists").json()["items"] == []
    assert admin.get(f"lists/{saved['id']}").json()["can_edit"] is True
    assert admin.patch(f"lists/{saved['id']}", {"name": "Renamed by admin"}).status_code == 200


@pytest.mark.parametrize("share", ["user", "team", "everyone"])
def test_bob_uses_a_list_shared_with_him_his_team_or_everyone_but_may_not_change_it(alice, bob, world, share):
    east = Team.objects.get(name="east")
    sharing = {"user": {"shared_user_ids": [bob.user.id]}, "team": {"shared_team_ids": [east.id]}, "everyone": {"shared_with_everyone": True}}[share]
    saved = create(alice, **sharing)

    seen = bob.get(f"lists/{saved['id']}").json()
    assert (seen["id"], seen["can_edit"]) == (saved["id"], False)
    assert [item["id"] for item in bob.get("lists").json()["items"]] == [saved["id"]]
    assert sorted(ids(bob, saved["id"])) == sorted([world["carol"], world["dave"]])
    assert bob.patch(f"lists/{saved['id']}", {"name": "Mine now"}).status_code == 403
    assert bob.delete(f"lists/{saved['id']}").status_code == 403
    assert alice.get(f"lists/{saved['id']}").json()["name"] == "Stale contacts"


def test_charlie_on_a_list_shared_with_everyone_sees_none_of_alices_records(alice, charlie, world):
    saved = create(alice, shared_with_everyone=True)
    own = charlie.post("contacts", {"last_name": "West"}).json()

    assert sorted(ids(alice, saved["id"])) == sorted([world["carol"], world["dave"]])
    assert ids(charlie, saved["id"]) == [own["id"]]
    csv = b"".join(charlie.client.get(f"/api/v1/lists/{saved['id']}/export.csv").streaming_content).decode()
    assert "Ng" not in csv and "West" in csv


def test_a_shared_list_names_only_the_organizations_the_viewer_may_open(alice, charlie, world):
    """Carol shared with charlie does not share Grasspods with him."""
    from crm.models import Share

    Share.objects.create(record_type="contact", record_id=world["carol"], user=charlie.user)
    saved = create(alice, shared_with_everyone=True, columns=["last_name", "organization_name"])

    assert records(alice, saved["id"])["items"][0]["organization_name"] == "Grasspods"
    assert records(charlie, saved["id"])["items"] == [{"id": world["carol"], "last_name": "Ng", "organization_name": None}]


def test_me_in_a_shared_list_is_the_viewer(alice, bob, world):
    saved = create(alice, conditions={"all": [{"field": "owner", "operator": "equals", "value": "me"}]}, shared_with_everyone=True)
    bobs = bob.post("contacts", {"last_name": "Bobson"}).json()

    assert sorted(ids(alice, saved["id"])) == sorted([world["carol"], world["dave"]])
    assert ids(bob, saved["id"]) == [bobs["id"]]


# --- the records ----------------------------------------------------------------------------------


def test_the_records_carry_the_columns_values(alice, world):
    Deal.objects.filter(id=world["deal"]).update(amount="12500.50", last_contacted_via="Email", last_contacted_on=datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    saved = create(alice, record_type="deal", columns=["name", "stage", "amount", "owner", "organization_name", "contact_count", "last_contacted_on"])

    page = records(alice, saved["id"])

    assert [c["name"] for c in page["columns"]] == saved["columns"]
    assert page["columns"][2] == {"name": "amount", "label": "Amount", "type": "number"}
    assert page["items"] == [
        {
            "id": world["deal"], "name": "Grasspods renewal", "stage": "prospecting", "amount": "12500.50", "owner": alice.user.id,
            "organization_name": "Grasspods", "contact_count": 1, "last_contacted_on": "2024-03-01T09:30:00+00:00",
        }
    ]  # fmt: skip
    assert page["next_cursor"] is None


def test_the_example_from_the_issue_stale_contacts_with_an_open_deal(alice, world):
    """Last Contacted On more than 30 days ago and an open deal: Carol, not
    Dave (no deal), and not once Carol is contacted today."""
    long_ago = timezone.now() - timedelta(days=45)
    Contact.objects.filter(id__in=[world["carol"], world["dave"]]).update(last_contacted_on=long_ago)
    conditions = {"all": [STALE["all"][0], {"field": "open_deal_count", "operator": "greater_than", "value": 0}]}
    saved = create(alice, conditions=conditions, columns=["last_name", "open_deal_count"])

    assert records(alice, saved["id"])["items"] == [{"id": world["carol"], "last_name": "Ng", "open_deal_count": 1}]
    Contact.objects.filter(id=world["carol"]).update(last_contacted_on=timezone.now())
    assert ids(alice, saved["id"]) == []


def test_today_is_the_viewers_today(alice, bob, world):
    """At 2024-06-01 23:30 UTC it is already June 2nd in Auckland: a
    contact reached at 23:00 UTC was contacted "today" for alice (UTC), not
    for bob in Auckland, whose today began at 12:00 UTC."""
    bob.user.time_zone = "Pacific/Auckland"
    bob.user.save(update_fields=["time_zone"])
    Contact.objects.filter(id=world["carol"]).update(last_contacted_on=datetime(2024, 6, 1, 11, 0, tzinfo=UTC))
    Contact.objects.filter(id=world["dave"]).update(last_contacted_on=datetime(2024, 6, 1, 23, 0, tzinfo=UTC))
    saved = create(alice, conditions={"all": [{"field": "last_contacted_on", "operator": "today"}]}, shared_user_ids=[bob.user.id])
    now = datetime(2024, 6, 1, 23, 30, tzinfo=UTC)

    from lists.queries import get_visible_list, records_queryset

    def today_for(api):
        qs, _ = records_queryset(api.user, get_visible_list(api.user, saved["id"]), now=now)
        return sorted(qs.values_list("id", flat=True))

    assert today_for(alice) == sorted([world["carol"], world["dave"]])
    assert today_for(bob) == [world["dave"]]


def _contacts_at(alice, stamps: list[datetime | None]) -> list[int]:
    made = []
    for i, stamp in enumerate(stamps):
        contact = Contact.objects.create(last_name=f"Row {i}", owner=alice.user)
        Contact.objects.filter(id=contact.id).update(last_contacted_on=stamp)
        made.append(contact.id)
    return made


def _walk(api, list_id: int, limit: int) -> list[int]:
    seen, cursor = [], None
    while True:
        page = records(api, list_id, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("sort", ["-last_contacted_on", "last_contacted_on"])
def test_paging_through_ties_and_empty_values_shows_every_record_once_in_order(alice, sort):
    t1, t2 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    made = _contacts_at(alice, [t1, None, t2, t1, None, t2, t1, None])
    saved = create(alice, columns=["last_name", "last_contacted_on"], sort=sort)

    stamp = dict(zip(made, [t1, None, t2, t1, None, t2, t1, None]))
    descending = sort.startswith("-")
    filled = sorted((i for i in made if stamp[i]), key=lambda i: (stamp[i], i), reverse=descending)
    empty = sorted((i for i in made if stamp[i] is None), reverse=descending)
    for limit in (1, 2, 3, 50):
        assert _walk(alice, saved["id"], limit) == filled + empty, limit


def test_a_cursor_from_elsewhere_is_422(alice, world):
    saved = create(alice)

    assert locs(alice.get(f"lists/{saved['id']}/records", cursor="not-a-cursor")) == [["query", "cursor"]]


def test_a_page_of_records_costs_the_same_queries_whatever_its_size(alice, world, django_assert_num_queries):
    columns = ["last_name", "owner", "organization_name", "email", "touchpoint_count", "open_deal_count", "last_contacted_on"]
    saved = create(alice, columns=columns, conditions={"all": [{"field": "open_deal_count", "operator": "less_than", "value": 5}]})
    contacted = timezone.now() - timedelta(days=3)
    Contact.objects.update(last_contacted_on=contacted)
    org = Organization.objects.get(id=world["org"])
    Contact.objects.bulk_create([Contact(last_name=f"More {i}", owner=alice.user, organization=org, last_contacted_on=contacted) for i in range(40)])
    Contact.objects.bulk_create([Contact(last_name=f"Never {i}", owner=alice.user, organization=org) for i in range(60)])
    # The token, the list, the page: a page of 5 or of 30 (of the 42 contacted).
    for limit in (5, 30):
        with django_assert_num_queries(3):
            page = records(alice, saved["id"], limit=limit)
            assert len(page["items"]) == limit
    # The page where the contacted end and the never contacted begin reads
    # both (config.pagination.sorted_page): one query more.
    with django_assert_num_queries(4):
        page = records(alice, saved["id"], limit=30, cursor=page["next_cursor"])
        assert [i["last_contacted_on"] is None for i in page["items"]] == [False] * 12 + [True] * 18
    # Inside the never contacted: one query again.
    for limit in (5, 30):
        with django_assert_num_queries(3):
            assert len(records(alice, saved["id"], limit=limit, cursor=page["next_cursor"])["items"]) == limit


def test_lists_are_listed_by_name_and_filtered_by_record_type(alice, world):
    b = create(alice, name="B contacts")
    a = create(alice, name="A deals", record_type="deal")
    c = create(alice, name="C contacts")

    assert [i["id"] for i in alice.get("lists").json()["items"]] == [a["id"], b["id"], c["id"]]
    assert [i["id"] for i in alice.get("lists", record_type="contact").json()["items"]] == [b["id"], c["id"]]
    first = alice.get("lists", limit=2).json()
    second = alice.get("lists", limit=2, cursor=first["next_cursor"]).json()
    assert [i["id"] for i in first["items"] + second["items"]] == [a["id"], b["id"], c["id"]]
    assert second["next_cursor"] is None
