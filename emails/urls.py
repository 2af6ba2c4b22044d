from django.urls import path

from emails import hooks, views

urlpatterns = [
    # Tracking: called by recipients' mail clients, authenticated by signed tokens.
    path("t/o/<str:token>.gif", hooks.open_pixel, name="track-open"),
    path("t/c/<str:token>", hooks.click_redirect, name="track-click"),
    # Provider event webhooks: authenticated by the providers' signatures.
    path("hooks/sendgrid/events", hooks.sendgrid_events, name="sendgrid-events"),
    path("hooks/mailgun/events", hooks.mailgun_events, name="mailgun-events"),
    # Pages (signed-in users).
    path("settings/mailboxes/", views.mailbox_settings, name="mailbox-settings"),
    path("settings/mailboxes/test", views.mailbox_test_new, name="mailbox-test-new"),
    path("settings/mailboxes/<int:mailbox_id>/edit", views.mailbox_edit, name="mailbox-edit"),
    path("settings/mailboxes/<int:mailbox_id>/test", views.mailbox_test, name="mailbox-test"),
    path("settings/mailboxes/<int:mailbox_id>/sync", views.mailbox_sync, name="mailbox-sync"),
    path("settings/mailboxes/<int:mailbox_id>/delete", views.mailbox_delete, name="mailbox-delete"),
    path("<rt:record_type>/<int:record_id>/email", views.compose, name="compose-email"),
    path("email-templates/fill", views.template_fill, name="email-template-fill"),
    path("campaigns/new", views.campaign_new, name="campaign-new"),
    path("campaigns/recipients", views.campaign_recipients, name="campaign-recipients"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("engagements/", views.engagements, name="engagements"),
    path("emails/unmatched/", views.unmatched, name="unmatched-senders"),
    path("emails/unmatched/contact", views.unmatched_contact, name="unmatched-contact"),
    path("emails/by-touchpoint/<int:touchpoint_id>/", views.email_by_touchpoint, name="email-by-touchpoint"),
    path("emails/documents/<int:document_id>", views.document_download, name="email-document"),
    path("emails/<int:email_id>/", views.email_detail, name="email-detail"),
]
