from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from accounts import network
from accounts.models import ApiToken, Team, User
from accounts.services import check_not_locking_out
from config.errors import Invalid


class RangesField(forms.CharField):
    """CIDR ranges typed one per line (or comma-separated), stored as the
    normalized list accounts.network.check_ranges makes, with its errors."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.0/24\n2001:db8::/32"})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        parts = [part.strip() for part in (value or "").replace(",", "\n").splitlines()]
        try:
            return network.check_ranges([part for part in parts if part])
        except Invalid as exc:
            raise forms.ValidationError([e["msg"] for e in exc.errors]) from exc


class LockOutCheck:
    """The API's rule in the admin: an admin may not save ranges that would
    refuse their own current address (accounts.services.check_not_locking_out)."""

    request = None

    def clean_allowed_ips(self):
        ranges = self.cleaned_data["allowed_ips"]
        target = {"user": self.instance} if isinstance(self.instance, User) else {"team": self.instance}
        if self.request is not None and self.instance.pk:
            try:
                check_not_locking_out(self.request.user, network.client_ip(self.request), ranges=ranges, **target)
            except Invalid as exc:
                raise forms.ValidationError(exc.errors[0]["msg"]) from exc
        return ranges


def _with_request(form_class, request):
    return type(form_class.__name__, (LockOutCheck, form_class), {"request": request})


RANGES_HELP = "One CIDR range per line (IPv4 or IPv6). Empty: no restriction of its own. Docs: docs/security.md."


@admin.register(User)
class TouchpointsUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "team", "time_zone", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = UserAdmin.fieldsets + (("Touchpoints", {"fields": ("role", "team", "time_zone", "allowed_ips")}),)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "allowed_ips":
            return RangesField(required=False, label="Allowed IP ranges", help_text=RANGES_HELP + " Empty: the team's ranges apply.")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        return _with_request(super().get_form(request, obj, **kwargs), request)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    search_fields = ("name",)
    list_display = ("name", "allowed_ips")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "allowed_ips":
            return RangesField(required=False, label="Allowed IP ranges", help_text=RANGES_HELP + " Applies to members without ranges of their own.")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        return _with_request(super().get_form(request, obj, **kwargs), request)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "hint", "scope", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("scope",)
    readonly_fields = ("user", "key_hash", "hint", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A token made here could not be shown to anyone (only its hash is
        # kept): tokens come from POST /api/v1/tokens or the createuser/token commands.
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
