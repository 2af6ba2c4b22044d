"""Web security (issue #10, docs/security.md "Web security"): security
headers on pages and API answers, HSTS only over TLS, cookie flags, argon2
password hashes, and 413 for request bodies over their limit (by
Content-Length, by Django's in-memory limit, and chunked through gunicorn)."""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from config.security import RequestSizeLimitMiddleware, body_limit

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-enough-password"


@pytest.fixture
def document_storage(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    return root


def _csp(response) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in response["Content-Security-Policy"].split(";") if d.strip()}


# --- headers ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/api/v1/organizations", "/portal/login/", "/admin/login/", "/healthz"])
def test_pages_and_api_answers_carry_the_security_headers(client, url):
    response = client.get(url)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = _csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "Strict-Transport-Security" not in response  # plain HTTP


@pytest.mark.django_db
def test_a_document_download_keeps_its_own_sandboxing_policy(alice, document_storage):
    upload = SimpleUploadedFile("page.html", b"<html><script>alert(1)</script></html>", content_type="text/html")
    document = alice.client.post("/api/v1/documents", {"file": upload}).json()
    response = alice.client.get(f"/api/v1/documents/{document['id']}")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.django_db
def test_hsts_only_on_requests_that_came_over_tls(client):
    assert "Strict-Transport-Security" not in client.get("/login/")
    assert client.get("/login/", secure=True)["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.django_db
def test_behind_a_proxy_its_https_header_counts_as_tls_when_configured(client, settings):
    assert "Strict-Transport-Security" not in client.get("/login/", HTTP_X_FORWARDED_PROTO="https")  # not trusted by default
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert "Strict-Transport-Security" in client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in client.get("/login/", HTTP_X_FORWARDED_PROTO="http")


def test_settings_read_the_proxy_header_from_the_environment():
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER, settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https", "SECURE_HSTS_SECONDS": "60", "COOKIE_SECURE": "false"}
    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["('HTTP_X_FORWARDED_PROTO',", "'https')", "60", "False"]
    env["SECURE_PROXY_SSL_HEADER"] = "X-Forwarded-Proto"
    failed = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "SECURE_PROXY_SSL_HEADER must look like" in failed.stderr


def test_templates_have_no_inline_script():
    """The CSP refuses inline script: no <script> without src (JSON data
    blocks excepted), no on*= handlers, no htmx hx-on (it evaluates
    strings), no javascript: URLs in any template."""
    offenders = []
    for template in ROOT.glob("*/templates/**/*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, re.I):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.relative_to(ROOT)}: {tag}")
        for found in re.findall(r"""\s(on[a-z]+=|hx-on[:\w-]*=)|javascript:""", text, re.I):
            offenders.append(f"{template.relative_to(ROOT)}: {found or 'javascript:'}")
    assert offenders == []


# --- cookies and passwords ---------------------------------------------------------


@pytest.fixture
def staff(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save(update_fields=["password"])
    return alice.user


def _sign_in(client: Client, username: str) -> object:
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    return client.post("/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})


def test_session_and_csrf_cookies_are_secure_http_only_and_lax(staff):
    client = Client(enforce_csrf_checks=True)
    csrf = client.get("/login/").cookies["csrftoken"]
    assert (csrf["httponly"], csrf["secure"], csrf["samesite"]) == (True, True, "Lax")
    response = _sign_in(client, staff.username)
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert (session["httponly"], session["secure"], session["samesite"]) == (True, True, "Lax")


def test_the_csrf_token_reaches_htmx_through_the_page_not_the_cookie(staff):
    client = Client(enforce_csrf_checks=True)
    _sign_in(client, staff.username)
    page = client.get("/").content.decode()
    token = re.search(r"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""", page).group(1)
    # What htmx sends: the header from the page, the (HttpOnly) cookie by the browser.
    assert client.post("/logout/", HTTP_HX_REQUEST="true").status_code == 403
    assert client.post("/logout/", HTTP_X_CSRFTOKEN=token).status_code == 302


def test_plain_http_installs_turn_secure_cookies_off(staff, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    client = Client()
    assert client.get("/login/").cookies["csrftoken"]["secure"] == ""
    assert _sign_in(client, staff.username).cookies["sessionid"]["secure"] == ""


def test_passwords_are_hashed_with_argon2(staff):
    assert staff.password.startswith("argon2$argon2id$")
    assert staff.check_password(PASSWORD)


def test_an_old_pbkdf2_hash_still_signs_in_and_becomes_argon2(staff):
    staff.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    staff.save(update_fields=["password"])
    assert staff.password.startswith("pbkdf2_sha256$")
    assert _sign_in(Client(), staff.username).status_code == 302
    staff.refresh_from_db()
    assert staff.password.startswith("argon2$argon2id$")
    assert staff.check_password(PASSWORD)


# --- 413 ---------------------------------------------------------------------------


@pytest.fixture
def small_limit(settings):
    settings.REQUEST_MAX_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    return 4096


def test_an_api_body_over_the_limit_is_413_json_naming_the_body(alice, small_limit):
    response = alice.post("organizations", {"name": "x" * small_limit})
    assert response.status_code == 413
    assert response.json() == {
        "detail": [{"loc": ["body"], "msg": f"The request body is {small_limit + 12} bytes; at most {small_limit} bytes are accepted here (REQUEST_MAX_BYTES).", "type": "too_large"}]
    }
    assert alice.post("organizations", {"name": "Grasspods"}).status_code == 201


@pytest.mark.django_db
def test_a_page_body_over_the_limit_is_a_plain_413(client, small_limit):
    response = client.post("/login/", {"username": "x" * small_limit, "password": "y"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain") and b"413 Request body too large" in response.content


def test_form_fields_over_the_memory_limit_on_an_upload_route_are_413_not_400(alice, small_limit, document_storage):
    """The upload route takes DOCUMENT_MAX_BYTES more, for the file: its
    other fields still may not pass what Django reads into memory."""
    upload = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    response = alice.client.post("/api/v1/documents", {"file": upload, "title": "t" * (small_limit + 10)})
    assert response.status_code == 413
    assert response.json()["detail"][0]["type"] == "too_large"


def test_a_raw_email_may_be_larger_than_the_request_limit_up_to_its_own(alice, small_limit, settings):
    message = b"From: carol@grasspods.example\r\nTo: alice@example.com\r\nSubject: Deck\r\nMessage-ID: <deck@grasspods.example>\r\n\r\n" + b"slide\r\n" * 2000
    assert small_limit < len(message)
    response = alice.client.post("/api/v1/emails/raw", message, content_type="message/rfc822")
    assert response.status_code in (200, 201), response.content
    settings.MAX_RAW_EMAIL_BYTES = len(message) - 1
    response = alice.client.post("/api/v1/emails/raw", message, content_type="message/rfc822")
    assert response.status_code == 413
    assert "MAX_RAW_EMAIL_BYTES" in response.json()["detail"][0]["msg"]


@pytest.mark.django_db
def test_upload_routes_get_their_own_limit_plus_room_for_the_other_fields(settings):
    settings.REQUEST_MAX_BYTES, settings.DOCUMENT_MAX_BYTES, settings.IMPORT_MAX_BYTES, settings.MAX_RAW_EMAIL_BYTES = 10, 100, 1000, 50
    assert body_limit("/api/v1/organizations") == (10, "REQUEST_MAX_BYTES")
    assert body_limit("/api/v1/documents") == (110, "DOCUMENT_MAX_BYTES")
    assert body_limit("/deals/7/documents") == (110, "DOCUMENT_MAX_BYTES")
    assert body_limit("/api/v1/imports") == (1010, "IMPORT_MAX_BYTES")
    assert body_limit("/imports/new") == (1010, "IMPORT_MAX_BYTES")
    assert body_limit("/api/v1/emails/raw") == (50, "MAX_RAW_EMAIL_BYTES")
    assert body_limit("/hooks/sendgrid/events") == (10, "REQUEST_MAX_BYTES")


def _chunked_request(body: bytes):
    return RequestFactory().generic(
        "POST", "/api/v1/organizations", **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""}
    )


def test_a_chunked_body_under_the_limit_becomes_the_request_body(small_limit):
    seen = []
    middleware = RequestSizeLimitMiddleware(lambda request: seen.append(request.body) or "passed on")
    assert middleware(_chunked_request(b"a" * small_limit)) == "passed on"
    assert seen == [b"a" * small_limit]


def test_a_chunked_body_over_the_limit_is_413_before_the_view(small_limit):
    middleware = RequestSizeLimitMiddleware(lambda request: pytest.fail("the view must not run"))
    response = middleware(_chunked_request(b"a" * (small_limit + 1)))
    assert response.status_code == 413


# --- through real sockets -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_live_server_answers_413_before_the_body_is_sent(live_server, settings):
    """Only the headers are sent: the answer comes without the server
    waiting for (or reading) 50 MB."""
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /api/v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{")
        response = http.client.HTTPResponse(connection)
        response.begin()
        assert response.status == 413
        assert json.loads(response.read())["detail"][0]["type"] == "too_large"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn (the production server, which decodes chunked bodies) with
    a 4 KiB request limit."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL", "HUEY_URL")}
    env.update(TOUCHPOINTS_VAR_DIR=str(tmp_path / "var"), REQUEST_MAX_BYTES="4096", DJANGO_SETTINGS_MODULE="config.settings")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--config", "python:config.gunicorn"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.stdout.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def _post_chunked(port: int, path: str, chunks: list[bytes], headers: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
    response = connection.getresponse()
    return response.status, response.read()


def test_gunicorn_chunked_bodies_are_limited_too(gunicorn):
    status, body = _post_chunked(gunicorn, "/api/v1/organizations", [b"x" * 1000] * 5, {"Content-Type": "application/json"})
    assert status == 413
    assert json.loads(body)["detail"][0]["msg"] == "The request body is over the limit; at most 4096 bytes are accepted here (REQUEST_MAX_BYTES)."


def test_gunicorn_chunked_bodies_under_the_limit_are_read(gunicorn):
    """The CSRF token is only in the chunked body: sign-out (no database
    needed) passes the CSRF check only if Django read that body."""
    secret = "a" * 32
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={secret}"}
    assert _post_chunked(gunicorn, "/logout/", [b"csrfmiddleware", f"token={secret}".encode()], form)[0] == 302
    assert _post_chunked(gunicorn, "/logout/", [b"nothing=here"], form)[0] == 403


# --- in a real browser: the policy blocks nothing the pages need ------------------------


@pytest.mark.slow
def test_the_admin_works_under_the_policy(page, alice):
    """The ``page`` fixture fails the test on any CSP violation the browser
    reports (web/tests/browser.py)."""
    from web.tests.browser import sign_in

    alice.post("organizations", {"name": "Grasspods"})
    alice.user.is_staff = alice.user.is_superuser = True
    alice.user.save(update_fields=["is_staff", "is_superuser"])
    sign_in(page, alice.user)
    page.goto("/admin/")
    page.get_by_role("link", name="Organizations").first.click()
    page.get_by_role("link", name="Grasspods").click()
    page.wait_for_load_state("load")
    assert "Grasspods" in page.content()
    page.goto("/admin/accounts/user/")
    page.get_by_role("link", name="alice").first.click()
    page.wait_for_load_state("load")


@pytest.mark.slow
def test_a_browser_keeps_the_secure_cookies_over_plain_http_on_127_0_0_1(page, live_server, staff):
    """`./dev run` serves http://127.0.0.1:8000 with Secure cookies: the
    browser treats loopback as a secure context and keeps them, so signing
    in works there without COOKIE_SECURE=false."""
    base = live_server.url.replace("localhost", "127.0.0.1")
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    assert page.url.startswith(base)
    cookies = {c["name"]: c for c in page.context.cookies(base)}
    assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"]
    page.goto(f"{base}/contacts/")
    assert "/login/" not in page.url
