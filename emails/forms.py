"""Forms of the email pages: mailbox settings, the composer, campaigns and
the Engagements filters. They parse what the browser sent into what the
service functions take (emails.services, emails.sending: the API's path);
the rules (addresses, ports, merge fields, visibility) stay there, and
``ServiceForm.run`` shows their ``Invalid`` under the matching input."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from emails.models import Security
from emails.sending import Outgoing, text_to_html
from touchpoints.forms import LINK_ARGUMENT
from web.forms import DateInput, QuickSelect, ServiceForm


def split_addresses(value: str) -> list[str]:
    """"a@x, b@y; c@z" -> three addresses (commas, semicolons, new lines)."""
    return [part.strip() for part in re.split(r"[,;\n]", value or "") if part.strip()]


# --- mailbox settings ----------------------------------------------------------------------


class MailboxForm(ServiceForm):
    """Connect (every field) or edit (a blank password keeps the stored
    one) a mailbox. What is required and what a valid port or address is,
    emails.services.check_mailbox_data says."""

    email_address = forms.CharField(label="Email address", required=False, widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"}))
    imap_host = forms.CharField(label="IMAP server", required=False, widget=forms.TextInput(attrs={"placeholder": "imap.example.com"}))
    imap_port = forms.IntegerField(label="Port", required=False, initial=993)
    imap_security = forms.ChoiceField(label="Security", choices=Security.choices, initial=Security.SSL)
    username = forms.CharField(label="Username", required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(label="Password", required=False, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    sent_folder = forms.CharField(label="Sent folder", required=False, help_text="Optional: found automatically when empty")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["password"].help_text = "Leave empty to keep the stored password"
            self.fields["enabled"] = forms.BooleanField(label="Sync this mailbox", required=False)
            # As the API's PATCH schema (min length 1): emptied, they would be
            # saved empty, since the service's partial check skips what is blank.
            for name in ("email_address", "imap_host", "username"):
                self.fields[name].required = True

    def data_for_service(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in ("email_address", "imap_host", "imap_security", "username", "sent_folder")}
        if self.cleaned_data.get("imap_port") is not None:
            data["imap_port"] = self.cleaned_data["imap_port"]
        if self.cleaned_data.get("password"):
            data["password"] = self.cleaned_data["password"]
        if self.editing:
            data["enabled"] = bool(self.cleaned_data.get("enabled"))
        return data


# --- composer --------------------------------------------------------------------------------


class ComposeForm(ServiceForm):
    """An email from a record page. The body is plain text; sending turns
    it into HTML (paragraphs, clickable links) so it can carry tracking."""

    field_map = {"body_text": "body", "body_html": "body", "template_id": "template"}
    recipients = forms.MultipleChoiceField(label="Contacts", required=False, widget=forms.CheckboxSelectMultiple)
    to = forms.CharField(label="To", required=False, help_text="Separate several addresses with commas", widget=forms.TextInput(attrs={"inputmode": "email"}))
    cc = forms.CharField(label="Cc", required=False, widget=forms.TextInput(attrs={"inputmode": "email"}))
    bcc = forms.CharField(label="Bcc", required=False, widget=forms.TextInput(attrs={"inputmode": "email"}))
    template = forms.TypedChoiceField(label="Template", required=False, coerce=int, empty_value=None, widget=QuickSelect)
    subject = forms.CharField(label="Subject", required=False)
    body = forms.CharField(label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, address_choices: list[tuple[str, str]] = (), template_choices: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        if address_choices:
            self.fields["recipients"].choices = address_choices
            self.fields["to"].label = "Other addresses"
        else:
            del self.fields["recipients"]
        self.fields["template"].choices = [("", "— none —"), *template_choices]

    def outgoing(self, record_type: str, record_id: int) -> Outgoing:
        data = self.cleaned_data
        to = list(dict.fromkeys([*data.get("recipients", []), *split_addresses(data["to"])]))
        return Outgoing(
            to=to, cc=split_addresses(data["cc"]), bcc=split_addresses(data["bcc"]),
            subject=data["subject"].strip(), body_text=data["body"].strip(), **{LINK_ARGUMENT[record_type]: [record_id]},
        )  # fmt: skip


# --- campaigns --------------------------------------------------------------------------------


class IdListField(forms.Field):
    """Checked contact ids (``contacts=1&contacts=2``); which of them exist and
    may be mailed is the service's question."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, (list, tuple)) else [value] if value else []
        try:
            return list(dict.fromkeys(int(v) for v in values if str(v).strip()))
        except ValueError as exc:
            raise forms.ValidationError("Pick contacts from the list.") from exc


