"""IP-based restriction (issue #10): sign-in, every page and every API
request from outside a user's ranges get 403. Real requests through the
test client with REMOTE_ADDR set, on the real database."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import Team, User
from accounts.network import check_ranges, client_ip
from accounts.services import do_create_user
from config.errors import Invalid

OFFICE = "203.0.113.0/24"
INSIDE, OUTSIDE = "203.0.113.9", "198.51.100.20"
PASSWORD = "a-long-password-1"


def from_ip(api, ip: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api.token}", REMOTE_ADDR=ip)


def restrict(admin, user, ranges, ip="127.0.0.1"):
    return Client(HTTP_AUTHORIZATION=f"Bearer {admin.token}", REMOTE_ADDR=ip).put(
        f"/api/v1/users/{user.id}/allowed-ips", {"allowed_ips": ranges}, content_type="application/json"
    )


def signed_in(user, ip: str) -> Client:
    user.set_password(PASSWORD)
    user.save()
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_a_token_works_inside_the_range_and_gets_403_outside(alice, admin):
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    assert from_ip(alice, INSIDE).get("/api/v1/me").status_code == 200
    response = from_ip(alice, OUTSIDE).get("/api/v1/me")
    assert response.status_code == 403
    assert response.json() == {"detail": f"Access from {OUTSIDE} is not allowed for this account (IP restriction). Ask an admin."}
    # A write too, and the refusal comes before the body is read.
    assert from_ip(alice, OUTSIDE).post("/api/v1/organizations", "{}", content_type="application/json").status_code == 403


def test_empty_means_anywhere(alice, admin):
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    assert restrict(admin, alice.user, []).json() == {"user_id": alice.user.id, "allowed_ips": [], "effective": []}
    assert from_ip(alice, OUTSIDE).get("/api/v1/me").status_code == 200


def test_ipv6_ranges_and_ipv4_mapped_addresses(alice, admin):
    assert restrict(admin, alice.user, ["2001:db8:1::/48", OFFICE]).status_code == 200
    assert from_ip(alice, "2001:db8:1::42").get("/api/v1/me").status_code == 200
    assert from_ip(alice, "2001:db8:2::42").get("/api/v1/me").status_code == 403
    # A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d.
    assert from_ip(alice, f"::ffff:{INSIDE}").get("/api/v1/me").status_code == 200
    assert from_ip(alice, f"::ffff:{OUTSIDE}").get("/api/v1/me").status_code == 403


def test_the_team_ranges_apply_unless_the_user_has_their_own(alice, bob, admin):
    team = Team.objects.get(name="east")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {admin.token}").put(
        f"/api/v1/teams/{team.id}/allowed-ips", {"allowed_ips": [OFFICE]}, content_type="application/json"
    )
    assert response.json() == {"team_id": team.id, "allowed_ips": [OFFICE]}
    assert from_ip(bob, OUTSIDE).get("/api/v1/me").status_code == 403
    assert from_ip(bob, INSIDE).get("/api/v1/me").status_code == 200
    # Alice works from home too: her own list replaces the team's.
    assert restrict(admin, alice.user, ["198.51.100.0/24"]).json()["effective"] == ["198.51.100.0/24"]
    assert from_ip(alice, OUTSIDE).get("/api/v1/me").status_code == 200
    assert from_ip(alice, INSIDE).get("/api/v1/me").status_code == 403


def test_ranges_are_validated_and_normalized(alice, admin):
    response = restrict(admin, alice.user, ["10.0.0.7/24", "192.0.2.1", "::ffff:198.51.100.0/120", "10.0.0.0/24"])
    assert response.json()["allowed_ips"] == ["10.0.0.0/24", "192.0.2.1/32", "198.51.100.0/24"]
    response = restrict(admin, alice.user, ["10.0.0.0/24", "10.0.0.0/33", "not-an-ip"])
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "allowed_ips", 1], ["body", "allowed_ips", 2]]
    assert "'10.0.0.0/33' is not an IP address or CIDR range" in response.json()["detail"][0]["msg"]
    assert User.objects.get(id=alice.user.id).allowed_ips == ["10.0.0.0/24", "192.0.2.1/32", "198.51.100.0/24"]  # unchanged
    too_many = restrict(admin, alice.user, [f"10.0.{i}.0/24" for i in range(101)])
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "allowed_ips"]


def test_only_admins_see_or_change_ranges(alice, manager, admin):
    for persona in (alice, manager):
        response = restrict(persona, alice.user, [])
        assert (response.status_code, response.json()) == (403, {"detail": "only an admin may see or change IP restrictions"})
    assert admin.get("users/999999/allowed-ips").status_code == 404
    assert admin.get("teams/999999/allowed-ips").status_code == 404


def test_an_admin_cannot_lock_themselves_out(admin):
    response = restrict(admin, admin.user, [OFFICE], ip=OUTSIDE)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "allowed_ips"], "msg": f"would lock you out: your address {OUTSIDE} is not in these ranges", "type": "value_error"}
    ]
    assert restrict(admin, admin.user, [OFFICE], ip=INSIDE).status_code == 200
    # Nor through their team.
    team = do_create_user("other-admin", role="admin", team_name="ops").team
    User.objects.filter(id=admin.user.id).update(team=team, allowed_ips=[])
    response = Client(HTTP_AUTHORIZATION=f"Bearer {admin.token}", REMOTE_ADDR=OUTSIDE).put(
        f"/api/v1/teams/{team.id}/allowed-ips", {"allowed_ips": [OFFICE]}, content_type="application/json"
    )
    assert response.status_code == 422 and "would lock you out" in response.json()["detail"][0]["msg"]


def test_the_command_line_is_the_way_back_in(admin, alice):
    assert restrict(admin, admin.user, [OFFICE], ip=INSIDE).status_code == 200
    assert from_ip(admin, OUTSIDE).get("/api/v1/me").status_code == 403
    out = io.StringIO()
    call_command("allowed_ips", "--user", "admin", "--clear", stdout=out)
    assert out.getvalue() == "own: (none)\nin effect: anywhere\n"
    assert from_ip(admin, OUTSIDE).get("/api/v1/me").status_code == 200
    call_command("allowed_ips", "--team", "east", "--set", "2001:db8::/32", "10.1.2.3", stdout=io.StringIO())
    assert Team.objects.get(name="east").allowed_ips == ["2001:db8::/32", "10.1.2.3/32"]


def test_sign_in_from_outside_is_403_and_creates_no_session(alice, admin):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    client = Client(REMOTE_ADDR=OUTSIDE)
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "not allowed for this account (IP restriction)" in response.content.decode()
    assert "sessionid" not in response.cookies
    assert client.get("/").status_code == 302  # still signed out
    assert signed_in(User.objects.get(id=alice.user.id), INSIDE).get("/").status_code == 200


def test_a_session_used_from_elsewhere_stops_working(alice, admin):
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    client = signed_in(User.objects.get(id=alice.user.id), INSIDE)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    # The same cookie from another network: 403, and the session is over.
    page = client.get("/", REMOTE_ADDR=OUTSIDE)
    assert page.status_code == 403 and "Not allowed from this network" in page.content.decode()
    assert client.get("/", REMOTE_ADDR=INSIDE).status_code == 302  # to sign in again


def test_a_session_api_request_from_elsewhere_gets_403_json(alice, admin):
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    client = signed_in(User.objects.get(id=alice.user.id), INSIDE)
    response = client.get("/api/v1/me", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403
    assert response.json() == {"detail": f"Access from {OUTSIDE} is not allowed for this account (IP restriction). Ask an admin."}


def test_narrowing_the_ranges_ends_sessions_already_open(alice, admin):
    client = signed_in(alice.user, OUTSIDE)
    assert client.get("/").status_code == 200
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    assert client.get("/").status_code == 403


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{OUTSIDE}, {INSIDE}")
    assert client_ip(request) == "10.0.0.2"  # no trusted proxy configured: the header is the client's say-so
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request) == INSIDE  # the right-most address the proxy saw; the left one is the client's claim
    chained = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{OUTSIDE}, 10.0.0.7")
    assert client_ip(chained) == OUTSIDE  # through two of our proxies
    assert client_ip(rf.get("/", REMOTE_ADDR=INSIDE, HTTP_X_FORWARDED_FOR="10.9.9.9")) == INSIDE  # not from a proxy
    assert client_ip(rf.get("/", REMOTE_ADDR="::ffff:10.0.0.2", HTTP_X_FORWARDED_FOR="2001:db8::5")) == "2001:db8::5"


def test_behind_a_trusted_proxy_the_forwarded_address_is_checked(alice, admin, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    assert restrict(admin, alice.user, [OFFICE]).status_code == 200
    proxied = Client(HTTP_AUTHORIZATION=f"Bearer {alice.token}", REMOTE_ADDR="10.0.0.2")
    assert proxied.get("/api/v1/me", HTTP_X_FORWARDED_FOR=INSIDE).status_code == 200
    assert proxied.get("/api/v1/me", HTTP_X_FORWARDED_FOR=f"{INSIDE}, {OUTSIDE}").status_code == 403


def test_the_django_admin_edits_ranges_with_the_same_rules(admin, alice):
    admin.user.set_password(PASSWORD)
    admin.user.save()
    client = signed_in(admin.user, INSIDE)
    url = f"/admin/accounts/user/{alice.user.id}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"allowed_ips": "not-a-range", "last_login_0": "", "last_login_1": "", "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00"})
    data.pop("groups", None), data.pop("user_permissions", None), data.pop("last_login", None), data.pop("date_joined", None)
    response = client.post(url, data)
    assert response.status_code == 200 and "&#x27;not-a-range&#x27; is not an IP address" in response.content.decode()
    data["allowed_ips"] = "203.0.113.7/24\n2001:db8::/32"
    assert client.post(url, data).status_code == 302
    assert User.objects.get(id=alice.user.id).allowed_ips == [OFFICE, "2001:db8::/32"]
    own = f"/admin/accounts/user/{admin.user.id}/change/"
    mine = {**data, "username": "admin", "allowed_ips": "198.51.100.0/24", "is_staff": "on", "is_superuser": "on"}
    response = client.post(own, mine)
    assert response.status_code == 200 and "would lock you out" in response.content.decode()


@pytest.mark.parametrize("bad", ["", "1.2.3", "10.0.0.0/8/8", "fe80::/129"])
def test_check_ranges_names_the_entry(bad):
    with pytest.raises(Invalid) as caught:
        check_ranges(["10.0.0.0/8", bad])
    assert caught.value.errors[0]["loc"] == ["allowed_ips", 1]
