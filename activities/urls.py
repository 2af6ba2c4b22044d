from django.urls import path

from activities import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("me/idle-days", views.idle_days, name="idle-days"),
    path("<rt:record_type>/<int:record_id>/up-next", views.up_next, name="up-next"),
    path("<rt:record_type>/<int:record_id>/events", views.create_event, name="create-event"),
    path("<rt:record_type>/<int:record_id>/tasks", views.create_task, name="create-task"),
    path("events/<int:event_id>/outcome", views.event_outcome, name="event-outcome"),
    path("tasks/<int:task_id>/done", views.task_done, name="task-done"),
]
