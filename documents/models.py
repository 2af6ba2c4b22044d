"""Documents: files kept by the CRM, and their shares with customers.

A ``Document`` is a file (its bytes stored once per SHA-256 in the
``documents`` storage, local disk under var/ by default or S3-compatible
object storage by configuration). It is either uploaded by a user (the
Documents widget's "+", ``POST /api/v1/documents``) or an email's
attachment (``touchpoint`` is then the email's touchpoint).

A ``DocumentShare`` is the document shared with one contact or one
organization, optionally in the context of a deal. Each share is a
touchpoint of kind ``document`` on that record ("Documents ... are
considered indirect touchpoints"), so it rolls up like any other: a
document shared with a deal's contact shows on the deal's Documents widget
(documents.queries reads the widget from the touchpoint links).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q


class Document(models.Model):
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    # Sanitized (documents.files.clean_filename): never a path, shown and sent as the download's name.
    filename = models.CharField(max_length=255)
    # Detected from the bytes (documents.files.detect_content_type), not from the name.
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # False when an attachment was over MAX_ATTACHMENT_BYTES: the row records that it existed.
    stored = models.BooleanField(default=True)
    # An email attachment's email; empty for uploaded documents.
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="documents")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["touchpoint", "id"], name="document_touchpoint_idx"),
            models.Index(fields=["owner", "id"], name="document_owner_idx"),
            models.Index(fields=["sha256"], name="document_sha256_idx"),
        ]

    @property
    def display_name(self) -> str:
        return self.title or self.filename

    def __str__(self) -> str:
        return self.display_name


class DocumentShare(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="shares")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="document_shares")
    organization = models.ForeignKey("crm.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="document_shares")
    # The deal it was shared in the context of (the deal's page, or deal_id in the API).
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="document_shares")
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    shared_at = models.DateTimeField()
    # The touchpoint of kind "document" this share is on the record's timeline.
    touchpoint = models.OneToOneField("touchpoints.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="document_share")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, organization__isnull=True) | Q(contact__isnull=True, organization__isnull=False),
                name="docshare_contact_xor_org",
            ),
            # Sharing again with the same record answers with the existing share.
            models.UniqueConstraint(fields=["document", "contact"], condition=Q(contact__isnull=False), name="docshare_contact_uniq"),
            models.UniqueConstraint(fields=["document", "organization"], condition=Q(organization__isnull=False), name="docshare_org_uniq"),
        ]
        indexes = [
            models.Index(fields=["contact", "document"], name="docshare_contact_idx"),
            models.Index(fields=["organization", "document"], name="docshare_org_idx"),
        ]
