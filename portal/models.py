"""The customer portal's accounts, links and sessions.

A ``PortalAccount`` lets one contact sign in at /portal/ with an email
address and a password (argon2-hashed), set through an emailed invitation,
or with a one-time sign-in link (``PortalToken``, stored as SHA-256 like API
tokens). Each sign-in is a ``PortalSession`` with its own cookie, apart from
staff sessions; its start and its end (sign-out, expiry, revoked access) are
touchpoints of kind ``portal_login`` / ``portal_logout`` on the contact,
each recorded exactly once (portal.services).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q


class PortalAccount(models.Model):
    contact = models.OneToOneField("crm.Contact", on_delete=models.CASCADE, related_name="portal_account")
    # The sign-in address, lower-cased; one account per address.
    email = models.CharField(max_length=254, unique=True)
    # A Django password hash (argon2); empty until the invitation is accepted.
    password = models.CharField(max_length=256, blank=True)
    is_active = models.BooleanField(default=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.email


class TokenPurpose(models.TextChoices):
    INVITATION = "invitation"  # set a password (and sign in)
    SIGN_IN = "sign_in"  # sign in once, without a password


class PortalToken(models.Model):
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=12, choices=TokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Set by the one conditional UPDATE that consumes it: a link works once.
    used_at = models.DateTimeField(null=True, blank=True)


class EndReason(models.TextChoices):
    LOGOUT = "logout", "Signed out"
    EXPIRED = "expired", "Session expired"
    REVOKED = "revoked", "Access revoked"


class PortalSession(models.Model):
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="sessions")
    # SHA-256 of the cookie's value; the value itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Idle deadline (slides with use), never past ``started_at`` + the maximum lifetime.
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=10, choices=EndReason.choices, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            # The expiry sweep: live sessions by deadline.
            models.Index(fields=["expires_at"], condition=Q(ended_at__isnull=True), name="portalsession_live_idx"),
            models.Index(fields=["account", "-started_at"], name="portalsession_account_idx"),
        ]


class AttemptKind(models.TextChoices):
    PASSWORD = "password"  # a failed password sign-in
    LINK = "link"  # a sign-in link asked for


class SignInAttempt(models.Model):
    """A failed password sign-in or a sign-in link request, counted for the
    rate limit by address and by client IP over a sliding window
    (portal.services.check_rate_limit), each kind on its own: someone
    guessing a customer's password cannot stop them getting a link, and
    someone asking for links cannot lock their password out. In the
    database so every web process counts the same attempts."""

    kind = models.CharField(max_length=10, choices=AttemptKind.choices, default=AttemptKind.PASSWORD)
    email = models.CharField(max_length=254)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "email", "at"], name="signin_email_idx"), models.Index(fields=["kind", "ip", "at"], name="signin_ip_idx")]
