"""Records shared without their organization: pages neither name nor clear
the organization the viewer may not open."""
from __future__ import annotations

import pytest

from crm.models import Contact, Deal, Share
from web.tests.pages import HTMX, browser, record_path, text


@pytest.fixture
def shared(alice, charlie, world):
    """Carol and the deal (both at Alice's Grasspods) shared with Charlie;
    Grasspods itself is not."""
    Deal.objects.filter(id=world["deal"]).update(name="Renewal 2025")  # not "Grasspods ...": the test looks for that name
    Share.objects.create(record_type="contact", record_id=world["carol"], user=charlie.user)
    Share.objects.create(record_type="deal", record_id=world["deal"], user=charlie.user)
    return {**world, "client": browser(charlie)}


@pytest.mark.parametrize("record_type, key", [("contact", "carol"), ("deal", "deal")])
def test_editing_a_shared_record_keeps_the_organization_the_editor_cannot_see(shared, record_type, key):
    client = shared["client"]
    form = text(client.get(record_path(record_type, shared[key], "edit")))
    assert 'name="organization"' not in form and "Grasspods" not in form
    data = {"contact": {"first_name": "Carol", "last_name": "Ng-Li", "title": "", "emails": "carol@grasspods.example", "phones": ""},
            "deal": {"name": "Renewal 2", "stage": "proposal", "amount": "", "expected_close_date": ""}}[record_type]  # fmt: skip
    response = client.post(record_path(record_type, shared[key], "edit"), data)
    assert response.status_code == 302, text(response)[:1000]
    model = Contact if record_type == "contact" else Deal
    record = model.objects.get(id=shared[key])
    assert record.organization_id == shared["org"]
    assert (record.last_name if record_type == "contact" else record.name) == data.get("last_name", data.get("name"))


@pytest.mark.parametrize(
    "path",
    ["/contacts/?q=Ng", "/deals/?q=renewal", "/search?q=Carol", "/search?q=renewal", "/contacts/options?q=Carol"],
)
def test_lists_search_and_picker_do_not_name_a_hidden_organization(shared, path):
    for headers in ({}, HTMX):
        page = text(shared["client"].get(path, **headers))
        assert ("Carol" in page) or ("renewal" in page.lower())
        assert "Grasspods" not in page, path


def test_the_owner_still_sees_the_organization_in_lists_and_search(as_alice, world):
    assert "Grasspods" in text(as_alice.get("/contacts/?q=Ng"))
    assert "Grasspods" in text(as_alice.get("/search?q=Carol", **HTMX))
