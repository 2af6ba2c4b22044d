"""IP-based restriction for the browser session, on every request.

A session signed in from an allowed network stops working the moment it is
used from elsewhere (or the admin narrows the ranges): the request gets 403
(JSON under /api/, a page elsewhere) and the session is ended, so moving
back does not quietly revive it; the user signs in again. Requests without a
signed-in session pass through: the sign-in page checks the address itself
(accounts.views), and API tokens are checked by config.auth.TokenAuth.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import render

from accounts import network


class IpRestrictionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        # Only a request that carries a session cookie can be signed in:
        # checking first keeps token and anonymous requests from loading a session.
        if user is not None and settings.SESSION_COOKIE_NAME in request.COOKIES and user.is_authenticated:
            ip = network.client_ip(request)
            if not network.ip_allowed(user, ip):
                logout(request)
                return refused(request, ip)
        return self.get_response(request)


def refused(request, ip: str | None):
    message = network.refusal(ip)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "accounts/ip_refused.html", {"message": message}, status=403)
