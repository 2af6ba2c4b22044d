"""Pages show only what the signed-in user may see; an outsider gets 404."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Preference
from activities.models import Event, EventStatus, Task, TaskStatus
from crm.models import Contact, Deal, Organization, Share
from touchpoints.models import Touchpoint


from web.tests.pages import *  # noqa: F403  (helpers and constants)


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
        assert response.status_code == 200  # a cursor from nowhere: "reload" (shown in place by htmx), not a 404
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


def test_shared_organization_activity_does_not_name_hidden_contacts_or_deals(as_charlie, alice, shared_with_charlie):
    # Issue #10: what is only on Carol or the deal (both still Alice's alone)
    # does not roll up into Charlie's view of the organization; what is on
    # the organization itself does.
    log(alice, "note", "2024-03-03 10:00", "Org note", organization_ids=[shared_with_charlie["org"]])
    page = text(as_charlie.get(record_path("organization", shared_with_charlie["org"], "activity")))
    assert timeline_titles(page) == ["Org note"]
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


def test_htmx_request_after_the_session_ended_sends_the_browser_to_sign_in(as_alice, world):
    as_alice.logout()
    deal_page = f"http://testserver/deals/{world['deal']}/?tab=x"
    response = as_alice.post(record_path("deal", world["deal"], "notes"), {"summary": "hi"}, HTTP_HX_CURRENT_URL=deal_page, **HTMX)
    # Not a login form swapped into the page: a full-page visit to sign in, back to the page after.
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=%2Fdeals%2F{world['deal']}%2F%3Ftab%3Dx"
    assert not Touchpoint.objects.exists()
    # Without htmx it is the plain redirect.
    response = as_alice.get(record_path("deal", world["deal"]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_unlinking_a_contact_the_user_cannot_see_is_not_found(alice, bob, charlie, world):
    west = charlie.post("contacts", {"last_name": "West"}).json()["id"]
    # A manager puts Charlie's contact on Alice's deal; Bob (Alice's team) may not see West.
    from crm.services import do_link_contact_to_deal
    from accounts.models import User

    boss = User.objects.create(username="boss", role="manager")
    do_link_contact_to_deal(boss, world["deal"], west, "influencer")
    assert bob.delete(f"deals/{world['deal']}/contacts/{west}").status_code == 404
    response = browser(bob).post(record_path("deal", world["deal"], f"contacts/{west}/remove"), **HTMX)
    assert response.status_code == 404
    assert Deal.objects.get(id=world["deal"]).deal_contacts.filter(contact_id=west).exists()
