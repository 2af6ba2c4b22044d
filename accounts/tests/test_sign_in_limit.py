"""The staff sign-in rate limit at /login/ (issue #10): failures per
username and per client IP in a window, then 429 even for the right
password, until the window passes."""
from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from accounts.models import Attempt
from accounts.services import do_create_user

PASSWORD = "a-long-password-1"


def sign_in(username: str, password: str, ip: str = "192.0.2.10"):
    return Client(REMOTE_ADDR=ip).post("/login/", {"username": username, "password": password})


def test_failures_lock_the_username_out_even_for_the_right_password_then_recover(db, settings):
    settings.STAFF_SIGN_IN_FAILURES, settings.STAFF_SIGN_IN_WINDOW_MINUTES = 3, 15
    do_create_user("fay", password=PASSWORD)
    for _ in range(3):
        assert sign_in("fay", "wrong-guess").status_code == 200  # the form again, with its error
    locked = sign_in("fay", PASSWORD, ip="192.0.2.99")  # another address does not help
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.content.decode()
    assert 890 <= int(locked["Retry-After"]) <= 900
    assert "sessionid" not in locked.cookies
    # Another user is not affected.
    do_create_user("gus", password=PASSWORD)
    assert sign_in("gus", PASSWORD).status_code == 302
    # Once the failures are older than the window, the right password works again.
    Attempt.objects.filter(subject="fay").update(at=timezone.now() - timedelta(minutes=16))
    client = Client(REMOTE_ADDR="192.0.2.10")
    assert client.post("/login/", {"username": "fay", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200


def test_refused_attempts_do_not_extend_the_lockout(db, settings):
    settings.STAFF_SIGN_IN_FAILURES = 2
    do_create_user("fay", password=PASSWORD)
    sign_in("fay", "wrong-1"), sign_in("fay", "wrong-2")
    for _ in range(5):
        assert sign_in("fay", "wrong-again").status_code == 429
    assert Attempt.objects.filter(subject="fay").count() == 2


def test_a_successful_sign_in_forgets_its_attempt(db, settings):
    settings.STAFF_SIGN_IN_FAILURES = 2
    do_create_user("fay", password=PASSWORD)
    for _ in range(4):
        assert sign_in("fay", PASSWORD).status_code == 302
    assert sign_in("fay", "wrong").status_code == 200
    assert sign_in("fay", PASSWORD).status_code == 302


def test_one_address_trying_many_usernames_is_stopped(db, settings):
    settings.STAFF_SIGN_IN_FAILURES = 2  # 4x per address: 8
    do_create_user("fay", password=PASSWORD)
    for i in range(8):
        assert sign_in(f"guess-{i}", "wrong", ip="198.51.100.66").status_code == 200
    assert sign_in("fay", PASSWORD, ip="198.51.100.66").status_code == 429
    assert sign_in("fay", PASSWORD, ip="198.51.100.67").status_code == 302


def test_the_admin_sign_in_goes_through_the_limited_page(db):
    response = Client().get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    rep = do_create_user("rep", password=PASSWORD)
    client = Client()
    client.force_login(rep)
    assert client.get("/admin/login/").status_code == 403  # not staff: no loop between the two pages
    admin = do_create_user("boss", role="admin", password=PASSWORD)
    client.force_login(admin)
    assert client.get("/admin/login/?next=/admin/accounts/").headers["Location"] == "/admin/accounts/"
