"""Every page and partial renders for the owner, with its content."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from conftest import at


from web.tests.pages import *  # noqa: F403  (helpers and constants)


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
    assert response.status_code == 200  # htmx swaps only successes: the message replaces "Loading more"
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
