"""Endpoints called by mail clients and mail providers, not by users: the
open pixel, the click redirect and the SendGrid / Mailgun event webhooks.

Each is authenticated by what the caller holds: a token we signed (pixel,
click) or the provider's signature (webhooks), verified with the
providers' own SDK functions (emails.webhooks). A webhook answers 401 for
a missing or wrong signature, 400 naming the field for a signed payload it
cannot read, 503 when its key is not configured, and 200 otherwise, also
for repeats (deduplicated by event id) so the provider stops retrying.
"""
from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from emails import tracking, webhooks
from emails.engagement import Hit, do_apply_provider_events, do_record_hit


def _client(request: HttpRequest) -> tuple[str | None, str | None]:
    # Behind a proxy, set it to pass the client address in REMOTE_ADDR
    # (gunicorn's --forwarded-allow-ips); we do not trust X-Forwarded-For.
    return request.META.get("REMOTE_ADDR"), request.META.get("HTTP_USER_AGENT")


@never_cache
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """Always the pixel (a broken image tells a recipient nothing useful);
    the open is recorded only for a token we signed."""
    try:
        hit = tracking.read_token(token, kind="open")
    except tracking.BadToken:
        hit = None
    if hit is not None:
        ip, agent = _client(request)
        do_record_hit(hit.recipient_id, Hit(kind="open", at=timezone.now(), ip=ip, user_agent=agent))
    return HttpResponse(tracking.PIXEL_GIF, content_type="image/gif")


@never_cache
@require_GET
def click_redirect(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click and send the reader on; a token we did not sign is
    a 404, never a redirect (no open redirect)."""
    try:
        hit = tracking.read_token(token, kind="click")
    except tracking.BadToken:
        return HttpResponse("Unknown link", status=404, content_type="text/plain")
    ip, agent = _client(request)
    do_record_hit(hit.recipient_id, Hit(kind="click", at=timezone.now(), ip=ip, user_agent=agent, url=hit.url))
    return HttpResponseRedirect(hit.url)


def _error(status: int, detail, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _apply(parse, payload) -> JsonResponse:
    """Read a verified payload's events and apply them; 400 naming the field
    that cannot be read (the provider shows it in its delivery log)."""
    try:
        events = parse(payload)
    except webhooks.WebhookPayloadError as exc:
        return _error(400, [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}])
    return JsonResponse(do_apply_provider_events(events))


@csrf_exempt
@require_POST
def sendgrid_events(request: HttpRequest) -> JsonResponse:
    key = settings.SENDGRID_WEBHOOK_PUBLIC_KEY
    if not key:
        return _error(503, "SENDGRID_WEBHOOK_PUBLIC_KEY is not configured")
    signature = request.headers.get(webhooks.SENDGRID_SIGNATURE_HEADER)
    timestamp = request.headers.get(webhooks.SENDGRID_TIMESTAMP_HEADER)
    try:
        verified = webhooks.verify_sendgrid(request.body, signature, timestamp, key)
    except ImproperlyConfigured as exc:
        return _error(503, f"SENDGRID_WEBHOOK_PUBLIC_KEY is unusable: {exc}")
    if not verified:
        return _error(401, "missing, stale or invalid SendGrid signature")
    return _apply(webhooks.parse_sendgrid, request.body)


@csrf_exempt
@require_POST
def mailgun_events(request: HttpRequest) -> JsonResponse:
    key = settings.MAILGUN_WEBHOOK_SIGNING_KEY
    if not key:
        return _error(503, "MAILGUN_WEBHOOK_SIGNING_KEY is not configured")
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # read before the signature is: anyone's bytes
        return _error(400, [{"loc": ["body"], "msg": "must be JSON", "type": "json_invalid"}])
    if not isinstance(payload, dict) or not webhooks.verify_mailgun(payload, key):
        return _error(401, "missing, stale or invalid Mailgun signature")
    return _apply(webhooks.parse_mailgun, payload)
