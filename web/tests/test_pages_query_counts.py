"""A page costs a fixed number of queries, whatever the data behind it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities.services import do_create_event, do_create_task
from conftest import at


from web.tests.pages import *  # noqa: F403  (helpers and constants)


# --- 3. fixed query counts ------------------------------------------------------------


def count_queries(client: Client, url: str, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(queries)


def _fill_timeline(alice, world, count: int, start: str) -> None:
    """Calls on the deal and emails with Carol that roll up to it ("via Carol Ng")."""
    half = count // 2
    log_calls(alice, half, start=start, deal_ids=[world["deal"]])
    base = datetime.fromisoformat(start).replace(tzinfo=UTC) + timedelta(hours=1)
    items = [
        {"kind": "email", "status": "sent", "occurred_at": (base + timedelta(minutes=i)).isoformat(), "subject": f"Mail {i}", "contact_ids": [world["carol"]]}
        for i in range(count - half)
    ]
    assert alice.post("touchpoints/batch", {"items": items}).json()["created"] == count - half


@pytest.mark.parametrize("suffix", ["", "activity"], ids=["page", "activity-partial"])
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_record_page_and_activity_cost_the_same_queries_with_3_or_60_touchpoints(as_alice, alice, records, world, record_type, suffix):
    url = record_path(record_type, records[record_type], suffix)
    # Up Next and the page's related records are in the page too.
    make_event(alice, "Demo", timezone.now() + timedelta(days=1), deal_id=world["deal"])
    make_task(alice, "Quote", timezone.now().date() + timedelta(days=1), deal_id=world["deal"])
    _fill_timeline(alice, world, 3, "2024-02-01 00:00")
    as_alice.get(url)  # warm per-process caches
    few = count_queries(as_alice, url)
    _fill_timeline(alice, world, 57, "2024-03-01 00:00")
    for i in range(4):
        make_event(alice, f"Demo {i}", timezone.now() + timedelta(days=2 + i), deal_id=world["deal"])
        make_event(alice, f"Past {i}", datetime(2024, 5, 1 + i, tzinfo=UTC), status="held", emoticon=4, deal_id=world["deal"])
    page = text(as_alice.get(url))
    assert len(timeline_rows(page)) == PAGE_SIZE
    if record_type != "contact":
        assert "via Carol Ng" in page
    assert count_queries(as_alice, url) == few


def test_activity_next_page_costs_the_same_queries_however_deep(as_alice, alice, world):
    log_calls(alice, 3 * PAGE_SIZE, deal_ids=[world["deal"]])
    url = record_path("deal", world["deal"], "activity")
    second = load_more_url(text(as_alice.get(url, **HTMX)))
    third = load_more_url(text(as_alice.get(second, **HTMX)))
    assert count_queries(as_alice, second, **HTMX) == count_queries(as_alice, third, **HTMX)


def _fill_list(alice, record_type: str, count: int, start: int) -> None:
    org = alice.post("organizations", {"name": f"Parent {start}"}).json()["id"]
    for i in range(start, start + count):
        if record_type == "organization":
            record = alice.post("organizations", {"name": f"Org {i:03d}", "industry": "Tea"}).json()["id"]
        elif record_type == "contact":
            body = {"first_name": "C", "last_name": f"Contact {i:03d}", "organization_id": org, "emails": [f"c{i}@x.example"], "phones": [f"+1202555{i:04d}"]}
            record = alice.post("contacts", body).json()["id"]
        else:
            contact = alice.post("contacts", {"last_name": f"On deal {i:03d}"}).json()["id"]
            body = {"name": f"Deal {i:03d}", "organization_id": org, "amount": "10", "contacts": [{"contact_id": contact, "role": "influencer"}]}
            record = alice.post("deals", body).json()["id"]
        if i % 2:
            log(alice, "email", f"2024-02-{1 + i % 28:02d} 09:00", "hi", "sent", **{f"{record_type}_ids": [record]})


@pytest.mark.parametrize("sort", ["", "-last_contacted_on"])
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_list_page_costs_the_same_queries_with_3_or_40_rows(as_alice, alice, record_type, sort):
    url = f"/{PLURAL[record_type]}/" + (f"?sort={sort}" if sort else "")
    _fill_list(alice, record_type, 3, 0)
    as_alice.get(url)
    few = count_queries(as_alice, url)
    _fill_list(alice, record_type, 37, 3)
    page = text(as_alice.get(url))
    assert len(table_links(page, record_type)) == PAGE_SIZE
    assert count_queries(as_alice, url) == few


def _fill_dashboard(alice, world, per_list: int) -> None:
    """``per_list`` of each dashboard list, on deals, organizations and contacts alike."""
    now = timezone.now()
    today = now.date()
    links = [{"deal_id": world["deal"]}, {"organization_id": world["org"]}, {"contact_ids": [world["dave"]]}]
    task_links = [{"deal_id": world["deal"]}, {"organization_id": world["org"]}, {"contact_id": world["dave"]}]
    user = alice.user
    for i in range(per_list):
        link, task_link = links[i % 3], task_links[i % 3]
        start = now - timedelta(days=2, minutes=i)
        do_create_event(user, {"subject": f"Missed {i}", "start_at": start, "end_at": start + timedelta(hours=1), **link})
        start = now + timedelta(days=1, minutes=i)
        do_create_event(user, {"subject": f"Soon {i}", "start_at": start, "end_at": start + timedelta(hours=1), **link})
        start = now - timedelta(days=1, minutes=i)
        do_create_event(user, {"subject": f"Held {i}", "status": "held", "emoticon": 4, "start_at": start, "end_at": start + timedelta(hours=1), **link})
        do_create_task(user, {"title": f"Late {i}", "due_date": today - timedelta(days=1 + i % 5), **task_link})
        do_create_task(user, {"title": f"Next {i}", "due_date": today + timedelta(days=1 + i % 5), **task_link})
        do_create_task(user, {"title": f"Done {i}", "due_date": today, "status": "completed", **task_link})
        alice.post("deals", {"name": f"Quiet {per_list}-{i}", "organization_id": world["org"], "created_at": at("2024-01-01 00:00")})


def test_dashboard_query_count_does_not_grow_with_events_and_tasks(as_alice, alice, world):
    """Each list is capped at 20 with its full count beside it; the count
    costs a query only when a list is full, so compare full with fuller,
    and few with full (at most one count per list more, and the record
    visibility lookups of record types that only the fuller lists name)."""
    _fill_dashboard(alice, world, 2)
    as_alice.get("/")
    few = count_queries(as_alice, "/")
    _fill_dashboard(alice, world, 21)
    full = count_queries(as_alice, "/")
    _fill_dashboard(alice, world, 25)
    page = text(as_alice.get("/"))
    assert '<h2 id="overdue-h">Overdue <span class="count">96</span>' in page  # 48 events + 48 tasks
    assert count_queries(as_alice, "/") == full
    # 6 activity lists + idle deals each count once full; one visibility
    # lookup per record type the lists mention (deals, organizations, contacts).
    assert few <= full <= few + 7 + 3
