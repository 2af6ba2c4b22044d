"""Users, teams and API tokens."""
import hashlib
import secrets
import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    # CIDR ranges the team's members may sign in and use the API from
    # (accounts.network); empty = anywhere. A member's own list, when set,
    # replaces this one.
    allowed_ips = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REP = "rep", "Sales rep"


class User(AbstractUser):
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # E.164; the phone click-to-call rings first (telephony.services.do_start_call).
    phone = models.CharField(max_length=20, blank=True)
    # CIDR ranges this user may sign in and use the API from; empty = their
    # team's ranges (accounts.network.effective_ranges).
    allowed_ips = models.JSONField(default=list, blank=True)

    @property
    def sees_everything(self) -> bool:
        # Admins and managers see every record (issue #2, Permissions).
        return self.role in (Role.ADMIN, Role.MANAGER) or self.is_superuser

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough: there is
    # nothing to brute-force, and authentication stays one indexed lookup.
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiToken(models.Model):
    """A Bearer token. Only its SHA-256 is stored; ``hint`` (the first
    characters, "tp_" and 7 random ones) tells tokens apart in lists.
    Revoking sets ``revoked_at`` instead of deleting the row, so the list
    still shows what existed and when it stopped working."""

    PREFIX = "tp_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="First characters, to tell tokens apart")
    # Tokens from before scopes existed could write: they stay "write".
    scope = models.CharField(max_length=5, choices=TokenScope.choices, default=TokenScope.WRITE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def new_raw_token(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def __str__(self) -> str:
        return f"{self.user} {self.name} ({self.hint}…)"


class Preference(models.Model):
    """Per-user choices the web UI remembers (one row per user, created on
    first change). Missing row = defaults: every kind shown, idle threshold
    from the IDLE_DEAL_DAYS setting."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="preference")
    # Kinds the user turned off in the Activity filter. Stored as the ones
    # hidden, not the ones shown, so a kind added later shows by default.
    hidden_kinds = models.JSONField(default=list, blank=True)
    idle_deal_days = models.PositiveSmallIntegerField(null=True, blank=True)


class AttemptKind(models.TextChoices):
    SIGN_IN = "sign_in", "Failed staff sign-in"
    TOKEN = "token", "API token created"


class Attempt(models.Model):
    """One event counted by a rate limit over a sliding window
    (accounts.ratelimit): a failed staff sign-in (by username and client IP)
    or a token creation (by user). The portal's SignInAttempt pattern: rows in
    the database, so every web process counts the same attempts; old rows are
    swept by accounts.tasks."""

    kind = models.CharField(max_length=10, choices=AttemptKind.choices)
    subject = models.CharField(max_length=150)  # a username, or a user id
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["kind", "subject", "at"], name="attempt_subject_idx"),
            models.Index(fields=["kind", "ip", "at"], name="attempt_ip_idx"),
        ]
