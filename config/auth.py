"""API authentication: a Bearer token per user, or the browser session.

Tokens are stored as SHA-256 digests (accounts.models.hash_token), so a
leaked database does not leak usable tokens; authentication is a single
indexed lookup (with the user and their team, which the IP restriction
reads). ``last_used_at`` is written at most once a minute per token (a
conditional UPDATE), so reads do not turn into writes.

What a token may do (docs/security.md):
- unknown, revoked or expired: 401 (the last two say so);
- the user's IP restriction refuses the client's address: 403;
- a read-only token on anything but GET/HEAD/OPTIONS: 403, before the
  request body is even parsed.
The browser session (ninja's django_auth) gets its IP check in
accounts.middleware.IpRestrictionMiddleware, before any view runs.

Failed token attempts are not rate-limited per IP: a token carries 256
random bits, so guessing one is hopeless whatever the rate, and counting
failures would cost a database write per bad request and let one broken
script behind an office's address lock its colleagues out.
"""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from ninja.security import HttpBearer

from accounts import network
from accounts.models import ApiToken, TokenScope, hash_token
from config.errors import Forbidden, ServiceError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class TokenRefused(ServiceError):
    """A token that was real but no longer works: 401 saying why."""

    status = 401


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        if not token or len(token) > 200:
            return None
        row = ApiToken.objects.select_related("user", "user__team").filter(key_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.revoked_at is not None:
            raise TokenRefused("This API token was revoked.")
        if row.expires_at is not None and row.expires_at <= now:
            raise TokenRefused("This API token has expired.")
        ip = network.client_ip(request)
        if not network.ip_allowed(row.user, ip):
            raise Forbidden(network.refusal(ip))
        if row.scope != TokenScope.WRITE and request.method not in SAFE_METHODS:
            raise Forbidden("This API token is read-only: it may only read (GET).")
        if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=1):
            ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(minutes=1)), id=row.id).update(
                last_used_at=now
            )
        request.user = row.user
        request.api_token = row  # POST /tokens applies the minting rules to it (accounts.services.check_new_token)
        return row.user
