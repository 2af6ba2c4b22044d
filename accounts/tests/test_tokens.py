"""API tokens: scoped, expiring, revocable, stored hashed (issue #10).

Every request goes through the real API (Django's test client, real
database). The personas' own tokens (conftest) are read-write and never expire.
"""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, Attempt

READ_ONLY = "This API token is read-only: it may only read (GET)."


def bearer(raw: str, **extra) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)


def create(api, body: dict, **headers):
    return api.post("tokens", body, headers=headers)


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(alice):
    response = create(alice, {"name": "zapier", "scope": "write", "expires_in_days": 30})
    assert response.status_code == 201, response.content
    body = response.json()
    raw = body["token"]
    assert raw.startswith("tp_") and len(raw) > 40
    assert (body["name"], body["scope"], body["hint"], body["revoked"]) == ("zapier", "write", raw[:10], False)
    row = ApiToken.objects.get(id=body["id"])
    assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    # The raw value is nowhere in the table, whatever the column.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        assert not any(raw in str(value) for row_values in cursor.fetchall() for value in row_values)
    # Listing never shows it again.
    listed = alice.get("tokens").json()["items"]
    assert body["id"] in [t["id"] for t in listed] and all("token" not in t for t in listed)
    assert bearer(raw).get("/api/v1/me").json()["username"] == "alice"


def test_tokens_default_to_read_only(alice):
    body = create(alice, {"name": "dashboard"}).json()
    assert body["scope"] == "read" and body["expires_at"] is None


def test_a_read_only_token_reads_but_every_write_operation_answers_403(alice, world):
    raw = create(alice, {"name": "reports", "scope": "read"}).json()["token"]
    client = bearer(raw)
    assert client.get("/api/v1/organizations").status_code == 200
    assert client.get(f"/api/v1/organizations/{world['org']}").status_code == 200
    doc = client.get("/api/v1/openapi.json").json()
    writes = [(method, path) for path, ops in doc["paths"].items() for method in ops if method.upper() not in ("GET", "HEAD", "OPTIONS")]
    assert len(writes) > 50  # the test enumerates the document: new endpoints are covered without a change here
    for method, path in writes:
        url = re.sub(r"\{[a-z_]+\}", str(world["org"]), path)
        response = getattr(client, method)(url, data="{}", content_type="application/json")
        assert (response.status_code, response.json()) == (403, {"detail": READ_ONLY}), f"{method.upper()} {path}"
    assert ApiToken.objects.filter(user=alice.user).count() == 2  # POST /tokens refused too


def test_an_expired_token_answers_401_saying_so(alice):
    made = create(alice, {"name": "short", "expires_in_days": 1}).json()
    assert bearer(made["token"]).get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(id=made["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(made["token"]).get("/api/v1/me")
    assert (response.status_code, response.json()) == (401, {"detail": "This API token has expired."})


def test_a_revoked_token_answers_401_and_stays_listed(alice):
    made = create(alice, {"name": "old laptop", "scope": "write"}).json()
    assert bearer(made["token"]).get("/api/v1/me").status_code == 200
    assert alice.delete(f"tokens/{made['id']}").status_code == 204
    response = bearer(made["token"]).get("/api/v1/me")
    assert (response.status_code, response.json()) == (401, {"detail": "This API token was revoked."})
    listed = {t["id"]: t for t in alice.get("tokens").json()["items"]}
    assert listed[made["id"]]["revoked"] is True and listed[made["id"]]["revoked_at"]
    first = ApiToken.objects.get(id=made["id"]).revoked_at
    assert alice.delete(f"tokens/{made['id']}").status_code == 204  # again: no change
    assert ApiToken.objects.get(id=made["id"]).revoked_at == first


def test_a_token_can_revoke_itself(alice):
    made = create(alice, {"name": "leaked", "scope": "write"}).json()
    assert bearer(made["token"]).delete(f"/api/v1/tokens/{made['id']}").status_code == 204
    assert bearer(made["token"]).get("/api/v1/me").status_code == 401


def test_only_the_owner_or_an_admin_may_revoke(alice, bob, manager, admin):
    made = create(alice, {"name": "ci", "scope": "write"}).json()
    for other in (bob, manager):
        response = other.delete(f"tokens/{made['id']}")
        assert (response.status_code, response.json()) == (404, {"detail": f"token {made['id']} not found"})
    assert bearer(made["token"]).get("/api/v1/me").status_code == 200
    # Admins find it by user and revoke it.
    listed = admin.get("tokens", user_id=alice.user.id).json()["items"]
    assert made["id"] in [t["id"] for t in listed]
    assert bob.get("tokens", user_id=alice.user.id).status_code == 403
    assert admin.delete(f"tokens/{made['id']}").status_code == 204
    assert bearer(made["token"]).get("/api/v1/me").status_code == 401


def test_a_token_cannot_mint_a_longer_lived_token(alice):
    parent = create(alice, {"name": "parent", "scope": "write", "expires_in_days": 7}).json()
    client = bearer(parent["token"])

    def mint(body):
        return client.post("/api/v1/tokens", body, content_type="application/json")

    response = mint({"name": "child", "scope": "write", "expires_in_days": 30})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "expires_in_days"]
    assert "must not be later than the expiry of the token creating it" in response.json()["detail"][0]["msg"]
    # Without an expiry it inherits the parent's; shorter is fine.
    child = mint({"name": "child", "scope": "write"}).json()
    assert child["expires_at"] == parent["expires_at"]
    assert mint({"name": "child-2", "scope": "read", "expires_in_days": 1}).status_code == 201


def test_a_token_without_expiry_may_mint_any_and_a_session_may_too(alice):
    client = Client()
    client.force_login(alice.user)
    response = client.post("/api/v1/tokens", {"name": "from the web", "scope": "write", "expires_in_days": 3650}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert create(alice, {"name": "long", "scope": "write", "expires_in_days": 3650}).status_code == 201


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "x", "expires_in_days": 0}, ["body", "expires_in_days"]),
        ({"name": "x", "expires_in_days": 3651}, ["body", "expires_in_days"]),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, ["body", "expires_at"]),
        ({"name": "x", "expires_at": "2199-01-01T00:00:00Z"}, ["body", "expires_at"]),
        ({"name": "x", "expires_in_days": 3, "expires_at": "2199-01-01T00:00:00Z"}, ["body", "expires_at"]),
        ({"name": "x", "scope": "admin"}, ["body", "scope"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x", "user_id": 1}, ["body", "user_id"]),
    ],
)
def test_bad_token_requests_name_the_field(alice, body, loc):
    response = create(alice, body)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert ApiToken.objects.filter(user=alice.user).count() == 1


