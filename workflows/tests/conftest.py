"""Fixtures for workflow tests: a workflow made through the API, running
a run the way the worker does, and a loopback HTTP receiver for webhooks."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflows.models import WorkflowRun

HOST = "127.0.0.1"


def make_workflow(api, **fields) -> dict:
    body = {"name": "Follow up", "record_type": "deal", "trigger": "record_created", "actions": [{"type": "notify", "params": {"title": "New deal"}}], **fields}
    response = api.post("workflows", body)
    assert response.status_code == 201, response.content
    return response.json()


def locs(response) -> list[str]:
    assert response.status_code == 422, response.content
    return [".".join(map(str, e["loc"])) for e in response.json()["detail"]]


def runs_of(workflow_id: int) -> list[WorkflowRun]:
    return list(WorkflowRun.objects.filter(workflow_id=workflow_id).order_by("id"))


@pytest.fixture
def wf(admin):
    return lambda **fields: make_workflow(admin, **fields)


class Receiver:
    """A webhook receiver on loopback: records each request; answers the
    statuses queued with ``fail_next`` first, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.failures: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.failures.pop(0) if receiver.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)

    def json(self, i: int) -> dict:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver(monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name, ""), HOST, "localhost"])))
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()
