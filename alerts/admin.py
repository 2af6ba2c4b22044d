from django.contrib import admin

from alerts.models import AlertConfig, Notification
from config.admin_readonly import ReadOnlyAdmin


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Written by alerts.services and the scan (keys keep them idempotent): read-only here."""

    list_display = ("id", "user", "kind", "title", "created_at", "read_at", "resolved_at", "emailed_at")
    list_filter = ("kind",)
    search_fields = ("title", "key")
    list_select_related = ("user",)


@admin.register(AlertConfig)
class AlertConfigAdmin(ReadOnlyAdmin):
    """Edited on Actions -> Configuration (or PUT /api/v1/alerts/config), where the conditions are checked."""

    list_display = ("id", "idle_enabled", "idle_days", "overdue_enabled", "email_enabled", "updated_at", "updated_by")
