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

    def __init__(self, *args, contact_choices, organization_choices, owner_choices, case=None, **kwargs):
        """On an existing ``case``, a field whose current value the user may
        not pick (a contact or organization they cannot see, an owner they
        may not assign) is removed, so saving keeps it instead of sending the
        list's first option or "none"."""
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["contact"].choices = [("", "— none —"), *contact_choices]
        self.fields["organization"].choices = [("", "— none —"), *organization_choices]
        self.fields["owner"].choices = [("", "— unassigned —"), *owner_choices] if case is not None and case.owner_id is None else owner_choices
        if case is not None:
            self.fields["organization"].help_text = ""
            for name, value, choices in (("contact", case.contact_id, contact_choices), ("organization", case.organization_id, organization_choices), ("owner", case.owner_id, owner_choices)):
                if value is not None and value not in {v for v, _ in choices}:
                    del self.fields[name]

    def data_for_service(self) -> dict:
        """What to change: on an existing case only the fields that differ,
        so the service's rules apply to real changes (an organization that
        follows a new contact, a reassignment check only on reassigning)."""
        data = {k: self.cleaned_data[k] for k in ("title", "description", "status", "priority")}
        for name in ("contact", "organization", "owner"):
            if name in self.fields:
                data[f"{name}_id"] = self.cleaned_data.get(name)
        if self.case is None:
            if data.get("owner_id") is None:
                data.pop("owner_id", None)  # the creator's own
            return data
        current = {"contact_id": self.case.contact_id, "organization_id": self.case.organization_id, "owner_id": self.case.owner_id}
        return {k: v for k, v in data.items() if k not in current or v != current[k]}


class CommentForm(ServiceForm):
    body = forms.CharField(label="Comment", max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 3}))
    internal = forms.BooleanField(label="Internal note (not shown to the customer)", required=False)
