from django.urls import path

from emails import hooks

urlpatterns = [
    # Tracking: called by recipients' mail clients, authenticated by signed tokens.
    path("t/o/<str:token>.gif", hooks.open_pixel, name="track-open"),
    path("t/c/<str:token>", hooks.click_redirect, name="track-click"),
    # Provider event webhooks: authenticated by the providers' signatures.
    path("hooks/sendgrid/events", hooks.sendgrid_events, name="sendgrid-events"),
    path("hooks/mailgun/events", hooks.mailgun_events, name="mailgun-events"),
]
