"""The server-rendered web UI: pages, htmx partials and quick actions.

Every test drives the pages through django.test.Client as a signed-in
persona (conftest: ``alice`` owns, ``bob`` is her teammate, ``charlie`` is
an outsider who must see nothing of Alice's). Data is made through the
REST API or the service functions, the same code paths the pages use.

Sections follow the pages: rendering, permissions, query budgets, the
Activity section, quick actions, Up Next's time zone, the dashboard, lists,
create/edit forms and global search.
"""
from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import activities.queries
from accounts.models import Preference, User
from activities.models import Event, EventStatus, Task, TaskStatus
from activities.services import do_create_event, do_create_task
from conftest import at
from crm.models import Contact, Deal, Organization, Share
from touchpoints.models import Touchpoint

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE_SIZE = settings.UI_PAGE_SIZE
RECORD_TYPES = ("organization", "contact", "deal")
PLURAL = {"organization": "organizations", "contact": "contacts", "deal": "deals"}


# --- fixtures and helpers ------------------------------------------------------------


def browser(persona) -> Client:
    """A browser signed in as the persona."""
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def as_alice(alice) -> Client:
    return browser(alice)


@pytest.fixture
def as_bob(bob) -> Client:
    return browser(bob)


@pytest.fixture
def as_charlie(charlie) -> Client:
    return browser(charlie)


@pytest.fixture
def records(world) -> dict[str, int]:
    """The world's record of each type: organization, contact (Carol), deal."""
    return {"organization": world["org"], "contact": world["carol"], "deal": world["deal"]}


def text(response) -> str:
    return response.content.decode()


def record_path(record_type: str, record_id: int, suffix: str = "") -> str:
    return f"/{PLURAL[record_type]}/{record_id}/{suffix}"


