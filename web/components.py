"""The record page's sections as reusable components.

A record page (deal, contact, organization) is a summary plus the same
sections: Activity, Up Next, quick actions and the emotional journey. Each
section has a context builder here and a partial template; the page renders
them inline on first load, and each section's own URL re-renders it alone
(after a quick action, or the Activity filter). Later channels add a
section by adding a builder and a partial, not by editing every page.

Query budget of a record page (asserted in web/tests): session, user,
record, preference, one timeline page and its "via" names, Up Next
(eight small indexed queries), plus the page's related records.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts.models import Preference, User
from activities import queries as activity_queries
from activities.forms import EventForm, TaskForm
from emails.queries import timeline_engagement
from touchpoints import queries as touchpoint_queries
from touchpoints.forms import CallForm, NoteForm
from touchpoints.rules import Kind
from web.templatetags.ui import EMOTICONS, KIND_LABELS

EMOTICON_CHOICES = [(value, glyph, label) for value, (glyph, label) in EMOTICONS.items()]

UP_NEXT_LIMIT = 10


def preference(user: User) -> Preference:
    # Cached on the user object: one query per request, whichever sections ask.
    if not hasattr(user, "_touchpoints_preference"):
        user._touchpoints_preference = Preference.objects.filter(user=user).first() or Preference(user=user)
    return user._touchpoints_preference


def activity_context(user: User, record_type: str, record_id: int, cursor: str | None = None) -> dict:
    hidden = set(preference(user).hidden_kinds)
    # All kinds on: no IN list, the plain index range scan.
    kinds = [k for k in Kind.values if k not in hidden] if hidden else None
    if kinds == []:
        items, next_cursor = [], None
    else:
        page = touchpoint_queries.timeline(record_type, record_id, kinds=kinds, cursor=cursor, limit=settings.UI_PAGE_SIZE, viewer=user)
        items, next_cursor = page.items, page.next_cursor
    return {
        "record_type": record_type,
        "record_id": record_id,
        "items": items,
        "next_cursor": next_cursor,
        "via": touchpoint_queries.via_names(user, items),
        "engagement": timeline_engagement(items),  # emails' opens/clicks: one query, none without emails
        "kind_filter": [(k, KIND_LABELS.get(k, k), k not in hidden) for k in Kind.values],
    }


def up_next_context(user: User, record_type: str, record_id: int) -> dict:
    return {
        "record_type": record_type,
        "record_id": record_id,
        "up_next": activity_queries.up_next(user, record_type, record_id, UP_NEXT_LIMIT),
        "emoticon_choices": EMOTICON_CHOICES,
    }


def quick_action_forms() -> dict:
    return {"call_form": CallForm(auto_id="call_%s"), "note_form": NoteForm(auto_id="note_%s"), "event_form": EventForm(auto_id="event_%s"), "task_form": TaskForm(auto_id="task_%s")}


def record_page_context(request: HttpRequest, record_type: str, record) -> dict:
    return {
        "nav": record_type,
        "record_type": record_type,
        "record": record,
        "activity": activity_context(request.user, record_type, record.id),
        **up_next_context(request.user, record_type, record.id),
        **quick_action_forms(),
    }
