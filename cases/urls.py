from django.urls import path

from cases import views

urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/new", views.case_new, name="case-new"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<int:case_id>/comments", views.case_comment, name="case-comment"),
    path("cases/<int:case_id>/delete", views.case_delete, name="case-delete"),
    path("deals/<int:record_id>/one-view", views.one_view, name="one-view"),
    path("<rt:record_type>/<int:record_id>/cases", views.record_cases, name="record-cases"),
]
