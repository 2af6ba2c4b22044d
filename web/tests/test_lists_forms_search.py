"""Lists (sorting, paging), create/edit forms and global search."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from crm.models import Contact, Deal, Organization


from web.tests.pages import *  # noqa: F403  (helpers and constants)


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


def test_a_record_list_page_exports_the_whole_type_in_the_browser(as_alice, three_orgs):
    page = text(as_alice.get("/organizations/"))
    csv_url = re.search(r'href="([^"]+)"[^>]*data-testid="export-csv"', page).group(1)
    xlsx_url = re.search(r'href="([^"]+)"[^>]*data-testid="export-xlsx"', page).group(1)
    assert (csv_url, xlsx_url) == ("/api/v1/exports/organizations.csv", "/api/v1/exports/organizations.xlsx")
    # The signed-in browser's session is enough (no token).
    download = as_alice.get(csv_url)
    assert download.status_code == 200
    names = [line.split(",")[0] for line in b"".join(download.streaming_content).decode().splitlines()[1:]]
    assert sorted(names) == ["Early", "Late", "Never"]
    assert as_alice.get(xlsx_url).status_code == 200


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


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "1e999999"])
def test_a_forged_decimal_cursor_starts_the_list_over(as_alice, alice, world, value):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps([value, 5]).encode()).decode().rstrip("=")
    response = as_alice.get("/deals/", {"sort": "amount", "cursor": cursor})
    assert response.status_code == 200
    assert "Grasspods renewal" in text(response)


def test_a_rep_can_assign_a_new_deal_to_a_teammate_but_not_to_an_outsider(as_alice, alice, bob, charlie, world):
    form = text(as_alice.get("/deals/new"))
    assert f'<option value="{bob.user.id}">bob</option>' in form and f'value="{charlie.user.id}"' not in form
    assert f'<option value="{alice.user.id}" selected>alice</option>' in form  # the default: me
    response = as_alice.post("/deals/new", {"name": "For Bob", "stage": "prospecting", "owner": bob.user.id})
    assert response.status_code == 302
    assert Deal.objects.get(name="For Bob").owner_id == bob.user.id
    response = as_alice.post("/deals/new", {"name": "For Charlie", "stage": "prospecting", "owner": charlie.user.id})
    assert response.status_code == 422
    assert not Deal.objects.filter(name="For Charlie").exists()


def test_only_who_may_reassign_gets_the_owner_field_and_editing_keeps_the_owner(as_alice, as_bob, alice, bob, world):
    # Bob (teammate) may edit Alice's organization but not give it away (only owners, admins, managers may).
    page = text(as_bob.get(record_path("organization", world["org"], "edit")))
    assert 'name="owner"' not in page
    assert as_bob.post(record_path("organization", world["org"], "edit"), {"name": "Grasspods Ltd"}).status_code == 302
    org = Organization.objects.get(id=world["org"])
    assert (org.name, org.owner_id) == ("Grasspods Ltd", alice.user.id)
    # Alice may hand it to Bob.
    assert 'name="owner"' in text(as_alice.get(record_path("organization", world["org"], "edit")))
    as_alice.post(record_path("organization", world["org"], "edit"), {"name": "Grasspods Ltd", "owner": bob.user.id})
    assert Organization.objects.get(id=world["org"]).owner_id == bob.user.id
