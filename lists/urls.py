from django.urls import path

from lists import views

urlpatterns = [
    path("lists/", views.list_index, name="list-index"),
    path("lists/new", views.list_new, name="list-new"),
    path("lists/<int:list_id>/", views.list_detail, name="list-detail"),
    path("lists/<int:list_id>/edit", views.list_edit, name="list-edit"),
    path("lists/<int:list_id>/delete", views.list_delete, name="list-delete"),
    path("lists/<int:list_id>/export.csv", views.list_export, name="list-export"),
    path("lists/<int:list_id>/export.xlsx", views.list_export_xlsx, name="list-export-xlsx"),
]
