"""Organizations, contacts and deals: the records touchpoints are about.

Contacts, organizations and deals carry ``last_contacted_via`` and
``last_contacted_on``; only touchpoints.lastcontacted writes them.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.lookups import DistinctFrom, InConstants


class LastContactedVia(models.TextChoices):
    # The product description's fixed list: "Last Contacted Via can take the
    # following values: Email, SMS, Phone Call, Email Campaign, Meeting, Call,
    # Onsite Meeting, and Onsite Service."
    EMAIL = "Email"
    SMS = "SMS"
    PHONE_CALL = "Phone Call"
    EMAIL_CAMPAIGN = "Email Campaign"
    MEETING = "Meeting"
    CALL = "Call"
    ONSITE_MEETING = "Onsite Meeting"
    ONSITE_SERVICE = "Onsite Service"


class RecordType(models.TextChoices):
    ORGANIZATION = "organization"
    CONTACT = "contact"
    DEAL = "deal"


class LastContacted(models.Model):
    last_contacted_via = models.CharField(max_length=20, choices=LastContactedVia.choices, null=True, blank=True)
    last_contacted_on = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Organization(LastContacted):
    name = models.CharField(max_length=200)
    website = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    # The record's id in the system it was imported from (Vtiger's
    # "Contact Id" / "Organization No" / "Opportunity No", or any
    # spreadsheet's id column): imports match it to update instead of
    # duplicating (imports.services).
    external_id = models.CharField(max_length=100, null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["name", "id"]),
            models.Index(fields=["last_contacted_on", "id"]),
            models.Index(fields=["owner", "id"]),
        ]
        constraints = [models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="organization_external_id_uniq")]

    def __str__(self) -> str:
        return self.name


class Contact(LastContacted):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    title = models.CharField(max_length=100, blank=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    external_id = models.CharField(max_length=100, null=True, blank=True)  # as on Organization
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the contact's personal data was erased (privacy.services):
    # the row stays, anonymized, so counts and Last Contacted stay true.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"]),
            models.Index(fields=["last_contacted_on", "id"]),
            models.Index(fields=["owner", "id"]),
        ]
        constraints = [models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="contact_external_id_uniq")]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return self.full_name


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    # Stored lower-cased: addresses are matched case-insensitively.
    email = models.CharField(max_length=254)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["email"])]
        constraints = [models.UniqueConstraint(fields=["contact", "email"], name="contactemail_unique")]


class ContactPhone(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, help_text="E.164")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["number"])]
        constraints = [models.UniqueConstraint(fields=["contact", "number"], name="contactphone_unique")]


class DealStage(models.TextChoices):
    PROSPECTING = "prospecting", "Prospecting"
    QUALIFICATION = "qualification", "Qualification"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    CLOSED_WON = "closed_won", "Closed Won"
    CLOSED_LOST = "closed_lost", "Closed Lost"


CLOSED_STAGES = (DealStage.CLOSED_WON, DealStage.CLOSED_LOST)
# Since when a deal has been quiet: its last contact, or, never contacted,
# its creation (a deal opened this morning is new, not idle). The Actions
# dashboard's idle list (activities.queries.my_actions) and Smart Alerts
# both judge idleness by it.
QUIET_SINCE = Coalesce("last_contacted_on", "created_at")
IDLE_PERIOD_CHANGED = DistinctFrom(F("idle_alerted_for"), QUIET_SINCE)
# Closed, with the stages as literals: the form the partial indexes below
# hold, so that SQLite matches the scans' WHERE to them (crm.lookups).
IS_CLOSED = InConstants(F("stage"), [str(s) for s in CLOSED_STAGES])


class Deal(LastContacted):
    name = models.CharField(max_length=200)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    external_id = models.CharField(max_length=100, null=True, blank=True)  # as on Organization
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stage = models.CharField(max_length=20, choices=DealStage.choices, default=DealStage.PROSPECTING)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close_date = models.DateField(null=True, blank=True)
    # Set when the deal enters a closed stage, cleared when it is reopened.
    # Together with created_at it is the window in which the deal is "open"
    # for the rollup rules.
    closed_at = models.DateTimeField(null=True, blank=True)
    contacts = models.ManyToManyField(Contact, through="DealContact", related_name="deals")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Smart Alerts (alerts.scan): the quiet-since moment (QUIET_SINCE) an
    # idle alert was raised for. A touchpoint that moves Last Contacted On
    # starts a new quiet period, so the deal is "not alerted" again without
    # anyone writing here; the scan resets it to NULL when it clears.
    idle_alerted_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["name", "id"]),
            models.Index(fields=["last_contacted_on", "id"]),
            models.Index(fields=["owner", "id"]),
            models.Index(fields=["organization", "id"]),
            # Sales Insights' Activity Efficiency: the deals closed in a period.
            models.Index(fields=["closed_at", "owner"], condition=Q(closed_at__isnull=False), name="deal_closed_idx"),
            # The idle scan's candidates: open deals not yet alerted for their
            # current quiet period, by quiet-since. In the steady state the
            # range "quiet since before the cutoff" holds only the newly idle.
            models.Index(QUIET_SINCE, name="deal_idle_candidates_idx", condition=~Q(IS_CLOSED) & Q(IDLE_PERIOD_CHANGED)),
            # The clearing pass: alerted deals that were contacted or closed since.
            models.Index(
                fields=["id"], name="deal_idle_cleared_idx", condition=Q(idle_alerted_for__isnull=False) & (Q(IS_CLOSED) | Q(IDLE_PERIOD_CHANGED))
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="deal_external_id_uniq")]

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES

    def __str__(self) -> str:
        return self.name


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    EVALUATOR = "evaluator", "Evaluator"
    CHAMPION = "champion", "Champion"
    USER = "user", "User"
    OTHER = "other", "Other"


class DealContact(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deal_contacts")
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="dealcontact_unique")]
        indexes = [models.Index(fields=["contact", "deal"])]


class Share(models.Model):
    """A record shared with a user or a team beyond its owner's team."""

    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["record_type", "user", "record_id"]), models.Index(fields=["record_type", "team", "record_id"])]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, team__isnull=True) | models.Q(user__isnull=True, team__isnull=False)),
                name="share_user_xor_team",
            ),
            # One share per record and user or team (crm.sharing answers a
            # repeat with the existing one; this makes a race do the same).
            models.UniqueConstraint(fields=["record_type", "record_id", "user"], condition=models.Q(user__isnull=False), name="share_user_uniq"),
            models.UniqueConstraint(fields=["record_type", "record_id", "team"], condition=models.Q(team__isnull=False), name="share_team_uniq"),
        ]
