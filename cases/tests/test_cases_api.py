"""Cases through the REST API: registering one (for a contact, an
organization or both), its status walk and resolution time, the case
touchpoint that follows it, who may read, edit and delete, comments, and
the deal's One View of the cases of its contacts and organization.
"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from touchpoints.models import Touchpoint


def create(api, **fields) -> dict:
    response = api.post("cases", {"title": "Pump makes a grinding noise", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def set_status(api, case_id: int, status: str) -> dict:
    response = api.patch(f"cases/{case_id}", {"status": status})
    assert response.status_code == 200, response.content
    return response.json()


def case_touchpoints(api, contact_id: int) -> list[dict]:
    response = api.get(f"contacts/{contact_id}/timeline?kinds=case")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def locs(response) -> list[list]:
    return [e["loc"] for e in response.json()["detail"]]


@pytest.fixture
def elsewhere(alice) -> dict:
    """Erin, a contact of Alice's at another organization and on no deal."""
    org = alice.post("organizations", {"name": "Lumen Works"}).json()
    erin = alice.post("contacts", {"first_name": "Erin", "last_name": "Okafor", "organization_id": org["id"]}).json()
    return {"org": org["id"], "erin": erin["id"]}


# --- registering a case ------------------------------------------------------------------------


def test_a_case_naming_only_a_contact_is_filed_under_the_contacts_organization(alice, world):
    case = create(alice, contact_id=world["carol"], description="Since Tuesday", priority="high")

    assert (case["contact_id"], case["organization_id"]) == (world["carol"], world["org"])
    assert (case["contact_name"], case["organization_name"]) == ("Carol Ng", "Grasspods")
    assert (case["status"], case["is_open"], case["priority"], case["origin"]) == ("open", True, "high", "staff")
    assert case["owner_id"] == alice.user.id
    assert case["number"] == f"#{case['id']}"
    assert case["resolved_at"] is None
    assert alice.get(f"cases/{case['id']}").json() == case


def test_moving_a_case_to_another_contact_moves_the_organization_it_took_from_the_contact(alice, world, elsewhere):
    case = create(alice, contact_id=world["carol"])

    moved = alice.patch(f"cases/{case['id']}", {"contact_id": elsewhere["erin"]}).json()
    assert (moved["contact_id"], moved["organization_id"]) == (elsewhere["erin"], elsewhere["org"])
    # An organization named apart from the contact stays where it was put.
    pinned = alice.patch(f"cases/{case['id']}", {"contact_id": world["carol"], "organization_id": elsewhere["org"]}).json()
    assert (pinned["contact_id"], pinned["organization_id"]) == (world["carol"], elsewhere["org"])
    again = alice.patch(f"cases/{case['id']}", {"contact_id": world["dave"]}).json()
    assert again["organization_id"] == elsewhere["org"]


def test_a_case_may_name_only_an_organization(alice, world):
    case = create(alice, organization_id=world["org"])

    assert (case["contact_id"], case["organization_id"]) == (None, world["org"])


def test_a_case_naming_neither_contact_nor_organization_is_422_naming_contact_id(alice, world):
    response = alice.post("cases", {"title": "Pump makes a grinding noise"})

    assert response.status_code == 422
    assert locs(response) == [["body", "contact_id"]]
    assert not Case.objects.exists()


def test_an_outsider_cannot_file_a_case_under_someone_elses_contact(alice, charlie, world):
    response = charlie.post("cases", {"title": "Pump makes a grinding noise", "contact_id": world["carol"]})

    assert response.status_code == 422
    assert locs(response) == [["body", "contact_id"]]
    assert not Case.objects.exists()
    assert not Touchpoint.objects.filter(kind="case").exists()


def test_an_unknown_status_is_422_naming_status(alice, world):
    case = create(alice, contact_id=world["carol"])

    response = alice.patch(f"cases/{case['id']}", {"status": "pending"})

    assert response.status_code == 422
    assert locs(response) == [["body", "status"]]
    assert alice.get(f"cases/{case['id']}").json()["status"] == "open"


# --- listing ---------------------------------------------------------------------------------------


