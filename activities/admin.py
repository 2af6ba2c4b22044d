from django.contrib import admin

from activities.models import Event, Task


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("subject", "event_type", "status", "start_at", "owner", "deal")
    list_filter = ("event_type", "status")
    search_fields = ("subject",)
    raw_id_fields = ("owner", "deal", "organization", "contacts", "touchpoint")
    readonly_fields = ("touchpoint",)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "due_date", "owner")
    list_filter = ("status",)
    search_fields = ("title",)
    raw_id_fields = ("owner", "deal", "organization", "contact")
