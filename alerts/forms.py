"""The Smart Alerts configuration form (the conditions come from the
condition builder, automation.builder)."""
from __future__ import annotations

from django import forms

from alerts.scan import OPEN_STAGES
from alerts.services import MAX_IDLE_DAYS
from crm.models import DealStage
from web.forms import ServiceForm

STAGE_LABELS = dict(DealStage.choices)


class AlertConfigForm(ServiceForm):
    idle_enabled = forms.BooleanField(required=False, label="Alert owners about idle deals")
    idle_days = forms.IntegerField(min_value=1, max_value=MAX_IDLE_DAYS, label="A deal is idle after (days without contact)")
    overdue_enabled = forms.BooleanField(required=False, label="Alert owners about overdue tasks and events")
    email_enabled = forms.BooleanField(required=False, label="Also send alerts by email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for stage in OPEN_STAGES:
            self.fields[f"stage_{stage}"] = forms.IntegerField(
                min_value=1, max_value=MAX_IDLE_DAYS, required=False, label=STAGE_LABELS[stage], help_text="empty: the default above"
            )

    @property
    def stage_fields(self) -> list:
        return [self[f"stage_{stage}"] for stage in OPEN_STAGES]

    @classmethod
    def initial_from(cls, config) -> dict:
        initial = {name: getattr(config, name) for name in ("idle_enabled", "idle_days", "overdue_enabled", "email_enabled")}
        initial.update({f"stage_{stage}": days for stage, days in (config.stage_idle_days or {}).items()})
        return initial

    def data_for_service(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ("idle_enabled", "idle_days", "overdue_enabled", "email_enabled")}
        data["stage_idle_days"] = {stage: self.cleaned_data[f"stage_{stage}"] for stage in OPEN_STAGES if self.cleaned_data.get(f"stage_{stage}")}
        return data

    def add_service_errors(self, errors: list[dict]) -> list[dict]:
        """Put the service's errors under their inputs; the condition tree's
        are returned for the builder to show on their rows."""
        tree_errors = []
        for e in errors:
            loc = [str(p) for p in e["loc"]]
            if loc and loc[0] == "deal_conditions":
                tree_errors.append({**e, "loc": ["conditions", *e["loc"][1:]]})
            elif loc[:1] == ["stage_idle_days"] and len(loc) > 1 and f"stage_{loc[1]}" in self.fields:
                self.add_error(f"stage_{loc[1]}", e["msg"])
            else:
                self.add_error(loc[0] if loc and loc[0] in self.fields else None, e["msg"])
        return tree_errors
