"""Who sees which events and tasks: admins and managers all; reps their
own and their team's, and any on a record they can see."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from activities.models import Event, Task
from crm.models import Contact, Deal, Organization
from crm.permissions import owner_condition, share_condition, visible


def visible_events(user: User) -> QuerySet:
    qs = Event.objects.all()
    if user.sees_everything:
        return qs
    # Checked per event on its own contacts (their owner, their shares), not
    # as "contact IN (every contact the user may see)": SQLite re-evaluates
    # that whole set for each event it tests, 200 ms on the demo data.
    contact_visible = owner_condition(user, "contact__owner") | share_condition(user, "contact", ref="contact_id")
    on_visible_contact = Event.contacts.through.objects.filter(contact_visible, event_id=OuterRef("pk"))
    return qs.filter(
        (owner_condition(user) & Q(owner__isnull=False))
        | Q(deal__in=visible(Deal, user))
        | Q(organization__in=visible(Organization, user))
        | Exists(on_visible_contact)
    )


def visible_tasks(user: User) -> QuerySet:
    qs = Task.objects.all()
    if user.sees_everything:
        return qs
    return qs.filter(
        (owner_condition(user) & Q(owner__isnull=False))
        | Q(deal__in=visible(Deal, user))
        | Q(organization__in=visible(Organization, user))
        | Q(contact__in=visible(Contact, user))
    )
