"""The Activity section: order, infinite scroll, the kind filter, badges."""
from __future__ import annotations

import re
from datetime import UTC, datetime


from accounts.models import User


from web.tests.pages import *  # noqa: F403  (helpers and constants)


# --- 4. the Activity section ------------------------------------------------------------


def test_activity_is_newest_first(as_alice, alice, world):
    log(alice, "phone_call", "2024-03-01 10:00", "Middle", "completed", deal_ids=[world["deal"]])
    log(alice, "phone_call", "2024-04-01 10:00", "Newest", "completed", deal_ids=[world["deal"]])
    log(alice, "phone_call", "2024-02-01 10:00", "Oldest", "completed", deal_ids=[world["deal"]])
    page = text(as_alice.get(record_path("deal", world["deal"])))
    assert timeline_titles(page) == ["Newest", "Middle", "Oldest"]


def test_activity_shows_rollup_through_a_contact(as_alice, alice, world):
    log(alice, "email", "2024-03-01 10:00", "Quote attached", "sent", contact_ids=[world["carol"]])
    page = text(as_alice.get(record_path("deal", world["deal"], "activity")))
    assert timeline_titles(page) == ["Quote attached"] and "via Carol Ng" in page


def test_activity_scrolls_infinitely_without_duplicates(as_alice, alice, world):
    ids = log_calls(alice, PAGE_SIZE + 7, deal_ids=[world["deal"]])
    first = text(as_alice.get(record_path("deal", world["deal"])))
    first_rows = [tp_id for _, tp_id in timeline_rows(first)]
    assert len(first_rows) == PAGE_SIZE
    url = load_more_url(first)
    assert url and url.startswith(f"/deals/{world['deal']}/activity?cursor=")
    second = text(as_alice.get(url, **HTMX))
    second_rows = [tp_id for _, tp_id in timeline_rows(second)]
    assert len(second_rows) == 7 and load_more_url(second) is None
    assert not set(first_rows) & set(second_rows)
    assert first_rows + second_rows == list(reversed(ids))  # newest first, across pages
    assert "No activity to show." not in second


def test_activity_without_more_rows_has_no_scroll_trigger(as_alice, alice, world):
    log_calls(alice, PAGE_SIZE, deal_ids=[world["deal"]])
    page = text(as_alice.get(record_path("deal", world["deal"], "activity")))
    assert len(timeline_rows(page)) == PAGE_SIZE and 'hx-trigger="revealed"' not in page


def test_activity_empty_says_so(as_alice, world):
    assert "No activity to show." in text(as_alice.get(record_path("contact", world["dave"], "activity")))


ALL_KINDS = ["event", "phone_call", "email", "email_campaign", "sms", "chat", "note", "document", "case", "portal_login", "portal_logout"]


def test_kind_filter_hides_emails_is_remembered_and_can_be_undone(as_alice, alice, world):
    log(alice, "email", "2024-03-01 10:00", "Quote attached", "sent", contact_ids=[world["carol"]])
    log(alice, "phone_call", "2024-03-02 10:00", "Follow-up call", "completed", deal_ids=[world["deal"]])
    deal_filter = record_path("deal", world["deal"], "activity/filter")

    response = as_alice.post(deal_filter, {"kinds": [k for k in ALL_KINDS if k != "email"]}, **HTMX)
    assert response.status_code == 200
    assert timeline_titles(text(response)) == ["Follow-up call"]

    # Remembered: another record's page opens with emails hidden and unchecked.
    carol_page = text(as_alice.get(record_path("contact", world["carol"])))
    assert timeline_titles(carol_page) == ["Follow-up call"]
    assert 'name="kinds" value="email">' in carol_page
    assert 'name="kinds" value="phone_call" checked>' in carol_page

    response = as_alice.post(deal_filter, {"kinds": ALL_KINDS}, **HTMX)
    assert timeline_titles(text(response)) == ["Follow-up call", "Quote attached"]
    assert timeline_titles(text(as_alice.get(record_path("contact", world["carol"])))) == ["Follow-up call", "Quote attached"]


def test_kind_filter_is_per_user(as_alice, as_bob, alice, world):
    log(alice, "email", "2024-03-01 10:00", "Quote attached", "sent", contact_ids=[world["carol"]])
    as_alice.post(record_path("deal", world["deal"], "activity/filter"), {"kinds": ["note"]}, **HTMX)
    assert timeline_titles(text(as_bob.get(record_path("deal", world["deal"])))) == ["Quote attached"]


