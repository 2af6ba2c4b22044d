"""Cases: complaints registered by customers ("Cases are complaints
registered by customers. Cases related to a deal's contacts and
organizations are listed in One View").

A case is an indirect touchpoint of its contact and organization: each case
has one touchpoint of kind ``case`` (source ``case``, external_id the case's
id) whose status follows the case's, kept in step by cases.services. It
shows in Activity and never moves Last Contacted (touchpoints.rules).
"""
from django.conf import settings
from django.db import models
from django.utils import timezone


class CaseStatus(models.TextChoices):
    # The product's statuses, in their order.
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In Progress"
    WAIT_FOR_RESPONSE = "wait_for_response", "Wait For Response"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# "Open" in counts and filters: not yet resolved or closed.
OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAIT_FOR_RESPONSE)
DONE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED)


class CasePriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseOrigin(models.TextChoices):
    STAFF = "staff", "Staff"  # entered by a user (page or API)
    PORTAL = "portal", "Customer portal"  # opened by the contact in the portal


class Case(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    organization = models.ForeignKey("crm.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    priority = models.CharField(max_length=10, choices=CasePriority.choices, default=CasePriority.NORMAL)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    origin = models.CharField(max_length=10, choices=CaseOrigin.choices, default=CaseOrigin.STAFF)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the case first reaches Resolved or Closed; cleared when it is reopened.
    resolved_at = models.DateTimeField(null=True, blank=True)
    touchpoint = models.OneToOneField("touchpoints.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="case")

    class Meta:
        indexes = [
            # One View and the record pages walk a contact's or organization's
            # cases newest first (cases.queries.one_view); its counts read
            # (organization, status).
            models.Index(fields=["organization", "-created_at", "-id"], name="case_org_idx"),
            models.Index(fields=["contact", "-created_at", "-id"], name="case_contact_idx"),
            models.Index(fields=["organization", "status"], name="case_org_status_idx"),
            models.Index(fields=["owner", "status", "-id"], name="case_owner_idx"),
            models.Index(fields=["status", "-id"], name="case_status_idx"),
        ]
        # "A case names a contact or an organization" is checked by
        # cases.services, not a CHECK: deleting the contact of a case must
        # keep the case (SET_NULL), as deleting records keeps activities.

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def number(self) -> str:
        return f"#{self.id}"

    def __str__(self) -> str:
        return f"Case #{self.id}: {self.title}"


class CaseComment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField()
    # Exactly one author: a user, or the case's contact writing in the portal.
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # An internal note between colleagues: never shown in the portal.
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["case", "created_at", "id"], name="casecomment_case_idx")]
