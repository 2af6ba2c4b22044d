"""The providers' webhooks: /webhooks/{twilio|plivo}/{voice-status|sms-status|sms-inbound},
and voice-connect (the dial markup click-to-call asks for).

Every request is verified with the provider's own SDK validator against
the URL the provider was given (PUBLIC_BASE_URL + path + query, since a
proxy in front may change the host and scheme Django sees). Forged or
unsigned requests, and any request for a provider with no enabled
account, get 403 and nothing is stored. A verified request is stored and
answered (telephony.inbox); nothing else happens during the request.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from telephony.inbox import do_receive_webhook
from telephony.models import Call, Provider, WebhookKind
from telephony.providers.base import get_provider
from telephony.services import credentials, webhook_url

VOICE_CONNECT = "voice-connect"


def _forbidden(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=403)


@csrf_exempt
def webhook(request: HttpRequest, provider: str, kind: str) -> HttpResponse:
    if provider not in Provider.values or kind not in (*WebhookKind.values, VOICE_CONNECT):
        return JsonResponse({"detail": "not found"}, status=404)
    if request.method not in ("POST", "GET"):
        return JsonResponse({"detail": "POST or GET"}, status=405)
    creds = credentials(provider)
    if creds is None:
        return _forbidden(f"no enabled {provider} account: requests cannot be verified")
    adapter = get_provider(provider)
    form = request.POST if request.method == "POST" else request.GET
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    if not adapter.verify(creds, url=url, method=request.method, params=form, headers=request.headers):
        return _forbidden(f"missing or invalid {provider} signature")
    params = form.dict()
    if kind == VOICE_CONNECT:
        return _connect(adapter, request.GET.get("call", ""))
    if request.method == "POST" and "call" in request.GET:
        params["_call"] = request.GET["call"]  # our Call row (click-to-call), see inbox._click_to_call_leg
        params["_leg"] = request.GET.get("leg", "user")
    do_receive_webhook(provider, kind, params, adapter.replay_key(request.headers, params))
    body, content_type = adapter.empty_markup()
    return HttpResponse(body, content_type=content_type)


def _connect(adapter, call_pk: str) -> HttpResponse:
    """The markup that makes the provider dial the contact once the user
    answered. The number comes from our Call row, never from the request."""
    call = Call.objects.filter(id=int(call_pk)).first() if call_pk.isdigit() else None
    if call is None:
        return JsonResponse({"detail": "unknown call"}, status=404)
    # The contact's leg reports to the same call row (telephony.inbox._click_to_call_leg).
    callback = f"{webhook_url(call.provider, 'voice-status')}?call={call.id}&leg=contact"
    body, content_type = adapter.connect_markup(contact_number=call.to_number, caller_id=call.from_number, status_callback_url=callback)
    return HttpResponse(body, content_type=content_type)
