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

    class Meta:
        indexes = [
            # The bell's list, newest first, and its unread count.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], condition=Q(key__isnull=False), name="notification_user_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {self.title}"
