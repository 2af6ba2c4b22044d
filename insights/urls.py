from django.urls import path

from insights import views

urlpatterns = [
    path("insights/", views.insights_index, name="insights"),
    path("insights/<slug:name>/", views.report_page, name="insights-report"),
]
