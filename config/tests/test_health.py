"""GET /healthz: for load balancers, so no authentication and nothing beyond ok/error."""
from __future__ import annotations

import pytest
from huey.contrib.djhuey import HUEY

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_without_authentication(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_healthz_ignores_credentials(client):
    response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer tp_not-a-token")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_reports_an_unreachable_queue_as_503(client, monkeypatch):
    def unreachable():
        raise ConnectionError("queue down")

    monkeypatch.setattr(HUEY, "pending_count", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "queue": "error"}  # no exception text


def test_healthz_is_read_only(client):
    assert client.post("/healthz").status_code == 405
