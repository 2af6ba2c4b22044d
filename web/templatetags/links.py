"""Where an Activity row links to, whatever the channel: an email's page, a
case's page, a shared document's download. Decided from the row's kind,
source and external id, so Activity costs no query more; each target
checks visibility itself (404 for who may not see it)."""
from __future__ import annotations

from django import template
from django.urls import reverse

from emails.templatetags.email_links import email_href

register = template.Library()


@register.filter
def touchpoint_href(tp: dict) -> str:
    get = tp.get if isinstance(tp, dict) else lambda name: getattr(tp, name, None)
    source, external_id = get("source"), get("external_id") or ""
    if get("kind") == "case" and source == "case" and external_id.isdigit():
        return reverse("case-detail", args=[int(external_id)])
    if get("kind") == "document" and source == "document" and external_id.startswith("share-") and external_id[6:].isdigit():
        return reverse("document-share-download", args=[int(external_id[6:])])
    return email_href(tp)
