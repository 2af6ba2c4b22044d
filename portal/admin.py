from django.contrib import admin

from config.admin_readonly import ReadOnlyAdmin
from portal.models import PortalAccount, PortalSession


@admin.register(PortalAccount)
class PortalAccountAdmin(ReadOnlyAdmin):
    """Invite and revoke from the contact's page (portal.services); the password hash is never shown."""

    list_display = ("email", "contact", "is_active", "invited_at", "activated_at", "last_login_at")
    fields = ("email", "contact", "is_active", "invited_at", "invited_by", "activated_at", "last_login_at")
    search_fields = ("email",)


@admin.register(PortalSession)
class PortalSessionAdmin(ReadOnlyAdmin):
    list_display = ("account", "started_at", "last_seen_at", "expires_at", "ended_at", "end_reason", "ip")
    fields = ("account", "started_at", "last_seen_at", "expires_at", "ended_at", "end_reason", "ip", "user_agent")
    list_select_related = ("account",)