def log(api, kind: str, when: str, subject: str, status: str | None = None, **fields) -> int:
    """Record one touchpoint through the API; ``when`` as for conftest.at."""
    body = {"kind": kind, "occurred_at": at(when), "subject": subject, **fields}
    if status:
        body["status"] = status
    response = api.post("touchpoints", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def log_calls(api, count: int, *, start: str = "2024-02-01 00:00", prefix: str = "Call", **links) -> list[int]:
    """``count`` completed calls one minute apart through the batch API."""
    base = datetime.fromisoformat(start).replace(tzinfo=UTC)
    items = [
        {"kind": "phone_call", "status": "completed", "occurred_at": (base + timedelta(minutes=i)).isoformat(), "subject": f"{prefix} {i:03d}", **links}
        for i in range(count)
    ]
    body = api.post("touchpoints/batch", {"items": items}).json()
    assert body["created"] == count, body
    return [r["id"] for r in body["results"]]


def timeline_rows(page: str) -> list[tuple[str, int]]:
    """(kind, touchpoint id) of each Activity row, top to bottom."""
    return [(kind, int(tp_id)) for kind, tp_id in re.findall(r'<li class="tp" data-kind="([^"]+)" data-id="(\d+)"', page)]


def timeline_titles(page: str) -> list[str]:
    return re.findall(r'<span class="tp-title">([^<]*)</span>', page)


def load_more_url(page: str) -> str | None:
    match = re.search(r'<li class="load-more" hx-get="([^"]+)" hx-trigger="revealed"', page)
    return html.unescape(match.group(1)) if match else None


def next_page_url(page: str) -> str | None:
    match = re.search(r'<a class="button" rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def table_links(page: str, record_type: str) -> list[str]:
    """Names in a list page's first column, top to bottom."""
    return [html.unescape(n) for n in re.findall(rf'<td><a href="/{PLURAL[record_type]}/\d+/">([^<]+)</a></td>', page)]


def section(page: str, heading_id: str) -> str:
    """The dashboard section whose heading has ``heading_id``, up to the next section."""
    start = page.index(f'id="{heading_id}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def up_next_item(page: str, kind: str, item_id: int) -> str | None:
    match = re.search(rf'<li class="([^"]*)" data-testid="up-next-{kind}-{item_id}">', page)
    return match.group(1) if match else None


def reload(user: User) -> User:
    return User.objects.get(id=user.id)


def make_event(api, subject: str, start: datetime, *, hours: float = 1, **fields) -> int:
    body = {"subject": subject, "start_at": start.isoformat(), "end_at": (start + timedelta(hours=hours)).isoformat(), **fields}
    response = api.post("events", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def make_task(api, title: str, due: date, **fields) -> int:
    response = api.post("tasks", {"title": title, "due_date": due.isoformat(), **fields})
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- 1. every page and partial renders for the owner --------------------------------


def test_dashboard_renders_the_me_tab(as_alice, world):
    response = as_alice.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Actions</h1>" in page and "Today is" in page and "in UTC" in page
    assert 'id="idle-h"' in page


@pytest.fixture
def sortable(alice):
    """Two records of each type, "Alpha…" below "Beta…" on every sortable
    column: name, industry/title, stage, amount and Last Contacted Via/On."""
    orgs = [alice.post("organizations", {"name": n, "industry": i}).json()["id"] for n, i in (("Alpha Org", "Aero"), ("Beta Org", "Biotech"))]
    contacts = [
        alice.post("contacts", {"first_name": "Ann", "last_name": n, "title": t}).json()["id"] for n, t in (("Alpha", "Analyst"), ("Beta", "Buyer"))
    ]
    deals = [
        alice.post("deals", {"name": n, "stage": s, "amount": a, "created_at": at("2024-01-01 00:00")}).json()["id"]
        for n, s, a in (("Alpha Deal", "prospecting", "100"), ("Beta Deal", "qualification", "200"))
    ]
    # Alpha: an email ("Email") in February; Beta: a call ("Phone Call") in March.
    log(alice, "email", "2024-02-01 09:00", "Hello", "sent", organization_ids=[orgs[0]], contact_ids=[contacts[0]], deal_ids=[deals[0]])
    log(alice, "phone_call", "2024-03-01 09:00", "Ring", "completed", organization_ids=[orgs[1]], contact_ids=[contacts[1]], deal_ids=[deals[1]])
    return {"organization": ("Alpha Org", "Beta Org"), "contact": ("Ann Alpha", "Ann Beta"), "deal": ("Alpha Deal", "Beta Deal")}


SORT_COLUMNS = [
    ("organization", "name"), ("organization", "industry"), ("organization", "last_contacted_via"), ("organization", "last_contacted_on"),
    ("contact", "last_name"), ("contact", "title"), ("contact", "last_contacted_via"), ("contact", "last_contacted_on"),
    ("deal", "name"), ("deal", "stage"), ("deal", "amount"), ("deal", "last_contacted_via"), ("deal", "last_contacted_on"),
]  # fmt: skip


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize(("record_type", "column"), SORT_COLUMNS)
def test_list_sorts_by_each_sortable_column_both_ways(as_alice, sortable, record_type, column, descending):
    response = as_alice.get(f"/{PLURAL[record_type]}/", {"sort": f"-{column}" if descending else column})
    assert response.status_code == 200
    page = text(response)
    alpha, beta = sortable[record_type]
    assert table_links(page, record_type) == ([beta, alpha] if descending else [alpha, beta])
    assert f'aria-sort="{"descending" if descending else "ascending"}"' in page
    assert page.count("aria-sort=") == 1
    # The header link of the sorted column flips its direction.
    assert f'href="?sort={column if descending else "-" + column}"' in page


def test_list_ignores_an_unknown_sort_and_uses_the_default(as_alice, sortable):
    page = text(as_alice.get("/organizations/", {"sort": "owner__password"}))
    assert table_links(page, "organization") == ["Alpha Org", "Beta Org"]
    assert 'aria-sort="ascending"' in page  # default: by name


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_list_filters_by_name(as_alice, sortable, record_type):
    page = text(as_alice.get(f"/{PLURAL[record_type]}/", {"q": "beta"}))
    assert table_links(page, record_type) == [sortable[record_type][1]]
    assert 'name="q" value="beta"' in page


def test_contact_list_filters_by_full_name(as_alice, world):
    assert table_links(text(as_alice.get("/contacts/", {"q": "Carol Ng"})), "contact") == ["Carol Ng"]


def test_list_filters_only_mine(as_alice, alice, bob):
    alice.post("organizations", {"name": "Alice Co"})
    bob.post("organizations", {"name": "Bob Co"})
    assert table_links(text(as_alice.get("/organizations/")), "organization") == ["Alice Co", "Bob Co"]
    page = text(as_alice.get("/organizations/", {"owner": "mine"}))
    assert table_links(page, "organization") == ["Alice Co"]
    assert '<option value="mine" selected>' in page


def test_deal_list_filters_by_stage(as_alice, sortable):
    page = text(as_alice.get("/deals/", {"stage": "qualification"}))
    assert table_links(page, "deal") == ["Beta Deal"]
    assert '<option value="qualification" selected>' in page
    assert table_links(text(as_alice.get("/deals/", {"stage": "closed_won"})), "deal") == []


def test_list_filters_are_kept_in_sort_links(as_alice, sortable):
    page = text(as_alice.get("/deals/", {"q": "deal", "stage": "prospecting", "owner": "mine"}))
    assert table_links(page, "deal") == ["Alpha Deal"]
    assert 'href="?q=deal&amp;owner=mine&amp;stage=prospecting&amp;sort=name"' in page


def test_organization_page_shows_summary_related_records_and_sections(as_alice, world):
    response = as_alice.get(record_path("organization", world["org"]))
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Grasspods</h1>" in page
    assert f'href="/contacts/{world["carol"]}/">Carol Ng</a>' in page and f'href="/contacts/{world["dave"]}/">Dave Ito</a>' in page
    assert f'href="/deals/{world["deal"]}/">Grasspods renewal</a>' in page
    for part in ('id="activity"', 'id="up-next"', 'id="call-form"', 'id="note-form"', 'id="event-form"', 'id="task-form"', 'class="journey"'):
        assert part in page


def test_contact_page_shows_email_organization_and_deals(as_alice, world):
    response = as_alice.get(record_path("contact", world["carol"]))
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Carol Ng</h1>" in page
    assert 'href="mailto:carol@grasspods.example"' in page
    assert f'<a href="/organizations/{world["org"]}/">Grasspods</a>' in page
    assert f'<a href="/deals/{world["deal"]}/">Grasspods renewal</a> <small class="muted">Decision maker · Prospecting</small>' in page


def test_deal_page_shows_stage_organization_and_contacts(as_alice, world):
    response = as_alice.get(record_path("deal", world["deal"]))
    assert response.status_code == 200
    page = text(response)
    assert "<title>Grasspods renewal · Touchpoints</title>" in page
    assert "<dt>Stage</dt><dd>Prospecting</dd>" in page
    assert f'<a href="/organizations/{world["org"]}/">Grasspods</a>' in page
    assert f'<a href="/contacts/{world["carol"]}/">Carol Ng</a> <small class="muted">Decision maker</small>' in page


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_activity_partial_renders_the_whole_section(as_alice, alice, records, record_type):
    log(alice, "phone_call", "2024-02-01 10:00", "Kickoff call", "completed", contact_ids=[records["contact"]], deal_ids=[records["deal"]])
    response = as_alice.get(record_path(record_type, records[record_type], "activity"), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<div id="activity"') and "<html" not in page
    assert timeline_titles(page) == ["Kickoff call"]
    assert 'name="kinds" value="email" checked' in page


def test_activity_partial_with_a_cursor_renders_only_the_next_rows(as_alice, alice, world):
    log_calls(alice, PAGE_SIZE + 2, deal_ids=[world["deal"]])
    first = text(as_alice.get(record_path("deal", world["deal"], "activity"), **HTMX))
    response = as_alice.get(load_more_url(first), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert 'id="activity"' not in page and "kind-filter" not in page
    assert timeline_titles(page) == ["Call 001", "Call 000"]


def test_activity_partial_with_a_forged_cursor_asks_to_reload(as_alice, world):
    response = as_alice.get(record_path("deal", world["deal"], "activity"), {"cursor": "not-a-cursor"}, **HTMX)
    assert response.status_code == 400
    assert "reload the page" in text(response)


def test_journey_without_emoticons_says_so(as_alice, world):
    response = as_alice.get(record_path("deal", world["deal"], "journey"), **HTMX)
    assert response.status_code == 200
    assert "No emoticons yet" in text(response)


def test_journey_with_emoticons_draws_a_chart(as_alice, alice, world):
    make_event(alice, "Kickoff", datetime(2024, 3, 1, 10, tzinfo=UTC), status="held", emoticon=2, deal_id=world["deal"])
    make_event(alice, "Review", datetime(2024, 4, 1, 10, tzinfo=UTC), status="held", emoticon=5, deal_id=world["deal"])
    response = as_alice.get(record_path("deal", world["deal"], "journey"), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert f'id="journey-deal-{world["deal"]}"' in page and "No emoticons yet" not in page
    assert "2 emoticons, from 2024-03-01 (2 of 5) to 2024-04-01 (5 of 5)." in page


def test_up_next_partial_lists_planned_work(as_alice, alice, world):
    make_task(alice, "Send quote", timezone.localdate() + timedelta(days=3), deal_id=world["deal"])
    response = as_alice.get(record_path("deal", world["deal"], "up-next"), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<section class="card up-next" id="up-next"')
    assert "<strong>Send quote</strong>" in page and "0 overdue · 1 upcoming" in page


def test_up_next_partial_says_nothing_planned(as_alice, world):
    assert "Nothing planned." in text(as_alice.get(record_path("contact", world["dave"], "up-next"), **HTMX))


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_last_contacted_partial_shows_via_and_on(as_alice, alice, records, record_type):
    log(alice, "sms", "2024-05-02 08:30", "Hi", "delivered", **{f"{record_type}_ids": [records[record_type]]})
    response = as_alice.get(record_path(record_type, records[record_type], "last-contacted"), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert '<dd data-testid="last-contacted-via">SMS</dd>' in page
    assert '<time datetime="2024-05-02T08:30:00+00:00">2024-05-02 08:30</time>' in page


def test_search_for_htmx_is_a_dropdown_fragment(as_alice, world):
    response = as_alice.get("/search", {"q": "grass"}, **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page
    assert f'<h3>Organizations</h3><a href="/organizations/{world["org"]}/">Grasspods</a>' in page
    assert f'<a href="/deals/{world["deal"]}/">Grasspods renewal' in page


def test_search_without_htmx_is_a_full_page(as_alice, world):
    response = as_alice.get("/search", {"q": "grass"})
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Search: “grass”</h1>" in page and "<html" in page
    assert f'<a href="/organizations/{world["org"]}/">Grasspods</a>' in page


def test_search_needs_two_characters(as_alice, world):
    page = text(as_alice.get("/search", {"q": "g"}))
    assert "Type at least two characters." in page and "Grasspods</a>" not in page


def test_search_without_matches_says_so(as_alice, world):
    assert "No matches for “zzz”." in text(as_alice.get("/search", {"q": "zzz"}, **HTMX))


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_create_form_renders_empty(as_alice, world, record_type):
    response = as_alice.get(f"/{PLURAL[record_type]}/new")
    assert response.status_code == 200
    page = text(response)
    assert f"<h1>New {record_type}</h1>" in page
    if record_type != "organization":
        assert f'<option value="{world["org"]}">Grasspods</option>' in page


def test_create_form_preselects_the_organization_from_the_query(as_alice, world):
    page = text(as_alice.get("/contacts/new", {"organization": world["org"]}))
    assert f'<option value="{world["org"]}" selected>Grasspods</option>' in page


@pytest.mark.parametrize(
    ("record_type", "shown"),
    [("organization", 'name="name" value="Grasspods"'), ("contact", 'name="emails" value="carol@grasspods.example"'), ("deal", '<option value="prospecting" selected>')],
)
def test_edit_form_renders_current_values(as_alice, records, record_type, shown):
    response = as_alice.get(record_path(record_type, records[record_type], "edit"))
    assert response.status_code == 200
    assert shown in text(response)
    assert "<h1>Edit " in text(response)


def test_contact_options_lists_an_organizations_contacts(as_alice, world):
    response = as_alice.get("/contacts/options", {"organization": world["org"]}, **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert f'<option value="{world["carol"]}">Carol Ng — Grasspods</option>' in page
    assert f'<option value="{world["dave"]}">Dave Ito — Grasspods</option>' in page


def test_contact_options_searches_by_name_or_email(as_alice, world):
    assert re.findall(r'<option value="(\d+)"', text(as_alice.get("/contacts/options", {"q": "carol@"}))) == [str(world["carol"])]
    assert re.findall(r'<option value="(\d+)"', text(as_alice.get("/contacts/options", {"q": "dave ito"}))) == [str(world["dave"])]
    assert "No match" in text(as_alice.get("/contacts/options"))


def test_deal_contact_add_and_remove(as_alice, world):
    path = record_path("deal", world["deal"])
    response = as_alice.post(f"{path}contacts", {"contact": world["dave"], "role": "influencer"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert f'<a href="/contacts/{world["dave"]}/">Dave Ito</a> <small class="muted">Influencer</small>' in text(response)
    response = as_alice.post(f"{path}contacts/{world['dave']}/remove", **HTMX)
    assert response.status_code == 200
    assert "Dave Ito</a>" not in text(response) and "Carol Ng</a>" in text(response)


# --- 2. permissions -------------------------------------------------------------------


RECORD_GETS = ["", "activity", "activity?cursor=WzEsMl0", "journey", "up-next", "last-contacted", "edit"]


@pytest.mark.parametrize("suffix", RECORD_GETS)
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_outsider_gets_404_on_record_pages_and_partials(as_charlie, records, record_type, suffix):
    response = as_charlie.get(record_path(record_type, records[record_type], suffix), **HTMX)
    assert response.status_code == 404
    assert b"Grasspods" not in response.content and b"Carol" not in response.content


@pytest.mark.parametrize("suffix", RECORD_GETS)
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_teammate_sees_record_pages_and_partials(as_bob, alice, records, record_type, suffix):
    log(alice, "phone_call", "2024-02-01 10:00", "Kickoff call", "completed", deal_ids=[records["deal"]], contact_ids=[records["contact"]])
    make_event(alice, "Review", datetime(2024, 4, 1, 10, tzinfo=UTC), status="held", emoticon=5, deal_id=records["deal"])
    response = as_bob.get(record_path(record_type, records[record_type], suffix), **HTMX)
    if suffix.startswith("activity?cursor"):
        assert response.status_code == 400  # a cursor from nowhere: "reload", but not a 404
        assert "reload the page" in text(response)
        return
    assert response.status_code == 200
    expected = {
        "": "Kickoff call", "activity": "Kickoff call", "journey": "1 emoticons", "up-next": "Nothing planned.",
        "last-contacted": "Meeting", "edit": "<h1>Edit ",
    }[suffix]  # fmt: skip
    assert expected in text(response)


@pytest.fixture
def alices_planned(alice, world) -> dict[str, int]:
    now = timezone.now()
    return {
        "event": make_event(alice, "Demo", now - timedelta(days=1), deal_id=world["deal"]),
        "task": make_task(alice, "Send quote", now.date() + timedelta(days=1), deal_id=world["deal"]),
    }


def _outsider_posts(records, world, planned) -> list[tuple[str, dict]]:
    posts = []
    for record_type in RECORD_TYPES:
        base = record_path(record_type, records[record_type])
        posts += [
            (f"{base}activity/filter", {"kinds": ["note"]}),
            (f"{base}calls", {"status": "completed", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}),
            (f"{base}notes", {"summary": "snooping"}),
            (f"{base}events", {"subject": "x", "event_type": "meeting", "start_at": "2030-01-01T10:00", "duration_minutes": 30}),
            (f"{base}tasks", {"title": "x", "due_date": "2030-01-01"}),
        ]
    posts += [
        (record_path("organization", world["org"], "edit"), {"name": "Mine now"}),
        (record_path("contact", world["carol"], "edit"), {"last_name": "Mine now"}),
        (record_path("deal", world["deal"], "edit"), {"name": "Mine now", "stage": "closed_lost"}),
        (record_path("deal", world["deal"], "contacts"), {"contact": world["dave"], "role": "influencer"}),
        (record_path("deal", world["deal"], f"contacts/{world['carol']}/remove"), {}),
        (f"/events/{planned['event']}/outcome", {"status": "held", "emoticon": "1"}),
        (f"/tasks/{planned['task']}/done", {}),
    ]
    return posts


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_outsider_gets_404_on_every_post_action_and_changes_nothing(as_charlie, charlie, records, world, alices_planned, htmx):
    touchpoints_before = Touchpoint.objects.count()
    for path, data in _outsider_posts(records, world, alices_planned):
        response = as_charlie.post(path, data, **(HTMX if htmx else {}))
        assert response.status_code == 404, path
    assert Touchpoint.objects.count() == touchpoints_before
    assert Organization.objects.get(id=world["org"]).name == "Grasspods"
    assert Contact.objects.get(id=world["carol"]).last_name == "Ng"
    deal = Deal.objects.get(id=world["deal"])
    assert (deal.name, deal.stage) == ("Grasspods renewal", "prospecting")
    assert sorted(deal.deal_contacts.values_list("contact_id", flat=True)) == [world["carol"]]
    assert Event.objects.get(id=alices_planned["event"]).status == EventStatus.PLANNED
    assert Task.objects.get(id=alices_planned["task"]).status != TaskStatus.COMPLETED
    assert not Event.objects.filter(owner=charlie.user).exists() and not Task.objects.filter(owner=charlie.user).exists()
    assert not Preference.objects.filter(user=charlie.user).exists()  # the kind filter post saved nothing


def test_outsider_lists_and_search_never_show_alices_records(as_charlie, charlie, world):
    charlie.post("organizations", {"name": "Westside Grass"})
    for record_type in RECORD_TYPES:
        page = text(as_charlie.get(f"/{PLURAL[record_type]}/"))
        assert "Grasspods" not in page and "Carol" not in page and "Dave" not in page
    assert table_links(text(as_charlie.get("/organizations/")), "organization") == ["Westside Grass"]
    for q in ("grass", "carol", "carol@grasspods.example", "renewal"):
        for extra in (HTMX, {}):
            page = text(as_charlie.get("/search", {"q": q}, **extra))
            assert "Grasspods" not in page and "Carol Ng" not in page and f"/organizations/{world['org']}/" not in page
    assert "Westside Grass</a>" in text(as_charlie.get("/search", {"q": "grass"}, **HTMX))


def test_outsider_contact_options_never_offer_alices_contacts(as_charlie, world):
    for params in ({"organization": world["org"]}, {"q": "carol"}):
        page = text(as_charlie.get("/contacts/options", params))
        assert "Carol" not in page and "No match" in page


def test_outsider_dashboard_does_not_list_alices_work(as_charlie, alices_planned):
    page = text(as_charlie.get("/"))
    assert "Demo" not in page and "Send quote" not in page and "Grasspods" not in page


def test_outsider_cannot_pick_alices_organization_in_a_form(as_charlie, world):
    response = as_charlie.post("/contacts/new", {"last_name": "Spy", "organization": world["org"]})
    assert response.status_code == 422
    assert not Contact.objects.filter(last_name="Spy").exists()


@pytest.fixture
def shared_with_charlie(alice, charlie, world):
    """Alice shares her organization (only) with Charlie; Carol and the deal stay hers."""
    Share.objects.create(record_type="organization", record_id=world["org"], user=charlie.user)
    log(alice, "email", "2024-03-01 10:00", "Quote attached", "sent", contact_ids=[world["carol"]])
    log(alice, "phone_call", "2024-03-02 10:00", "Pricing call", "completed", deal_ids=[world["deal"]])
    return world


def test_shared_organization_page_does_not_list_its_hidden_contacts_and_deals(as_charlie, shared_with_charlie):
    world = shared_with_charlie
    page = text(as_charlie.get(record_path("organization", world["org"])))
    assert "<h1>Grasspods</h1>" in page
    assert f'href="/contacts/{world["carol"]}/"' not in page and f'href="/deals/{world["deal"]}/"' not in page
    assert "No contacts." in page and "No deals." in page
    assert as_charlie.get(record_path("contact", world["carol"])).status_code == 404


def test_shared_organization_activity_does_not_name_hidden_contacts_or_deals(as_charlie, shared_with_charlie):
    page = text(as_charlie.get(record_path("organization", shared_with_charlie["org"], "activity")))
    assert timeline_titles(page) == ["Pricing call", "Quote attached"]
    assert "Carol" not in page and "Grasspods renewal" not in page


def test_contact_page_hides_an_organization_the_viewer_cannot_see(as_charlie, admin, charlie, world):
    # An admin files Charlie's contact under Alice's organization.
    west = admin.post("contacts", {"last_name": "West", "organization_id": world["org"], "owner_id": charlie.user.id}).json()["id"]
    page = text(as_charlie.get(record_path("contact", west)))
    assert "<h1>West</h1>" in page
    assert "Grasspods" not in page and "<dt>Organization</dt><dd>—</dd>" in page


def test_adding_a_contact_the_user_cannot_see_to_a_deal_is_rejected(as_alice, charlie, world):
    west = charlie.post("contacts", {"last_name": "West"}).json()["id"]
    response = as_alice.post(record_path("deal", world["deal"], "contacts"), {"contact": west, "role": "influencer"}, **HTMX)
    assert response.status_code == 422
    assert f"contact {west} not found" in text(response)
    assert list(Deal.objects.get(id=world["deal"]).deal_contacts.values_list("contact_id", flat=True)) == [world["carol"]]


ANONYMOUS_GETS = [
    "/", "/organizations/", "/contacts/", "/deals/", "/search?q=grass", "/contacts/options", "/organizations/new",
    "/deals/{deal}/", "/contacts/{carol}/", "/organizations/{org}/", "/deals/{deal}/activity", "/deals/{deal}/journey",
    "/deals/{deal}/up-next", "/deals/{deal}/last-contacted", "/deals/{deal}/edit",
]  # fmt: skip
ANONYMOUS_POSTS = [
    "/me/idle-days", "/deals/{deal}/activity/filter", "/deals/{deal}/calls", "/deals/{deal}/notes", "/deals/{deal}/events",
    "/deals/{deal}/tasks", "/deals/{deal}/contacts", "/deals/new", "/events/1/outcome", "/tasks/1/done",
]  # fmt: skip


@pytest.mark.parametrize("path", ANONYMOUS_GETS)
def test_anonymous_get_is_redirected_to_login(client, world, path):
    url = path.format(**world)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/")


@pytest.mark.parametrize("path", ANONYMOUS_POSTS)
def test_anonymous_post_is_redirected_to_login_and_changes_nothing(client, world, path):
    before = (Touchpoint.objects.count(), Event.objects.count(), Task.objects.count(), Deal.objects.count())
    response = client.post(path.format(**world), {"summary": "x", "title": "x", "name": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert (Touchpoint.objects.count(), Event.objects.count(), Task.objects.count(), Deal.objects.count()) == before


def test_login_page_renders_for_anonymous(client, db):
    response = client.get("/login/")
    assert response.status_code == 200 and 'name="password"' in text(response)


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
    and few with full (at most one count per list more)."""
    _fill_dashboard(alice, world, 2)
    as_alice.get("/")
    few = count_queries(as_alice, "/")
    _fill_dashboard(alice, world, 21)
    full = count_queries(as_alice, "/")
    _fill_dashboard(alice, world, 25)
    page = text(as_alice.get("/"))
    assert '<h2 id="overdue-h">Overdue <span class="count">96</span>' in page  # 48 events + 48 tasks
    assert count_queries(as_alice, "/") == full
    assert few <= full <= few + 7  # 6 activity lists + idle deals


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


# --- 5. quick actions -----------------------------------------------------------------------


def test_logging_a_completed_call_on_a_contact_moves_last_contacted(as_alice, world):
    data = {"subject": "Intro call", "status": "completed", "direction": "outbound", "occurred_at": "2024-05-01T10:00", "duration_minutes": "12"}
    response = as_alice.post(record_path("contact", world["dave"], "calls"), data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "touchpoints-changed"
    assert "Call logged." in text(response)
    dave = Contact.objects.get(id=world["dave"])
    assert dave.last_contacted_via == "Phone Call"
    assert dave.last_contacted_on == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert '<dd data-testid="last-contacted-via">Phone Call</dd>' in text(as_alice.get(record_path("contact", world["dave"], "last-contacted")))
    page = text(as_alice.get(record_path("contact", world["dave"], "activity")))
    assert timeline_titles(page) == ["Intro call"] and "12 min" in page


def test_call_time_is_read_in_the_users_time_zone(as_alice, alice, world):
    User.objects.filter(id=alice.user.id).update(time_zone="America/Los_Angeles")
    data = {"status": "completed", "direction": "inbound", "occurred_at": "2024-05-01T10:00"}
    assert as_alice.post(record_path("contact", world["dave"], "calls"), data, **HTMX).status_code == 200
    assert Contact.objects.get(id=world["dave"]).last_contacted_on == datetime(2024, 5, 1, 17, tzinfo=UTC)  # PDT is UTC-7


def test_a_busy_call_is_stored_but_does_not_move_last_contacted(as_alice, world):
    data = {"status": "busy", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}
    response = as_alice.post(record_path("contact", world["dave"], "calls"), data, **HTMX)
    assert response.status_code == 200
    assert Touchpoint.objects.filter(kind="phone_call", status="busy").count() == 1
    assert Contact.objects.get(id=world["dave"]).last_contacted_on is None


def test_call_without_a_time_is_rejected_with_a_message_and_stores_nothing(as_alice, world):
    before = Touchpoint.objects.count()
    response = as_alice.post(record_path("contact", world["dave"], "calls"), {"status": "completed", "direction": "outbound", "subject": "Oops"}, **HTMX)
    assert response.status_code == 422
    assert not response.has_header("HX-Trigger")
    page = text(response)
    assert page.startswith('<form class="stack" id="call-form"')
    assert re.search(r'id="call_occurred_at_error"[^>]*><li>This field is required.</li>', page)
    assert 'value="Oops"' in page  # the user's input is kept
    assert Touchpoint.objects.count() == before
    assert Contact.objects.get(id=world["dave"]).last_contacted_on is None


def test_call_with_a_bad_status_is_rejected(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "calls"), {"status": "ringing", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}, **HTMX)
    assert response.status_code == 422 and "Select a valid choice" in text(response)
    assert not Touchpoint.objects.exists()


def test_quick_action_without_htmx_redirects_to_the_record(as_alice, world):
    response = as_alice.post(record_path("contact", world["dave"], "notes"), {"summary": "Plain form post"})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{world['dave']}/"
    assert Touchpoint.objects.get().summary == "Plain form post"


def test_adding_a_note_shows_in_the_timeline_but_is_not_contact(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": "Budget approved\nper CFO"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Note added." in text(response)
    page = text(as_alice.get(record_path("deal", world["deal"])))
    assert timeline_titles(page) == ["Budget approved"]
    assert '<dd data-testid="last-contacted-via">—</dd>' in page
    assert Deal.objects.get(id=world["deal"]).last_contacted_on is None


def test_empty_note_is_rejected(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": ""}, **HTMX)
    assert response.status_code == 422 and "This field is required." in text(response)
    assert not Touchpoint.objects.exists()


def test_created_event_and_task_appear_in_up_next(as_alice, world):
    deal_path = record_path("deal", world["deal"])
    start = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    response = as_alice.post(f"{deal_path}events", {"subject": "On-site demo", "event_type": "onsite_meeting", "start_at": start, "duration_minutes": "90"}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Event created." in text(response)
    due = (timezone.now().date() + timedelta(days=3)).isoformat()
    response = as_alice.post(f"{deal_path}tasks", {"title": "Send contract", "due_date": due}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert "Task created." in text(response)

    event = Event.objects.get(subject="On-site demo")
    assert (event.end_at - event.start_at) == timedelta(minutes=90) and event.deal_id == world["deal"]
    task = Task.objects.get(title="Send contract")
    up_next = text(as_alice.get(f"{deal_path}up-next", **HTMX))
    assert up_next_item(up_next, "event", event.id) == "event"
    assert up_next_item(up_next, "task", task.id) == "task"
    assert "<strong>On-site demo</strong>" in up_next and "Onsite meeting" in up_next
    assert "0 overdue · 2 upcoming" in up_next
    # Planned work is not activity yet.
    assert timeline_rows(text(as_alice.get(f"{deal_path}activity"))) == []


def test_event_created_on_a_contact_shows_in_its_up_next(as_alice, world):
    start = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    as_alice.post(record_path("contact", world["dave"], "events"), {"subject": "Coffee", "event_type": "meeting", "start_at": start, "duration_minutes": "30"}, **HTMX)
    assert "<strong>Coffee</strong>" in text(as_alice.get(record_path("contact", world["dave"], "up-next")))


def test_event_without_a_subject_is_rejected(as_alice, world):
    response = as_alice.post(record_path("deal", world["deal"], "events"), {"event_type": "meeting", "start_at": "2030-01-01T10:00", "duration_minutes": "30"}, **HTMX)
    assert response.status_code == 422 and re.search(r'id="event_subject_error"[^>]*><li>This field is required.</li>', text(response))
    assert not Event.objects.exists()


def test_marking_an_event_held_with_an_emoticon_moves_last_contacted_and_shows_it(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "held", "emoticon": "5"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "touchpoints-changed" and "Saved." in text(response)
    deal = Deal.objects.get(id=world["deal"])
    assert deal.last_contacted_on == datetime(2024, 6, 3, 15, 0, tzinfo=UTC)
    assert deal.last_contacted_via == "Meeting"
    page = text(as_alice.get(record_path("deal", world["deal"])))
    assert '<time datetime="2024-06-03T15:00:00+00:00">2024-06-03 15:00</time>' in page.split('id="last-contacted"')[1]
    assert timeline_titles(page) == ["Pricing review"]
    row = page.split('<li class="tp" ')[1]
    assert 'aria-label="Very happy"' in row and '<span class="badge badge-good">Held</span>' in row
    assert "1 emoticons" in text(as_alice.get(record_path("deal", world["deal"], "journey")))
    assert up_next_item(text(as_alice.get(record_path("deal", world["deal"], "up-next"))), "event", event) is None


def test_marking_an_event_not_held_with_an_emoticon_is_rejected_with_the_services_message(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "not_held", "emoticon": "2"}, **HTMX)
    assert response.status_code == 422
    assert "only a held event carries an emoticon" in text(response)
    assert Event.objects.get(id=event).status == EventStatus.PLANNED
    assert not Touchpoint.objects.exists()


def test_marking_an_event_not_held_logs_it_without_contact(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "not_held"}, **HTMX)
    assert response.status_code == 200
    assert Deal.objects.get(id=world["deal"]).last_contacted_on is None
    assert '<span class="badge badge-bad">Not Held</span>' in text(as_alice.get(record_path("deal", world["deal"], "activity")))


def test_event_outcome_without_a_status_is_rejected(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"emoticon": "3"}, **HTMX)
    assert response.status_code == 422 and "This field is required." in text(response)


def test_event_outcome_without_htmx_returns_to_the_page_it_came_from(as_alice, alice, world):
    event = make_event(alice, "Pricing review", datetime(2024, 6, 3, 15, 0, tzinfo=UTC), deal_id=world["deal"])
    response = as_alice.post(f"/events/{event}/outcome", {"status": "held", "next": f"/deals/{world['deal']}/"})
    assert response.status_code == 302 and response["Location"] == f"/deals/{world['deal']}/"
    response = as_alice.post(f"/events/{event}/outcome", {"status": "held", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_marking_a_task_done_removes_it_from_up_next(as_alice, alice, world):
    task = make_task(alice, "Send contract", timezone.now().date() + timedelta(days=1), deal_id=world["deal"])
    up_next_url = record_path("deal", world["deal"], "up-next")
    assert up_next_item(text(as_alice.get(up_next_url)), "task", task) == "task"
    response = as_alice.post(f"/tasks/{task}/done", **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "touchpoints-changed"
    assert up_next_item(text(as_alice.get(up_next_url)), "task", task) is None
    assert Task.objects.get(id=task).status == TaskStatus.COMPLETED


def test_teammate_can_log_a_call_on_alices_contact(as_bob, world):
    data = {"status": "completed", "direction": "outbound", "occurred_at": "2024-05-01T10:00"}
    assert as_bob.post(record_path("contact", world["carol"], "calls"), data, **HTMX).status_code == 200
    assert Contact.objects.get(id=world["carol"]).last_contacted_via == "Phone Call"


# --- 6. Up Next's "overdue" in the user's time zone ------------------------------------


@pytest.fixture
def in_los_angeles(alice):
    User.objects.filter(id=alice.user.id).update(time_zone="America/Los_Angeles")
    alice.user = reload(alice.user)
    return alice


def test_task_due_today_in_los_angeles_is_not_overdue_though_utc_is_a_day_ahead(in_los_angeles, bob, world, monkeypatch):
    # 03:00 UTC on the 26th is 19:00 on the 25th in Los Angeles.
    fixed = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    monkeypatch.setattr(activities.queries, "timezone", SimpleNamespace(now=lambda: fixed))
    task = make_task(in_los_angeles, "Send quote", date(2026, 11, 25), deal_id=world["deal"])
    url = record_path("deal", world["deal"], "up-next")

    la_page = text(browser(in_los_angeles).get(url))
    assert "(America/Los_Angeles)" in la_page
    assert up_next_item(la_page, "task", task) == "task"
    assert "0 overdue · 1 upcoming" in la_page

    utc_page = text(browser(bob).get(url))  # Bob is in UTC, where it is the 26th
    assert up_next_item(utc_page, "task", task) == "task overdue"
    assert "1 overdue · 0 upcoming" in utc_page

    dashboard = text(browser(in_los_angeles).get("/"))
    assert "Today is Wednesday, 2026-11-25 in America/Los_Angeles." in dashboard
    assert f'data-testid="dash-task-{task}"' in section(dashboard, "upcoming-h")
    assert f'data-testid="dash-task-{task}"' not in section(dashboard, "overdue-h")


def test_task_due_today_in_the_users_zone_is_never_overdue(in_los_angeles, world):
    today_in_la = timezone.now().astimezone(ZoneInfo("America/Los_Angeles")).date()
    task = make_task(in_los_angeles, "Today's task", today_in_la, deal_id=world["deal"])
    late = make_task(in_los_angeles, "Yesterday's task", today_in_la - timedelta(days=1), deal_id=world["deal"])
    page = text(browser(in_los_angeles).get(record_path("deal", world["deal"], "up-next")))
    assert up_next_item(page, "task", task) == "task"
    assert up_next_item(page, "task", late) == "task overdue"
    assert page.index(f"up-next-task-{late}") < page.index(f"up-next-task-{task}")  # overdue first


def test_planned_event_that_has_ended_is_overdue(as_alice, alice, world):
    event = make_event(alice, "Missed call", timezone.now() - timedelta(hours=3), event_type="call", deal_id=world["deal"])
    page = text(as_alice.get(record_path("deal", world["deal"], "up-next")))
    assert up_next_item(page, "event", event) == "event overdue"
    assert '<span class="overdue-flag">Overdue</span>' in page


# --- 7. the dashboard -------------------------------------------------------------------


@pytest.fixture
def my_work(alice, world) -> dict[str, int]:
    now = timezone.now()
    today = now.date()
    org, deal, dave = world["org"], world["deal"], world["dave"]
    return {
        "overdue_event": make_event(alice, "Missed demo", now - timedelta(days=2), deal_id=deal),
        "overdue_task": make_task(alice, "Late quote", today - timedelta(days=2), organization_id=org),
        "upcoming_event": make_event(alice, "Next demo", now + timedelta(days=2), contact_ids=[dave]),
        "upcoming_task": make_task(alice, "Call Dave", today + timedelta(days=2), contact_id=dave),
        "completed_event": make_event(alice, "Great meeting", now - timedelta(days=1), status="held", emoticon=5, organization_id=org),
        "completed_task": make_task(alice, "Sent NDA", today, status="completed", deal_id=deal),
    }


def test_dashboard_lists_my_overdue_upcoming_and_completed_work_with_links(as_alice, world, my_work):
    page = text(as_alice.get("/"))
    overdue, upcoming, completed = section(page, "overdue-h"), section(page, "upcoming-h"), section(page, "completed-h")
    assert '<span class="count">2</span>' in overdue and '<span class="count">2</span>' in upcoming and '<span class="count">2</span>' in completed

    assert f'data-testid="dash-event-{my_work["overdue_event"]}"' in overdue
    assert f'<a href="/deals/{world["deal"]}/"><strong>Missed demo</strong></a>' in overdue
    assert f'<a href="/organizations/{world["org"]}/"><strong>Late quote</strong></a>' in overdue

    assert f'<a href="/contacts/{world["dave"]}/"><strong>Next demo</strong></a>' in upcoming
    assert f'<a href="/contacts/{world["dave"]}/"><strong>Call Dave</strong></a>' in upcoming
    assert "Missed demo" not in upcoming and "Overdue" not in upcoming

    assert f'<a href="/organizations/{world["org"]}/"><strong>Great meeting</strong></a>' in completed
    assert 'aria-label="Very happy"' in completed
    assert f'<a href="/deals/{world["deal"]}/"><strong>Sent NDA</strong></a>' in completed


def test_dashboard_does_not_list_a_teammates_work(as_bob, my_work):
    page = text(as_bob.get("/"))
    for title in ("Missed demo", "Late quote", "Next demo", "Call Dave", "Great meeting", "Sent NDA"):
        assert title not in page


def test_marking_a_dashboard_task_done_moves_it_to_completed(as_alice, my_work):
    as_alice.post(f"/tasks/{my_work['overdue_task']}/done", **HTMX)
    page = text(as_alice.get("/"))
    assert "Late quote" not in section(page, "overdue-h") and "Late quote" in section(page, "completed-h")


def test_dashboard_lists_an_old_never_contacted_open_deal_as_idle(as_alice, world):
    idle = section(text(as_alice.get("/")), "idle-h")
    assert '<span class="count">1</span>' in idle
    assert f'<a href="/deals/{world["deal"]}/">Grasspods renewal</a> <small class="muted">Grasspods · never contacted</small>' in idle


def test_recently_contacted_deal_is_not_idle(as_alice, alice, world):
    log(alice, "phone_call", (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), "Check-in", "completed", deal_ids=[world["deal"]])
    idle = section(text(as_alice.get("/")), "idle-h")
    assert "Grasspods renewal" not in idle and "No idle deals." in idle


def test_deal_contacted_long_ago_is_idle(as_alice, alice, world):
    log(alice, "phone_call", "2024-02-01 10:00", "Check-in", "completed", deal_ids=[world["deal"]])
    idle = section(text(as_alice.get("/")), "idle-h")
    assert "Grasspods renewal</a>" in idle and "last contacted 2024-02-01" in idle


def test_a_note_does_not_keep_a_deal_from_being_idle(as_alice, world):
    as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": "Internal thoughts"}, **HTMX)
    assert "Grasspods renewal</a>" in section(text(as_alice.get("/")), "idle-h")


@pytest.mark.parametrize("stage", ["closed_won", "closed_lost"])
def test_closed_deals_are_not_idle(as_alice, alice, world, stage):
    assert alice.patch(f"deals/{world['deal']}", {"stage": stage}).status_code == 200
    idle = section(text(as_alice.get("/")), "idle-h")
    assert "Grasspods renewal" not in idle and "No idle deals." in idle


def test_idle_days_setting_changes_the_threshold(as_alice, alice):
    created = (timezone.now() - timedelta(days=10)).isoformat()
    alice.post("deals", {"name": "Ten days quiet", "created_at": created})
    page = text(as_alice.get("/"))
    assert "Ten days quiet" not in section(page, "idle-h")  # default: 14 days
    assert 'name="idle_deal_days" min="1" max="365" value="14"' in page

    response = as_alice.post("/me/idle-days", {"idle_deal_days": "7"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = text(as_alice.get("/"))
    assert "Ten days quiet</a>" in section(page, "idle-h")
    assert 'value="7"' in section(page, "idle-h")


@pytest.mark.parametrize("value", ["0", "366", "soon", ""])
def test_idle_days_rejects_a_bad_value_with_a_message(as_alice, value):
    response = as_alice.post("/me/idle-days", {"idle_deal_days": value}, follow=True)
    page = text(response)
    assert "Idle after: enter a number of days between 1 and 365." in page
    assert 'name="idle_deal_days" min="1" max="365" value="14"' in page


def test_deal_not_idle_for_a_user_who_does_not_own_it(as_bob, world):
    assert "Grasspods renewal" not in section(text(as_bob.get("/")), "idle-h")


# --- 8. lists: sorting and paging ---------------------------------------------------------


@pytest.fixture
def three_orgs(alice) -> None:
    early, late, _never = (alice.post("organizations", {"name": n}).json()["id"] for n in ("Early", "Late", "Never"))
    log(alice, "email", "2024-02-01 09:00", "hi", "sent", organization_ids=[early])
    log(alice, "email", "2024-03-01 09:00", "hi", "sent", organization_ids=[late])


def test_sorting_by_last_contacted_descending_puts_never_contacted_last(as_alice, three_orgs):
    page = text(as_alice.get("/organizations/", {"sort": "-last_contacted_on"}))
    assert table_links(page, "organization") == ["Late", "Early", "Never"]


def test_sorting_by_last_contacted_ascending_also_puts_never_contacted_last(as_alice, three_orgs):
    page = text(as_alice.get("/organizations/", {"sort": "last_contacted_on"}))
    assert table_links(page, "organization") == ["Early", "Late", "Never"]


def test_deal_list_defaults_to_most_recently_contacted_first(as_alice, alice, world):
    recent = alice.post("deals", {"name": "Recent"}).json()["id"]
    log(alice, "email", "2024-03-01 09:00", "hi", "sent", deal_ids=[recent])
    page = text(as_alice.get("/deals/"))
    assert table_links(page, "deal") == ["Recent", "Grasspods renewal"]
    assert '<td>Email</td>\n  <td>2024-03-01 09:00</td>' in page


def walk(client: Client, url: str, record_type: str) -> list[str]:
    names, pages = [], 0
    while url:
        page = text(client.get(url))
        names += table_links(page, record_type)
        url = next_page_url(page)
        if url and not url.startswith("/"):
            url = f"/{PLURAL[record_type]}/{url}"
        pages += 1
        assert pages < 10
    return names


@pytest.mark.parametrize("sort", ["-last_contacted_on", "last_contacted_on", "name", "-name", "last_contacted_via", ""])
def test_next_page_links_walk_every_row_exactly_once(as_alice, alice, sort):
    orgs = [alice.post("organizations", {"name": f"Org {i:02d}"}).json()["id"] for i in range(30)]
    base = datetime(2024, 2, 1, tzinfo=UTC)
    items = [
        {"kind": "email", "status": "sent", "occurred_at": (base + timedelta(days=i % 4)).isoformat(), "subject": "hi", "organization_ids": [org]}
        for i, org in enumerate(orgs)
        if i % 2 == 0
    ]  # 15 contacted, several on the same day: ties broken by id
    assert alice.post("touchpoints/batch", {"items": items}).json()["created"] == 15
    first_url = "/organizations/" + (f"?sort={sort}" if sort else "")
    first = text(as_alice.get(first_url))
    assert len(table_links(first, "organization")) == PAGE_SIZE and next_page_url(first)
    names = walk(as_alice, first_url, "organization")
    assert sorted(names) == [f"Org {i:02d}" for i in range(30)]
    if sort.endswith("last_contacted_on"):
        contacted = {f"Org {i:02d}" for i in range(0, 30, 2)}
        assert set(names[:15]) == contacted  # never contacted last, on both databases
        assert [n in contacted for n in names] == [True] * 15 + [False] * 15


@pytest.mark.parametrize("sort", ["amount", "-amount", "stage", "-stage"])
def test_deal_pages_walk_every_row_once_with_empty_amounts_last(as_alice, alice, sort):
    for i in range(30):
        alice.post("deals", {"name": f"Deal {i:02d}", "amount": str(i % 4 * 10) if i % 3 else None, "stage": ("prospecting", "proposal")[i % 2]})
    names = walk(as_alice, f"/deals/?sort={sort}", "deal")
    assert sorted(names) == [f"Deal {i:02d}" for i in range(30)]
    if "amount" in sort:
        assert set(names[-10:]) == {f"Deal {i:02d}" for i in range(0, 30, 3)}  # no amount: last either way


def test_second_page_offers_a_link_back_to_the_first(as_alice, alice):
    for i in range(PAGE_SIZE + 1):
        alice.post("organizations", {"name": f"Org {i:02d}"})
    second = text(as_alice.get("/organizations/" + next_page_url(text(as_alice.get("/organizations/?q=org")))))
    assert table_links(second, "organization") == [f"Org {PAGE_SIZE:02d}"]
    assert '<a class="button" href="?q=org&amp;sort=name">First page</a>' in second


def test_forged_list_cursor_starts_over(as_alice, three_orgs):
    page = text(as_alice.get("/organizations/", {"sort": "name", "cursor": "garbage"}))
    assert table_links(page, "organization") == ["Early", "Late", "Never"]


# --- 9. create and edit forms ------------------------------------------------------------


def test_creating_a_contact_with_an_invalid_email_shows_the_message_and_creates_nothing(as_alice, world):
    before = Contact.objects.count()
    response = as_alice.post("/contacts/new", {"first_name": "Erin", "last_name": "Moss", "emails": "erin@ok.example, not-an-email"})
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'<ul class="errorlist" id="id_emails_error"><li>&#x27;not-an-email&#x27; is not an email address</li></ul>', page)
    assert page.index('id="id_emails_error"') < page.index('name="emails"')  # under the label, before the input
    assert 'value="Erin"' in page  # what was typed is kept
    assert Contact.objects.count() == before


def test_creating_a_contact_with_an_invalid_phone_shows_the_message_and_creates_nothing(as_alice, world):
    before = Contact.objects.count()
    response = as_alice.post("/contacts/new", {"last_name": "Moss", "phones": "12"})
    assert response.status_code == 422
    assert re.search(r'<ul class="errorlist" id="id_phones_error"><li>&#x27;12&#x27; is not a', text(response))
    assert Contact.objects.count() == before


def test_creating_a_contact_without_a_last_name_is_rejected(as_alice, world):
    response = as_alice.post("/contacts/new", {"first_name": "Erin"})
    assert response.status_code == 422
    assert re.search(r'id="id_last_name_error"><li>This field is required.</li>', text(response))


def test_creating_a_valid_contact_redirects_to_its_page(as_alice, alice, world):
    data = {"first_name": "Erin", "last_name": "Moss", "title": "CTO", "organization": world["org"], "emails": "Erin@Moss.example", "phones": "(202) 555-0199"}
    response = as_alice.post("/contacts/new", data)
    erin = Contact.objects.get(last_name="Moss")
    assert response.status_code == 302 and response["Location"] == f"/contacts/{erin.id}/"
    assert (erin.owner_id, erin.organization_id, erin.title) == (alice.user.id, world["org"], "CTO")
    assert [e.email for e in erin.emails.all()] == ["erin@moss.example"]
    assert [p.number for p in erin.phones.all()] == ["+12025550199"]
    page = text(as_alice.get(response["Location"]))
    assert "<h1>Erin Moss</h1>" in page and 'href="tel:+12025550199"' in page


def test_creating_an_organization_and_a_deal_redirects_to_their_pages(as_alice):
    response = as_alice.post("/organizations/new", {"name": "Teapot Ltd", "industry": "Tea"})
    org = Organization.objects.get(name="Teapot Ltd")
    assert response["Location"] == f"/organizations/{org.id}/"
    response = as_alice.post("/deals/new", {"name": "Teapot pilot", "organization": org.id, "stage": "proposal", "amount": "1500.50"})
    deal = Deal.objects.get(name="Teapot pilot")
    assert response["Location"] == f"/deals/{deal.id}/"
    assert (deal.organization_id, deal.stage, str(deal.amount)) == (org.id, "proposal", "1500.50")
    assert "<dt>Amount</dt><dd>1,500.50</dd>" in text(as_alice.get(response["Location"]))


def test_creating_a_deal_with_a_negative_amount_is_rejected(as_alice):
    response = as_alice.post("/deals/new", {"name": "Bad", "stage": "proposal", "amount": "-1"})
    assert response.status_code == 422 and "greater than or equal to 0" in text(response)
    assert not Deal.objects.filter(name="Bad").exists()


def test_editing_a_deals_stage(as_alice, world):
    data = {"name": "Grasspods renewal", "organization": world["org"], "stage": "negotiation", "amount": "", "expected_close_date": "2026-12-31"}
    response = as_alice.post(record_path("deal", world["deal"], "edit"), data)
    assert response.status_code == 302 and response["Location"] == f"/deals/{world['deal']}/"
    deal = Deal.objects.get(id=world["deal"])
    assert (deal.stage, deal.expected_close_date) == ("negotiation", date(2026, 12, 31))
    page = text(as_alice.get(response["Location"]))
    assert "<dt>Stage</dt><dd>Negotiation</dd>" in page and "<dt>Expected close</dt><dd>2026-12-31</dd>" in page
    # Carol is still on the deal: editing the form does not touch its contacts.
    assert f'<a href="/contacts/{world["carol"]}/">Carol Ng</a>' in page


def test_editing_a_contact_keeps_and_replaces_emails(as_alice, world):
    data = {"first_name": "Carol", "last_name": "Ng-Park", "organization": world["org"], "emails": "carol@grasspods.example, c@park.example", "phones": ""}
    response = as_alice.post(record_path("contact", world["carol"], "edit"), data)
    assert response.status_code == 302
    carol = Contact.objects.get(id=world["carol"])
    assert carol.last_name == "Ng-Park"
    assert [e.email for e in carol.emails.order_by("position")] == ["carol@grasspods.example", "c@park.example"]


def test_editing_with_an_invalid_email_keeps_the_old_one(as_alice, world):
    data = {"last_name": "Ng", "organization": world["org"], "emails": "broken@", "phones": ""}
    response = as_alice.post(record_path("contact", world["carol"], "edit"), data)
    assert response.status_code == 422 and "is not an email address" in text(response)
    assert [e.email for e in Contact.objects.get(id=world["carol"]).emails.all()] == ["carol@grasspods.example"]


def test_teammate_can_edit_alices_deal(as_bob, world):
    response = as_bob.post(record_path("deal", world["deal"], "edit"), {"name": "Renamed", "organization": world["org"], "stage": "proposal"})
    assert response.status_code == 302
    assert Deal.objects.get(id=world["deal"]).name == "Renamed"


# --- 10. global search ---------------------------------------------------------------------


@pytest.fixture
def phoned(alice, world) -> int:
    response = alice.post("contacts", {"first_name": "Pat", "last_name": "Phone", "phones": ["+12025550143"], "emails": ["pat@calls.example"]})
    assert response.json()["phones"] == ["+12025550143"]
    return response.json()["id"]


def search_links(client: Client, q: str, record_type: str, htmx: bool = True) -> list[int]:
    page = text(client.get("/search", {"q": q}, **(HTMX if htmx else {})))
    # The full page also has the top bar; only count the results card.
    if not htmx:
        page = page.split('class="card search-page"')[1]
    return [int(i) for i in re.findall(rf'<a href="/{PLURAL[record_type]}/(\d+)/">', page)]


@pytest.mark.parametrize("q", ["(202) 555-0143", "202-555-0143", "+1 202 555 0143", "555-0143", "2025550143"])
def test_search_finds_a_contact_by_phone_in_national_format(as_alice, phoned, q):
    assert search_links(as_alice, q, "contact") == [phoned]


def test_search_by_phone_does_not_match_other_numbers(as_alice, phoned):
    assert search_links(as_alice, "(202) 555-0144", "contact") == []


@pytest.mark.parametrize("q", ["pat@calls.example", "PAT@CALLS", "calls.example"])
def test_search_finds_a_contact_by_email(as_alice, phoned, q):
    assert search_links(as_alice, q, "contact") == [phoned]


@pytest.mark.parametrize("q", ["Carol Ng", "carol ng", "ng carol", "Carol"])
def test_search_finds_a_contact_by_first_and_last_name(as_alice, world, q):
    assert search_links(as_alice, q, "contact") == [world["carol"]]


def test_search_by_first_and_last_name_needs_both_to_match(as_alice, world):
    assert search_links(as_alice, "carol ito", "contact") == []


def test_search_finds_organizations_and_deals_by_name(as_alice, world):
    assert search_links(as_alice, "grasspods", "organization") == [world["org"]]
    assert search_links(as_alice, "renewal", "deal") == [world["deal"]]
    assert search_links(as_alice, "renewal", "organization") == []


def test_search_full_page_shows_more_than_the_dropdown(as_alice, alice):
    for i in range(7):
        alice.post("organizations", {"name": f"Acme {i}"})
    assert len(search_links(as_alice, "acme", "organization")) == 5
    assert len(search_links(as_alice, "acme", "organization", htmx=False)) == 7


def test_search_lists_the_most_recently_contacted_first(as_alice, alice):
    old, new, never = (alice.post("organizations", {"name": f"Acme {n}"}).json()["id"] for n in ("old", "new", "never"))
    log(alice, "email", "2024-02-01 09:00", "hi", "sent", organization_ids=[old])
    log(alice, "email", "2024-03-01 09:00", "hi", "sent", organization_ids=[new])
    assert search_links(as_alice, "acme", "organization") == [new, old, never]


def test_search_shows_a_contact_once_with_several_matching_emails(as_alice, alice):
    contact = alice.post("contacts", {"last_name": "Twice", "emails": ["a@twice.example", "b@twice.example"]}).json()["id"]
    assert search_links(as_alice, "twice.example", "contact") == [contact]


def test_teammate_search_finds_alices_records(as_bob, world):
    assert search_links(as_bob, "carol ng", "contact") == [world["carol"]]
