"""Quick actions for planned work: create an event or a task on a record,
mark an event Held / Not Held with an emoticon. They produce the dicts
activities.services takes, the same the REST API passes."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from activities.models import Emoticon, EventStatus, EventType
from web.forms import DateInput, LocalDateTimeInput, ServiceForm


def _event_links(record_type: str, record_id: int) -> dict:
    return {"deal": {"deal_id": record_id}, "organization": {"organization_id": record_id}, "contact": {"contact_ids": [record_id]}}[record_type]


class EventForm(ServiceForm):
    subject = forms.CharField(max_length=200)
    event_type = forms.ChoiceField(choices=EventType.choices, initial=EventType.MEETING, label="Type")
    start_at = forms.DateTimeField(label="Starts", widget=LocalDateTimeInput())
    duration_minutes = forms.IntegerField(min_value=0, max_value=7 * 24 * 60, initial=30, label="Minutes")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    field_map = {"end_at": "duration_minutes"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Default: the next full hour, in the user's zone.
        self.fields["start_at"].initial = lambda: (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00")

    def data_for_service(self, record_type: str, record_id: int) -> dict:
        data = self.cleaned_data
        start = data["start_at"]
        end = start + timedelta(minutes=data["duration_minutes"])
        return {"subject": data["subject"], "event_type": data["event_type"], "start_at": start, "end_at": end, "description": data["description"], **_event_links(record_type, record_id)}


class TaskForm(ServiceForm):
    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=DateInput(), label="Due")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_date"].initial = lambda: timezone.localdate().isoformat()

    def data_for_service(self, record_type: str, record_id: int) -> dict:
        link = {"deal": "deal_id", "organization": "organization_id", "contact": "contact_id"}[record_type]
        return {**{k: self.cleaned_data[k] for k in ("title", "due_date", "description")}, link: record_id}


class OutcomeForm(ServiceForm):
    """Mark an event Held or Not Held; a held one may carry an emoticon
    ("Emoticons can be attached to events marked as Held")."""

    status = forms.ChoiceField(choices=[(EventStatus.HELD, "Held"), (EventStatus.NOT_HELD, "Not Held")], widget=forms.RadioSelect)
    emoticon = forms.TypedChoiceField(choices=Emoticon.choices, coerce=int, required=False, empty_value=None, widget=forms.RadioSelect)

    def data_for_service(self) -> dict:
        # A not-held event with an emoticon is the service's to reject, with its message.
        return {"status": self.cleaned_data["status"], "emoticon": self.cleaned_data["emoticon"]}