class CampaignForm(ServiceForm):
    field_map = {"body_html": "body", "contact_ids": "contacts"}
    contacts = IdListField(label="Recipients", required=False)
    name = forms.CharField(label="Campaign name", required=False, help_text="For you; recipients do not see it")
    subject = forms.CharField(label="Subject", required=False)
    body_format = forms.ChoiceField(label="Body is", choices=[("text", "Plain text"), ("html", "HTML")], initial="text", widget=forms.RadioSelect)
    body = forms.CharField(label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 10}))

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        body = data["body"].strip()
        if body and data["body_format"] == "text":
            body = text_to_html(body)
        return {"name": data["name"].strip(), "subject": data["subject"].strip(), "body_html": body, "contact_ids": data["contacts"]}


# --- engagements --------------------------------------------------------------------------------

PEOPLE_KINDS = [("", "Opens and clicks"), ("open", "Opens"), ("click", "Clicks")]
AUTOMATED_KINDS = [("automated_open", "Automated opens"), ("automated_click", "Automated clicks")]


class EngagementFilterForm(forms.Form):
    """The Engagements page's filters; dates are days in the user's zone
    (the active one, set by web.middleware), both ends included."""

    since = forms.DateField(label="From", required=False, widget=DateInput())
    until = forms.DateField(label="To", required=False, widget=DateInput())
    owner = forms.TypedChoiceField(label="Rep", required=False, coerce=int, empty_value=None, widget=QuickSelect)
    contact = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="Show", required=False)
    automated = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, owner_choices: list[tuple[int, str]], automated: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Anyone"), *owner_choices]
        self.fields["kind"].choices = AUTOMATED_KINDS if automated else PEOPLE_KINDS

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "must be on or after From")
        return data

    def query(self, automated: bool) -> dict:
        """Arguments for emails.queries.engagements_page."""
        self.is_valid()  # a field that is not valid is left out of cleaned_data: no filter
        good = self.cleaned_data
        since, until = good.get("since"), good.get("until")
        kind = good.get("kind") or None
        if automated and kind not in dict(AUTOMATED_KINDS):
            kind = AUTOMATED_KINDS[0][0]
        return {
            "kind": kind,
            "owner_id": good.get("owner"),
            "contact_id": good.get("contact"),
            "touchpoint_id": None,
            "since": _start_of(since) if since else None,
            "until": _start_of(until + timedelta(days=1)) if until else None,
            "include_automated": automated,
        }


def _start_of(day) -> datetime:
    """Midnight of ``day`` in the active (the user's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


# --- unmatched senders -------------------------------------------------------------------------


class ContactFromAddressForm(ServiceForm):
    """Make an unmatched sender a contact (emails.services.do_create_contact_from_address,
    the API's path). Required and length as the API's ContactFromAddressIn;
    the rest (a valid address, a visible organization) is the service's."""

    field_map = {"organization_id": "organization", "emails": "address"}
    address = forms.CharField(max_length=254, widget=forms.HiddenInput)
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100)
    title = forms.CharField(label="Title", max_length=100, required=False)
    organization = forms.TypedChoiceField(label="Organization", required=False, coerce=int, empty_value=None, widget=QuickSelect)

    def __init__(self, *args, organization_choices: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [("", "— none —"), *organization_choices]

    def data_for_service(self) -> dict:
        data = {name: self.cleaned_data[name].strip() for name in ("first_name", "last_name", "title")}
        return {**data, "organization_id": self.cleaned_data.get("organization")}
