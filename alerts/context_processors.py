"""The bell in the top bar: the signed-in user's unread count."""
from __future__ import annotations

from functools import cached_property

from alerts.queries import unread_count


class Bell:
    """Counted only when a page renders the bell (one indexed COUNT), so
    htmx fragments and redirects cost nothing."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self.user) if self.user.is_authenticated else 0


def bell(request) -> dict:
    return {"bell": Bell(request.user)} if hasattr(request, "user") else {}
