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


class ApiToken(models.Model):
    PREFIX = "tp_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="First characters, to tell tokens apart")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def new_raw_token(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

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
