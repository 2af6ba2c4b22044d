"""Spreadsheet imports: one job per file, and the rows it could not take.

A job moves through the file in batches. Each batch's records, its error
rows and the job's checkpoint (``rows_done``, the counts) commit in one
transaction, so a crash loses at most the batch in flight, and a resumed
job starts exactly after the last committed batch: nothing is written
twice, nothing is skipped.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class OnDuplicate(models.TextChoices):
    SKIP = "skip"
    UPDATE = "update"


class ImportJob(models.Model):
    record_type = models.CharField(max_length=20)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=1000, help_text="the CSV on the server's disk")
    filename = models.CharField(max_length=255, help_text="as the user named it")
    mapping = models.JSONField(default=dict, help_text="{header: field} as resolved when the job was created")
    ignored_columns = models.JSONField(default=list)
    on_duplicate = models.CharField(max_length=10, choices=OnDuplicate.choices, default=OnDuplicate.SKIP)
    day_first = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    size_bytes = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0, help_text="data rows read and committed (the resume point)")
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, help_text="why the whole job stopped, if it did")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="the last committed batch")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_by", "id"]),
            models.Index(fields=["status", "heartbeat_at"], name="importjob_unfinished_idx", condition=models.Q(status__in=["queued", "running"])),
        ]

    @property
    def progress(self) -> float:
        if self.status == JobStatus.DONE:
            return 1.0
        return min(self.bytes_done / self.size_bytes, 1.0) if self.size_bytes else 0.0


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.BigIntegerField(help_text="the row in the file as a spreadsheet numbers it (the header is row 1)")
    column = models.CharField(max_length=255, blank=True)
    reason = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["job", "row", "id"])]
