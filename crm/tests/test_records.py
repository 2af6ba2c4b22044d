"""Records: phone and email normalization, closed states, deletion rules."""
from crm.models import Contact, ContactPhone


def test_phones_are_normalized_to_e164_and_emails_lower_cased(alice):
    body = alice.post("contacts", {"last_name": "Ng", "phones": ["(415) 555-0100", "+44 20 7946 0958"], "emails": ["Carol@Example.COM"]}).json()
    assert body["phones"] == ["+14155550100", "+442079460958"]
    assert body["emails"] == ["carol@example.com"]
    assert alice.get("contacts", phone="+14155550100").json()["items"][0]["id"] == body["id"]
    assert alice.get("contacts", email="CAROL@example.com").json()["items"][0]["id"] == body["id"]


def test_bad_phone_or_email_names_the_field_and_stores_nothing(alice):
    response = alice.post("contacts", {"last_name": "Ng", "phones": ["+1 415 555 0100", "not a phone"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "phones", 1]
    response = alice.post("contacts", {"last_name": "Ng", "emails": ["nope"]})
    assert response.json()["detail"][0]["loc"] == ["body", "emails", 0]
    assert Contact.objects.count() == 0 and ContactPhone.objects.count() == 0


def test_closing_a_deal_stamps_closed_at_and_reopening_clears_it(alice):
    deal = alice.post("deals", {"name": "D", "amount": "1200.50"}).json()
    assert deal["closed_at"] is None and deal["amount"] == "1200.50"
    won = alice.patch(f"deals/{deal['id']}", {"stage": "closed_won"}).json()
    assert won["closed_at"] is not None
    reopened = alice.patch(f"deals/{deal['id']}", {"stage": "negotiation"}).json()
    assert reopened["closed_at"] is None
    bad = alice.patch(f"deals/{deal['id']}", {"closed_at": "2024-01-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "closed_at"]


def test_reps_delete_only_what_they_own(alice, bob):
    org = alice.post("organizations", {"name": "Alice's"}).json()["id"]
    assert bob.delete(f"organizations/{org}").status_code == 403
    assert alice.delete(f"organizations/{org}").status_code == 204


def test_unknown_organization_reference_is_a_422_on_that_field(alice, charlie):
    org = alice.post("organizations", {"name": "Alice's"}).json()["id"]
    response = charlie.post("contacts", {"last_name": "X", "organization_id": org})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "organization_id"]
