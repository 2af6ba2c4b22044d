"""Links into the email pages from templates of other apps (Activity)."""
from __future__ import annotations

from django import template
from django.urls import reverse

from emails.queries import EMAIL_KINDS, EMAIL_ROW_SOURCES

register = template.Library()


@register.filter
def email_href(tp: dict) -> str:
    """The email page of an Activity row (a timeline dict), or "" when the row
    is not an email with a stored message. Decided from the row's kind and
    source, so Activity costs no query more; the link resolves the email
    (404 if none, or not visible)."""
    get = tp.get if isinstance(tp, dict) else lambda name: getattr(tp, name, None)
    if get("kind") in EMAIL_KINDS and get("source") in EMAIL_ROW_SOURCES:
        return reverse("email-by-touchpoint", args=[get("id")])
    return ""
