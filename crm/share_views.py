"""The record page's "Shared with" card: list a record's shares, share it
with a user or a team, take a share back. Same services as the API
(crm.sharing), so the same rules: see that module."""
from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from crm import sharing
from web.forms import ServiceForm
from web.http import get_record_or_404, report_form_errors


class ShareForm(ServiceForm):
    target = forms.ChoiceField(label="Share with")
    field_map = {"user_id": "target", "team_id": "target"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "Pick a team or a user"), *sharing.share_target_choices()]

    def target_ids(self) -> dict[str, int]:
        kind, _, target_id = self.cleaned_data["target"].partition(":")
        return {f"{kind}_id": int(target_id)}


def _card(request, record_type: str, record, form: ShareForm | None = None, status: int = 200) -> HttpResponse:
    manage = sharing.can_manage_shares(request.user, record)
    context = {
        "record_type": record_type,
        "record": record,
        "shares": list(sharing.record_shares(record_type, record.id).order_by("id")),
        "can_manage": manage,
        "share_form": (form or ShareForm(auto_id="share_%s")) if manage else None,
    }
    return render(request, "crm/_shares.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def record_shares(request, record_type: str, record_id: int):
    """GET: the card (loaded by htmx into the record page). POST: share."""
    record = get_record_or_404(request.user, record_type, record_id)
    if request.method == "GET":
        return _card(request, record_type, record)
    sharing.check_can_manage_shares(record=record, actor=request.user)  # 403 page (web.http) for a teammate's viewer
    form = ShareForm(request.POST, auto_id="share_%s")
    done = form.is_valid() and form.run(sharing.do_share, request.user, record_type, record.id, **form.target_ids()) is not None
    if not request.htmx:
        if not done:
            report_form_errors(request, form)
        return redirect(f"{record_type}-detail", record_id=record.id)
    return _card(request, record_type, record, None if done else form, status=200 if done else 422)


@login_required
@require_POST
def record_share_remove(request, record_type: str, record_id: int, share_id: int):
    record = get_record_or_404(request.user, record_type, record_id)
    sharing.do_unshare(request.user, record_type, record.id, share_id)
    if not request.htmx:
        return redirect(f"{record_type}-detail", record_id=record.id)
    return _card(request, record_type, record)
