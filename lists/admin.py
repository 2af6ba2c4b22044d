from django.contrib import admin

from config.admin_readonly import ReadOnlyAdmin
from lists.models import ListShare, SavedList


class ListShareInline(admin.TabularInline):
    model = ListShare
    extra = 0
    can_delete = False
    fields = ("user", "team")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SavedList)
class SavedListAdmin(ReadOnlyAdmin):
    """Read-only: a list's tree, columns and sort are checked by
    lists.services; change lists on their pages or through the API."""

    list_display = ("id", "name", "record_type", "owner", "shared_with_everyone", "updated_at")
    list_filter = ("record_type", "shared_with_everyone")
    search_fields = ("name",)
    list_select_related = ("owner",)
    inlines = [ListShareInline]
