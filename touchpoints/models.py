"""The touchpoint log: one row per interaction, whatever the channel.

``Touchpoint`` is the fact ("Alice emailed Bob at 10:30"). ``TouchpointLink``
is where it shows: one row per record whose timeline carries it, written at
ingest by the rollup rules (touchpoints.rules) and kept right when
relationships change (touchpoints.rollup). Links copy ``occurred_at``,
``kind``, ``shown`` and ``counts`` from their touchpoint so a timeline page
and a last-contacted recompute are each a single index range scan.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from touchpoints.rules import Direction, Kind, Source


class Touchpoint(models.Model):
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, null=True, blank=True)
    status = models.CharField(max_length=20)
    # When it happened, as reported by the source; may be long before we
    # hear of it (imports, late provider callbacks).
    occurred_at = models.DateTimeField()
    # When we stored it.
    recorded_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    summary = models.TextField(blank=True)
    sentiment = models.FloatField(null=True, blank=True, help_text="-1 (negative) .. 1 (positive)")
    emoticon = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 very unhappy .. 5 very happy")
    # Only for kind=event: Call, Meeting, Onsite Meeting or Onsite Service,
    # which is what Last Contacted Via shows for a held event.
    event_type = models.CharField(max_length=20, null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.API)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="tp_occurred_idx"),
            models.Index(fields=["owner", "-occurred_at"], name="tp_owner_occurred_idx"),
        ]
        constraints = [
            # Provider retries and re-syncs carry the same id: one row.
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=Q(external_id__isnull=False), name="tp_source_external_id_uniq"
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="tp_idempotency_key_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject!r} at {self.occurred_at:%Y-%m-%d %H:%M}"


class LinkPath(models.TextChoices):
    DIRECT = "direct"  # named by the writer
    CONTACT = "contact"  # rolled up from a direct contact (via_contact)
    DEAL = "deal"  # rolled up from a direct deal (via_deal)


class TouchpointLink(models.Model):
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="links")
    organization = models.ForeignKey("crm.Organization", null=True, on_delete=models.CASCADE, db_index=False, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, on_delete=models.CASCADE, db_index=False, related_name="+")
    deal = models.ForeignKey("crm.Deal", null=True, on_delete=models.CASCADE, db_index=False, related_name="+")
    path = models.CharField(max_length=8, choices=LinkPath.choices)
    via_contact = models.ForeignKey("crm.Contact", null=True, on_delete=models.SET_NULL, db_index=False, related_name="+")
    via_deal = models.ForeignKey("crm.Deal", null=True, on_delete=models.SET_NULL, db_index=False, related_name="+")
    # Copies of the touchpoint's fields, kept in step by touchpoints.services.
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20)
    shown = models.BooleanField()
    counts = models.BooleanField()

    class Meta:
        indexes = [
            # Timeline pages and last-contacted recomputes: (record, newest first).
            models.Index(
                fields=["organization", "-occurred_at", "-touchpoint"],
                condition=Q(organization__isnull=False),
                name="tpl_org_timeline_idx",
            ),
            models.Index(
                fields=["contact", "-occurred_at", "-touchpoint"], condition=Q(contact__isnull=False), name="tpl_contact_timeline_idx"
            ),
            models.Index(fields=["deal", "-occurred_at", "-touchpoint"], condition=Q(deal__isnull=False), name="tpl_deal_timeline_idx"),
            # The Documents widget (documents.queries.record_documents): a record's
            # document shares, rolled up like the timeline, newest first. Partial
            # on kind, so they hold only document rows and cost other ingest nothing.
            models.Index(
                fields=["organization", "-occurred_at", "-touchpoint"],
                condition=Q(kind="document", organization__isnull=False),
                name="tpl_org_documents_idx",
            ),
            models.Index(
                fields=["contact", "-occurred_at", "-touchpoint"], condition=Q(kind="document", contact__isnull=False), name="tpl_contact_documents_idx"
            ),
            models.Index(fields=["deal", "-occurred_at", "-touchpoint"], condition=Q(kind="document", deal__isnull=False), name="tpl_deal_documents_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(organization__isnull=False, contact__isnull=True, deal__isnull=True)
                    | Q(organization__isnull=True, contact__isnull=False, deal__isnull=True)
                    | Q(organization__isnull=True, contact__isnull=True, deal__isnull=False)
                ),
                name="tpl_exactly_one_record",
            ),
            models.UniqueConstraint(fields=["touchpoint", "organization"], condition=Q(organization__isnull=False), name="tpl_org_uniq"),
            models.UniqueConstraint(fields=["touchpoint", "contact"], condition=Q(contact__isnull=False), name="tpl_contact_uniq"),
            models.UniqueConstraint(fields=["touchpoint", "deal"], condition=Q(deal__isnull=False), name="tpl_deal_uniq"),
        ]
