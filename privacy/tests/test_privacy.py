"""Privacy: export everything held about a contact, and erase them while
reports keep their counts; both audited, both for admins and managers."""
from __future__ import annotations

import json

from django.test import Client

from audit.models import AuditEntry
from conftest import at
from emails.models import EmailMessage, EmailParticipant
from emails.tests.conftest import make_mail
from portal.models import PortalAccount
from touchpoints.models import Touchpoint


def upload(api, raw: bytes):
    return api.client.post("/api/v1/emails/raw", raw, content_type="message/rfc822")


def carols_history(alice, world) -> dict:
    """An email from Carol (with an attachment), a logged call with notes, a
    case with a comment, a portal account."""
    mail = make_mail(subject="Pricing for Carol", body="Carol's private question", attachments=[("terms.txt", "text/plain", b"secret terms")])
    assert upload(alice, mail).status_code in (200, 201)
    call = alice.post("touchpoints", {"kind": "phone_call", "occurred_at": at("2024-04-01 09:00"), "contact_ids": [world["carol"]],
                                      "subject": "Call with Carol", "summary": "Carol mentioned her divorce"}).json()
    case = alice.post("cases", {"title": "Carol cannot sign in", "description": "Her password is carol123", "contact_id": world["carol"]}).json()
    alice.post(f"cases/{case['id']}/comments", {"body": "Told Carol to reset it"})
    assert alice.post(f"contacts/{world['carol']}/portal-invitation", {}).status_code == 201
    alice.patch(f"contacts/{world['carol']}", {"title": "Head of Procurement"})
    return {"call": call["id"], "case": case["id"]}


def test_export_holds_everything_about_the_contact_and_is_audited(alice, manager, world):
    made = carols_history(alice, world)
    response = manager.get(f"contacts/{world['carol']}/export")
    assert response.status_code == 200
    doc = response.json()
    assert doc["contact"]["first_name"] == "Carol" and doc["contact"]["title"] == "Head of Procurement"
    assert doc["emails"] == ["carol@grasspods.example"] and doc["organization"]["name"] == "Grasspods"
    assert [d["name"] for d in doc["deals"]] == ["Grasspods renewal"]
    subjects = {t["subject"] for t in doc["touchpoints"]}
    assert {"Pricing for Carol", "Call with Carol"} <= subjects
    email = next(t for t in doc["touchpoints"] if t.get("email"))
    assert "private question" in email["email"]["body_text"]
    assert any(p["address"] == "carol@grasspods.example" for p in email["email"]["participants"])
    assert doc["cases"][0]["id"] == made["case"] and doc["cases"][0]["comments"][0]["body"] == "Told Carol to reset it"
    assert doc["portal_account"]["email"] == "carol@grasspods.example" and "password" not in doc["portal_account"]
    assert any(e["action"] == "update" for e in doc["audit"])
    json.dumps(doc)  # plain JSON all the way down
    entry = AuditEntry.objects.filter(record_type="contact", record_id=world["carol"]).latest("id")
    assert (entry.action, entry.actor_id) == ("export", manager.user.id)