def test_listing_with_status_open_gives_the_cases_not_yet_resolved_or_closed(alice, world):
    ids = {}
    for status in ("open", "in_progress", "wait_for_response", "resolved", "closed"):
        ids[status] = create(alice, contact_id=world["carol"], title=f"Case {status}", status=status)["id"]

    open_ones = alice.get("cases", status="open").json()["items"]
    resolved = alice.get("cases", status="resolved").json()["items"]
    everything = alice.get("cases").json()["items"]

    assert [c["id"] for c in open_ones] == [ids["wait_for_response"], ids["in_progress"], ids["open"]]
    assert [c["id"] for c in resolved] == [ids["resolved"]]
    assert [c["id"] for c in everything] == sorted(ids.values(), reverse=True)


# --- the status walk and its touchpoint -----------------------------------------------------------


def test_the_status_walk_sets_keeps_and_clears_resolved_at(alice, world):
    case_id = create(alice, contact_id=world["carol"])["id"]

    assert set_status(alice, case_id, "in_progress")["resolved_at"] is None
    assert set_status(alice, case_id, "wait_for_response")["resolved_at"] is None
    resolved = set_status(alice, case_id, "resolved")
    assert resolved["resolved_at"] is not None
    assert resolved["is_open"] is False
    closed = set_status(alice, case_id, "closed")
    assert closed["resolved_at"] == resolved["resolved_at"]
    reopened = set_status(alice, case_id, "open")
    assert reopened["resolved_at"] is None
    assert reopened["is_open"] is True


def test_the_case_touchpoint_follows_the_case_status_and_stays_one(alice, world):
    case = create(alice, contact_id=world["carol"])

    assert [(t["id"], t["status"]) for t in case_touchpoints(alice, world["carol"])] == [(case["touchpoint_id"], "open")]
    for status in ("in_progress", "wait_for_response", "resolved", "closed", "open"):
        set_status(alice, case["id"], status)
        assert [(t["id"], t["status"]) for t in case_touchpoints(alice, world["carol"])] == [(case["touchpoint_id"], status)]
    assert Touchpoint.objects.filter(kind="case").count() == 1


def test_the_case_touchpoint_carries_the_title_and_follows_a_rename(alice, world):
    case = create(alice, contact_id=world["carol"])

    alice.patch(f"cases/{case['id']}", {"title": "Pump replaced, still noisy"})

    [touchpoint] = case_touchpoints(alice, world["carol"])
    assert (touchpoint["kind"], touchpoint["source"], touchpoint["external_id"]) == ("case", "case", str(case["id"]))
    assert touchpoint["subject"] == f"Case #{case['id']}: Pump replaced, still noisy"


def test_each_case_has_its_own_touchpoint(alice, world):
    first = create(alice, contact_id=world["carol"])
    second = create(alice, contact_id=world["carol"], title="Invoice shows the wrong address")

    touchpoints = case_touchpoints(alice, world["carol"])

    assert sorted(t["id"] for t in touchpoints) == sorted([first["touchpoint_id"], second["touchpoint_id"]])
    assert first["touchpoint_id"] != second["touchpoint_id"]


def test_cases_never_move_last_contacted(alice, world):
    case_id = create(alice, contact_id=world["carol"])["id"]
    for status in ("in_progress", "resolved", "closed"):
        set_status(alice, case_id, status)
    alice.post(f"cases/{case_id}/comments", {"body": "Called the customer back"})

    contact = alice.get(f"contacts/{world['carol']}").json()
    organization = alice.get(f"organizations/{world['org']}").json()

    assert (contact["last_contacted_on"], contact["last_contacted_via"]) == (None, None)
    assert (organization["last_contacted_on"], organization["last_contacted_via"]) == (None, None)


# --- who may see, edit and delete -----------------------------------------------------------------


