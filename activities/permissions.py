"""Who sees which events and tasks: admins and managers all; reps their
own and their team's, and any on a record they can see."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from activities.models import Event, Task
from crm.models import Contact, Deal, Organization
from crm.permissions import owner_condition, visible


def visible_events(user: User) -> QuerySet:
    qs = Event.objects.all()
    if user.sees_everything:
        return qs
    on_visible_contact = Event.contacts.through.objects.filter(event_id=OuterRef("pk"), contact__in=visible(Contact, user))
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
