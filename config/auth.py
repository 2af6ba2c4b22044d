"""API authentication: a Bearer token per user, or the browser session.

Tokens are stored as SHA-256 digests (accounts.models.hash_token), so a
leaked database does not leak usable tokens; authentication is a single
indexed lookup. ``last_used_at`` is written at most once a minute per token
(a conditional UPDATE), so reads do not turn into writes.
"""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from ninja.security import HttpBearer

from accounts.models import ApiToken, hash_token


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        if not token or len(token) > 200:
            return None
        row = ApiToken.objects.select_related("user", "user__team").filter(key_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=1):
            ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(minutes=1)), id=row.id).update(
                last_used_at=now
            )
        request.user = row.user
        return row.user
