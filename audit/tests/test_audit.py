"""The audit log: every create, update and delete of a record, with who,
when and each changed field's old and new value, in the same transaction
as the change; readable on the record and through GET /api/v1/audit by
exactly who may see the record."""
from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from audit.models import AuditEntry
from conftest import at
from crm import services as crm_services
from crm.models import Organization


def history(api, record_type: str, record_id: int) -> list[dict]:
    response = api.get("audit", record_type=record_type, record_id=record_id)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_create_update_delete_of_an_organization_are_logged_with_old_and_new_values(alice, manager):
    org = alice.post("organizations", {"name": "Grasspods", "industry": "Retail"}).json()
    alice.patch(f"organizations/{org['id']}", {"name": "Grasspods Ltd", "industry": "Retail"})
    alice.patch(f"organizations/{org['id']}", {"industry": "Retail"})  # changes nothing: no entry
    assert alice.delete(f"organizations/{org['id']}").status_code == 204

    entries = history(manager, "organization", org["id"])  # a deleted record's history: admins and managers
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    deleted, updated, created = entries
    assert created["actor_id"] == alice.user.id and created["actor_name"] == "alice"
    assert created["changes"]["name"] == [None, "Grasspods"] and created["changes"]["owner_id"] == [None, alice.user.id]
    assert updated["changes"] == {"name": ["Grasspods", "Grasspods Ltd"]}
    assert deleted["changes"]["name"] == ["Grasspods Ltd", None] and deleted["label"] == "Grasspods Ltd"
    assert created["at"] <= updated["at"] <= deleted["at"]


def test_contact_addresses_and_deal_contacts_count_as_fields(alice, world):
    alice.patch(f"contacts/{world['carol']}", {"emails": ["carol@new.example"], "phones": ["+1 202 555 0143"]})
    (change, *_) = history(alice, "contact", world["carol"])
    assert change["changes"] == {"emails": [["carol@grasspods.example"], ["carol@new.example"]], "phones": [[], ["+12025550143"]]}

    alice.post(f"deals/{world['deal']}/contacts", {"contact_id": world["dave"], "role": "influencer"})
    alice.delete(f"deals/{world['deal']}/contacts/{world['carol']}")
    unlinked, linked, *_ = history(alice, "deal", world["deal"])
    assert linked["changes"] == {"contact_ids": [[world["carol"]], sorted([world["carol"], world["dave"]])]}
    assert unlinked["changes"] == {"contact_ids": [sorted([world["carol"], world["dave"]]), [world["dave"]]]}


def test_deal_stage_change_records_closed_at_too(alice, world):
    alice.patch(f"deals/{world['deal']}", {"stage": "closed_won", "closed_at": at("2024-03-01 12:00")})
    change = history(alice, "deal", world["deal"])[0]["changes"]
    assert change["stage"] == ["prospecting", "closed_won"] and change["closed_at"] == [None, "2024-03-01T12:00:00Z"]


def test_the_entry_is_written_in_the_changes_transaction(alice, world):
    """Rolled back together: an entry never describes a change that did not
    happen, and a change never commits without its entry."""
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        crm_services.do_update_organization(alice.user, world["org"], {"name": "Renamed"})
        assert AuditEntry.objects.count() == before + 1  # inside: there
        raise RuntimeError("the request fails after the change")
    assert AuditEntry.objects.count() == before
    assert Organization.objects.get(id=world["org"]).name == "Grasspods"


def test_a_refused_change_leaves_no_entry(alice, world):
    before = AuditEntry.objects.count()
    response = alice.patch(f"contacts/{world['carol']}", {"title": "CTO", "phones": ["not a number"]})
    assert response.status_code == 422
    assert AuditEntry.objects.count() == before


def test_who_may_read_a_records_history(alice, bob, charlie, manager, admin, world):
    alice.patch(f"organizations/{world['org']}", {"industry": "Retail"})
    for persona in (alice, bob, manager, admin):
        assert history(persona, "organization", world["org"])[0]["changes"] == {"industry": ["", "Retail"]}
    assert charlie.get("audit", record_type="organization", record_id=world["org"]).status_code == 404  # may not learn it exists
    # The whole log: admins and managers; a rep reads only their own actions.
    assert {e["actor_name"] for e in charlie.get("audit").json()["items"]} <= {"charlie"}
    charlie.post("organizations", {"name": "Westco"})
    assert [e["label"] for e in charlie.get("audit").json()["items"]] == ["Westco"]
    assert "Grasspods" not in charlie.get("audit", record_type="organization").content.decode()
    names = {e["label"] for e in admin.get("audit", record_type="organization").json()["items"]}
    assert {"Grasspods", "Westco"} <= names
    only_alices = admin.get("audit", actor_id=alice.user.id, action="update").json()["items"]
    assert only_alices and {(e["actor_name"], e["action"]) for e in only_alices} == {("alice", "update")}


def test_a_deleted_records_history_is_for_admins_and_managers(alice, manager, world):
    alice.delete(f"contacts/{world['dave']}")
    assert alice.get("audit", record_type="contact", record_id=world["dave"]).status_code == 404
    assert [e["action"] for e in history(manager, "contact", world["dave"])][0] == "delete"
    # ...but alice still finds her own action in her log.
    assert any(e["record_id"] == world["dave"] and e["action"] == "delete" for e in alice.get("audit").json()["items"])


