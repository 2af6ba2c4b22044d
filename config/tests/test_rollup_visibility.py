"""No touchpoint leaks through a rollup (issue #10).

Alice's Grasspods is visible to Bob (her teammate). Charlie (team west) owns
a private deal on Grasspods (an admin filed it there) and logs an email on it.
The email rolls up to Grasspods' timeline, but Bob may not see the deal, so
he must not see the email there, nor in any other view of Grasspods: the
API timeline, the web Activity section, the emotional journey, Up Next, the
lists. Once Charlie shares the deal with Bob (or Bob's team), Bob sees it;
after the share is taken back, no longer. Decisions: docs/decisions.md,
"Sharing and rollups".
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from activities.queries import user_today
from conftest import at
from web.tests.pages import browser, record_path, text, timeline_rows

COLLECTION = {"organization": "organizations", "contact": "contacts", "deal": "deals"}


def timeline_ids(api, record_type: str, record_id: int) -> list[int]:
    response = api.get(f"{COLLECTION[record_type]}/{record_id}/timeline")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def journey_subjects(api, record_type: str, record_id: int) -> list[str]:
    response = api.get(f"{COLLECTION[record_type]}/{record_id}/emotional-journey")
    assert response.status_code == 200, response.content
    return [point["subject"] for point in response.json()]


def web_activity_ids(api, record_type: str, record_id: int) -> list[int]:
    response = browser(api).get(record_path(record_type, record_id, "activity"))
    assert response.status_code == 200
    return [tp_id for _, tp_id in timeline_rows(text(response))]


@pytest.fixture
def private_deal(admin, charlie, world) -> dict:
    """Charlie's deal on Alice's Grasspods, with an email on it (with an
    emoticon, for the journey) and a task, both his."""
    deal = admin.post("deals", {"name": "West private", "organization_id": world["org"], "owner_id": charlie.user.id, "created_at": at("2024-01-01 00:00")})
    assert deal.status_code == 201, deal.content
    deal_id = deal.json()["id"]
    email = charlie.post(
        "touchpoints",
        {"kind": "email", "status": "sent", "occurred_at": at("2024-05-01 10:00"), "subject": "West secret terms", "emoticon": 2, "deal_ids": [deal_id]},
    )
    assert email.status_code == 201, email.content
    task = charlie.post("tasks", {"title": "West secret follow-up", "due_date": str(user_today(charlie.user) + timedelta(days=2)), "deal_id": deal_id})
    assert task.status_code == 201, task.content
    return {**world, "private": deal_id, "email": email.json()["id"]}


def test_the_private_deals_email_rolls_up_to_the_organization(admin, private_deal):
    """The premise: the rollup link exists (admins see it), so hiding it from Bob is the viewer filter's doing."""
    assert private_deal["email"] in timeline_ids(admin, "organization", private_deal["org"])


def test_teammate_does_not_see_an_email_on_a_private_deal_through_the_organization(alice, bob, private_deal):
    org, email = private_deal["org"], private_deal["email"]
    assert bob.get(f"deals/{private_deal['private']}").status_code == 404
    for viewer in (alice, bob):
        assert email not in timeline_ids(viewer, "organization", org)
        assert email not in web_activity_ids(viewer, "organization", org)
        assert "West secret terms" not in journey_subjects(viewer, "organization", org)
        assert bob.get(f"touchpoints/{email}").status_code == 404
    page = text(browser(bob).get(record_path("organization", org)))
    assert "West secret" not in page and "West private" not in page
    journey = text(browser(bob).get(record_path("organization", org, "journey")))
    assert "West secret" not in journey


def test_up_next_and_lists_do_not_show_the_private_deal_or_its_task(bob, private_deal):
    up_next = bob.get(f"organizations/{private_deal['org']}/up-next").json()
    titles = [item["title"] for part in ("overdue", "upcoming") for item in up_next[part]]
    assert "West secret follow-up" not in titles
    assert "West secret" not in text(browser(bob).get(record_path("organization", private_deal["org"], "up-next")))
    assert private_deal["private"] not in [d["id"] for d in bob.get("deals", organization_id=private_deal["org"]).json()["items"]]
    assert private_deal["email"] not in [t["id"] for t in bob.get("touchpoints").json()["items"]]
    assert "West private" not in text(browser(bob).get("/deals/"))