def test_a_teammate_reads_and_edits_a_case(alice, bob, world):
    case_id = create(alice, contact_id=world["carol"])["id"]

    assert bob.get(f"cases/{case_id}").status_code == 200
    response = bob.patch(f"cases/{case_id}", {"status": "in_progress", "priority": "urgent"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["priority"]) == ("in_progress", "urgent")
    assert case_id in [c["id"] for c in bob.get("cases").json()["items"]]


def test_an_outsider_gets_404_for_a_case(alice, charlie, world):
    case_id = create(alice, contact_id=world["carol"])["id"]

    assert charlie.get(f"cases/{case_id}").status_code == 404
    assert charlie.patch(f"cases/{case_id}", {"status": "closed"}).status_code == 404
    assert charlie.delete(f"cases/{case_id}").status_code == 404
    assert charlie.get(f"cases/{case_id}/comments").status_code == 404
    assert charlie.post(f"cases/{case_id}/comments", {"body": "Hello"}).status_code == 404
    assert charlie.get("cases").json()["items"] == []
    assert alice.get(f"cases/{case_id}").json()["status"] == "open"


def test_a_teammate_may_not_delete_a_case(alice, bob, world):
    case_id = create(alice, contact_id=world["carol"])["id"]

    response = bob.delete(f"cases/{case_id}")

    assert response.status_code == 403
    assert Case.objects.filter(id=case_id).exists()


def test_the_owner_deletes_a_case_and_its_touchpoint(alice, world):
    case = create(alice, contact_id=world["carol"])

    response = alice.delete(f"cases/{case['id']}")

    assert response.status_code == 204
    assert alice.get(f"cases/{case['id']}").status_code == 404
    assert alice.get(f"touchpoints/{case['touchpoint_id']}").status_code == 404
    assert case_touchpoints(alice, world["carol"]) == []


# --- comments -----------------------------------------------------------------------------------------


def test_comments_list_oldest_first_with_their_internal_flag(alice, bob, world):
    case_id = create(alice, contact_id=world["carol"])["id"]
    for api, body, internal in ((alice, "Asked for the serial number", False), (bob, "Looks like batch 7 again", True), (alice, "Replacement on its way", False)):
        response = api.post(f"cases/{case_id}/comments", {"body": body, "internal": internal})
        assert response.status_code == 201, response.content

    comments = alice.get(f"cases/{case_id}/comments").json()["items"]

    assert [(c["body"], c["internal"], c["author_user_id"], c["author_name"]) for c in comments] == [
        ("Asked for the serial number", False, alice.user.id, "alice"),
        ("Looks like batch 7 again", True, bob.user.id, "bob"),
        ("Replacement on its way", False, alice.user.id, "alice"),
    ]


def test_an_empty_comment_is_422_naming_body(alice, world):
    case_id = create(alice, contact_id=world["carol"])["id"]

    response = alice.post(f"cases/{case_id}/comments", {"body": "   "})

    assert response.status_code == 422
    assert locs(response) == [["body", "body"]]
    assert alice.get(f"cases/{case_id}/comments").json()["items"] == []


# --- One View -----------------------------------------------------------------------------------------


@pytest.fixture
def deal_cases(alice, world, elsewhere) -> dict:
    """Cases around the Grasspods deal, oldest first: Carol's (on the deal),
    Dave's (at the organization, not on the deal), the organization's own,
    and Erin's at another organization (unrelated)."""
    cases = {
        "carol_open": create(alice, contact_id=world["carol"], title="Carol open")["id"],
        "dave_in_progress": create(alice, contact_id=world["dave"], title="Dave in progress", status="in_progress")["id"],
        "org_resolved": create(alice, organization_id=world["org"], title="Organization resolved", status="resolved")["id"],
        "carol_waiting": create(alice, contact_id=world["carol"], title="Carol waiting", status="wait_for_response")["id"],
        "carol_closed": create(alice, contact_id=world["carol"], title="Carol closed", status="closed")["id"],
    }
    cases["erin"] = create(alice, contact_id=elsewhere["erin"], title="Erin elsewhere")["id"]
    return cases


def test_one_view_lists_the_cases_of_the_deals_contacts_and_organization(alice, world, deal_cases):
    view = alice.get(f"deals/{world['deal']}/one-view").json()

    ids = [c["id"] for c in view["items"]]
    assert ids == [deal_cases[k] for k in ("carol_closed", "carol_waiting", "org_resolved", "dave_in_progress", "carol_open")]
    assert deal_cases["erin"] not in ids
    assert view["deal_id"] == world["deal"]


def test_one_view_counts_only_not_yet_resolved_or_closed_cases_as_open(alice, world, deal_cases):
    view = alice.get(f"deals/{world['deal']}/one-view").json()

    assert view["open_count"] == 3
    assert view["total"] == 5
    assert view["by_status"] == {"open": 1, "in_progress": 1, "wait_for_response": 1, "resolved": 1, "closed": 1}


def test_one_view_filters_by_status_but_counts_over_every_related_case(alice, world, deal_cases):
    view = alice.get(f"deals/{world['deal']}/one-view", status="open").json()

    assert [c["id"] for c in view["items"]] == [deal_cases[k] for k in ("carol_waiting", "dave_in_progress", "carol_open")]
    assert (view["open_count"], view["total"]) == (3, 5)


def test_one_view_pages_with_a_cursor(alice, world, deal_cases):
    seen, sizes, cursor = [], [], None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = alice.get(f"deals/{world['deal']}/one-view", **params)
        assert response.status_code == 200, response.content
        page = response.json()
        seen += [c["id"] for c in page["items"]]
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert cursor is None
    assert sizes == [2, 2, 1]
    assert seen == [deal_cases[k] for k in ("carol_closed", "carol_waiting", "org_resolved", "dave_in_progress", "carol_open")]


def test_an_outsider_gets_404_for_a_deals_one_view(alice, charlie, world, deal_cases):
    assert charlie.get(f"deals/{world['deal']}/one-view").status_code == 404


def test_a_case_outlives_its_deleted_contact(alice, world):
    case = create(alice, contact_id=world["dave"])

    assert alice.delete(f"contacts/{world['dave']}").status_code == 204

    response = alice.get(f"cases/{case['id']}")
    assert response.status_code == 200
    assert (response.json()["contact_id"], response.json()["organization_id"]) == (None, world["org"])
    assert case["id"] in [c["id"] for c in alice.get(f"deals/{world['deal']}/one-view").json()["items"]]


# --- a page costs a fixed number of queries ------------------------------------------------------------


def queries_for(api, path: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, **params)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize("path", ["cases", "deals/{deal}/one-view"])
def test_a_page_of_cases_costs_the_same_queries_for_more_rows(bob, alice, world, elsewhere, path):
    path = path.format(deal=world["deal"])
    create(alice, contact_id=world["carol"])
    create(alice, organization_id=world["org"])
    queries_for(bob, path)  # the first request of a token may write its last use
    few = queries_for(bob, path)

    for who in ("carol", "dave", "carol", "dave"):
        create(alice, contact_id=world[who], title=f"Another case of {who}")
    create(alice, contact_id=elsewhere["erin"])

    assert queries_for(bob, path) == few


# --- the touchpoint belongs to the case ------------------------------------------------------


def test_a_cases_touchpoint_is_changed_through_the_case_not_the_log(alice, world):
    case = create(alice, contact_id=world["carol"])

    patched = alice.patch(f"touchpoints/{case['touchpoint_id']}", {"status": "closed"})
    deleted = alice.delete(f"touchpoints/{case['touchpoint_id']}")

    assert patched.status_code == deleted.status_code == 409
    assert patched.json() == {"detail": "this touchpoint is a case's: change or delete the case instead"}
    assert alice.get(f"touchpoints/{case['touchpoint_id']}").json()["status"] == "open"


@pytest.mark.parametrize("source", ["case", "document", "portal"])
def test_nobody_writes_touchpoints_in_the_name_of_a_case_a_share_or_the_portal(alice, world, source):
    """Otherwise a client could take the external id a case, share or portal
    session will get and have it adopt the client's touchpoint."""
    response = alice.post("touchpoints", {"kind": "note", "occurred_at": "2024-03-01T09:00:00Z", "contact_ids": [world["carol"]], "source": source, "external_id": "1"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "source"]
