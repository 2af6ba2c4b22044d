from django.contrib import admin

from touchpoints.models import Touchpoint, TouchpointLink


class TouchpointLinkInline(admin.TabularInline):
    model = TouchpointLink
    fk_name = "touchpoint"
    extra = 0
    can_delete = False
    fields = ("organization", "contact", "deal", "path", "via_contact", "via_deal", "shown", "counts")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    """Read-only: writes go through touchpoints.services so links and Last
    Contacted stay right."""

    list_display = ("occurred_at", "kind", "status", "subject", "source", "owner")
    list_filter = ("kind", "source")
    search_fields = ("subject", "external_id")
    date_hierarchy = "occurred_at"
    inlines = [TouchpointLinkInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
