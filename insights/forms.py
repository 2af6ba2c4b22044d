"""The Sales Insights page's filters. They only parse what the browser
sent; the rules (period length, who may be reported on) are
insights.queries.check_filters', the API's, whose errors show under the
matching input (ServiceForm.run)."""
from __future__ import annotations

from django import forms

from crm.models import DealStage
from insights.queries import NO_DEAL
from insights.rules import ACTIVITY_KINDS
from web.forms import DateInput, QuickSelect, ServiceForm

KIND_LABELS = {"event": "Events", "phone_call": "Phone calls", "email": "Emails", "email_campaign": "Email campaigns", "sms": "SMS", "chat": "Chats"}
STAGE_CHOICES = [*DealStage.choices, (NO_DEAL, "On no deal")]


class InsightsFilterForm(ServiceForm):
    field_map = {"rep_ids": "rep", "kinds": "kind", "stages": "stage", "team_id": "team"}

    start = forms.DateField(label="From", required=False, widget=DateInput())
    end = forms.DateField(label="To", required=False, widget=DateInput())
    bucket = forms.ChoiceField(label="By", required=False, choices=[("week", "Week"), ("month", "Month")])
    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None, widget=QuickSelect)
    rep = forms.TypedChoiceField(label="Rep", required=False, coerce=int, empty_value=None, widget=QuickSelect)
    kind = forms.MultipleChoiceField(label="Kinds", required=False, choices=[(k, KIND_LABELS[k]) for k in ACTIVITY_KINDS], widget=forms.CheckboxSelectMultiple)
    stage = forms.MultipleChoiceField(label="Deal stages", required=False, choices=STAGE_CHOICES, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, teams: list[tuple[int, str]], reps: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All teams" if len(teams) > 1 else "—"), *teams]
        self.fields["rep"].choices = [("", "Everyone" if len(reps) > 1 else "—"), *reps]

    def arguments(self) -> dict | None:
        """Arguments for insights.queries.check_filters, or None when a field
        is not even a date or a choice (its error is on the form)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return {
            "start": data["start"],
            "end": data["end"],
            "bucket": data["bucket"] or "week",
            "team_id": data["team"],
            "rep_ids": [data["rep"]] if data["rep"] else [],
            "kinds": data["kind"],
            "stages": data["stage"],
        }
