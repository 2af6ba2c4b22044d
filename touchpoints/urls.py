from django.urls import path

from touchpoints import views

urlpatterns = [
    path("<rt:record_type>/<int:record_id>/activity", views.activity, name="activity"),
    path("<rt:record_type>/<int:record_id>/activity/filter", views.activity_filter, name="activity-filter"),
    path("<rt:record_type>/<int:record_id>/journey", views.journey, name="journey"),
    path("<rt:record_type>/<int:record_id>/calls", views.log_call, name="log-call"),
    path("<rt:record_type>/<int:record_id>/notes", views.add_note, name="add-note"),
]
