"""Create/edit forms for organizations, contacts and deals. They parse the
browser's input into the dicts crm.services takes; the rules (E.164 phones,
valid emails, visible organizations, stage and closing date) are the
services', so the page and the API reject the same things the same way."""
from __future__ import annotations

import re

from django import forms

from crm.models import DealStage
from web.forms import DateInput, QuickSelect, ServiceForm


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", value or "") if part.strip()]


class RecordForm(ServiceForm):
    """What every record's form has: who it is assigned to (and, for
    contacts and deals, its organization). A field the user may not set
    here is removed, so saving leaves it as it is: the organization of a
    shared record whose organization they cannot see, the owner of a record
    they may not reassign."""

    field_map = {"organization_id": "organization", "owner_id": "owner"}

    def __init__(self, *args, owner_choices: list[tuple[int, str]], organization_choices: list[tuple[int, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization_choices is not None:
            self.fields["organization"].choices = [("", "— none —"), *organization_choices]
        # Optional: left out, a new record is the user's own and an edited one keeps its owner.
        self.fields["owner"] = forms.TypedChoiceField(label="Assigned to", coerce=int, empty_value=None, required=False, choices=owner_choices, widget=QuickSelect)

    def hide(self, name: str) -> None:
        del self.fields[name]

    def _with_links(self, data: dict) -> dict:
        if "organization" in self.fields:
            data["organization_id"] = self.cleaned_data.get("organization") or None
        if self.cleaned_data.get("owner") is not None:
            data["owner_id"] = self.cleaned_data["owner"]
        return data


class OrganizationForm(RecordForm):
    name = forms.CharField(max_length=200)
    website = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=32, required=False)
    industry = forms.CharField(max_length=100, required=False)

    def data_for_service(self) -> dict:
        return self._with_links({k: self.cleaned_data[k] for k in ("name", "website", "phone", "industry")})


class ContactForm(RecordForm):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100)
    title = forms.CharField(max_length=100, required=False)
    organization = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, widget=QuickSelect)
    emails = forms.CharField(required=False, help_text="Separate several with commas", widget=forms.TextInput(attrs={"inputmode": "email"}))
    phones = forms.CharField(required=False, help_text="With +country code, or in the default region", widget=forms.TextInput(attrs={"inputmode": "tel"}))

    def data_for_service(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("first_name", "last_name", "title")}
        return self._with_links({**data, "emails": _split(self.cleaned_data["emails"]), "phones": _split(self.cleaned_data["phones"])})


class DealForm(RecordForm):
    name = forms.CharField(max_length=200)
    organization = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, widget=QuickSelect)
    stage = forms.ChoiceField(choices=DealStage.choices)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    expected_close_date = forms.DateField(required=False, widget=DateInput())

    def data_for_service(self) -> dict:
        return self._with_links({k: self.cleaned_data[k] for k in ("name", "stage", "amount", "expected_close_date")})


class DealContactForm(ServiceForm):
    field_map = {"contact_id": "contact"}
    contact = forms.IntegerField(min_value=1, widget=forms.Select)
    role = forms.ChoiceField(choices=[])

    def __init__(self, *args, contact_choices: list[tuple[int, str]] = (), **kwargs):
        from crm.models import ContactRole

        super().__init__(*args, **kwargs)
        self.fields["contact"].widget.choices = list(contact_choices)
        self.fields["role"].choices = ContactRole.choices
