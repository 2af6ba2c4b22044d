"""Sharing a record with a user or a team (issue #10): the API
(crm.api_shares), the record page's "Shared with" card (crm.share_views) and
the rules both follow (crm.sharing)."""
from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Team
from crm.models import Organization, Share
from web.tests.pages import HTMX, browser, record_path, text
from web.tests.test_accessibility import unlabelled

COLLECTION = {"organization": "organizations", "contact": "contacts", "deal": "deals"}
RECORD_KEY = {"organization": "org", "contact": "carol", "deal": "deal"}


@pytest.mark.parametrize("record_type", list(COLLECTION))
def test_owner_shares_a_record_with_an_outsider_who_then_sees_it_until_it_is_taken_back(alice, charlie, world, record_type):
    url = f"{COLLECTION[record_type]}/{world[RECORD_KEY[record_type]]}"
    assert charlie.get(url).status_code == 404
    response = alice.post(f"{url}/shares", {"user_id": charlie.user.id})
    assert response.status_code == 201, response.content
    share = response.json()
    assert share == {"id": share["id"], "record_type": record_type, "record_id": world[RECORD_KEY[record_type]], "user_id": charlie.user.id, "team_id": None, "name": "charlie"}
    assert charlie.get(url).status_code == 200
    assert [s["id"] for s in alice.get(f"{url}/shares").json()["items"]] == [share["id"]]
    assert alice.delete(f"{url}/shares/{share['id']}").status_code == 204
    assert charlie.get(url).status_code == 404
    assert alice.get(f"{url}/shares").json() == {"items": [], "next_cursor": None}


def test_sharing_with_a_team_reaches_each_member(alice, charlie, world):
    dana = Team.objects.get(name="west").members.create(username="dana", role="rep")
    response = alice.post(f"deals/{world['deal']}/shares", {"team_id": charlie.user.team_id})
    assert response.status_code == 201 and response.json()["name"] == "west"
    assert charlie.get(f"deals/{world['deal']}").status_code == 200
    as_dana = Client()
    as_dana.force_login(dana)
    assert as_dana.get(record_path("deal", world["deal"])).status_code == 200


def test_sharing_twice_returns_the_existing_share(alice, charlie, world):
    first = alice.post(f"organizations/{world['org']}/shares", {"user_id": charlie.user.id})
    again = alice.post(f"organizations/{world['org']}/shares", {"user_id": charlie.user.id})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Share.objects.filter(record_type="organization", record_id=world["org"]).count() == 1


@pytest.mark.parametrize(
    "body, loc, msg",
    [
        ({}, "user_id", "give exactly one of user_id or team_id"),
        ({"user_id": 1, "team_id": 1}, "user_id", "give exactly one of user_id or team_id"),
        ({"user_id": 999999}, "user_id", "user 999999 not found"),
        ({"team_id": 999999}, "team_id", "team 999999 not found"),
        ({"user_id": "x"}, "user_id", None),
        ({"user_id": 1, "role": "admin"}, "role", None),
    ],
)
def test_bad_share_requests_are_422_naming_the_field(alice, world, body, loc, msg):
    response = alice.post(f"deals/{world['deal']}/shares", body)
    assert response.status_code == 422, response.content
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "payload", loc] or error["loc"] == ["body", loc]
    if msg:
        assert error["msg"] == msg
    assert not Share.objects.exists()


def test_inactive_users_cannot_be_shared_with(alice, charlie, world):
    charlie.user.is_active = False
    charlie.user.save(update_fields=["is_active"])
    response = alice.post(f"deals/{world['deal']}/shares", {"user_id": charlie.user.id})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "user_id"]


def test_who_a_record_is_shared_with_cannot_pass_it_on_or_take_shares_back(alice, bob, charlie, manager, world):
    """Decision (crm.sharing): a share lets its recipient see and edit the
    record, not share it onwards; the owner's team, managers and admins do."""
    mine = alice.post(f"contacts/{world['carol']}/shares", {"user_id": charlie.user.id}).json()
    assert charlie.get(f"contacts/{world['carol']}/shares").status_code == 200  # may see who else has it
    dana = Team.objects.create(name="south").members.create(username="dana", role="rep")
    refused = charlie.post(f"contacts/{world['carol']}/shares", {"user_id": dana.id})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "only the contact's owner, their teammates, an admin or a manager may change who it is shared with"}
    assert charlie.delete(f"contacts/{world['carol']}/shares/{mine['id']}").status_code == 403
    assert bob.post(f"contacts/{world['carol']}/shares", {"user_id": dana.id}).status_code == 201  # Alice's teammate may
    assert manager.delete(f"contacts/{world['carol']}/shares/{mine['id']}").status_code == 204
    assert charlie.get(f"contacts/{world['carol']}").status_code == 404


def test_an_unassigned_records_shares_are_for_admins_and_managers(alice, manager, charlie, world):
    org = alice.post("organizations", {"name": "Nobody's"}).json()["id"]
    Organization.objects.filter(id=org).update(owner=None)  # unassigned: company-wide
    assert alice.post(f"organizations/{org}/shares", {"user_id": charlie.user.id}).status_code == 403
    assert manager.post(f"organizations/{org}/shares", {"user_id": charlie.user.id}).status_code == 201


