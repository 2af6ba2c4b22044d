from django.urls import path

from workflows import views

urlpatterns = [
    path("workflows/", views.workflow_index, name="workflow-index"),
    path("workflows/new", views.workflow_new, name="workflow-new"),
    path("workflows/actions", views.actions_block, name="workflow-actions"),
    path("workflows/<int:workflow_id>/", views.workflow_detail, name="workflow-detail"),
    path("workflows/<int:workflow_id>/delete", views.workflow_delete, name="workflow-delete"),
    path("workflows/<int:workflow_id>/runs/", views.workflow_runs, name="workflow-runs"),
    path("workflows/<int:workflow_id>/runs/<int:run_id>", views.workflow_run, name="workflow-run"),
]
