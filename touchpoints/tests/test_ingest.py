"""The ingest path: idempotency, batch answers, validation."""
from touchpoints.models import Touchpoint, TouchpointLink

from conftest import at


def email(contact_id, when="2024-05-01 10:00", **extra):
    return {"kind": "email", "occurred_at": at(when), "contact_ids": [contact_id], **extra}


def test_duplicate_external_id_gives_one_row(alice, world):
    first = alice.post("touchpoints", email(world["carol"], source="imap", external_id="<m1@x>"))
    again = alice.post("touchpoints", email(world["carol"], source="imap", external_id="<m1@x>"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Touchpoint.objects.filter(source="imap", external_id="<m1@x>").count() == 1
    # Same external id from another source is another touchpoint.
    other = alice.post("touchpoints", email(world["carol"], source="api", external_id="<m1@x>"))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_idempotency_key_returns_the_existing_touchpoint(alice, world):
    headers = {"Idempotency-Key": "abc-123"}
    first = alice.post("touchpoints", email(world["carol"]), headers=headers)
    again = alice.post("touchpoints", email(world["carol"]), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Touchpoint.objects.count() == 1


def test_batch_answers_per_item_and_stores_good_items_only(alice, world):
    items = [
        email(world["carol"], external_id="a"),
        email(world["carol"], external_id="a"),  # repeat inside the batch
        {"kind": "sms", "status": "exploded", "occurred_at": at("2024-05-01 10:00"), "contact_ids": [world["carol"]]},
        email(999_999),
        {"kind": "email", "occurred_at": "2024-05-01T10:00:00", "contact_ids": [world["carol"]]},  # no offset
        {**email(world["carol"]), "colour": "red"},
        email(world["dave"], when="2024-05-02 10:00"),
    ]
    body = alice.post("touchpoints/batch", {"items": items}).json()
    assert (body["created"], body["existing"], body["failed"]) == (2, 1, 4)
    results = body["results"]
    assert results[1]["id"] == results[0]["id"] and results[1]["status"] == "existing"
    assert results[2]["errors"][0]["loc"] == ["body", "items", 2, "status"]
    assert results[3]["errors"][0]["loc"] == ["body", "items", 3, "contact_ids", 0]
    assert results[4]["errors"][0]["loc"] == ["body", "items", 4, "occurred_at"]
    assert results[5]["errors"][0]["loc"] == ["body", "items", 5, "colour"]
    assert Touchpoint.objects.count() == 2
    again = alice.post("touchpoints/batch", {"items": [items[0], items[6]]}).json()
    assert again["existing"] == 1 and again["created"] == 1  # item 6 has no external id


def test_batch_limits(alice):
    assert alice.post("touchpoints/batch", {"items": []}).status_code == 422
    too_many = [{"kind": "note", "occurred_at": at("2024-05-01 10:00")}] * 1001
    response = alice.post("touchpoints/batch", {"items": too_many})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "items"]
    assert Touchpoint.objects.count() == 0
    assert alice.post("touchpoints/batch", {"items": [], "extra": 1}).status_code == 422
    assert alice.client.post("/api/v1/touchpoints/batch", "{not json", content_type="application/json").status_code == 422


def test_bad_single_item_names_the_field_and_stores_nothing(alice, world):
    cases = [
        ({**email(world["carol"]), "status": "bogus"}, ["body", "status"]),
        ({**email(world["carol"]), "event_type": "meeting"}, ["body", "event_type"]),
        ({**email(world["carol"]), "occurred_at": "yesterday"}, ["body", "occurred_at"]),
        ({**email(world["carol"]), "occurred_at": "1066-10-14T10:00:00Z"}, ["body", "occurred_at"]),
        ({**email(world["carol"]), "subject": "nul\x00byte"}, ["body", "subject"]),
        ({**email(world["carol"]), "contact_ids": [world["carol"], 424242]}, ["body", "contact_ids", 1]),
        ({**email(world["carol"]), "emoticon": 9}, ["body", "emoticon"]),
        ({**email(world["carol"]), "source": "event"}, ["body", "source"]),
        ({**email(world["carol"]), "unknown": 1}, ["body", "unknown"]),
    ]
    for payload, loc in cases:
        response = alice.post("touchpoints", payload)
        assert response.status_code == 422, (payload, response.content)
        assert response.json()["detail"][0]["loc"] == loc, response.json()
    assert Touchpoint.objects.count() == 0 and TouchpointLink.objects.count() == 0


def test_occurred_at_and_recorded_at_are_separate(alice, world):
    body = alice.post("touchpoints", email(world["carol"], when="2020-01-01 00:00")).json()
    assert body["occurred_at"] == "2020-01-01T00:00:00Z"
    assert body["recorded_at"] > "2026"


def test_touchpoint_list_filters_and_paginates(alice, world):
    alice.post("touchpoints/batch", {"items": [email(world["carol"], when=f"2024-05-{d:02d} 10:00") for d in range(1, 11)]})
    alice.post("touchpoints", {"kind": "note", "occurred_at": at("2024-05-20 10:00"), "contact_ids": [world["carol"]]})
    page = alice.get("touchpoints", kind="email", limit=4).json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    assert all(i["kind"] == "email" for i in page["items"])
    rest = alice.get("touchpoints", kind="email", limit=50, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 6 and rest["next_cursor"] is None


def test_batch_naming_many_records_stays_within_database_limits(alice):
    # 1,000 items x 34 distinct contacts: more ids than SQLite's default
    # build takes in one statement (Debian's allows 250,000: lower it here).
    import sqlite3

    from django.db import connection

    from crm.models import Contact

    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32766)

    contacts = [c.id for c in Contact.objects.bulk_create(Contact(last_name=f"N{i}", owner=alice.user) for i in range(34_000))]
    items = [{"kind": "note", "occurred_at": at("2024-05-01 10:00"), "contact_ids": contacts[i * 34 : (i + 1) * 34]} for i in range(1000)]
    body = alice.post("touchpoints/batch", {"items": items}).json()
    assert body["created"] == 1000
