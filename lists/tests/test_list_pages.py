"""The custom list pages: creating a list through the condition builder's
form, its errors on the builder's rows, editing and sharing, the records
table with "Load more", the export link, and who may open what.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Team
from crm.models import Contact
from lists.models import SavedList


def browser(persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def form(**changes) -> dict:
    """What the new-list page posts for a contact list of the stale: one
    builder row (Last Contacted On more than 30 days ago)."""
    data = {
        "record_type": "contact",
        "name": "Stale contacts",
        "c-record_type": "contact",
        "c-all-0-field": "last_contacted_on",
        "c-all-0-operator": "more_than_days_ago",
        "c-all-0-value": "30",
        "columns": ["last_name", "organization_name", "last_contacted_on"],
        "sort_field": "last_contacted_on",
        "sort_direction": "asc",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_new_list_page_asks_for_the_record_type_first(alice):
    page = browser(alice).get("/lists/new").content.decode()

    assert 'name="record_type" value="deal"' in page
    form_page = browser(alice).get("/lists/new?record_type=deal").content.decode()
    assert 'id="c-builder"' in form_page and 'value="amount"' in form_page  # the deal columns and fields


def test_a_list_created_through_the_builder_shows_its_records(alice, world):
    Contact.objects.filter(id=world["carol"]).update(last_contacted_on=timezone.now() - timedelta(days=40))
    client = browser(alice)

    response = client.post("/lists/new", form(shared_with_everyone="on"))

    assert response.status_code == 302
    saved = SavedList.objects.get()
    assert response["Location"] == f"/lists/{saved.id}/"
    assert saved.conditions == {"all": [{"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30}]}
    assert (saved.columns, saved.sort, saved.shared_with_everyone, saved.owner_id) == (["last_name", "organization_name", "last_contacted_on"], "last_contacted_on", True, alice.user.id)
    page = client.get(response["Location"]).content.decode()
    assert f'data-testid="record-{world["carol"]}"' in page and f'href="/contacts/{world["carol"]}/"' in page
    assert f'data-testid="record-{world["dave"]}"' not in page
    assert "Last Contacted On is more than 30 days ago" in page and "Shared with everyone" in page
    assert f'href="/lists/{saved.id}/export.csv"' in page


def test_a_bad_builder_row_shows_its_error_on_the_row_and_saves_nothing(alice, world):
    response = browser(alice).post("/lists/new", form(**{"c-all-0-value": "soon"}))

    assert response.status_code == 422
    page = response.content.decode()
    row = page[page.index('data-row="c-all-0"') :]
    assert "value: must be a whole number of days" in row[: row.index("</div>")]
    assert SavedList.objects.count() == 0
    assert 'value="Stale contacts"' in page  # what was typed stays


def test_a_bad_name_and_no_columns_show_under_their_inputs(alice, world):
    response = browser(alice).post("/lists/new", form(name=" ", columns=None))

    assert response.status_code == 422
    page = response.content.decode()
    assert "This field is required." in page
    assert SavedList.objects.count() == 0


def test_editing_keeps_the_column_order_and_shares_with_a_team(alice, bob, world):
    saved = alice.post("lists", {"name": "Mine", "record_type": "contact", "columns": ["title", "last_name"]}).json()
    east = Team.objects.get(name="east")
    client = browser(alice)
    page = client.get(f"/lists/{saved['id']}/edit").content.decode()
    assert 'value="Mine"' in page

    response = client.post(
        f"/lists/{saved['id']}/edit",
        form(name="Renamed", columns=["last_name", "title", "email"], shared_teams=[str(east.id)], **{"c-all-0-field": None}),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    changed = alice.get(f"lists/{saved['id']}").json()
    assert (changed["name"], changed["columns"], changed["conditions"]) == ("Renamed", ["title", "last_name", "email"], {"all": []})
    assert changed["shared_team_ids"] == [east.id]
    assert browser(bob).get(f"/lists/{saved['id']}/").status_code == 200
    assert "Renamed" in browser(bob).get("/lists/").content.decode()


def test_who_may_open_and_change_a_list_on_the_pages(alice, bob, charlie, world):
    saved = alice.post("lists", {"name": "Team list", "record_type": "deal", "shared_user_ids": [bob.user.id]}).json()

    assert browser(charlie).get(f"/lists/{saved['id']}/").status_code == 404
    assert browser(charlie).get(f"/lists/{saved['id']}/export.csv").status_code == 404
    bobs = browser(bob)
    page = bobs.get(f"/lists/{saved['id']}/").content.decode()
    assert "Edit list" not in page
    assert bobs.get(f"/lists/{saved['id']}/edit").status_code == 403
    assert bobs.post(f"/lists/{saved['id']}/delete").status_code == 403
    response = browser(alice).post(f"/lists/{saved['id']}/delete")
    assert (response.status_code, response["Location"]) == (302, "/lists/")
    assert not SavedList.objects.exists()


def test_the_lists_page_shows_mine_and_those_shared_with_me(alice, bob, world):
    alice.post("lists", {"name": "Alice private", "record_type": "deal"})
    alice.post("lists", {"name": "Alice for all", "record_type": "deal", "shared_with_everyone": True})
    bob.post("lists", {"name": "Bob own", "record_type": "contact"})

    page = browser(bob).get("/lists/").content.decode()

    deals = page[page.index('data-testid="lists-deal"') :]
    assert "Alice for all" in deals and "Alice private" not in page
    contacts = page[page.index('data-testid="lists-contact"') : page.index('data-testid="lists-deal"')]
    assert "Bob own" in contacts


def test_load_more_appends_the_next_rows(alice, world, settings):
    settings.UI_PAGE_SIZE = 5
    Contact.objects.bulk_create([Contact(last_name=f"Row {i:02d}", owner=alice.user) for i in range(8)])
    saved = alice.post("lists", {"name": "A to Z", "record_type": "contact", "columns": ["last_name"], "sort": "last_name"}).json()
    client = browser(alice)

    page = client.get(f"/lists/{saved['id']}/").content.decode()
    assert page.count('data-testid="record-') == 5 and "Load more" in page
    more_url = page[page.index('rel="next" href="') + 17 :].split('"')[0].replace("&amp;", "&")
    more = client.get(more_url, HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in more and more.count('data-testid="record-') == 5  # 10 in all: 8 rows, Carol and Dave
    assert "Load more" not in more
    names = [line.split(">")[-1] for line in (page + more).split("</a></td>") if "Row " in line or "Ito" in line or ">Ng" in line]
    assert len(names) == 10 and names == sorted(names)
    assert client.get(f"/lists/{saved['id']}/?cursor=garbage").status_code == 200  # starts over


def test_the_list_page_costs_the_same_queries_whatever_its_size(alice, world, settings, django_assert_num_queries):
    settings.UI_PAGE_SIZE = 5
    saved = alice.post("lists", {"name": "All", "record_type": "contact", "columns": ["last_name", "owner", "organization_name", "email", "open_deal_count"]}).json()
    Contact.objects.bulk_create([Contact(last_name=f"More {i}", owner=alice.user, last_contacted_on=timezone.now()) for i in range(30)])
    client = browser(alice)
    client.get(f"/lists/{saved['id']}/")
    # Session, user, the bell's count, the list, the page, the shares.
    with django_assert_num_queries(6):
        assert client.get(f"/lists/{saved['id']}/").content.decode().count('data-testid="record-') == 5
    settings.UI_PAGE_SIZE = 25
    with django_assert_num_queries(6):
        assert client.get(f"/lists/{saved['id']}/").content.decode().count('data-testid="record-') == 25


def test_the_export_link_downloads_the_csv(alice, world):
    saved = alice.post("lists", {"name": "Contacts", "record_type": "contact", "columns": ["last_name"], "sort": "last_name"}).json()

    response = browser(alice).get(f"/lists/{saved['id']}/export.csv")

    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).decode().splitlines() == ["Last name", "Ito", "Ng"]


@pytest.mark.parametrize("url", ["/lists/", "/lists/new?record_type=organization"])
def test_the_pages_need_a_signed_in_user(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_every_input_of_the_list_pages_has_a_label(alice, world):
    from web.tests.test_accessibility import unlabelled

    saved = alice.post("lists", {"name": "Mine", "record_type": "deal", "conditions": {"all": [{"field": "stage", "operator": "in", "value": ["proposal"]}, {"field": "owner", "operator": "equals", "value": "me"}]}}).json()
    client = browser(alice)
    for url in ("/lists/new", "/lists/new?record_type=contact", f"/lists/{saved['id']}/edit"):
        page = client.get(url).content.decode()
        assert "<input" in page and unlabelled(page) == [], url


def test_the_django_admin_shows_lists_read_only(alice, world, admin_client):
    saved = alice.post("lists", {"name": "Seen in admin", "record_type": "deal", "shared_user_ids": []}).json()

    assert "Seen in admin" in admin_client.get("/admin/lists/savedlist/").content.decode()
    page = admin_client.get(f"/admin/lists/savedlist/{saved['id']}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
