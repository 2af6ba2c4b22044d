"""Rate limits over a sliding window, counted in the database (accounts.Attempt).

The portal's sign-in limit (portal.services.check_rate_limit) is the same
pattern: an attempt is recorded *before* the expensive or guessable step and
counted with the ones before it, so requests sent in parallel count each
other; a staff sign-in that succeeds forgets its attempt. In the database,
so every web process and server counts the same attempts.

- Staff sign-in (/login/, and the Django admin's sign-in, which redirects
  there): STAFF_SIGN_IN_FAILURES failures per username, and four times that
  per client IP (an office behind one address has several people), within
  STAFF_SIGN_IN_WINDOW_MINUTES. Past it every attempt gets 429, even with
  the right password, until the oldest failure leaves the window.
- Token creation (POST /api/v1/tokens): TOKEN_CREATIONS_PER_WINDOW per user
  within TOKEN_CREATION_WINDOW_MINUTES, 429 with Retry-After.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Attempt, AttemptKind
from config.errors import ServiceError


class RateLimited(ServiceError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def record(kind: str, subject: str, ip: str | None) -> Attempt:
    return Attempt.objects.create(kind=kind, subject=subject[:150], ip=ip, at=timezone.now())


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    """Seconds until the oldest counted attempt leaves the window (and the
    count drops below the limit again)."""
    if oldest is None:
        return int(window.total_seconds())
    return math.ceil((oldest + window - now).total_seconds())


def _over(kind: str, limit: int, window: timedelta, *, over: int = 0, **match) -> int | None:
    """Retry-After seconds when the attempts matching ``match`` in the
    window reach ``limit`` (not counting ``over`` just recorded for this
    request), else None."""
    now = timezone.now()
    attempts = Attempt.objects.filter(kind=kind, at__gt=now - window, **match)
    counted = attempts.count() - over
    if counted < limit:
        return None
    # A place frees up when the (counted - limit + 1)-th oldest leaves the window.
    excess = counted - limit
    oldest = attempts.order_by("at").values_list("at", flat=True)[excess : excess + 1].first()
    return _retry_after(oldest, window, now)


def sign_in_window() -> timedelta:
    return timedelta(minutes=settings.STAFF_SIGN_IN_WINDOW_MINUTES)


def check_sign_in(username: str, ip: str | None, *, over: int = 0) -> None:
    window, limit = sign_in_window(), settings.STAFF_SIGN_IN_FAILURES
    waits = [_over(AttemptKind.SIGN_IN, limit, window, over=over, subject=username[:150])]
    if ip:
        waits.append(_over(AttemptKind.SIGN_IN, 4 * limit, window, over=over, ip=ip))
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        minutes = math.ceil(wait / 60)
        raise RateLimited(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.", wait)


def check_token_creation(user_id: int, *, over: int = 0) -> None:
    window = timedelta(minutes=settings.TOKEN_CREATION_WINDOW_MINUTES)
    wait = _over(AttemptKind.TOKEN, settings.TOKEN_CREATIONS_PER_WINDOW, window, over=over, subject=str(user_id))
    if wait is not None:
        raise RateLimited(
            f"Too many tokens created: at most {settings.TOKEN_CREATIONS_PER_WINDOW} every "
            f"{settings.TOKEN_CREATION_WINDOW_MINUTES} minutes. Try again in {wait} seconds.",
            wait,
        )


def purge_old_attempts() -> int:
    """Attempts older than every window are no longer counted by anything."""
    longest = max(settings.STAFF_SIGN_IN_WINDOW_MINUTES, settings.TOKEN_CREATION_WINDOW_MINUTES)
    return Attempt.objects.filter(at__lt=timezone.now() - timedelta(minutes=longest)).delete()[0]
