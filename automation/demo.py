"""Demo automation for touchpoints.demo (issue #7), through each app's own
services: saved lists (a rep's private one, a team list, one shared with
everyone), the product's example workflow and a webhook-free deal workflow,
the Smart Alerts configuration, and one alert scan so the bell has
something to show on first sign-in."""
from __future__ import annotations

from datetime import datetime

from accounts.models import User

STALE_CONTACTS = {
    "all": [
        {"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 30},
        {"field": "open_deal_count", "operator": "greater_than", "value": 0},
    ]
}


def demo_automation(admin: User, manager: User, reps: list[User], anchor: datetime) -> None:
    from alerts.services import do_save_config, do_scan_alerts
    from lists.services import do_create_list
    from workflows.services import do_create_workflow

    for rep in reps:
        do_create_list(
            rep,
            {
                "name": "My stale contacts",
                "record_type": "contact",
                "conditions": {"all": [{"field": "owner", "operator": "equals", "value": "me"}, *STALE_CONTACTS["all"]]},
                "sort": "last_contacted_on",
            },
        )
    if reps and reps[0].team_id:
        do_create_list(
            reps[0],
            {
                "name": "Team deals in proposal or negotiation",
                "record_type": "deal",
                "conditions": {"all": [{"field": "stage", "operator": "in", "value": ["proposal", "negotiation"]}]},
                "sort": "-amount",
                "shared_team_ids": [reps[0].team_id],
            },
        )
    do_create_list(
        manager,
        {
            "name": "Big open deals, quiet for two weeks",
            "record_type": "deal",
            "conditions": {
                "all": [
                    {"field": "amount", "operator": "greater_than", "value": "20000"},
                    {"field": "stage", "operator": "not_equals", "value": "closed_won"},
                    {"field": "stage", "operator": "not_equals", "value": "closed_lost"},
                    {"any": [
                        {"field": "last_contacted_on", "operator": "more_than_days_ago", "value": 14},
                        {"field": "last_contacted_on", "operator": "is_empty"},
                    ]},
                ]
            },
            "sort": "-amount",
            "shared_with_everyone": True,
        },
    )  # fmt: skip
    do_create_workflow(
        admin,
        {
            "name": "Follow up stale contacts with an open deal",
            "record_type": "contact",
            "trigger": "schedule",
            "schedule_time": "09:00",
            "conditions": STALE_CONTACTS,
            "actions": [
                {"type": "create_task", "params": {"title": "Follow up: no contact for 30 days", "due_in_days": 2, "assign_to": "deal_owners"}},
            ],
        },
    )
    do_create_workflow(
        admin,
        {
            "name": "Tell the owner when a big deal reaches negotiation",
            "record_type": "deal",
            "trigger": "record_updated",
            "conditions": {
                "all": [
                    {"field": "stage", "operator": "equals", "value": "negotiation"},
                    {"field": "amount", "operator": "greater_than", "value": "50000"},
                ]
            },
            "actions": [{"type": "notify", "params": {"title": "A big deal is in negotiation", "to": "record_owner"}}],
            "reenroll": False,
        },
    )
    do_save_config(admin, {"idle_days": 14, "stage_idle_days": {"negotiation": 7}})
    do_scan_alerts(now=anchor)
