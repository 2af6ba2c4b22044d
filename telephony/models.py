"""Calls and text messages from telephony providers (Twilio, Plivo).

``Call`` and ``Sms`` are the channel's own log: every call, including the
busy and unanswered ones that are not touchpoints, and every message with
its provider status and error code. A call becomes a touchpoint when it
ends (its status is final); a message is one from the start (a dispatched
SMS already counts as contact). ``WebhookEvent`` keeps every verified
provider request as it came, before it is processed, so a crash between
the two loses nothing and a repeat is recognized.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from touchpoints.models import Touchpoint


class Provider(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    PLIVO = "plivo", "Plivo"


class ProviderAccount(models.Model):
    """Credentials an admin set for one provider. The auth token is stored
    encrypted (config.crypto)."""

    provider = models.CharField(max_length=10, choices=Provider.choices, unique=True)
    account_id = models.CharField(max_length=100, help_text="Twilio Account SID / Plivo Auth ID")
    auth_token_encrypted = models.TextField()
    from_number = models.CharField(max_length=20, help_text="E.164 number calls and SMS go out from")
    # Empty: the provider's own API. Set for a regional edge or a test stand-in.
    api_base = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # The provider used for sending and click-to-call when several are set.
    is_default = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_provider_display()


class WebhookKind(models.TextChoices):
    VOICE_STATUS = "voice-status"
    SMS_STATUS = "sms-status"
    SMS_INBOUND = "sms-inbound"


class WebhookEvent(models.Model):
    provider = models.CharField(max_length=10, choices=Provider.choices)
    kind = models.CharField(max_length=12, choices=WebhookKind.choices)
    # Twilio's I-Twilio-Idempotency-Token / Plivo's signature nonce: the
    # same delivery retried carries the same key and is stored once.
    replay_key = models.CharField(max_length=200, null=True, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "replay_key"], condition=Q(replay_key__isnull=False), name="webhookevent_replay_uniq")
        ]
        indexes = [models.Index(fields=["id"], condition=Q(processed_at__isnull=True), name="webhookevent_pending_idx")]


class CallStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    HANGUP = "hangup", "Hangup"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "No Answer"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class Call(models.Model):
    provider = models.CharField(max_length=10)  # twilio | plivo | manual
    provider_call_id = models.CharField(max_length=100)
    direction = models.CharField(max_length=10)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32)
    status = models.CharField(max_length=12, choices=CallStatus.choices)
    provider_status = models.CharField(max_length=40, blank=True)
    # Orders statuses so a late callback never moves a call backwards
    # (telephony.processing.CALL_RANK); updates are conditional on it.
    status_rank = models.PositiveSmallIntegerField(default=0)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_url = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField()
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    touchpoint = models.OneToOneField(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="call")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "provider_call_id"], name="call_provider_id_uniq")]
        indexes = [
            models.Index(fields=["contact", "-started_at", "-id"], name="call_contact_log_idx"),
            models.Index(fields=["-started_at", "-id"], name="call_log_idx"),
        ]


class SmsStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DISPATCHED = "dispatched", "Dispatched"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"


class Sms(models.Model):
    provider = models.CharField(max_length=10)
    provider_message_id = models.CharField(max_length=100)
    direction = models.CharField(max_length=10)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=SmsStatus.choices)
    provider_status = models.CharField(max_length=40, blank=True)
    status_rank = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    sent_at = models.DateTimeField()
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    touchpoint = models.OneToOneField(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="sms")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "provider_message_id"], name="sms_provider_id_uniq")]
        indexes = [models.Index(fields=["contact", "-sent_at", "-id"], name="sms_contact_log_idx")]


class OptOut(models.Model):
    """A number that texted STOP: no SMS is sent to it until it texts START."""

    number = models.CharField(max_length=32, unique=True)  # E.164
    keyword = models.CharField(max_length=20)
    provider = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)
