"""Small presentation helpers shared by every page: kind icons, status
badges and emoticons. Later channels (email, telephony, documents, cases)
add their kinds and statuses here, not in templates."""
from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()

KIND_LABELS = {
    "event": "Event",
    "phone_call": "Phone call",
    "email": "Email",
    "email_campaign": "Email campaign",
    "sms": "SMS",
    "chat": "Chat",
    "note": "Note",
    "document": "Document",
    "case": "Case",
    "portal_login": "Portal login",
    "portal_logout": "Portal logout",
}
KIND_ICONS = {
    "event": "📅",
    "phone_call": "📞",
    "email": "✉️",
    "email_campaign": "📣",
    "sms": "💬",
    "chat": "🗨️",
    "note": "📝",
    "document": "📄",
    "case": "🎫",
    "portal_login": "🔓",
    "portal_logout": "🔒",
}
# Badge tone by status: good news, neutral progress, bad news.
STATUS_TONES = {
    "held": "good", "completed": "good", "delivered": "good", "sent": "good", "received": "good",
    "resolved": "good", "closed": "neutral", "shared": "neutral", "logged": "neutral",
    "dispatched": "info", "hangup": "info", "in_progress": "info", "open": "info", "wait_for_response": "info",
    "not_held": "bad", "failed": "bad", "bounced": "bad",
}  # fmt: skip
EMOTICONS = {1: ("😠", "Very unhappy"), 2: ("🙁", "Unhappy"), 3: ("😐", "Neutral"), 4: ("🙂", "Happy"), 5: ("😄", "Very happy")}


def status_label(status: str) -> str:
    return status.replace("_", " ").title()


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


@register.simple_tag
def kind_icon(kind: str) -> str:
    return format_html('<span class="kind-icon kind-{}" title="{}" aria-hidden="true">{}</span>', kind, kind_label(kind), KIND_ICONS.get(kind, "•"))


@register.simple_tag
def status_badge(status: str | None) -> str:
    if not status:
        return ""
    return format_html('<span class="badge badge-{}">{}</span>', STATUS_TONES.get(status, "neutral"), status_label(status))


@register.simple_tag
def emoticon(value: int | None) -> str:
    if value not in EMOTICONS:
        return ""
    glyph, label = EMOTICONS[value]
    return format_html('<span class="emoticon" role="img" aria-label="{}" title="{}">{}</span>', label, label, glyph)


@register.filter
def duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if mapping else None
