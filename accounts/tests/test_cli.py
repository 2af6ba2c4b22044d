"""The command line: createuser prints a working token, shown once."""
import io

from django.core.management import call_command
from django.test import Client

from accounts.models import ApiToken


def test_createuser_prints_a_token_that_authenticates(db):
    out = io.StringIO()
    call_command("createuser", "--username", "erin", "--role", "manager", "--time-zone", "Europe/Paris", "--token", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("tp_")
    stored = ApiToken.objects.get(user__username="erin")
    assert token not in (stored.key_hash, stored.hint)  # only a hash is kept
    response = Client().get("/api/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert Client().get("/api/v1/organizations", HTTP_AUTHORIZATION="Bearer tp_wrong").status_code == 401


def test_session_login_reaches_the_api_and_home_page(db):
    call_command("createuser", "--username", "fay", "--password", "a-long-password-1", stdout=io.StringIO())
    client = Client()
    assert client.get("/").status_code == 302  # to the sign-in page
    response = client.post("/login/", {"username": "fay", "password": "a-long-password-1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/organizations").status_code == 200


def test_me_tells_the_caller_who_they_are(db):
    out = io.StringIO()
    call_command("createuser", "--username", "gil", "--role", "rep", "--team", "north", "--time-zone", "Asia/Kolkata", "--token", stdout=out)
    body = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}").json()
    assert (body["username"], body["role"], body["team"], body["time_zone"]) == ("gil", "rep", "north", "Asia/Kolkata")
