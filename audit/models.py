"""The audit log: who created, changed or deleted which record, when, and
which fields went from what to what (issue #10).

One row per change, written by the service that makes the change, inside
its transaction (audit.log): a change that rolls back leaves no entry, and
an entry never describes a change that did not happen. Rows are never
updated, except that erasing a contact redacts the personal values earlier
entries hold about them (privacy.services).
"""
from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    EXPORT = "export", "Exported"
    ERASE = "erase", "Erased"


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now)
    # Who: a user, or nobody (a provider webhook, the customer portal, a
    # workflow run by the worker); ``actor_name`` keeps the name readable
    # after the user is deleted, and says which system it was otherwise.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    # The record's name when the entry was written: a deleted record's
    # history still says what it was.
    label = models.CharField(max_length=200, blank=True)
    # {field: [old, new]}; a create has old = null, a delete new = null.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # A record's history, newest first (the record page, GET /audit?record_type=&record_id=).
            models.Index(fields=["record_type", "record_id", "-id"], name="audit_record_idx"),
            # One person's actions, newest first.
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.record_type} {self.record_id}"
