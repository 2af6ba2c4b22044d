"""A loopback stand-in for the providers' REST APIs, so no test leaves the
machine: a tiny HTTP server on 127.0.0.1 (stdlib ``http.server`` in a
thread) answering just what the adapters call, the way the real APIs do.

* Twilio ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` and
  ``.../Calls.json`` (form-encoded; 201 with a Message / Call resource,
  ``sid`` "SM..."/"CA...", ``status`` "queued"). Errors in Twilio's shape:
  ``{"code", "message", "more_info", "status"}``.
* Plivo ``POST /v1/Account/{auth_id}/Message/`` (202, ``message_uuid``
  list, "message(s) queued") and ``.../Call/`` (201, ``request_uuid``,
  "call fired"), JSON bodies. Errors in Plivo's shape: ``{"api_id",
  "error"}``.

Both check HTTP Basic auth the way the APIs do: the user must be the account
in the path (else 401); with ``standin.tokens[account] = token`` the
password is checked too.

Use it as a fixture (import it into a test module, or load this module with
``pytest_plugins`` / ``-p telephony.tests.standin``)::

    def test_send(provider_standin):
        creds = Credentials("AC...", "token", api_base=provider_standin.base_url)
        ...
        [req] = provider_standin.requests
        assert req.path.endswith("/Messages.json") and req.form["To"] == "+1..."
        provider_standin.fail_next(400, {"code": 21211, "message": "Invalid 'To'"})

Every request is recorded (:class:`RecordedRequest`: method, path, query,
headers, raw body, parsed form or JSON, Basic auth pair), including failed
ones. ``fail_next(status, body, times=1)`` answers the next request(s) with
that status and body (a dict is sent as JSON) instead.
"""
from __future__ import annotations

import base64
import json
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

HOST = "127.0.0.1"

TWILIO_RESOURCE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<resource>Messages|Calls)\.json$")
PLIVO_RESOURCE = re.compile(r"^/v1/Account/(?P<account>[^/]+)/(?P<resource>Message|Call)/$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    headers: dict[str, str]
    body: bytes
    form: dict = field(default_factory=dict)  # form-encoded fields (str, or list when repeated)
    json: object = None  # parsed JSON body
    auth: tuple[str, str] | None = None  # HTTP Basic (user, password)

    @property
    def data(self) -> dict:
        """The fields, whichever the encoding (Twilio: form, Plivo: JSON)."""
        return self.json if isinstance(self.json, dict) else self.form


@dataclass
class _Failure:
    status: int
    body: object
    times: int


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _fields(body: bytes) -> dict:
    parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


class ProviderStandin:
    def __init__(self, host: str = HOST):
        self.requests: list[RecordedRequest] = []
        self.tokens: dict[str, str] = {}
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "provider-standin/1"

            def log_message(self, format, *args):  # quiet
                pass

            def do_POST(self):
                standin._handle(self)

            def do_GET(self):
                standin._handle(self)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="provider-standin", daemon=True
        )

    # --- control ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ProviderStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ProviderStandin:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next(self, status: int, body: object = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and ``body``."""
        with self._lock:
            self._failures.append(_Failure(status, body, times))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # --- serving --------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        recorded = RecordedRequest(
            method=handler.command,
            path=split.path,
            query=_fields(split.query.encode()),
            headers={k: v for k, v in handler.headers.items()},
            body=body,
            auth=_basic_auth(handler.headers.get("Authorization")),
        )
        if content_type == "application/x-www-form-urlencoded":
            recorded.form = _fields(body)
        elif content_type == "application/json" and body:
            try:
                recorded.json = json.loads(body)
            except ValueError:
                recorded.json = None
        with self._lock:
            self.requests.append(recorded)
            failure = self._failures[0] if self._failures else None
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.pop(0)
        if failure is not None:
            return _send(handler, failure.status, failure.body)
        status, payload = self._route(recorded)
        _send(handler, status, payload)

    def _route(self, req: RecordedRequest) -> tuple[int, object]:
        twilio = TWILIO_RESOURCE.match(req.path)
        if twilio:
            if req.method != "POST":
                return 405, _twilio_error(405, 20004, "Method not allowed")
            if not self._authorized(req, twilio["account"]):
                return 401, _twilio_error(401, 20003, "Authenticate")
            if twilio["resource"] == "Messages":
                return 201, _twilio_message(twilio["account"], req.form)
            return 201, _twilio_call(twilio["account"], req.form)
        plivo = PLIVO_RESOURCE.match(req.path)
        if plivo:
            if req.method != "POST":
                return 405, {"api_id": str(uuid.uuid4()), "error": "method not allowed"}
            if not self._authorized(req, plivo["account"]):
                return 401, {"api_id": str(uuid.uuid4()), "error": "Authentication failed"}
            data = req.json if isinstance(req.json, dict) else {}
            if plivo["resource"] == "Message":
                if not data.get("dst") or not (data.get("text") or data.get("media_urls")):
                    return 400, {"api_id": str(uuid.uuid4()), "error": "dst and text are required"}
                return 202, {"api_id": str(uuid.uuid4()), "message": "message(s) queued", "message_uuid": [str(uuid.uuid4())]}
            if not (data.get("from") and data.get("to") and data.get("answer_url")):
                return 400, {"api_id": str(uuid.uuid4()), "error": "from, to and answer_url are required"}
            return 201, {"api_id": str(uuid.uuid4()), "message": "call fired", "request_uuid": str(uuid.uuid4())}
        return 404, _twilio_error(404, 20404, f"The requested resource {req.path} was not found")

    def _authorized(self, req: RecordedRequest, account: str) -> bool:
        if req.auth is None or req.auth[0] != account:
            return False
        expected = self.tokens.get(account)
        return expected is None or req.auth[1] == expected


def _basic_auth(value: str | None) -> tuple[str, str] | None:
    if not value or not value.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:].strip()).decode("utf-8").partition(":")
    except ValueError:
        return None
    return user, password


def _send(handler: BaseHTTPRequestHandler, status: int, payload: object) -> None:
    if payload is None:
        data, content_type = b"", "text/plain"
    elif isinstance(payload, (bytes, str)):
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        content_type = "text/plain; charset=utf-8"
    else:
        data, content_type = json.dumps(payload).encode("utf-8"), "application/json"
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=True).replace("GMT", "+0000")


def _twilio_error(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def _twilio_message(account: str, form: dict) -> dict:
    sid = _sid("SM")
    uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": _now(),
        "date_sent": None,
        "date_updated": _now(),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": form.get("To"),
        "uri": uri,
    }


def _twilio_call(account: str, form: dict) -> dict:
    sid = _sid("CA")
    uri = f"/2010-04-01/Accounts/{account}/Calls/{sid}.json"
    return {
        "account_sid": account,
        "annotation": None,
        "answered_by": None,
        "api_version": "2010-04-01",
        "caller_name": None,
        "date_created": _now(),
        "date_updated": _now(),
        "direction": "outbound-api",
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": form.get("From"),
        "from_formatted": form.get("From"),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": _sid("PN"),
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": None,
        "status": "queued",
        "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
        "to": form.get("To"),
        "to_formatted": form.get("To"),
        "trunk_sid": None,
        "uri": uri,
    }


@pytest.fixture
def provider_standin(monkeypatch):
    """A started :class:`ProviderStandin` (``.base_url``, ``.requests``,
    ``.fail_next(status, body)``), stopped after the test. Loopback is
    added to NO_PROXY so a proxy in the environment never sees its traffic."""
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, HOST, "localhost"])))
    with ProviderStandin() as standin:
        yield standin
