"""Quick actions on a record page that write to the log directly: log a
call, add a note. A note builds a NewTouchpoint for
touchpoints.services.record_touchpoint (the API's ingest path); a call is
logged through telephony.services.do_log_call, the path of the API's
``POST /calls/log`` and of the providers' callbacks (a Call row in the call
log, and a touchpoint by the same rules)."""
from __future__ import annotations

from django import forms
from django.utils import timezone

from touchpoints.rules import Direction, Kind, Source
from touchpoints.services import NewTouchpoint
from web.forms import LocalDateTimeInput, QuickSelect, ServiceForm

# Which record a quick action is about -> the NewTouchpoint link it sets.
LINK_ARGUMENT = {"organization": "organization_ids", "contact": "contact_ids", "deal": "deal_ids"}
# The final statuses telephony.services.do_log_call accepts, in the order a person picks them.
CALL_STATUSES = [
    ("completed", "Completed"), ("hangup", "Hangup"), ("busy", "Busy"), ("no_answer", "No Answer"), ("failed", "Failed"), ("canceled", "Canceled"),
]  # fmt: skip


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class CallForm(ServiceForm):
    """Log a call by hand. On a contact page the call is with that contact;
    on a deal or organization page ``contact_choices`` (the record's contacts
    the user may see) adds a "With" picker: optional on a deal (the call is
    then the deal's), required on an organization, since a call is logged
    with a contact or a deal and shows on the organization through its contact."""

    field_map = {"occurred_at": "occurred_at", "duration_seconds": "duration_minutes", "notes": "summary", "contact_id": "contact", "number": "contact"}
    contact = forms.TypedChoiceField(label="With", required=False, coerce=int, empty_value=None, widget=QuickSelect)
    status = forms.ChoiceField(choices=CALL_STATUSES, initial="completed", label="Outcome")
    direction = forms.ChoiceField(choices=[(Direction.OUTBOUND, "Outbound"), (Direction.INBOUND, "Inbound")], label="Direction")
    occurred_at = forms.DateTimeField(label="When", widget=LocalDateTimeInput())
    duration_minutes = forms.IntegerField(min_value=0, max_value=24 * 60, required=False, label="Minutes")
    summary = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 2}), label="Notes")

    def __init__(self, *args, contact_choices: list[tuple[int, str]] | None = None, contact_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _now_local
        if contact_choices is None:
            del self.fields["contact"]
        else:
            field = self.fields["contact"]
            field.required = contact_required
            field.choices = [("", "— choose a contact —" if contact_required else "— the deal only —"), *contact_choices]
            if contact_required and not contact_choices:
                field.help_text = "Add a contact to this organization first: calls are logged with a contact"

    def log_arguments(self, record_type: str, record_id: int) -> dict:
        """Keyword arguments of telephony.services.do_log_call."""
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        contact_id = record_id if record_type == "contact" else data.get("contact")
        return {
            "contact_id": contact_id, "deal_id": record_id if record_type == "deal" else None,
            "status": data["status"], "direction": data["direction"], "occurred_at": data["occurred_at"],
            "duration_seconds": minutes * 60 if minutes is not None else None, "notes": data["summary"].strip(),
        }  # fmt: skip


class NoteForm(ServiceForm):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note", max_length=10_000)

    def touchpoint(self, record_type: str, record_id: int) -> NewTouchpoint:
        text = self.cleaned_data["summary"].strip()
        return NewTouchpoint(
            kind=Kind.NOTE, source=Source.MANUAL, occurred_at=timezone.now(), subject=text.splitlines()[0][:120],
            summary=text, **{LINK_ARGUMENT[record_type]: [record_id]},
        )  # fmt: skip
