"""Planned work: events and tasks.

Up Next reads these tables. An event becomes a touchpoint of kind "event"
when it is marked Held or Not Held (activities.services keeps the two in step).
Deleting a deal, organization or contact keeps the events and tasks on it
(they may be someone else's work): the link is cleared, not the row.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from crm.lookups import DistinctFrom, InConstants


class EventType(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    ONSITE_MEETING = "onsite_meeting", "Onsite Meeting"
    ONSITE_SERVICE = "onsite_service", "Onsite Service"


# An overdue alert's state no longer matches the row (rescheduled, or never raised).
EVENT_ALERT_STALE = DistinctFrom(F("overdue_alerted_for"), F("end_at"))
TASK_ALERT_STALE = DistinctFrom(F("overdue_alerted_for"), F("due_date"))
# Statuses as literals, the form the partial indexes hold (crm.lookups.InConstants).
EVENT_IS_PLANNED = InConstants(F("status"), ["planned"])


class EventStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    HELD = "held", "Held"
    NOT_HELD = "not_held", "Not Held"


class Emoticon(models.IntegerChoices):
    # The emotional journey's 5-step scale.
    VERY_UNHAPPY = 1, "Very unhappy"
    UNHAPPY = 2, "Unhappy"
    NEUTRAL = 3, "Neutral"
    HAPPY = 4, "Happy"
    VERY_HAPPY = 5, "Very happy"


class Event(models.Model):
    subject = models.CharField(max_length=200)
    event_type = models.CharField(max_length=20, choices=EventType.choices, default=EventType.MEETING)
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.PLANNED)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    description = models.TextField(blank=True)
    emoticon = models.PositiveSmallIntegerField(choices=Emoticon.choices, null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    organization = models.ForeignKey("crm.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    contacts = models.ManyToManyField("crm.Contact", blank=True, related_name="events")
    # The touchpoint this event became when it was held or not held.
    touchpoint = models.OneToOneField("touchpoints.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="event")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Smart Alerts: the end_at an "overdue" alert was raised for (a
    # rescheduled event that runs late again alerts again).
    overdue_alerted_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["deal", "status", "start_at"]),
            models.Index(fields=["organization", "status", "start_at"]),
            models.Index(fields=["owner", "status", "start_at"]),
            models.Index(fields=["start_at", "id"]),
            # The overdue scan's candidates and its clearing pass (alerts.scan).
            models.Index(fields=["end_at"], name="event_overdue_candidates_idx", condition=Q(EVENT_IS_PLANNED, owner__isnull=False) & Q(EVENT_ALERT_STALE)),
            models.Index(fields=["id"], name="event_overdue_cleared_idx", condition=Q(overdue_alerted_for__isnull=False) & (~Q(EVENT_IS_PLANNED) | Q(EVENT_ALERT_STALE))),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_at__gte=models.F("start_at")), name="event_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.subject


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not Started"
    IN_PROGRESS = "in_progress", "In Progress"
    COMPLETED = "completed", "Completed"
    DEFERRED = "deferred", "Deferred"


OPEN_TASK_STATUSES = (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.DEFERRED)
TASK_IS_OPEN = InConstants(F("status"), [str(s) for s in OPEN_TASK_STATUSES])


class Task(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # A due *date*: "overdue" means due before today in the viewer's zone.
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED)
    completed_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    organization = models.ForeignKey("crm.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Smart Alerts: the due date an "overdue" alert was raised for (moving
    # the due date and missing it again alerts again).
    overdue_alerted_for = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["deal", "status", "due_date"]),
            models.Index(fields=["organization", "status", "due_date"]),
            models.Index(fields=["contact", "status", "due_date"]),
            models.Index(fields=["owner", "status", "due_date"]),
            # The overdue scan's candidates and its clearing pass (alerts.scan).
            models.Index(
                fields=["due_date"], name="task_overdue_candidates_idx", condition=Q(TASK_IS_OPEN, owner__isnull=False) & Q(TASK_ALERT_STALE)
            ),
            models.Index(
                fields=["id"], name="task_overdue_cleared_idx", condition=Q(overdue_alerted_for__isnull=False) & (~Q(TASK_IS_OPEN) | Q(TASK_ALERT_STALE))
            ),
        ]

    def __str__(self) -> str:
        return self.title