def test_erase_anonymizes_but_keeps_counts_and_last_contacted(alice, admin, world):
    made = carols_history(alice, world)
    before = alice.get(f"contacts/{world['carol']}").json()
    kinds_before = sorted(Touchpoint.objects.filter(links__contact_id=world["carol"]).values_list("kind", flat=True))
    org_timeline = len(alice.get(f"organizations/{world['org']}/timeline").json()["items"])

    response = admin.post(f"contacts/{world['carol']}/erase")
    assert response.status_code == 200, response.content
    erased = response.json()["erased"]
    assert erased["touchpoints"] >= 2 and erased["cases"] == 1 and erased["portal_account"] == 1 and erased["attachments"] == 1

    after = alice.get(f"contacts/{world['carol']}").json()
    assert after["first_name"] == "" and after["last_name"] == "Erased contact" and after["title"] == ""
    assert after["emails"] == [] and after["phones"] == []
    # What reports count stays: the same touchpoints, Last Contacted, the organization's timeline.
    assert sorted(Touchpoint.objects.filter(links__contact_id=world["carol"]).values_list("kind", flat=True)) == kinds_before
    assert (after["last_contacted_on"], after["last_contacted_via"]) == (before["last_contacted_on"], before["last_contacted_via"])
    assert len(alice.get(f"organizations/{world['org']}/timeline").json()["items"]) == org_timeline
    # ...and the personal content is gone, everywhere it was.
    assert Touchpoint.objects.get(id=made["call"]).summary == "" and Touchpoint.objects.get(id=made["call"]).subject == ""
    assert not EmailMessage.objects.filter(body_text__contains="private question").exists()
    assert not EmailParticipant.objects.filter(address="carol@grasspods.example").exists()
    assert not PortalAccount.objects.filter(contact_id=world["carol"]).exists()
    case = alice.get(f"cases/{made['case']}").json()
    assert "carol" not in json.dumps(case).lower()
    dump = json.dumps(list(AuditEntry.objects.filter(record_type__in=["contact", "touchpoint", "case"]).values("label", "changes")))
    assert "Carol" not in dump and "carol" not in dump and "divorce" not in dump and "Procurement" not in dump
    entry = AuditEntry.objects.filter(record_type="contact", record_id=world["carol"]).latest("id")
    assert (entry.action, entry.actor_id) == ("erase", admin.user.id)
    # Again: nothing more to do, nothing more logged.
    count = AuditEntry.objects.count()
    assert admin.post(f"contacts/{world['carol']}/erase").json() == {"erased": {"already_erased": 1}}
    assert AuditEntry.objects.count() == count


def test_an_erased_contact_is_no_longer_matched_by_new_mail(alice, admin, world):
    admin.post(f"contacts/{world['carol']}/erase")
    upload(alice, make_mail(subject="Hello again"))
    message = EmailMessage.objects.get(touchpoint__subject="Hello again")
    assert not EmailParticipant.objects.filter(email=message, contact_id=world["carol"]).exists()


def test_only_admins_and_managers_export_or_erase(alice, bob, charlie, manager, world):
    for persona in (alice, bob):
        assert persona.get(f"contacts/{world['carol']}/export").status_code == 403
        assert persona.post(f"contacts/{world['carol']}/erase").status_code == 403
    assert charlie.get(f"contacts/{world['carol']}/export").status_code == 404
    assert charlie.post(f"contacts/{world['carol']}/erase").status_code == 404
    assert Client().get(f"/api/v1/contacts/{world['carol']}/export").status_code == 401
    assert alice.get(f"contacts/{world['carol']}").json()["first_name"] == "Carol"
    assert not AuditEntry.objects.filter(action__in=["export", "erase"]).exists()


def _browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_the_contact_page_offers_export_and_erasure_to_admins_and_managers(alice, charlie, manager, world):
    page = _browser(manager.user).get(f"/contacts/{world['carol']}/").content.decode()
    assert "Personal data" in page and f"/contacts/{world['carol']}/export.json" in page
    assert "Personal data" not in _browser(alice.user).get(f"/contacts/{world['carol']}/").content.decode()

    download = _browser(manager.user).get(f"/contacts/{world['carol']}/export.json")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert json.loads(download.content)["contact"]["last_name"] == "Ng"
    assert _browser(alice.user).get(f"/contacts/{world['carol']}/export.json").status_code == 403
    assert _browser(charlie.user).get(f"/contacts/{world['carol']}/export.json").status_code == 404

    assert _browser(alice.user).post(f"/contacts/{world['carol']}/erase").status_code == 403
    assert _browser(charlie.user).post(f"/contacts/{world['carol']}/erase").status_code == 404
    response = _browser(manager.user).post(f"/contacts/{world['carol']}/erase")
    assert response.status_code == 302 and response["Location"] == f"/contacts/{world['carol']}/"
    page = _browser(manager.user).get(f"/contacts/{world['carol']}/").content.decode()
    assert "Erased contact" in page and "Erased on" in page and "carol@grasspods.example" not in page
