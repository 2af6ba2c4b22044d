from django.contrib import admin

from config.admin_readonly import ReadOnlyAdmin
from documents.models import Document, DocumentShare


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    """Shares are touchpoints: documents.services writes them."""

    list_display = ("id", "title", "filename", "content_type", "size", "owner", "created_at")
    search_fields = ("title", "filename", "sha256")


@admin.register(DocumentShare)
class DocumentShareAdmin(ReadOnlyAdmin):
    list_display = ("id", "document", "contact", "organization", "deal", "shared_by", "shared_at")
    list_select_related = ("document", "contact", "organization", "deal", "shared_by")
