from django.urls import path

from telephony import views, webhooks

urlpatterns = [
    # Authenticated by the provider's signature (telephony.webhooks), not a user.
    path("webhooks/<str:provider>/<str:kind>", webhooks.webhook, name="telephony-webhook"),
    # Pages (signed-in users).
    path("contacts/<int:record_id>/call", views.click_to_call, name="click-to-call"),
    path("contacts/<int:record_id>/sms", views.sms_compose, name="sms-compose"),
    path("contacts/<int:record_id>/call-log", views.call_log, name="call-log"),
    path("me/phone", views.my_phone, name="my-phone"),
    path("settings/telephony/", views.telephony_settings, name="telephony-settings"),
    path("settings/telephony/<str:provider>", views.provider_save, name="telephony-provider"),
]
