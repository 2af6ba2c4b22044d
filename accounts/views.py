"""Staff sign-in at /login/: Django's LoginView with a rate limit and the
IP restriction in front of it (docs/security.md).

Order of a POST: the attempt is recorded, then the limit is checked
counting it (so parallel guesses count each other; when refused, the attempt
is forgotten, so hammering during a lockout does not extend it), then the
password. A right password forgets the attempt, unless the user's IP
restriction refuses the address: that answers 403 with no session created,
and the attempt stays counted (else a disallowed network could test
passwords without limit).
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.utils.http import url_has_allowed_host_and_scheme
from django.http import HttpResponse
from django.shortcuts import redirect

from accounts import network, ratelimit
from accounts.middleware import refused
from accounts.models import AttemptKind


class SignInView(auth_views.LoginView):
    template_name = "login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs) -> HttpResponse:
        username = (request.POST.get("username") or "").strip()
        self.ip = network.client_ip(request)
        self.attempt = ratelimit.record(AttemptKind.SIGN_IN, username, self.ip)
        try:
            ratelimit.check_sign_in(username, self.ip, over=1)
        except ratelimit.RateLimited as exc:
            self.attempt.delete()
            response = self.render_to_response(self.get_context_data(form=self.get_form_class()(request), refusal=str(exc)), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        user = form.get_user()
        if not network.ip_allowed(user, self.ip):
            return refused(self.request, self.ip)
        self.attempt.delete()
        return super().form_valid(form)


def admin_sign_in(request) -> HttpResponse:
    """The Django admin's own sign-in page would bypass the rate limit and
    the IP check: send it to /login/, coming back to the admin. A signed-in
    user who is not staff would loop between the two: they get 403."""
    if request.user.is_authenticated:
        if not request.user.is_staff:
            raise PermissionDenied("the admin is for staff")
        return redirect(request.GET.get("next") if url_has_allowed_host_and_scheme(request.GET.get("next"), None) else "/admin/")
    return redirect(f"/login/?{urlencode({'next': request.GET.get('next', '/admin/')})}")
