"""The Django admin is usable by staff: every changelist and a change page render."""
import pytest
from django.contrib import admin
from django.test import Client

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from portal.models import PortalAccount
from portal.services import start_session


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_admin_pages_render(admin_user_with_data, model):
    client = Client()
    client.force_login(admin_user_with_data)
    opts = model._meta
    assert client.get(f"/admin/{opts.app_label}/{opts.model_name}/").status_code == 200
    first = model.objects.order_by("pk").first()
    if first is not None:
        assert client.get(f"/admin/{opts.app_label}/{opts.model_name}/{first.pk}/change/").status_code == 200


@pytest.fixture
def admin_user_with_data(alice, world):
    alice.post("touchpoints", {"kind": "email", "occurred_at": "2024-05-01T10:00:00Z", "contact_ids": [world["carol"]]})
    alice.post("events", {"subject": "x", "start_at": "2024-05-01T10:00:00Z", "end_at": "2024-05-01T11:00:00Z", "deal_id": world["deal"]})
    alice.post("tasks", {"title": "t", "due_date": "2024-05-01", "deal_id": world["deal"]})
    # Issue #6's rows: a case with a comment, a shared document, a portal account with a visit.
    case = alice.post("cases", {"title": "Broken", "contact_id": world["carol"]}).json()
    alice.post(f"cases/{case['id']}/comments", {"body": "On it"})
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.4 a", content_type="application/pdf")
    assert alice.client.post("/api/v1/documents", {"file": upload, "contact_ids": [world["carol"]]}).status_code == 201
    account = PortalAccount.objects.create(contact_id=world["carol"], email="carol@grasspods.example")
    start_session(account)
    return User.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")


def test_event_marked_held_in_admin_becomes_a_touchpoint_and_moves_last_contacted(alice, world):
    from activities.models import Event
    from crm.models import Deal

    event = alice.post(
        "events", {"subject": "Demo", "start_at": "2024-05-02T10:00:00Z", "end_at": "2024-05-02T11:00:00Z", "deal_id": world["deal"], "event_type": "meeting"}
    ).json()
    root = User.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")
    client = Client()
    client.force_login(root)
    url = f"/admin/activities/event/{event['id']}/change/"
    form = {
        "subject": "Demo", "event_type": "meeting", "status": "held", "start_at_0": "2024-05-02", "start_at_1": "10:00:00",
        "end_at_0": "2024-05-02", "end_at_1": "11:00:00", "description": "", "emoticon": "4", "owner": alice.user.id, "deal": world["deal"],
        "organization": "", "contacts": "",
    }  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Event.objects.get(id=event["id"]).touchpoint_id is not None
    deal = Deal.objects.get(id=world["deal"])
    assert deal.last_contacted_via == "Meeting"
    assert deal.last_contacted_on.isoformat() == "2024-05-02T10:00:00+00:00"

    # The service's rule, as a form error: an emoticon only on a held event.
    response = client.post(url, {**form, "status": "not_held", "emoticon": "4"})
    assert response.status_code == 200
    assert "only a held event carries an emoticon" in response.content.decode()


def test_event_with_a_missing_end_in_admin_is_a_form_error_not_a_crash(alice, world):
    root = User.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")
    client = Client()
    client.force_login(root)
    form = {"subject": "Demo", "event_type": "meeting", "status": "planned", "start_at_0": "2024-05-02", "start_at_1": "10:00:00",
            "end_at_0": "", "end_at_1": "", "description": "", "emoticon": "", "owner": "", "deal": "", "organization": "", "contacts": ""}  # fmt: skip
    response = client.post("/admin/activities/event/add/", form)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
