"""Helpers for the web UI's view tests: signed-in clients, data makers, and
parsers that pull rows, titles and links out of rendered pages."""
from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.test import Client

from accounts.models import User
from conftest import at


HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE_SIZE = settings.UI_PAGE_SIZE
RECORD_TYPES = ("organization", "contact", "deal")
PLURAL = {"organization": "organizations", "contact": "contacts", "deal": "deals"}




# --- helpers ------------------------------------------------------------


def browser(persona) -> Client:
    """A browser signed in as the persona."""
    client = Client()
    client.force_login(persona.user)
    return client


def text(response) -> str:
    return response.content.decode()


def record_path(record_type: str, record_id: int, suffix: str = "") -> str:
    return f"/{PLURAL[record_type]}/{record_id}/{suffix}"


def log(api, kind: str, when: str, subject: str, status: str | None = None, **fields) -> int:
    """Record one touchpoint through the API; ``when`` as for conftest.at."""
    body = {"kind": kind, "occurred_at": at(when), "subject": subject, **fields}
    if status:
        body["status"] = status
    response = api.post("touchpoints", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def log_calls(api, count: int, *, start: str = "2024-02-01 00:00", prefix: str = "Call", **links) -> list[int]:
    """``count`` completed calls one minute apart through the batch API."""
    base = datetime.fromisoformat(start).replace(tzinfo=UTC)
    items = [
        {"kind": "phone_call", "status": "completed", "occurred_at": (base + timedelta(minutes=i)).isoformat(), "subject": f"{prefix} {i:03d}", **links}
        for i in range(count)
    ]
    body = api.post("touchpoints/batch", {"items": items}).json()
    assert body["created"] == count, body
    return [r["id"] for r in body["results"]]


def timeline_rows(page: str) -> list[tuple[str, int]]:
    """(kind, touchpoint id) of each Activity row, top to bottom."""
    return [(kind, int(tp_id)) for kind, tp_id in re.findall(r'<li class="tp" data-kind="([^"]+)" data-id="(\d+)"', page)]


def timeline_titles(page: str) -> list[str]:
    return re.findall(r'<span class="tp-title">([^<]*)</span>', page)


def load_more_url(page: str) -> str | None:
    match = re.search(r'<li class="load-more" hx-get="([^"]+)" hx-trigger="revealed"', page)
    return html.unescape(match.group(1)) if match else None


def next_page_url(page: str) -> str | None:
    match = re.search(r'<a class="button" rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def table_links(page: str, record_type: str) -> list[str]:
    """Names in a list page's first column, top to bottom."""
    return [html.unescape(n) for n in re.findall(rf'<td><a href="/{PLURAL[record_type]}/\d+/">([^<]+)</a></td>', page)]


def section(page: str, heading_id: str) -> str:
    """The dashboard section whose heading has ``heading_id``, up to the next section."""
    start = page.index(f'id="{heading_id}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def up_next_item(page: str, kind: str, item_id: int) -> str | None:
    match = re.search(rf'<li class="([^"]*)" data-testid="up-next-{kind}-{item_id}">', page)
    return match.group(1) if match else None


def reload(user: User) -> User:
    return User.objects.get(id=user.id)


def make_event(api, subject: str, start: datetime, *, hours: float = 1, **fields) -> int:
    body = {"subject": subject, "start_at": start.isoformat(), "end_at": (start + timedelta(hours=hours)).isoformat(), **fields}
    response = api.post("events", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def make_task(api, title: str, due: date, **fields) -> int:
    response = api.post("tasks", {"title": title, "due_date": due.isoformat(), **fields})
    assert response.status_code == 201, response.content
    return response.json()["id"]
