"""The Documents widget's "+" form: it parses the upload and the records to
share with; documents.services decides what is allowed."""
from __future__ import annotations

from django import forms

from web.forms import ServiceForm


class UploadForm(ServiceForm):
    field_map = {"contact_ids": "share_with", "organization_ids": "share_with", "deal_id": "share_with"}

    file = forms.FileField(label="File", allow_empty_file=True)
    title = forms.CharField(label="Title", max_length=200, required=False, help_text="The file's name if left empty")
    description = forms.CharField(label="Description", max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    share_with = forms.MultipleChoiceField(label="Share with", required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, targets: list[tuple[str, str]] = (), fixed: str | None = None, **kwargs):
        """``targets``: ("contact:7", "Carol Ng") choices (a deal page offers its
        contacts and organization); ``fixed``: the one target of a contact's
        or organization's own page, shared with without asking."""
        super().__init__(*args, **kwargs)
        self.fixed = fixed
        if fixed is not None:
            del self.fields["share_with"]
        else:
            self.fields["share_with"].choices = list(targets)
            self.fields["share_with"].required = True

    def targets(self) -> tuple[list[int], list[int]]:
        chosen = [self.fixed] if self.fixed else self.cleaned_data.get("share_with", [])
        contacts = [int(v.split(":")[1]) for v in chosen if v.startswith("contact:")]
        organizations = [int(v.split(":")[1]) for v in chosen if v.startswith("organization:")]
        return contacts, organizations