@pytest.mark.parametrize("target", ["user", "team"])
def test_sharing_the_deal_reveals_its_email_and_unsharing_hides_it_again(bob, charlie, private_deal, target):
    org, email, deal = private_deal["org"], private_deal["email"], private_deal["private"]
    body = {"user_id": bob.user.id} if target == "user" else {"team_id": bob.user.team_id}
    shared = charlie.post(f"deals/{deal}/shares", body)
    assert shared.status_code == 201, shared.content
    assert email in timeline_ids(bob, "organization", org)
    assert email in web_activity_ids(bob, "organization", org)
    assert "West secret terms" in journey_subjects(bob, "organization", org)
    assert email in timeline_ids(bob, "deal", deal)
    assert bob.get(f"touchpoints/{email}").json()["deal_ids"] == [deal]

    assert charlie.delete(f"deals/{deal}/shares/{shared.json()['id']}").status_code == 204
    assert email not in timeline_ids(bob, "organization", org)
    assert email not in web_activity_ids(bob, "organization", org)
    assert "West secret terms" not in journey_subjects(bob, "organization", org)
    assert bob.get(f"deals/{deal}/timeline").status_code == 404


def test_a_touchpoint_on_a_visible_and_a_hidden_record_shows_without_naming_the_hidden_one(admin, bob, private_deal):
    """An admin logs one call with Carol (Bob sees her) on Charlie's deal:
    Bob sees the call (Carol justifies it), but neither the payload nor the
    page names the deal or gives its id."""
    call = admin.post(
        "touchpoints",
        {"kind": "phone_call", "status": "completed", "occurred_at": at("2024-06-01 10:00"), "subject": "Three-way call",
         "deal_ids": [private_deal["private"]], "contact_ids": [private_deal["carol"]]},
    ).json()["id"]  # fmt: skip
    items = {i["id"]: i for i in bob.get(f"organizations/{private_deal['org']}/timeline").json()["items"]}
    assert call in items
    assert items[call]["via_deal_id"] is None and items[call]["via_contact_id"] in (None, private_deal["carol"])
    seen = bob.get(f"touchpoints/{call}").json()
    assert seen["contact_ids"] == [private_deal["carol"]] and seen["deal_ids"] == []
    # Carol's own timeline carries it too (direct); the deal's id appears nowhere in Bob's answers.
    carol_items = bob.get(f"contacts/{private_deal['carol']}/timeline").json()["items"]
    assert call in [i["id"] for i in carol_items]
    assert all(i["via_deal_id"] != private_deal["private"] for i in carol_items)
    page = text(browser(bob).get(record_path("organization", private_deal["org"], "activity")))
    assert "Three-way call" in page and "West private" not in page
    # An admin's answer does name the deal: the hiding is per viewer.
    admin_items = {i["id"]: i for i in admin.get(f"organizations/{private_deal['org']}/timeline").json()["items"]}
    assert admin_items[call]["via_deal_id"] in (None, private_deal["private"])


def test_last_contacted_on_the_organization_counts_the_private_email_but_shows_nothing_of_it(bob, private_deal):
    """Decision: Last Contacted is a fact about the customer (when we last
    spoke to them), the same for everyone who may see the organization;
    the touchpoint behind it stays hidden."""
    org = bob.get(f"organizations/{private_deal['org']}").json()
    assert (org["last_contacted_via"], org["last_contacted_on"]) == ("Email", "2024-05-01T10:00:00Z")
    fields = text(browser(bob).get(record_path("organization", private_deal["org"], "last-contacted")))
    assert "West secret" not in fields and "West private" not in fields


