from django.contrib import admin

from crm.models import Contact, ContactEmail, ContactPhone, Deal, DealContact, Organization, Share


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "last_contacted_via", "last_contacted_on")
    search_fields = ("name",)
    list_select_related = ("owner",)
    readonly_fields = ("last_contacted_via", "last_contacted_on")
    raw_id_fields = ("owner",)


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 0


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 0


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "organization", "owner", "last_contacted_via", "last_contacted_on")
    search_fields = ("last_name", "first_name", "emails__email")
    list_select_related = ("organization", "owner")
    readonly_fields = ("last_contacted_via", "last_contacted_on")
    raw_id_fields = ("organization", "owner")
    inlines = [ContactEmailInline, ContactPhoneInline]


class DealContactInline(admin.TabularInline):
    model = DealContact
    extra = 0
    raw_id_fields = ("contact",)


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    """Read-mostly: linking contacts here bypasses the timeline backfill of
    crm.services, so deal contacts are edited through the API/UI."""

    list_display = ("name", "organization", "stage", "amount", "owner", "last_contacted_on")
    list_filter = ("stage",)
    search_fields = ("name",)
    list_select_related = ("organization", "owner")
    readonly_fields = ("last_contacted_via", "last_contacted_on", "closed_at")
    raw_id_fields = ("organization", "owner")


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ("record_type", "record_id", "user", "team")
    list_filter = ("record_type",)