def test_expires_at_sets_the_expiry(alice):
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    body = create(alice, {"name": "until", "expires_at": when.isoformat()}).json()
    assert ApiToken.objects.get(id=body["id"]).expires_at == when


def test_token_creation_is_rate_limited_per_user_and_recovers(alice, bob, settings):
    settings.TOKEN_CREATIONS_PER_WINDOW = 3
    settings.TOKEN_CREATION_WINDOW_MINUTES = 60
    for i in range(3):
        assert create(alice, {"name": f"t{i}"}).status_code == 201
    refused = create(alice, {"name": "one too many"})
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many tokens created: at most 3 every 60 minutes.")
    retry_after = int(refused["Retry-After"])
    assert 3590 <= retry_after <= 3600
    assert ApiToken.objects.filter(user=alice.user).count() == 4  # the persona's own and three
    assert create(bob, {"name": "bob's"}).status_code == 201  # per user
    # Refused attempts do not count: once the oldest creation leaves the window, one more fits.
    oldest = Attempt.objects.filter(subject=str(alice.user.id)).order_by("at").first()
    Attempt.objects.filter(id=oldest.id).update(at=timezone.now() - timedelta(minutes=61))
    assert create(alice, {"name": "later"}).status_code == 201
    assert create(alice, {"name": "and again"}).status_code == 429


def test_createuser_and_token_commands_take_scope_and_expiry(db):
    out = io.StringIO()
    call_command("createuser", "--username", "erin", "--token", "--scope", "read", "--expires-days", "2", stdout=out)
    raw = out.getvalue().strip()
    row = ApiToken.objects.get(user__username="erin")
    assert row.scope == "read" and timedelta(days=1, hours=23) < row.expires_at - timezone.now() <= timedelta(days=2)
    assert bearer(raw).get("/api/v1/me").status_code == 200
    assert bearer(raw).patch("/api/v1/me", {"phone": ""}, content_type="application/json").status_code == 403

    out = io.StringIO()
    call_command("token", "--user", "erin", "--name", "deploy", stdout=out)
    deploy = out.getvalue().strip()
    assert bearer(deploy).patch("/api/v1/me", {"phone": ""}, content_type="application/json").status_code == 200

    out = io.StringIO()
    call_command("token", "--user", "erin", "--list", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2 and "read" in lines[0] and "deploy" in lines[1]
    deploy_id = int(lines[1].split("\t")[0])
    call_command("token", "--user", "erin", "--revoke", str(deploy_id), stdout=io.StringIO())
    assert bearer(deploy).get("/api/v1/me").status_code == 401


def test_the_service_refuses_a_read_only_maker_whatever_the_caller(alice):
    """config.auth stops a read-only token's POST first; the rule also
    holds for any other caller of the service."""
    from accounts.services import do_create_token
    from config.errors import Forbidden

    reader = ApiToken.objects.get(id=create(alice, {"name": "reader", "scope": "read"}).json()["id"])
    with pytest.raises(Forbidden):
        do_create_token(alice.user, name="child", scope="read", via=reader)