def test_owners_team_still_sees_its_own_work_on_a_record_it_cannot_open(alice, bob, admin, charlie, private_deal):
    """A touchpoint is visible to its owner's team (docs/decisions.md,
    Permissions): Alice's own note on Charlie's deal shows on Grasspods for
    her teammate Bob, though the deal stays hidden from him."""
    note = admin.post(
        "touchpoints",
        {"kind": "note", "occurred_at": at("2024-07-01 10:00"), "subject": "Alice's note", "deal_ids": [private_deal["private"]], "owner_id": alice.user.id},
    )
    assert note.status_code == 201, note.content
    org = private_deal["org"]
    seen = {i["id"]: i for i in bob.get(f"organizations/{org}/timeline").json()["items"]}
    assert seen[note.json()["id"]]["path"] == "deal" and seen[note.json()["id"]]["via_deal_id"] is None  # rolled up through a deal Bob cannot open
    everything = {i["id"]: i for i in admin.get(f"organizations/{org}/timeline").json()["items"]}
    assert everything[note.json()["id"]]["via_deal_id"] == private_deal["private"]
    assert bob.get(f"touchpoints/{note.json()['id']}").json()["deal_ids"] == []
    page = text(browser(bob).get(record_path("organization", org, "activity")))
    assert "Alice&#x27;s note" in page and "West private" not in page


def test_shared_organization_shows_its_own_touchpoints_not_its_hidden_contacts(alice, charlie, world):
    """Alice shares only Grasspods with Charlie: he sees what is on the
    organization itself, not the email with Carol or the call on the deal
    (both records stay Alice's)."""
    direct = alice.post("touchpoints", {"kind": "note", "occurred_at": at("2024-03-03 10:00"), "subject": "Org note", "organization_ids": [world["org"]]}).json()["id"]
    with_carol = alice.post("touchpoints", {"kind": "email", "status": "sent", "occurred_at": at("2024-03-01 10:00"), "contact_ids": [world["carol"]]}).json()["id"]
    on_deal = alice.post("touchpoints", {"kind": "phone_call", "status": "completed", "occurred_at": at("2024-03-02 10:00"), "deal_ids": [world["deal"]]}).json()["id"]
    assert alice.post(f"organizations/{world['org']}/shares", {"user_id": charlie.user.id}).status_code == 201
    assert timeline_ids(charlie, "organization", world["org"]) == [direct]
    assert set(timeline_ids(alice, "organization", world["org"])) == {direct, with_carol, on_deal}


def test_documents_widget_does_not_show_a_document_shared_with_a_hidden_contact(admin, bob, charlie, world):
    """Charlie's contact at Grasspods (filed there by an admin) gets a
    document: it rolls up to Grasspods' Documents widget for those who may
    see the contact, not for Bob."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    west = admin.post("contacts", {"last_name": "West", "organization_id": world["org"], "owner_id": charlie.user.id}).json()["id"]
    upload = SimpleUploadedFile("west-terms.pdf", b"%PDF-1.4 west", content_type="application/pdf")
    document = charlie.client.post("/api/v1/documents", {"file": upload, "title": "West terms", "contact_ids": [west]})
    assert document.status_code == 201, document.content
    in_widget = lambda api: [i["document"]["id"] for i in api.get(f"organizations/{world['org']}/documents").json()["items"]]  # noqa: E731
    assert in_widget(admin) == [document.json()["id"]]
    assert in_widget(bob) == []
    assert "West terms" not in text(browser(bob).get(record_path("organization", world["org"], "documents")))
    assert charlie.post(f"contacts/{west}/shares", {"team_id": bob.user.team_id}).status_code == 201
    assert in_widget(bob) == [document.json()["id"]]


def test_custom_lists_and_insights_do_not_show_the_private_deal_or_its_email(admin, bob, private_deal):
    """A custom list of every deal and Bob's Sales Insights: neither the
    deal nor Charlie's email (reports are per rep; a rep sees only himself)."""
    from insights import refresh

    made = bob.post("lists", {"name": "All deals", "record_type": "deal"})
    assert made.status_code == 201, made.content
    listed = [r["id"] for r in bob.get(f"lists/{made.json()['id']}/records").json()["items"]]
    assert private_deal["deal"] in listed and private_deal["private"] not in listed
    refresh.refresh()
    report = bob.get("insights/activities-added", start="2024-05-01", end="2024-05-31")
    assert report.status_code == 200, report.content
    assert all(row["rep"] == "bob" for row in report.json()["rows"])
    everyone = admin.get("insights/activities-added", start="2024-05-01", end="2024-05-31").json()["rows"]
    assert "charlie" in [row["rep"] for row in everyone]  # the email is counted, for Charlie, where he may be seen
