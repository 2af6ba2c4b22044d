from django.urls import path

from accounts import pages

urlpatterns = [
    path("settings/tokens/", pages.token_settings, name="token-settings"),
    path("settings/tokens/<int:token_id>/revoke/", pages.revoke_token, name="token-revoke"),
]
