"""Workflows: when something happens to a record (or on a daily schedule),
records meeting the entry criteria get the ordered actions.

Durability is an outbox: the ``WorkflowRun`` row of a trigger event is
inserted in the same transaction as the change that fired it, unique per
(workflow, event_key), so a trigger delivered twice is one run and a
rolled-back change leaves none. The worker claims a run with a conditional
update; every action on a record leaves a ``WorkflowRunStep`` written in
the same transaction as the action's database effect and unique per
(run, action, record), so a worker killed mid-run resumes where it stopped
and never repeats a committed step (docs/automation.md, "Workflows").
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import RecordType


class Trigger(models.TextChoices):
    RECORD_CREATED = "record_created", "Record created"
    RECORD_UPDATED = "record_updated", "Record updated"
    TOUCHPOINT_LOGGED = "touchpoint_logged", "Touchpoint logged"
    SCHEDULE = "schedule", "Daily schedule"


class Workflow(models.Model):
    name = models.CharField(max_length=200)
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    # Schedule only: the local time (COMPANY_TIME_ZONE) of the daily run.
    schedule_time = models.TimeField(null=True, blank=True)
    conditions = models.JSONField(default=dict)  # a tree checked by automation.conditions.check_tree
    actions = models.JSONField(default=list)  # [{"type": ..., "params": {...}}], checked by workflows.actions
    active = models.BooleanField(default=True)
    # Off: a record gets the actions once per workflow, ever. On: again each
    # time it enters the criteria after having left them.
    reenroll = models.BooleanField(default=False)
    # The HMAC key of webhook actions (X-Touchpoints-Signature).
    secret = models.CharField(max_length=64)
    # Schedule only: the latest slot a run was created for (conditional update).
    last_slot = models.DateTimeField(null=True, blank=True)
    # Actions run with this user's rights (an admin or manager: who may edit workflows).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The trigger hooks' one query per write: is any workflow listening?
            models.Index(fields=["trigger", "record_type"], condition=Q(active=True), name="workflow_active_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class WorkflowRun(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    # What fired it: created:deal:12, updated:deal:12:<updated_at>, touchpoint:345, schedule:2026-12-04T09:00
    event_key = models.CharField(max_length=200)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    # The type of the records the event concerns: a run whose workflow was
    # switched to another type before it ran does nothing (its ids are of this type).
    record_type = models.CharField(max_length=20, choices=RecordType.choices, default=RecordType.DEAL)
    # The records the event concerns; null for a schedule (every record of the type).
    record_ids = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The workflow's criteria and actions when the run was first claimed: a
    # resumed run keeps doing what it started, even if the workflow was edited.
    definition = models.JSONField(null=True, blank=True)
    matched_count = models.PositiveIntegerField(default=0)  # records meeting the criteria
    # Which they were: the first MATCHED_KEPT ids (a daily run over every contact may match a million).
    matched_ids = models.JSONField(default=list, blank=True)
    acted_count = models.PositiveIntegerField(default=0)  # of those, not already enrolled
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "event_key"], name="workflowrun_event_uniq")]
        indexes = [
            models.Index(fields=["workflow", "-id"], name="workflowrun_log_idx"),
            # The sweeper: runs not finished.
            models.Index(fields=["status", "started_at"], condition=Q(status__in=["pending", "running"]), name="workflowrun_unfinished_idx"),
        ]


class StepOutcome(models.TextChoices):
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    QUEUED = "queued", "Queued"  # an external effect (email, SMS, webhook) waiting for its own job
    SENDING = "sending", "Sending"  # claimed by that job


class WorkflowRunStep(models.Model):
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    action_index = models.PositiveSmallIntegerField()
    action_type = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=StepOutcome.choices)
    detail = models.TextField(blank=True)
    # External effects: what to send (fixed when queued, so a retry sends the
    # same), how many deliveries were tried, and when the next one may go.
    payload = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "action_index", "record_id"], name="workflowstep_once_uniq")]
        indexes = [
            models.Index(fields=["run", "id"], name="workflowstep_run_idx"),
            models.Index(fields=["outcome", "next_attempt_at"], condition=Q(outcome__in=["queued", "sending"]), name="workflowstep_pending_idx"),
        ]


class Enrollment(models.Model):
    """A record acted on by a workflow; while it exists, later runs leave
    the record alone (see Workflow.reenroll)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="enrollments")
    record_id = models.BigIntegerField()
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "record_id"], name="enrollment_once_uniq")]
