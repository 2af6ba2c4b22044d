"""A record shared with an outsider shows them that record, not the rest of
the owner's world (findings from review)."""
import base64
import json
from datetime import timedelta

from activities.queries import user_today
from conftest import at
from crm.models import Share


def share_org_with_charlie(world, charlie):
    Share.objects.create(record_type="organization", record_id=world["org"], user=charlie.user)


def test_shared_organization_does_not_reveal_hidden_contacts_or_their_tasks(alice, charlie, world):
    share_org_with_charlie(world, charlie)
    tp = alice.post("touchpoints", {"kind": "email", "occurred_at": at("2024-05-01 10:00"), "contact_ids": [world["carol"]], "organization_ids": [world["org"]]}).json()["id"]
    alice.post("tasks", {"title": "Carol: private", "due_date": str(user_today(alice.user) + timedelta(days=2)), "contact_id": world["carol"]})
    alice.post("tasks", {"title": "Org: shared", "due_date": str(user_today(alice.user) + timedelta(days=2)), "organization_id": world["org"]})
    seen = charlie.get(f"touchpoints/{tp}").json()
    assert seen["organization_ids"] == [world["org"]] and seen["contact_ids"] == []  # Carol's id stays hidden
    up_next = charlie.get(f"organizations/{world['org']}/up-next").json()
    assert [i["title"] for i in up_next["upcoming"]] == ["Org: shared"]


def test_outsider_who_can_see_a_touchpoint_cannot_change_or_delete_it(alice, charlie, world):
    share_org_with_charlie(world, charlie)
    tp = alice.post("touchpoints", {"kind": "email", "occurred_at": at("2024-05-01 10:00"), "contact_ids": [world["carol"]], "organization_ids": [world["org"]]}).json()["id"]
    assert charlie.patch(f"touchpoints/{tp}", {"contact_ids": []}).status_code == 403
    assert charlie.delete(f"touchpoints/{tp}").status_code == 403
    assert alice.get(f"contacts/{world['carol']}").json()["last_contacted_on"] == "2024-05-01T10:00:00Z"


def test_teammate_cannot_give_away_a_touchpoint_by_clearing_its_owner(alice, bob, world):
    tp = alice.post("touchpoints", {"kind": "email", "occurred_at": at("2024-05-01 10:00"), "contact_ids": [world["carol"]]}).json()["id"]
    assert bob.patch(f"touchpoints/{tp}", {"owner_id": None}).status_code == 403
    assert bob.patch(f"touchpoints/{tp}", {"subject": "fixed typo"}).status_code == 200  # editing is fine
    assert alice.patch(f"touchpoints/{tp}", {"owner_id": None}).json()["owner_id"] is None


def test_deleting_a_deal_keeps_other_peoples_events_and_tasks(alice, bob, world):
    task = bob.post("tasks", {"title": "Bob's", "due_date": "2030-01-01", "deal_id": world["deal"]}).json()["id"]
    event = bob.post("events", {"subject": "Bob's meeting", "start_at": at("2030-01-01 10:00"), "end_at": at("2030-01-01 11:00"), "deal_id": world["deal"]}).json()["id"]
    assert alice.delete(f"deals/{world['deal']}").status_code == 204
    assert bob.get(f"tasks/{task}").json()["deal_id"] is None
    assert bob.get(f"events/{event}").json()["deal_id"] is None


def test_an_events_touchpoint_is_changed_through_the_event(alice, world):
    event = alice.post("events", {"subject": "M", "status": "held", "start_at": at("2024-02-01 10:00"), "end_at": at("2024-02-01 11:00"), "deal_id": world["deal"]}).json()
    assert alice.patch(f"touchpoints/{event['touchpoint_id']}", {"status": "not_held"}).status_code == 409
    assert alice.delete(f"touchpoints/{event['touchpoint_id']}").status_code == 409
    assert alice.patch(f"events/{event['id']}", {"emoticon": 4}).json()["touchpoint_id"] == event["touchpoint_id"]


def test_bad_event_length_and_cursor_are_4xx(alice, world):
    response = alice.post("events", {"subject": "Forever", "status": "held", "start_at": at("1950-01-01 10:00"), "end_at": at("2030-01-01 10:00")})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "end_at"]
    cursor = base64.urlsafe_b64encode(json.dumps(["0001-01-01T00:00:00+05:00", 1]).encode()).decode()
    assert alice.get(f"contacts/{world['carol']}/timeline", cursor=cursor).status_code == 422
    assert alice.get("touchpoints", cursor=cursor).status_code == 422
