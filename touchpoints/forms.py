"""Quick actions on a record page that write to the log directly: log a
call, add a note. Both build a NewTouchpoint and go through
touchpoints.services.record_touchpoint, the API's ingest path."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from touchpoints.rules import Direction, Kind, Source
from touchpoints.services import NewTouchpoint
from web.forms import LocalDateTimeInput, ServiceForm

# Which record a quick action is about -> the NewTouchpoint link it sets.
LINK_ARGUMENT = {"organization": "organization_ids", "contact": "contact_ids", "deal": "deal_ids"}
FUTURE_SKEW = timedelta(minutes=5)  # clocks differ a little
CALL_STATUSES = [("completed", "Completed"), ("hangup", "Hangup"), ("no_answer", "No Answer"), ("busy", "Busy"), ("failed", "Failed")]


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class CallForm(ServiceForm):
    field_map = {"occurred_at": "occurred_at", "duration_seconds": "duration_minutes"}
    subject = forms.CharField(max_length=255, required=False, label="Subject")
    status = forms.ChoiceField(choices=CALL_STATUSES, initial="completed", label="Outcome")
    direction = forms.ChoiceField(choices=[(Direction.OUTBOUND, "Outbound"), (Direction.INBOUND, "Inbound")], label="Direction")
    occurred_at = forms.DateTimeField(label="When", widget=LocalDateTimeInput())
    duration_minutes = forms.IntegerField(min_value=0, max_value=24 * 60, required=False, label="Minutes")
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _now_local

    def clean_occurred_at(self):
        # A logged call has happened; a future time would pin Last Contacted
        # On ahead of every real contact until that day.
        value = self.cleaned_data["occurred_at"]
        if value > timezone.now() + FUTURE_SKEW:
            raise forms.ValidationError("A logged call cannot be in the future.")
        return value

    def touchpoint(self, record_type: str, record_id: int) -> NewTouchpoint:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        return NewTouchpoint(
            kind=Kind.PHONE_CALL, source=Source.MANUAL, status=data["status"], direction=data["direction"],
            occurred_at=data["occurred_at"], duration_seconds=minutes * 60 if minutes is not None else None,
            subject=data["subject"] or "Phone call", summary=data["summary"], **{LINK_ARGUMENT[record_type]: [record_id]},
        )  # fmt: skip


class NoteForm(ServiceForm):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note", max_length=10_000)

    def touchpoint(self, record_type: str, record_id: int) -> NewTouchpoint:
        text = self.cleaned_data["summary"].strip()
        return NewTouchpoint(
            kind=Kind.NOTE, source=Source.MANUAL, occurred_at=timezone.now(), subject=text.splitlines()[0][:120],
            summary=text, **{LINK_ARGUMENT[record_type]: [record_id]},
        )  # fmt: skip
