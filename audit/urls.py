from django.urls import path

from audit import views

urlpatterns = [
    path("<rt:record_type>/<int:record_id>/history", views.history, name="record-history"),
]
