from django import template
from django.urls import reverse
from django.utils.html import format_html

from activities.models import Event
from activities.queries import record_of

register = template.Library()


@register.simple_tag
def activity_link(activity) -> str:
    """The activity's title, linked to the record it is about."""
    title = activity.subject if isinstance(activity, Event) else activity.title
    target = record_of(activity)
    if target is None:
        return format_html("<strong>{}</strong>", title)
    record_type, record_id = target
    name = {"deal": activity.deal, "organization": activity.organization}.get(record_type)
    suffix = format_html(' <small class="muted">· {}</small>', name) if name is not None else ""
    return format_html('<a href="{}"><strong>{}</strong></a>{}', reverse(f"{record_type}-detail", kwargs={"record_id": record_id}), title, suffix)
