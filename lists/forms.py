"""The custom list form of the pages; the rules are lists.services'.

The conditions come from the condition builder (automation.builder), not
from this form: the view reads them with ``tree_from_form`` and shows their
errors on the builder's rows.
"""
from __future__ import annotations

from django import forms

from lists.columns import COLUMNS, DEFAULT_COLUMNS, DEFAULT_SORT, sort_keys
from lists.models import SavedList
from web.forms import ServiceForm

DIRECTIONS = [("desc", "Descending (newest, largest, Z first)"), ("asc", "Ascending (oldest, smallest, A first)")]


class ListForm(ServiceForm):
    field_map = {"shared_user_ids": "shared_users", "shared_team_ids": "shared_teams", "sort": "sort_field"}

    name = forms.CharField(label="List name", max_length=200)
    columns = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, help_text="Shown in this order from left to right")
    sort_field = forms.ChoiceField(label="Sort by")
    sort_direction = forms.ChoiceField(label="Order", choices=DIRECTIONS)
    shared_with_everyone = forms.BooleanField(label="Everyone", required=False)
    shared_users = forms.TypedMultipleChoiceField(label="These people", required=False, coerce=int, widget=forms.SelectMultiple(attrs={"size": 6}))
    shared_teams = forms.TypedMultipleChoiceField(label="These teams", required=False, coerce=int, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, record_type: str, user_choices, team_choices, saved_list: SavedList | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.record_type = record_type
        self.saved_list = saved_list
        self.fields["columns"].choices = [(c.name, c.label) for c in COLUMNS[record_type].values()]
        self.fields["sort_field"].choices = [(c.name, c.label) for c in sort_keys(record_type)]
        self.fields["shared_users"].choices = user_choices
        self.fields["shared_teams"].choices = team_choices

    @classmethod
    def initial_for(cls, record_type: str, saved_list: SavedList | None, shared: tuple[list[int], list[int]] = ([], [])) -> dict:
        if saved_list is None:
            sort, columns, everyone = DEFAULT_SORT, DEFAULT_COLUMNS[record_type], False
            return {"columns": columns, "sort_field": sort.lstrip("-"), "sort_direction": "desc", "shared_with_everyone": everyone}
        return {
            "name": saved_list.name,
            "columns": saved_list.columns,
            "sort_field": saved_list.sort.lstrip("-"),
            "sort_direction": "desc" if saved_list.sort.startswith("-") else "asc",
            "shared_with_everyone": saved_list.shared_with_everyone,
            "shared_users": shared[0],
            "shared_teams": shared[1],
        }

    def data_for_service(self, conditions: dict) -> dict:
        data = self.cleaned_data
        ticked = data["columns"]
        # Columns keep the order they had (a list saved through the API may
        # order them its own way); newly ticked ones follow in the page's order.
        before = [c for c in (self.saved_list.columns if self.saved_list else []) if c in ticked]
        columns = before + [c for c in ticked if c not in before]
        return {
            "name": data["name"],
            "record_type": self.record_type,
            "conditions": conditions,
            "columns": columns,
            "sort": ("-" if data["sort_direction"] == "desc" else "") + data["sort_field"],
            "shared_with_everyone": data["shared_with_everyone"],
            "shared_user_ids": data["shared_users"],
            "shared_team_ids": data["shared_teams"],
        }

    def add_service_errors(self, errors: list[dict]) -> list[dict]:
        """Attach each error to its input; the conditions' are returned, for
        the builder to show on their rows."""
        tree_errors = []
        for e in errors:
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path")]
            if loc and loc[0] == "conditions":
                tree_errors.append(e)
                continue
            name = self.field_map.get(loc[0], loc[0]) if loc else None
            self.add_error(name if name in self.fields else None, e["msg"])
        return tree_errors
