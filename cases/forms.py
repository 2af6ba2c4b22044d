"""Case forms for the staff pages; the rules are cases.services'."""
from __future__ import annotations

from django import forms

from cases.models import CasePriority, CaseStatus
from cases.services import MAX_COMMENT
from web.forms import QuickSelect, ServiceForm


class CaseForm(ServiceForm):
    field_map = {"contact_id": "contact", "organization_id": "organization", "owner_id": "owner"}

    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 5}))
    contact = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, widget=QuickSelect)
    organization = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, widget=QuickSelect, help_text="Left empty: the contact's organization")
    status = forms.ChoiceField(choices=CaseStatus.choices)
    priority = forms.ChoiceField(choices=CasePriority.choices, initial=CasePriority.NORMAL)
    owner = forms.TypedChoiceField(label="Assigned to", required=False, coerce=int, empty_value=None, widget=QuickSelect)

    def __init__(self, *args, contact_choices, organization_choices, owner_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [("", "— none —"), *contact_choices]
        self.fields["organization"].choices = [("", "— none —"), *organization_choices]
        self.fields["owner"].choices = owner_choices

    def data_for_service(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("title", "description", "status", "priority")}
        data["contact_id"] = self.cleaned_data.get("contact")
        data["organization_id"] = self.cleaned_data.get("organization")
        if self.cleaned_data.get("owner") is not None:
            data["owner_id"] = self.cleaned_data["owner"]
        return data


class CommentForm(ServiceForm):
    body = forms.CharField(label="Comment", max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 3}))
    internal = forms.BooleanField(label="Internal note (not shown to the customer)", required=False)
