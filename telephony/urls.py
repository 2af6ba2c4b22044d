from django.urls import path

from telephony import webhooks

urlpatterns = [
    # Authenticated by the provider's signature (telephony.webhooks), not a user.
    path("webhooks/<str:provider>/<str:kind>", webhooks.webhook, name="telephony-webhook"),
]
