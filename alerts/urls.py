from django.urls import path

from alerts import views

urlpatterns = [
    path("actions/configuration", views.alerts_config, name="alerts-config"),
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/bell", views.notification_bell, name="notification-bell"),
    path("notifications/read-all", views.notification_read_all, name="notification-read-all"),
    path("notifications/<int:notification_id>/read", views.notification_read, name="notification-read"),
]
