"""Rollup rules (touchpoints.rules): where a touchpoint shows."""
import pytest

from conftest import at


def timeline_ids(api, collection, record_id, **params):
    response = api.get(f"{collection}/{record_id}/timeline", **params)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def log(api, **fields):
    response = api.post("touchpoints", fields)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_deal_event_rolls_up_to_deal_contacts_and_organization(alice, world):
    event = alice.post(
        "events",
        {"subject": "Kick-off", "event_type": "meeting", "status": "held", "start_at": at("2024-03-01 10:00"), "end_at": at("2024-03-01 11:00"), "deal_id": world["deal"]},
    ).json()
    tp = event["touchpoint_id"]
    assert tp is not None
    assert tp in timeline_ids(alice, "deals", world["deal"])
    assert tp in timeline_ids(alice, "contacts", world["carol"])  # Carol is on the deal
    assert tp in timeline_ids(alice, "organizations", world["org"])
    assert tp not in timeline_ids(alice, "contacts", world["dave"])  # Dave is not


def test_deal_call_rolls_up_but_deal_email_reaches_only_the_organization(alice, world):
    call = log(alice, kind="phone_call", status="completed", occurred_at=at("2024-03-02 09:00"), deal_ids=[world["deal"]])
    email = log(alice, kind="email", status="sent", occurred_at=at("2024-03-02 10:00"), deal_ids=[world["deal"]])
    carol = timeline_ids(alice, "contacts", world["carol"])
    assert call in carol and email not in carol
    assert {call, email} <= set(timeline_ids(alice, "organizations", world["org"]))


def test_email_with_contact_reaches_organization_and_deals_open_at_the_time(alice, world):
    before_deal = log(alice, kind="email", occurred_at=at("2023-12-31 23:59"), contact_ids=[world["carol"]])
    during = log(alice, kind="email", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["carol"]])
    deal_timeline = timeline_ids(alice, "deals", world["deal"])
    assert during in deal_timeline and before_deal not in deal_timeline
    assert {before_deal, during} <= set(timeline_ids(alice, "organizations", world["org"]))


def test_email_after_deal_closed_does_not_reach_it(alice, world):
    alice.patch(f"deals/{world['deal']}", {"stage": "closed_won", "closed_at": at("2024-05-01 00:00")})
    after_close = log(alice, kind="email", occurred_at=at("2024-06-01 12:00"), contact_ids=[world["carol"]])
    while_open = log(alice, kind="email", occurred_at=at("2024-04-01 12:00"), contact_ids=[world["carol"]])
    deal_timeline = timeline_ids(alice, "deals", world["deal"])
    assert while_open in deal_timeline and after_close not in deal_timeline


def test_portal_login_appears_on_the_contact_only(alice, world):
    tp = log(alice, kind="portal_login", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["carol"]])
    assert tp in timeline_ids(alice, "contacts", world["carol"])
    assert tp not in timeline_ids(alice, "organizations", world["org"])
    assert tp not in timeline_ids(alice, "deals", world["deal"])


def test_contact_joining_deal_brings_history_and_leaving_takes_it_away(alice, world):
    email = log(alice, kind="email", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["dave"]])
    meeting = log(alice, kind="event", status="held", event_type="meeting", occurred_at=at("2024-02-02 12:00"), deal_ids=[world["deal"]])
    assert email not in timeline_ids(alice, "deals", world["deal"])
    assert meeting not in timeline_ids(alice, "contacts", world["dave"])

    alice.post(f"deals/{world['deal']}/contacts", {"contact_id": world["dave"], "role": "influencer"})
    assert email in timeline_ids(alice, "deals", world["deal"])
    assert meeting in timeline_ids(alice, "contacts", world["dave"])
    assert alice.get(f"deals/{world['deal']}").json()["last_contacted_on"] == "2024-02-02T12:00:00Z"

    alice.delete(f"deals/{world['deal']}/contacts/{world['dave']}")
    assert email not in timeline_ids(alice, "deals", world["deal"])
    assert meeting not in timeline_ids(alice, "contacts", world["dave"])
    # Dave's last contact is recomputed without the deal's meeting.
    assert alice.get(f"contacts/{world['dave']}").json()["last_contacted_on"] == "2024-02-01T12:00:00Z"


def test_leaving_deal_keeps_touchpoints_that_reach_it_through_another_contact(alice, world):
    alice.post(f"deals/{world['deal']}/contacts", {"contact_id": world["dave"]})
    both = log(alice, kind="email", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["dave"], world["carol"]])
    alice.delete(f"deals/{world['deal']}/contacts/{world['dave']}")
    assert both in timeline_ids(alice, "deals", world["deal"])


def test_contact_moving_organization_keeps_history_where_it_happened(alice, world):
    other = alice.post("organizations", {"name": "Other Ltd"}).json()["id"]
    old = log(alice, kind="email", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["dave"]])
    alice.patch(f"contacts/{world['dave']}", {"organization_id": other})
    new = log(alice, kind="email", occurred_at=at("2024-03-01 12:00"), contact_ids=[world["dave"]])
    assert old in timeline_ids(alice, "organizations", world["org"])
    assert new not in timeline_ids(alice, "organizations", world["org"])
    assert new in timeline_ids(alice, "organizations", other)
    assert old not in timeline_ids(alice, "organizations", other)


