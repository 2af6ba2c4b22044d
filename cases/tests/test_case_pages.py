"""The staff case pages: what saving the edit form keeps and changes."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from cases.models import Case


def browser(persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def form_fields(page: str) -> set[str]:
    """The names of the edit form's inputs, as a browser would send them."""
    form = page[page.index('id="edit-h"') :]
    return set(re.findall(r'name="(title|description|contact|organization|status|priority|owner)"', form))


def save(client: Client, case: Case, **changes) -> None:
    page = client.get(f"/cases/{case.id}/").content.decode()
    fields = form_fields(page)
    current = {"title": case.title, "description": case.description, "status": case.status, "priority": case.priority,
               "contact": case.contact_id or "", "organization": case.organization_id or "", "owner": case.owner_id or ""}  # fmt: skip
    response = client.post(f"/cases/{case.id}/", {k: v for k, v in {**current, **changes}.items() if k in fields})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_rep_saving_a_case_whose_contact_they_cannot_see_keeps_the_contact_and_owner(alice, charlie, admin, world):
    """The case of Alice's contact Carol, assigned to Charlie (another team):
    Charlie sees the case, not Carol. His save must not unlink her."""
    case_id = alice.post("cases", {"title": "Invoice wrong", "contact_id": world["carol"]}).json()["id"]
    assert admin.patch(f"cases/{case_id}", {"owner_id": charlie.user.id}).status_code == 200
    case = Case.objects.get(id=case_id)
    page = browser(charlie).get(f"/cases/{case_id}/").content.decode()
    assert {"contact", "organization"} & form_fields(page) == set()

    save(browser(charlie), case, status="in_progress")

    case.refresh_from_db()
    assert (case.status, case.contact_id, case.organization_id, case.owner_id) == ("in_progress", world["carol"], world["org"], charlie.user.id)


def test_saving_an_unassigned_case_does_not_assign_it(alice, admin, world):
    case_id = alice.post("cases", {"title": "Portal login fails", "contact_id": world["carol"]}).json()["id"]
    Case.objects.filter(id=case_id).update(owner=None)  # a portal case whose owner left
    case = Case.objects.get(id=case_id)

    save(browser(admin), case, priority="high")

    case.refresh_from_db()
    assert (case.priority, case.owner_id) == ("high", None)


def test_changing_the_contact_on_the_page_moves_the_organization_with_it(alice, world):
    other = alice.post("organizations", {"name": "Lumen Works"}).json()["id"]
    erin = alice.post("contacts", {"first_name": "Erin", "last_name": "Okafor", "organization_id": other}).json()["id"]
    case_id = alice.post("cases", {"title": "Printer jams", "contact_id": world["carol"]}).json()["id"]
    case = Case.objects.get(id=case_id)

    save(browser(alice), case, contact=erin)

    case.refresh_from_db()
    assert (case.contact_id, case.organization_id) == (erin, other)


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_a_case_page_is_404_to_who_may_not_see_it_and_open_to_teammates(request, alice, world, who):
    case_id = alice.post("cases", {"title": "Invoice wrong", "contact_id": world["carol"]}).json()["id"]
    status = browser(request.getfixturevalue(who)).get(f"/cases/{case_id}/").status_code
    assert status == (200 if who == "bob" else 404)
