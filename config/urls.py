from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from accounts.views import SignInView, admin_sign_in
from config.api import api
from config.health import healthz
from web.converters import RecordTypeConverter

register_converter(RecordTypeConverter, "rt")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    # Before the admin's own: its sign-in goes through /login/ (rate limit, IP restriction).
    path("admin/login/", admin_sign_in),
    path("admin/", admin.site.urls),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    path("", include("activities.urls")),
    path("", include("crm.urls")),
    path("", include("touchpoints.urls")),
    path("", include("emails.urls")),
    path("", include("telephony.urls")),
    path("", include("portal.urls")),
    path("", include("documents.urls")),
    path("", include("cases.urls")),
    path("", include("automation.urls")),
    path("", include("lists.urls")),
    path("", include("workflows.urls")),
    path("", include("alerts.urls")),
    path("", include("insights.urls")),
    path("", include("imports.urls")),
    path("", include("audit.urls")),
    path("", include("privacy.urls")),
]

# A body Django would not read into memory (RequestDataTooBig): 413, not 400 (config.security).
handler400 = "config.security.bad_request"
