"""The API tokens page (Settings → API tokens): the signed-in user's own
tokens, created and revoked through the same services as the API."""
from __future__ import annotations

from django.test import Client

from accounts.models import ApiToken


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_create_shows_the_value_once_and_it_works(alice):
    client = signed_in(alice.user)
    page = client.get("/settings/tokens/").content.decode()
    assert 'aria-current="page">API tokens' in page and 'data-testid="new-token"' not in page
    response = client.post("/settings/tokens/", {"name": "zapier", "scope": "read", "expires_in_days": "30"})
    assert response.status_code == 200
    raw = response.content.decode().split('data-testid="token-value">')[1].split("<")[0]
    row = ApiToken.objects.get(user=alice.user, name="zapier")
    assert raw.startswith("tp_") and row.scope == "read" and row.expires_at is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me").status_code == 200
    again = client.get("/settings/tokens/").content.decode()
    assert raw not in again and f"{row.hint}…" in again  # listed by its hint only


def test_bad_input_comes_back_with_the_error(alice):
    response = signed_in(alice.user).post("/settings/tokens/", {"name": "", "scope": "write", "expires_in_days": "0"})
    assert response.status_code == 422
    assert ApiToken.objects.filter(user=alice.user).count() == 1


def test_revoke_own_only(alice, bob):
    client = signed_in(alice.user)
    client.post("/settings/tokens/", {"name": "old", "scope": "write"})
    token = ApiToken.objects.get(user=alice.user, name="old")
    assert signed_in(bob.user).post(f"/settings/tokens/{token.id}/revoke/").status_code == 404
    assert client.post(f"/settings/tokens/{token.id}/revoke/").status_code == 302
    assert ApiToken.objects.get(id=token.id).revoked_at is not None
    assert ">revoked<" in client.get("/settings/tokens/").content.decode()


def test_the_page_shares_the_rate_limit(alice, settings):
    settings.TOKEN_CREATIONS_PER_WINDOW = 1
    client = signed_in(alice.user)
    assert client.post("/settings/tokens/", {"name": "one", "scope": "read"}).status_code == 200
    refused = client.post("/settings/tokens/", {"name": "two", "scope": "read"})
    assert refused.status_code == 429 and "Too many tokens created" in refused.content.decode()
