"""The Django admin is usable by staff: every changelist and a change page render."""
import pytest
from django.contrib import admin
from django.test import Client

from accounts.models import User


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
    return User.objects.create_superuser("root", "root@example.com", "pw-pw-pw-pw")
