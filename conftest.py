"""Shared fixtures: personas and an API client.

Personas (STYLE.md): ``alice`` owns records, ``bob`` is her teammate,
``charlie`` is an outsider on another team who must see nothing of
Alice's; ``manager`` and ``admin`` see everything.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from accounts.services import do_create_user, do_issue_token

# Browser-test fixtures (live server + Debian's Chromium) for every app's tests.
pytest_plugins = ["web.tests.browser", "emails.tests.imapserver"]


def pytest_collection_modifyitems(items):
    """With a read replica configured (the PostgreSQL run), a live server's
    threads read lists and reports through it: browser tests may use it."""
    from django.conf import settings

    if "replica" not in settings.DATABASES:
        return
    for item in items:
        if {"live_server", "page"} & set(getattr(item, "fixturenames", ())):
            existing = item.get_closest_marker("django_db")
            kwargs = {**(existing.kwargs if existing else {}), "databases": ["default", "replica"]}
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture
def huey_in_process():
    """Tasks enqueued after commit run at once, in this process, so a test
    sees their effect (django_capture_on_commit_callbacks(execute=True))."""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path_factory):
    """Uploaded import files land in the test run's temporary folder, not var/."""
    settings.IMPORTS_DIR = tmp_path_factory.getbasetemp() / "imports"


class Api:
    """A thin JSON client for /api/v1 acting as one user."""

    def __init__(self, user, token: str):
        self.user = user
        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def _call(self, method: str, path: str, body=None, headers: dict | None = None, **params):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        if method == "get":
            return self.client.get(url, params, **extra)
        data = json.dumps(body) if body is not None else None
        return getattr(self.client, method)(url, data, content_type="application/json", **extra)

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, body=None, headers=None):
        return self._call("post", path, body, headers)

    def patch(self, path, body=None):
        return self._call("patch", path, body)

    def put(self, path, body=None):
        return self._call("put", path, body)

    def delete(self, path):
        return self._call("delete", path)


def _persona(username: str, role: str = "rep", team: str | None = None, time_zone: str = "UTC"):
    user = do_create_user(username, role=role, team_name=team, time_zone=time_zone)
    return Api(user, do_issue_token(user))


@pytest.fixture
def alice(db):
    return _persona("alice", team="east")


@pytest.fixture
def bob(db, alice):
    return _persona("bob", team="east")


@pytest.fixture
def charlie(db):
    return _persona("charlie", team="west")


@pytest.fixture
def manager(db):
    return _persona("manager", role="manager")


@pytest.fixture
def admin(db):
    return _persona("admin", role="admin")


def at(text: str) -> str:
    """An ISO timestamp in UTC from a short 'YYYY-MM-DD HH:MM' string."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


@pytest.fixture
def world(alice):
    """Alice's small CRM: an organization with two contacts and an open deal
    (created 2024-01-01) that Carol is on."""
    org = alice.post("organizations", {"name": "Grasspods"}).json()
    carol = alice.post("contacts", {"first_name": "Carol", "last_name": "Ng", "organization_id": org["id"], "emails": ["carol@grasspods.example"]}).json()
    dave = alice.post("contacts", {"first_name": "Dave", "last_name": "Ito", "organization_id": org["id"]}).json()
    deal = alice.post(
        "deals",
        {"name": "Grasspods renewal", "organization_id": org["id"], "created_at": at("2024-01-01 00:00"), "contacts": [{"contact_id": carol["id"], "role": "decision_maker"}]},
    ).json()
    return {"org": org["id"], "carol": carol["id"], "dave": dave["id"], "deal": deal["id"]}
