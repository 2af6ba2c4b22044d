from django.contrib import admin

from django import forms

from activities.models import Event, Task
from activities.services import _check_event, sync_event_touchpoint
from config.errors import Invalid


class EventAdminForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = "__all__"

    def _post_clean(self):
        super()._post_clean()
        if self.instance.start_at is None or self.instance.end_at is None or {"start_at", "end_at"} & set(self.errors):
            return  # the field errors already say what is wrong
        try:
            _check_event(self.instance)  # the service's rules, shown as form errors
        except Invalid as exc:
            for e in exc.errors:
                field = str(e["loc"][0]) if e["loc"] else None
                self.add_error(field if field in self.fields else None, e["msg"])


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Staff may fix an event here; saving keeps its touchpoint (timeline,
    Last Contacted) in step exactly as activities.services does, once the
    contacts are saved too."""

    list_display = ("subject", "event_type", "status", "start_at", "owner", "deal")
    list_filter = ("event_type", "status")
    search_fields = ("subject",)
    list_select_related = ("owner", "deal")
    raw_id_fields = ("owner", "deal", "organization", "contacts", "touchpoint")
    readonly_fields = ("touchpoint",)
    form = EventAdminForm

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        sync_event_touchpoint(form.instance)

    def delete_model(self, request, obj):
        from activities.services import do_delete_event

        do_delete_event(request.user, obj.id)  # takes its touchpoint out of the log too

    def delete_queryset(self, request, queryset):
        for event in queryset:
            self.delete_model(request, event)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "due_date", "owner")
    list_select_related = ("owner",)
    list_filter = ("status",)
    search_fields = ("title",)
    raw_id_fields = ("owner", "deal", "organization", "contact")
