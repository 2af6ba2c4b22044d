from django.urls import path

from imports import views

urlpatterns = [
    path("imports/new", views.import_new, name="import-new"),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
]