def test_kind_filter_with_every_kind_off_shows_nothing(as_alice, alice, world):
    log(alice, "email", "2024-03-01 10:00", "Quote attached", "sent", contact_ids=[world["carol"]])
    response = as_alice.post(record_path("deal", world["deal"], "activity/filter"), {}, **HTMX)
    assert timeline_rows(text(response)) == [] and "No activity to show." in text(response)


def test_kind_filter_without_htmx_redirects_to_the_record(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "activity/filter"), {"kinds": ["note"]})
    assert response.status_code == 302 and response["Location"] == f"/deals/{world['deal']}/"


def test_activity_shows_status_badges_and_held_event_emoticon(as_alice, alice, world):
    deal = world["deal"]
    log(alice, "sms", "2024-03-01 10:00", "Text", "delivered", deal_ids=[deal])
    log(alice, "sms", "2024-03-01 11:00", "Text again", "failed", deal_ids=[deal])
    log(alice, "phone_call", "2024-03-02 10:00", "Call", "completed", deal_ids=[deal])
    log(alice, "email", "2024-03-03 10:00", "Bounce", "bounced", deal_ids=[deal])
    make_event(alice, "Went well", datetime(2024, 3, 4, 10, tzinfo=UTC), status="held", emoticon=5, deal_id=deal)
    make_event(alice, "No show", datetime(2024, 3, 5, 10, tzinfo=UTC), status="not_held", deal_id=deal)
    page = text(as_alice.get(record_path("deal", deal, "activity")))
    rows = dict(zip(timeline_titles(page), re.split(r'<li class="tp" ', page)[1:]))
    assert '<span class="badge badge-good">Delivered</span>' in rows["Text"]
    assert '<span class="badge badge-bad">Failed</span>' in rows["Text again"]
    assert '<span class="badge badge-good">Completed</span>' in rows["Call"]
    assert '<span class="badge badge-bad">Bounced</span>' in rows["Bounce"]
    assert '<span class="badge badge-good">Held</span>' in rows["Went well"]
    assert 'aria-label="Very happy" title="Very happy">😄</span>' in rows["Went well"]
    assert '<span class="badge badge-bad">Not Held</span>' in rows["No show"]
    assert 'class="emoticon"' not in rows["No show"]


def test_activity_shows_the_subject_as_written(as_alice, alice, world):
    log(alice, "email", "2024-03-01 10:00", "Meeting with ACME_team re: SOW", "sent", deal_ids=[world["deal"]])
    assert timeline_titles(text(as_alice.get(record_path("deal", world["deal"], "activity")))) == ["Meeting with ACME_team re: SOW"]


def test_activity_without_a_subject_shows_the_kind(as_alice, alice, world):
    log(alice, "sms", "2024-03-01 10:00", "", "delivered", deal_ids=[world["deal"]])
    assert timeline_titles(text(as_alice.get(record_path("deal", world["deal"], "activity")))) == ["SMS"]


def test_activity_times_are_shown_in_the_users_time_zone(as_alice, alice, world):
    User.objects.filter(id=alice.user.id).update(time_zone="America/Los_Angeles")
    log(alice, "phone_call", "2024-05-01 17:00", "Call", "completed", deal_ids=[world["deal"]])
    page = text(as_alice.get(record_path("deal", world["deal"], "activity")))
    assert '<time datetime="2024-05-01T10:00:00-07:00">2024-05-01 10:00</time>' in page


def test_journey_escapes_subjects_inside_its_script(as_alice, alice, world):
    make_event(alice, "</script><script>alert(1)</script>", datetime(2024, 3, 1, 10, tzinfo=UTC), status="held", emoticon=3, deal_id=world["deal"])
    page = text(as_alice.get(record_path("deal", world["deal"], "journey")))
    assert "<script>alert(1)" not in page and "alert(1)" in page


def test_activity_hides_what_is_not_a_touchpoint(as_alice, alice, world):
    log(alice, "phone_call", "2024-03-02 10:00", "Nobody there", "no_answer", deal_ids=[world["deal"]])
    make_event(alice, "Planned", datetime(2030, 1, 1, tzinfo=UTC), deal_id=world["deal"])
    page = text(as_alice.get(record_path("deal", world["deal"], "activity")))
    assert timeline_rows(page) == [] and "Nobody there" not in page.split('aria-label="Activity, newest first"')[1]
