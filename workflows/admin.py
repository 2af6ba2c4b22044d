from django.contrib import admin

from config.admin_readonly import ReadOnlyAdmin
from workflows.models import Workflow, WorkflowRun, WorkflowRunStep


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyAdmin):
    """Definitions are checked by workflows.services: edit them on /workflows/ or through the API."""

    list_display = ("id", "name", "record_type", "trigger", "schedule_time", "active", "reenroll", "updated_by", "updated_at")
    list_filter = ("record_type", "trigger", "active")
    search_fields = ("name",)
    exclude = ("secret",)


@admin.register(WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "workflow", "event_key", "status", "attempts", "matched_count", "acted_count", "created_at", "finished_at")
    list_filter = ("status", "trigger")
    list_select_related = ("workflow",)


@admin.register(WorkflowRunStep)
class WorkflowRunStepAdmin(ReadOnlyAdmin):
    list_display = ("id", "run", "record_type", "record_id", "action_index", "action_type", "outcome", "attempts", "created_at")
    list_filter = ("outcome", "action_type")
    exclude = ("payload",)
