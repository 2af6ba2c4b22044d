"""In-app notifications (the bell) and Smart Alerts state.

A ``Notification`` is one message to one user: a Smart Alert (an idle deal,
an overdue activity) or a workflow's "notify" action. ``key`` makes
delivery idempotent: a retried job or a rescan that meets the same alert
finds the row already there (unique per user and key) and adds nothing.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    IDLE_DEAL = "idle_deal", "Idle deal"
    OVERDUE_TASK = "overdue_task", "Overdue task"
    OVERDUE_EVENT = "overdue_event", "Overdue event"
    WORKFLOW = "workflow", "Workflow"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path inside the app (/deals/12), never an outside address.
    url = models.CharField(max_length=300, blank=True)
    record_type = models.CharField(max_length=20, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # A Smart Alert whose cause went away (the deal was contacted or closed,
    # the task done): set by the scan's clearing pass, which also marks it read.
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Claimed by the worker that mails it (alerts.services.do_email_notifications),
    # so a retried or repeated job never mails it twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The bell's list, newest first, and its unread count.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
            # The clearing pass resolves the open alerts of the records it
            # cleared. The id first: PostgreSQL, before its statistics catch
            # up with a cold scan's inserts, otherwise filtered every 'deal'
            # row on record_id = ANY(...) (0.4 s for 10 ids among 380,000).
            models.Index(fields=["record_id", "record_type"], condition=Q(resolved_at__isnull=True, record_id__isnull=False), name="notification_open_record_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], condition=Q(key__isnull=False), name="notification_user_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {self.title}"


class AlertConfig(models.Model):
    """The Smart Alerts settings: one row (id 1), edited by admins on
    Actions -> Configuration or ``PUT /api/v1/alerts/config``. Until it is
    first saved, alerts.services.get_config answers the defaults."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    idle_enabled = models.BooleanField(default=True)
    # An open deal with no contact for this many days is idle (default
    # settings.IDLE_DEAL_DAYS, the Actions dashboard's default too).
    idle_days = models.PositiveIntegerField()
    # {"proposal": 7, ...}: open stages whose deals go idle sooner or later.
    stage_idle_days = models.JSONField(default=dict, blank=True)
    # Only deals matching this condition tree (automation.conditions) are
    # watched; the empty tree watches every open deal.
    deal_conditions = models.JSONField(default=dict, blank=True)
    overdue_enabled = models.BooleanField(default=True)
    email_enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="alertconfig_singleton")]

    def days_for(self, stage: str) -> int:
        return int(self.stage_idle_days.get(stage, self.idle_days))