def test_bad_filters_are_422_naming_the_parameter(alice):
    response = alice.get("audit", record_type="planet")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "record_type"]
    response = alice.get("audit", record_id=1)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "record_type"]
    assert alice.get("audit", limit=0).status_code == 422


def test_history_pages_with_a_cursor(alice, world):
    for i in range(7):
        alice.patch(f"organizations/{world['org']}", {"industry": f"Industry {i}"})
    first = alice.get("audit", record_type="organization", record_id=world["org"], limit=5).json()
    second = alice.get("audit", record_type="organization", record_id=world["org"], limit=5, cursor=first["next_cursor"]).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(ids) == 8 and ids == sorted(ids, reverse=True) and second["next_cursor"] is None


def test_touchpoints_created_through_the_api_are_logged_once_without_their_text(alice, world):
    body = {"kind": "email", "occurred_at": at("2024-03-01 09:00"), "contact_ids": [world["carol"]], "subject": "Renewal",
            "summary": "A long body", "source": "api", "external_id": "msg-1"}
    tp = alice.post("touchpoints", body).json()["id"]
    alice.post("touchpoints", body)  # a retry: the same touchpoint, no second entry
    batch = alice.post("touchpoints/batch", {"items": [{**body, "external_id": f"msg-{i}"} for i in range(1, 4)]}).json()
    assert len(batch["results"] if "results" in batch else batch["items"]) == 3
    (created,) = history(alice, "touchpoint", tp)
    assert created["action"] == "create" and created["changes"]["subject"] == [None, "Renewal"]
    assert "summary" not in created["changes"]
    assert AuditEntry.objects.filter(record_type="touchpoint", action="create").count() == 3

    alice.patch(f"touchpoints/{tp}", {"subject": "Renewal terms"})
    assert history(alice, "touchpoint", tp)[0]["changes"] == {"subject": ["Renewal", "Renewal terms"]}
    alice.delete(f"touchpoints/{tp}")
    assert AuditEntry.objects.filter(record_type="touchpoint", record_id=tp, action="delete").exists()


def test_an_events_touchpoint_is_covered_by_the_events_own_entries(alice, world):
    event = alice.post("events", {"subject": "Review", "status": "held", "start_at": at("2024-02-01 10:00"), "end_at": at("2024-02-01 11:00"), "deal_id": world["deal"]}).json()
    alice.patch(f"events/{event['id']}", {"emoticon": 4})
    assert [e["action"] for e in history(alice, "event", event["id"])] == ["update", "create"]
    assert history(alice, "event", event["id"])[0]["changes"] == {"emoticon": [None, 4]}
    assert not AuditEntry.objects.filter(record_type="touchpoint", record_id=event["touchpoint_id"]).exists()


def test_tasks_and_cases_are_logged(alice, world):
    task = alice.post("tasks", {"title": "Call back", "due_date": "2030-01-03", "contact_id": world["carol"]}).json()
    alice.patch(f"tasks/{task['id']}", {"status": "completed"})
    changes = history(alice, "task", task["id"])[0]["changes"]
    assert changes["status"] == ["not_started", "completed"] and changes["completed_at"][0] is None
    case = alice.post("cases", {"title": "Login fails", "contact_id": world["carol"]}).json()
    alice.patch(f"cases/{case['id']}", {"priority": "high"})
    assert history(alice, "case", case["id"])[0]["changes"] == {"priority": ["normal", "high"]}


def test_the_record_page_shows_its_history(alice, charlie, world):
    alice.patch(f"organizations/{world['org']}", {"industry": "Retail"})
    browser = Client()
    browser.force_login(alice.user)
    page = browser.get(f"/organizations/{world['org']}/")
    assert f"/organizations/{world['org']}/history" in page.content.decode()
    section = browser.get(f"/organizations/{world['org']}/history").content.decode()
    assert "industry" in section and "Retail" in section and "alice" in section
    outsider = Client()
    outsider.force_login(charlie.user)
    assert outsider.get(f"/organizations/{world['org']}/history").status_code == 404


def test_tokens_and_ip_ranges_are_audited_without_secrets(alice, charlie, admin):
    created = alice.post("tokens", {"name": "ci", "scope": "read"}).json()
    alice.delete(f"tokens/{created['id']}")
    revoked, made = history(alice, "token", created["id"])  # one's own token's history
    assert made["action"] == "create" and made["changes"]["scope"] == [None, "read"] and made["actor_name"] == "alice"
    assert list(revoked["changes"]) == ["revoked_at"]
    assert created["token"] not in json.dumps([made, revoked])  # never the token itself
    assert charlie.get("audit", record_type="token", record_id=created["id"]).status_code == 404

    team_id = alice.user.team_id
    # Ranges that still hold the test client's 127.0.0.1 (alice's requests go on).
    assert admin.put(f"teams/{team_id}/allowed-ips", {"allowed_ips": ["127.0.0.0/8"]}).status_code == 200
    (change,) = history(admin, "team", team_id)
    assert change["changes"] == {"allowed_ips": [[], ["127.0.0.0/8"]]} and change["actor_name"] == "admin"
    assert alice.get("audit", record_type="team", record_id=team_id).status_code == 404  # admins' and managers' business
    assert admin.put(f"users/{alice.user.id}/allowed-ips", {"allowed_ips": ["127.0.0.1/32"]}).status_code == 200
    assert history(alice, "user", alice.user.id)[0]["changes"] == {"allowed_ips": [[], ["127.0.0.1/32"]]}
