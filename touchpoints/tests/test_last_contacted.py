"""Last Contacted Via / On: forward only, recomputed on delete and status change."""
import pytest

from conftest import at


def last(api, collection, record_id):
    body = api.get(f"{collection}/{record_id}").json()
    return body["last_contacted_via"], body["last_contacted_on"]


def log(api, **fields):
    response = api.post("touchpoints", fields)
    assert response.status_code in (200, 201), response.content
    return response.json()["id"]


def test_email_sets_last_contacted_on_contact_organization_and_deal(alice, world):
    log(alice, kind="email", occurred_at="2024-06-27T10:30:00+02:00", contact_ids=[world["carol"]])
    expected = ("Email", "2024-06-27T08:30:00Z")
    assert last(alice, "contacts", world["carol"]) == expected
    assert last(alice, "organizations", world["org"]) == expected
    assert last(alice, "deals", world["deal"]) == expected


def test_late_email_does_not_move_last_contacted_backwards(alice, world):
    log(alice, kind="sms", status="delivered", occurred_at=at("2024-06-01 10:00"), contact_ids=[world["carol"]])
    log(alice, kind="email", occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]])
    assert last(alice, "contacts", world["carol"]) == ("SMS", "2024-06-01T10:00:00Z")
    assert last(alice, "organizations", world["org"]) == ("SMS", "2024-06-01T10:00:00Z")


def test_deleting_the_latest_touchpoint_recomputes_from_the_log(alice, world):
    log(alice, kind="email", occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]])
    latest = log(alice, kind="phone_call", status="hangup", occurred_at=at("2024-06-01 10:00"), contact_ids=[world["carol"]])
    assert last(alice, "organizations", world["org"]) == ("Phone Call", "2024-06-01T10:00:00Z")
    assert alice.delete(f"touchpoints/{latest}").status_code == 204
    assert last(alice, "contacts", world["carol"]) == ("Email", "2024-05-01T10:00:00Z")
    assert last(alice, "organizations", world["org"]) == ("Email", "2024-05-01T10:00:00Z")


def test_deleting_the_only_touchpoint_clears_last_contacted(alice, world):
    only = log(alice, kind="email", occurred_at=at("2024-05-01 10:00"), contact_ids=[world["dave"]])
    alice.delete(f"touchpoints/{only}")
    assert last(alice, "contacts", world["dave"]) == (None, None)


def test_held_to_not_held_recomputes(alice, world):
    log(alice, kind="email", occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]])
    event = alice.post(
        "events",
        {"subject": "Site visit", "event_type": "onsite_service", "status": "held", "emoticon": 4, "start_at": at("2024-06-01 09:00"), "end_at": at("2024-06-01 10:00"), "deal_id": world["deal"]},
    ).json()
    assert last(alice, "contacts", world["carol"]) == ("Onsite Service", "2024-06-01T09:00:00Z")
    response = alice.patch(f"events/{event['id']}", {"status": "not_held"})
    assert response.status_code == 200, response.content
    assert response.json()["touchpoint_id"] == event["touchpoint_id"]  # same touchpoint, updated
    assert response.json()["emoticon"] is None
    for collection, key in (("contacts", "carol"), ("deals", "deal"), ("organizations", "org")):
        assert last(alice, collection, world[key]) == ("Email", "2024-05-01T10:00:00Z")
    tp = alice.get(f"touchpoints/{event['touchpoint_id']}").json()
    assert tp["status"] == "not_held" and tp["shown_in_activity"] and not tp["counts_as_contact"]


def test_event_back_to_planned_leaves_the_log(alice, world):
    event = alice.post(
        "events",
        {"subject": "Demo", "status": "held", "start_at": at("2024-06-01 09:00"), "end_at": at("2024-06-01 10:00"), "deal_id": world["deal"]},
    ).json()
    alice.patch(f"events/{event['id']}", {"status": "planned"})
    assert alice.get(f"touchpoints/{event['touchpoint_id']}").status_code == 404
    assert last(alice, "deals", world["deal"]) == (None, None)


def test_moving_a_held_event_updates_its_touchpoint_and_last_contacted(alice, world):
    event = alice.post(
        "events",
        {"subject": "Demo", "event_type": "call", "status": "held", "start_at": at("2024-06-01 09:00"), "end_at": at("2024-06-01 10:00"), "deal_id": world["deal"]},
    ).json()
    alice.patch(f"events/{event['id']}", {"start_at": at("2024-05-01 09:00"), "end_at": at("2024-05-01 09:30")})
    assert last(alice, "deals", world["deal"]) == ("Call", "2024-05-01T09:00:00Z")
    assert alice.get(f"touchpoints/{event['touchpoint_id']}").json()["duration_seconds"] == 1800


def test_delivered_to_failed_sms_recomputes(alice, world):
    log(alice, kind="email", occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]])
    sms = log(alice, kind="sms", status="delivered", occurred_at=at("2024-06-01 10:00"), contact_ids=[world["carol"]])
    alice.patch(f"touchpoints/{sms}", {"status": "failed"})
    assert last(alice, "contacts", world["carol"]) == ("Email", "2024-05-01T10:00:00Z")


@pytest.mark.parametrize(
    ("kind", "status"),
    [("note", "logged"), ("email", "bounced"), ("sms", "failed"), ("phone_call", "busy"), ("phone_call", "no_answer"), ("chat", "sent"), ("document", "shared"), ("case", "open"), ("portal_login", "logged")],
)
def test_touchpoints_that_are_not_contact_do_not_set_last_contacted(alice, world, kind, status):
    log(alice, kind=kind, status=status, occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]])
    assert last(alice, "contacts", world["carol"]) == (None, None)


@pytest.mark.parametrize(
    ("kind", "extra", "via"),
    [
        ("email", {}, "Email"),
        ("email_campaign", {}, "Email Campaign"),
        ("sms", {"status": "dispatched"}, "SMS"),
        ("phone_call", {"status": "completed"}, "Phone Call"),
        ("event", {"status": "held", "event_type": "meeting"}, "Meeting"),
        ("event", {"status": "held", "event_type": "call"}, "Call"),
        ("event", {"status": "held", "event_type": "onsite_meeting"}, "Onsite Meeting"),
    ],
)
def test_last_contacted_via_values(alice, world, kind, extra, via):
    log(alice, kind=kind, occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]], **extra)
    assert last(alice, "contacts", world["carol"])[0] == via


def test_relinking_a_touchpoint_recomputes_the_records_it_left(alice, world):
    tp = log(alice, kind="email", occurred_at=at("2024-05-01 10:00"), contact_ids=[world["carol"]])
    alice.patch(f"touchpoints/{tp}", {"contact_ids": [world["dave"]]})
    assert last(alice, "contacts", world["carol"]) == (None, None)
    assert last(alice, "deals", world["deal"]) == (None, None)
    assert last(alice, "contacts", world["dave"]) == ("Email", "2024-05-01T10:00:00Z")
    assert last(alice, "organizations", world["org"]) == ("Email", "2024-05-01T10:00:00Z")