def test_contact_getting_first_organization_backfills_its_history(alice):
    loner = alice.post("contacts", {"last_name": "Solo"}).json()["id"]
    tp = log(alice, kind="sms", status="delivered", occurred_at=at("2024-02-01 12:00"), contact_ids=[loner])
    org = alice.post("organizations", {"name": "Found Inc"}).json()["id"]
    alice.patch(f"contacts/{loner}", {"organization_id": org})
    assert tp in timeline_ids(alice, "organizations", org)
    assert alice.get(f"organizations/{org}").json()["last_contacted_via"] == "SMS"


def test_timeline_kind_filter_and_hidden_statuses(alice, world):
    email = log(alice, kind="email", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["carol"]])
    sms = log(alice, kind="sms", status="failed", occurred_at=at("2024-02-02 12:00"), contact_ids=[world["carol"]])
    busy = log(alice, kind="phone_call", status="busy", occurred_at=at("2024-02-03 12:00"), contact_ids=[world["carol"]])
    assert timeline_ids(alice, "contacts", world["carol"]) == [sms, email]  # busy call stored, not shown
    assert timeline_ids(alice, "contacts", world["carol"], kinds="sms") == [sms]
    assert alice.get(f"touchpoints/{busy}").json()["shown_in_activity"] is False
    response = alice.get(f"contacts/{world['carol']}/timeline", kinds="email,bogus")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "kinds"]


@pytest.mark.parametrize("page_size", [5, 50])
def test_timeline_page_costs_constant_queries(alice, world, django_assert_max_num_queries, page_size):
    items = [{"kind": "email", "occurred_at": at(f"2024-02-{d:02d} 12:00"), "contact_ids": [world["carol"]]} for d in range(1, 29)] * 3
    assert alice.post("touchpoints/batch", {"items": items}).json()["created"] == len(items)
    # auth + visibility check + one page query, whatever the page size
    with django_assert_max_num_queries(3):
        response = alice.get(f"organizations/{world['org']}/timeline", limit=page_size)
    assert len(response.json()["items"]) == page_size


def test_timeline_cursor_walks_every_item_once_newest_first(alice, world):
    # Same occurred_at for several items: the id breaks ties.
    items = [{"kind": "sms", "occurred_at": at(f"2024-02-{1 + n // 3:02d} 12:00"), "contact_ids": [world["carol"]]} for n in range(25)]
    alice.post("touchpoints/batch", {"items": items})
    seen, cursor = [], None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = alice.get(f"contacts/{world['carol']}/timeline", **params).json()
        seen += [(i["occurred_at"], i["id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 25 and len(set(seen)) == 25
    assert seen == sorted(seen, reverse=True)
    bad = alice.get(f"contacts/{world['carol']}/timeline", cursor="not-a-cursor")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_moving_a_touchpoint_before_the_deal_opened_takes_it_off_the_deal(alice, world):
    tp = log(alice, kind="email", occurred_at=at("2024-02-01 12:00"), contact_ids=[world["carol"]])
    assert tp in timeline_ids(alice, "deals", world["deal"])
    alice.patch(f"touchpoints/{tp}", {"occurred_at": at("2023-06-01 12:00")})
    assert tp not in timeline_ids(alice, "deals", world["deal"])
    assert tp in timeline_ids(alice, "organizations", world["org"])
    assert alice.get(f"deals/{world['deal']}").json()["last_contacted_on"] is None
    alice.patch(f"touchpoints/{tp}", {"occurred_at": at("2024-03-01 12:00")})
    assert tp in timeline_ids(alice, "deals", world["deal"])
    assert alice.get(f"deals/{world['deal']}").json()["last_contacted_on"] == "2024-03-01T12:00:00Z"


def test_editing_an_old_event_keeps_it_at_the_organization_it_happened_with(alice, world):
    other = alice.post("organizations", {"name": "Other"}).json()["id"]
    event = alice.post(
        "events",
        {"subject": "Lunch", "status": "held", "start_at": at("2024-02-01 12:00"), "end_at": at("2024-02-01 13:00"), "contact_ids": [world["dave"]]},
    ).json()
    alice.patch(f"contacts/{world['dave']}", {"organization_id": other})
    alice.patch(f"events/{event['id']}", {"emoticon": 5})
    alice.patch(f"events/{event['id']}", {"start_at": at("2024-02-02 12:00"), "end_at": at("2024-02-02 13:00")})
    assert event["touchpoint_id"] in timeline_ids(alice, "organizations", world["org"])
    assert event["touchpoint_id"] not in timeline_ids(alice, "organizations", other)
    assert alice.get(f"organizations/{world['org']}").json()["last_contacted_on"] == "2024-02-02T12:00:00Z"


def test_contact_leaving_an_organization_and_joining_another_does_not_bring_old_history(alice, world):
    other = alice.post("organizations", {"name": "Other"}).json()["id"]
    at_first = log(alice, kind="email", occurred_at=at("2024-02-01 10:00"), contact_ids=[world["dave"]])
    alice.patch(f"contacts/{world['dave']}", {"organization_id": None})
    in_between = log(alice, kind="email", occurred_at=at("2024-03-01 10:00"), contact_ids=[world["dave"]])
    alice.patch(f"contacts/{world['dave']}", {"organization_id": other})
    assert at_first not in timeline_ids(alice, "organizations", other)
    assert in_between in timeline_ids(alice, "organizations", other)  # no organization then: backfilled
    assert alice.get(f"organizations/{other}").json()["last_contacted_on"] == "2024-03-01T10:00:00Z"
