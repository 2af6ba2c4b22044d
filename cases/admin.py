from django.contrib import admin

from cases.models import Case, CaseComment
from config.admin_readonly import ReadOnlyAdmin


class CaseCommentInline(admin.TabularInline):
    model = CaseComment
    extra = 0
    can_delete = False
    fields = ("created_at", "author_user", "author_contact", "internal", "body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """A case's touchpoint follows it through cases.services: edit cases on the case page or the API."""

    list_display = ("id", "title", "status", "priority", "contact", "organization", "owner", "created_at")
    list_filter = ("status", "priority", "origin")
    search_fields = ("title",)
    list_select_related = ("contact", "organization", "owner")
    inlines = [CaseCommentInline]
