"""The signed-in user's API tokens page: list, create (the value shown once,
on the answer to the form), revoke. Every write is the service the REST API
calls (accounts.services.do_create_token / do_revoke_token): same rate
limit, same rules (a session may make any token)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import network
from accounts.forms import TokenForm
from accounts.models import ApiToken
from accounts.ratelimit import RateLimited
from accounts.services import do_create_token, do_revoke_token
from config.errors import Invalid


def _page(request, form: TokenForm | None = None, *, created: tuple[ApiToken, str] | None = None, status: int = 200) -> HttpResponse:
    now = timezone.now()
    tokens = list(ApiToken.objects.filter(user=request.user).order_by("-id")[:200])
    for token in tokens:
        token.status = "revoked" if token.revoked_at else "expired" if token.expires_at and token.expires_at <= now else "active"
    context = {"nav": "tokens", "tokens": tokens, "form": form or TokenForm(auto_id="tk_%s"), "created": created}
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_settings(request) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    form = TokenForm(request.POST, auto_id="tk_%s")
    if not form.is_valid():
        return _page(request, form, status=422)
    try:
        created = do_create_token(
            request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_in_days=form.cleaned_data["expires_in_days"],
            ip=network.client_ip(request),
        )
    except RateLimited as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=429)
    except Invalid as exc:
        for e in exc.errors:
            form.add_error(e["loc"][-1] if e["loc"] and e["loc"][-1] in form.fields else None, e["msg"])
        return _page(request, form, status=422)
    # Rendered, not redirected: the value exists only in this answer.
    return _page(request, created=created)


@login_required
@require_POST
def revoke_token(request, token_id: int) -> HttpResponse:
    # Only one's own here, even for admins (they revoke others' in the admin
    # or the API): this page lists one's own tokens and acts on nothing else.
    if not ApiToken.objects.filter(id=token_id, user=request.user).exists():
        raise Http404("token not found")
    token = do_revoke_token(request.user, token_id)
    messages.success(request, f"Revoked “{token.name}” ({token.hint}…). It no longer works.")
    return redirect("token-settings")