def test_a_share_of_another_record_is_not_found(alice, world):
    share = alice.post(f"contacts/{world['carol']}/shares", {"team_id": Team.objects.get(name="east").id}).json()
    assert alice.delete(f"deals/{world['deal']}/shares/{share['id']}").status_code == 404
    assert alice.delete(f"organizations/{world['org']}/shares/{share['id']}").status_code == 404
    assert alice.delete(f"contacts/{world['carol']}/shares/999999").json() == {"detail": "share 999999 not found"}
    assert Share.objects.filter(id=share["id"]).exists()


# --- the record page's "Shared with" card ----------------------------------------------------


def test_record_page_loads_the_shared_with_card(alice, world):
    page = text(browser(alice).get(record_path("deal", world["deal"])))
    assert f'hx-get="/deals/{world["deal"]}/shares"' in page and "Shared with" in page


def test_owner_shares_and_unshares_from_the_card(alice, charlie, world):
    client = browser(alice)
    card = client.get(record_path("organization", world["org"], "shares"), **HTMX)
    assert card.status_code == 200 and "Only the owner's team." in text(card)
    assert f'value="user:{charlie.user.id}"' in text(card) and f'value="team:{charlie.user.team_id}"' in text(card)
    assert unlabelled(text(card)) == []  # the picker has its label (web/tests/test_accessibility.py)
    response = client.post(record_path("organization", world["org"], "shares"), {"target": f"user:{charlie.user.id}"}, **HTMX)
    assert response.status_code == 200
    share = Share.objects.get(record_type="organization", record_id=world["org"])
    assert f'data-testid="share-{share.id}">charlie' in text(response)
    assert browser(charlie).get(record_path("organization", world["org"])).status_code == 200
    response = client.post(record_path("organization", world["org"], f"shares/{share.id}/remove"), **HTMX)
    assert response.status_code == 200 and "Only the owner's team." in text(response)
    assert browser(charlie).get(record_path("organization", world["org"])).status_code == 404


def test_card_without_javascript_redirects_back_to_the_record(alice, charlie, world):
    response = browser(alice).post(record_path("deal", world["deal"], "shares"), {"target": f"team:{charlie.user.team_id}"})
    assert response.status_code == 302 and response["Location"] == f"/deals/{world['deal']}/"
    assert Share.objects.filter(record_type="deal", record_id=world["deal"], team_id=charlie.user.team_id).exists()


def test_card_answers_a_bad_pick_with_422_under_the_field(alice, world):
    response = browser(alice).post(record_path("deal", world["deal"], "shares"), {"target": "user:999999"}, **HTMX)
    assert response.status_code == 422
    assert "Select a valid choice" in text(response)
    assert not Share.objects.exists()


def test_a_recipient_sees_the_card_without_the_form_and_may_not_post(alice, charlie, world):
    alice.post(f"deals/{world['deal']}/shares", {"user_id": charlie.user.id})
    client = browser(charlie)
    card = text(client.get(record_path("deal", world["deal"], "shares"), **HTMX))
    assert "charlie" in card and "<form" not in card
    assert client.post(record_path("deal", world["deal"], "shares"), {"target": f"user:{charlie.user.id}"}, **HTMX).status_code == 403


def test_outsider_gets_404_from_the_card_and_its_actions(alice, charlie, world):
    share = alice.post(f"deals/{world['deal']}/shares", {"team_id": Team.objects.get(name="east").id}).json()
    client = browser(charlie)
    assert client.get(record_path("deal", world["deal"], "shares"), **HTMX).status_code == 404
    assert client.post(record_path("deal", world["deal"], "shares"), {"target": f"user:{charlie.user.id}"}, **HTMX).status_code == 404
    assert client.post(record_path("deal", world["deal"], f"shares/{share['id']}/remove"), **HTMX).status_code == 404
    assert Share.objects.count() == 1


def test_deleting_a_record_takes_its_shares_with_it(alice, charlie, world):
    alice.post(f"deals/{world['deal']}/shares", {"user_id": charlie.user.id})
    alice.post(f"deals/{world['deal']}/shares", {"team_id": charlie.user.team_id})
    assert alice.delete(f"deals/{world['deal']}").status_code == 204
    assert not Share.objects.filter(record_type="deal", record_id=world["deal"]).exists()
    assert Share.objects.filter(record_type="organization").count() == 0  # nothing else touched either way


def test_the_database_keeps_one_share_per_record_and_target(alice, charlie, world):
    from django.db import IntegrityError, transaction

    Share.objects.create(record_type="deal", record_id=world["deal"], user=charlie.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Share.objects.create(record_type="deal", record_id=world["deal"], user=charlie.user)
    Share.objects.create(record_type="deal", record_id=world["deal"], team_id=charlie.user.team_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Share.objects.create(record_type="deal", record_id=world["deal"], team_id=charlie.user.team_id)
