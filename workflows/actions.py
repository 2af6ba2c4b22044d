"""The actions a workflow performs on each record it enrolls: how each is
checked on save and what it does.

Every action goes through the service that owns the write (crm.services,
activities.services, alerts.services; email and SMS through emails.sending
and telephony.services from their own job), acting as the workflow's
actor (its last editor, an admin or manager), so the usual rules apply.
Database actions run inside the step's transaction (workflows.runner);
external ones (send_email, send_sms, webhook) only fix what to send and
return ``queued``: workflows.delivery sends it from its own job, keyed by
the step, so a retried run never sends twice.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder

from accounts.models import User
from activities.models import EventType
from config.errors import Invalid, error
from crm.models import CLOSED_STAGES, Contact, ContactEmail, Deal, DealContact, DealStage

MAX_ACTIONS = 20
MAX_RECIPIENTS = 50  # contacts of one deal or organization an email/SMS action writes to
MAX_DAYS_AHEAD = 3650

ACTION_TYPES = ("update_field", "create_task", "create_event", "send_email", "send_sms", "notify", "webhook")
ACTION_LABELS = {
    "update_field": "Update a field",
    "create_task": "Create a task",
    "create_event": "Create an event",
    "send_email": "Send an email",
    "send_sms": "Send an SMS",
    "notify": "Notify in the app",
    "webhook": "Call a webhook",
}
EXTERNAL = {"send_email", "send_sms", "webhook"}
# Who gets a task, event or notification: the record's owner, or (the
# product's "follow-up for the deal owner") the owners of the record's open
# deals, one each; for a deal both mean its own owner.
ASSIGNEES = ("record_owner", "deal_owners")

# update_field: the fields a workflow may set, per record type, and their kinds.
UPDATABLE: dict[str, dict[str, tuple[str, int]]] = {
    "organization": {"name": ("name", 200), "industry": ("text", 100), "website": ("text", 200), "phone": ("text", 32), "owner_id": ("user", 0)},
    "contact": {"first_name": ("text", 100), "last_name": ("name", 100), "title": ("text", 100), "owner_id": ("user", 0)},
    "deal": {
        "name": ("name", 200),
        "stage": ("stage", 0),
        "amount": ("amount", 0),
        "expected_close_date": ("date", 0),
        "owner_id": ("user", 0),
    },
}


# --- checking -------------------------------------------------------------------------


class _Errors:
    def __init__(self, loc: tuple):
        self.loc = loc
        self.items: list[dict] = []

    def add(self, name: str, msg: str) -> None:
        self.items.append(error((*self.loc, name), msg))


def _text(params: dict, name: str, errors: _Errors, *, max_length: int, required: bool = True, default: str = "") -> str:
    value = params.get(name, None if required else default)
    if value is None:
        errors.add(name, "is required")
        return ""
    if not isinstance(value, str):
        errors.add(name, "must be text")
        return ""
    if "\x00" in value:
        errors.add(name, "must not contain NUL characters")
        return ""
    if required and not value.strip():
        errors.add(name, "must not be empty")
    if len(value) > max_length:
        errors.add(name, f"at most {max_length} characters")
    return value


def _integer(params: dict, name: str, errors: _Errors, *, low: int, high: int, default: int | None = None) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(name, f"must be a whole number from {low} to {high}")
        return low
    return value


def _choice(params: dict, name: str, errors: _Errors, choices: tuple, default: str | None = None) -> str:
    value = params.get(name, default)
    if value not in choices:
        errors.add(name, f"must be one of: {', '.join(choices)}")
        return choices[0]
    return value


def _merge_text(params: dict, name: str, errors: _Errors, *, max_length: int, required: bool = True) -> str:
    from emails import merge

    value = _text(params, name, errors, max_length=max_length, required=required)
    try:
        merge.check_fields(value, (*errors.loc, name))
    except Invalid as exc:
        errors.items.extend(exc.errors)
    return value


def _user(value: Any, errors: _Errors, name: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not User.objects.filter(id=value, is_active=True).exists():
        errors.add(name, f"user {value} not found")
        return None
    return value


def _check_update_field(record_type: str, params: dict, errors: _Errors) -> dict:
    fields = UPDATABLE[record_type]
    name = params.get("field")
    if name not in fields:
        errors.add("field", f"a workflow may set one of the {record_type} fields: {', '.join(fields)}")
        return {}
    if "value" not in params:
        errors.add("value", "is required")
        return {}
    kind, size = fields[name]
    value = params["value"]
    if kind in ("text", "name"):
        value = _text(params, "value", errors, max_length=size, required=kind == "name")
    elif kind == "stage":
        value = _choice(params, "value", errors, tuple(DealStage.values))
    elif kind == "amount":
        if value is not None:
            try:
                if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                    raise InvalidOperation
                number = Decimal(str(value))
                if not number.is_finite() or abs(number) >= Decimal(10) ** 12:
                    raise InvalidOperation
                value = str(number.quantize(Decimal("0.01")))
            except InvalidOperation:
                errors.add("value", "must be an amount below 10^12, or null")
    elif kind == "date":
        if value is not None:
            try:
                value = date.fromisoformat(value).isoformat() if isinstance(value, str) else None
                if value is None or not "1900" <= value < "2200":
                    raise ValueError
            except ValueError:
                errors.add("value", "must be a date YYYY-MM-DD (1900-2199), or null")
    elif kind == "user":
        value = _user(value, errors, "value")
    return {"field": name, "value": value}


def _check_create_task(record_type: str, params: dict, errors: _Errors) -> dict:
    return {
        "title": _text(params, "title", errors, max_length=200),
        "description": _text(params, "description", errors, max_length=20_000, required=False),
        "due_in_days": _integer(params, "due_in_days", errors, low=0, high=MAX_DAYS_AHEAD, default=0),
        "assign_to": _choice(params, "assign_to", errors, ASSIGNEES, default="deal_owners" if record_type != "deal" else "record_owner"),
    }


def _check_create_event(record_type: str, params: dict, errors: _Errors) -> dict:
    start_time = params.get("start_time", "09:00")
    try:
        if not isinstance(start_time, str) or len(start_time) != 5:
            raise ValueError
        time.fromisoformat(start_time)
    except ValueError:
        errors.add("start_time", "must be a time HH:MM")
    return {
        "subject": _text(params, "subject", errors, max_length=200),
        "description": _text(params, "description", errors, max_length=20_000, required=False),
        "event_type": _choice(params, "event_type", errors, tuple(EventType.values), default=EventType.MEETING),
        "start_in_days": _integer(params, "start_in_days", errors, low=0, high=MAX_DAYS_AHEAD, default=1),
        "start_time": start_time,
        "duration_minutes": _integer(params, "duration_minutes", errors, low=1, high=24 * 60, default=30),
        "assign_to": _choice(params, "assign_to", errors, ASSIGNEES, default="deal_owners" if record_type != "deal" else "record_owner"),
    }


def _check_send_email(record_type: str, params: dict, errors: _Errors) -> dict:
    """Either a saved email template (emails.EmailTemplate: its subject and
    HTML body) or a subject and a plain-text body written here."""
    from emails.models import EmailTemplate

    template_id = params.get("template_id")
    if template_id in (None, ""):
        return {
            "template_id": None,
            "subject": _merge_text(params, "subject", errors, max_length=255),
            "body": _merge_text(params, "body", errors, max_length=20_000),
        }
    if isinstance(template_id, bool) or not isinstance(template_id, int) or not EmailTemplate.objects.filter(id=template_id).exists():
        errors.add("template_id", f"email template {template_id} not found")
    for name in ("subject", "body"):
        if params.get(name):
            errors.add(name, "comes from the template: leave it empty, or choose no template")
    return {"template_id": template_id, "subject": "", "body": ""}


def _check_send_sms(record_type: str, params: dict, errors: _Errors) -> dict:
    from telephony.services import MAX_SMS_LENGTH

    return {"text": _merge_text(params, "text", errors, max_length=MAX_SMS_LENGTH)}


def _check_notify(record_type: str, params: dict, errors: _Errors) -> dict:
    to = params.get("to", "record_owner")
    if to not in ASSIGNEES:
        to = _user(to, errors, "to")
    return {"to": to, "title": _text(params, "title", errors, max_length=200), "body": _text(params, "body", errors, max_length=2000, required=False)}


def _check_webhook(record_type: str, params: dict, errors: _Errors) -> dict:
    url = _text(params, "url", errors, max_length=500)
    parts = urlsplit(url) if url else None
    if url and (parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password):
        errors.add("url", "must be an http:// or https:// address without a user name or password")
    return {"url": url}


CHECKS: dict[str, Callable[[str, dict, _Errors], dict]] = {
    "update_field": _check_update_field,
    "create_task": _check_create_task,
    "create_event": _check_create_event,
    "send_email": _check_send_email,
    "send_sms": _check_send_sms,
    "notify": _check_notify,
    "webhook": _check_webhook,
}
PARAMS = {  # the keys each action takes (anything else is a typo)
    "update_field": {"field", "value"},
    "create_task": {"title", "description", "due_in_days", "assign_to"},
    "create_event": {"subject", "description", "event_type", "start_in_days", "start_time", "duration_minutes", "assign_to"},
    "send_email": {"template_id", "subject", "body"},
    "send_sms": {"text"},
    "notify": {"to", "title", "body"},
    "webhook": {"url"},
}


def check_actions(record_type: str, actions: Any, loc: tuple = ("actions",)) -> list[dict]:
    """The actions normalized (defaults filled in), or Invalid naming every
    problem: ``actions.1.params.title``."""
    if not isinstance(actions, list):
        raise Invalid.field(loc, "must be a list of actions")
    if len(actions) > MAX_ACTIONS:
        raise Invalid.field(loc, f"at most {MAX_ACTIONS} actions")
    errors: list[dict] = []
    normalized = []
    for i, action in enumerate(actions):
        here = (*loc, i)
        if not isinstance(action, dict) or set(action) - {"type", "params"}:
            errors.append(error(here, "an action is {\"type\": ..., \"params\": {...}}"))
            continue
        kind = action.get("type")
        if kind not in CHECKS:
            errors.append(error((*here, "type"), f"must be one of: {', '.join(ACTION_TYPES)}"))
            continue
        params = action.get("params", {})
        if not isinstance(params, dict):
            errors.append(error((*here, "params"), "must be an object"))
            continue
        unknown = sorted(set(params) - PARAMS[kind])
        if unknown:
            errors.append(error((*here, "params", unknown[0]), f"{kind} takes: {', '.join(sorted(PARAMS[kind]))}"))
            continue
        collected = _Errors((*here, "params"))
        clean = CHECKS[kind](record_type, params, collected)
        errors.extend(collected.items)
        normalized.append({"type": kind, "params": clean})
    if errors:
        raise Invalid(errors)
    return normalized


# --- performing -----------------------------------------------------------------------


@dataclass
class Step:
    """Where an action runs: the run, the workflow's actor, the record."""

    run_id: int
    workflow_id: int
    workflow_name: str
    event_key: str
    actor: User
    record_type: str
    record: Any
    index: int
    tz: ZoneInfo
    now: datetime

    @property
    def key(self) -> str:
        return f"{self.run_id}:{self.index}:{self.record.id}"

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()


@dataclass
class Outcome:
    outcome: str  # a workflows.models.StepOutcome value
    detail: str = ""
    payload: dict | None = None


def _open_deals(step: Step) -> list[Deal]:
    record = step.record
    if step.record_type == "deal":
        return [record]
    if step.record_type == "contact":
        deals = Deal.objects.filter(id__in=DealContact.objects.filter(contact_id=record.id).values("deal_id"))
    else:
        deals = Deal.objects.filter(organization_id=record.id)
    return list(deals.exclude(stage__in=CLOSED_STAGES).order_by("id"))


def _assignments(step: Step, assign_to: str) -> list[tuple[int, dict]]:
    """(owner id, links) for each task/event to create: one for the record's
    owner, or one per open deal for its owner, linked to deal and record."""
    own = {f"{step.record_type}_id": step.record.id} if step.record_type != "deal" else {"deal_id": step.record.id}
    if assign_to == "record_owner" or step.record_type == "deal":
        return [(step.record.owner_id, own)] if step.record.owner_id else []
    return [(deal.owner_id, {**own, "deal_id": deal.id}) for deal in _open_deals(step) if deal.owner_id]


def _update_field(step: Step, params: dict) -> Outcome:
    from crm import services

    update = {"organization": services.do_update_organization, "contact": services.do_update_contact, "deal": services.do_update_deal}
    value = params["value"]
    if params["field"] == "amount" and value is not None:
        value = Decimal(value)
    if params["field"] == "expected_close_date" and value is not None:
        value = date.fromisoformat(value)
    update[step.record_type](step.actor, step.record.id, {params["field"]: value})
    return Outcome("done", f"{params['field']} set to {params['value']}")


def _create_task(step: Step, params: dict) -> Outcome:
    from activities.services import do_create_task

    made = []
    for owner_id, links in _assignments(step, params["assign_to"]):
        task = do_create_task(
            step.actor,
            {
                "title": params["title"],
                "description": params["description"],
                "due_date": step.today + timedelta(days=params["due_in_days"]),
                "owner_id": owner_id,
                **links,
            },
        )
        made.append(f"task {task.id} for user {owner_id}")
    return Outcome("done", "; ".join(made)) if made else Outcome("skipped", "nobody to assign it to (no owner or no open deal)")


def _create_event(step: Step, params: dict) -> Outcome:
    from activities.services import do_create_event

    day = step.today + timedelta(days=params["start_in_days"])
    start = datetime.combine(day, time.fromisoformat(params["start_time"]), tzinfo=step.tz)
    made = []
    for owner_id, links in _assignments(step, params["assign_to"]):
        contact_ids = [links.pop("contact_id")] if "contact_id" in links else []
        event = do_create_event(
            step.actor,
            {
                "subject": params["subject"],
                "description": params["description"],
                "event_type": params["event_type"],
                "start_at": start,
                "end_at": start + timedelta(minutes=params["duration_minutes"]),
                "owner_id": owner_id,
                "contact_ids": contact_ids,
                **links,
            },
        )
        made.append(f"event {event.id} for user {owner_id}")
    return Outcome("done", "; ".join(made)) if made else Outcome("skipped", "nobody to assign it to (no owner or no open deal)")


def _recipients(step: Step) -> list[Contact]:
    """Whom an email or SMS action writes to: the contact itself; for a deal
    or an organization, its contacts (at most MAX_RECIPIENTS)."""
    if step.record_type == "contact":
        return [step.record]
    if step.record_type == "deal":
        contacts = Contact.objects.filter(id__in=DealContact.objects.filter(deal_id=step.record.id).values("contact_id"))
    else:
        contacts = Contact.objects.filter(organization_id=step.record.id)
    return list(contacts.order_by("id")[:MAX_RECIPIENTS])


def _sender_id(step: Step) -> int:
    # Mail and texts go out as the record's owner (the customer's rep), or
    # as the workflow's actor for an unassigned record.
    owner = User.objects.filter(id=step.record.owner_id, is_active=True).first() if step.record.owner_id else None
    return (owner or step.actor).id


def _links(step: Step) -> dict:
    return {f"{step.record_type}_ids": [step.record.id]}


def _send_email(step: Step, params: dict) -> Outcome:
    addresses = {}
    for row in ContactEmail.objects.filter(contact__in=[c.id for c in _recipients(step)]).order_by("contact_id", "position", "id"):
        addresses.setdefault(row.contact_id, row.email)
    if not addresses:
        return Outcome("skipped", "no contact with an email address")
    messages = [{"contact_id": cid, "to": address} for cid, address in addresses.items()]
    return Outcome(
        "queued",
        f"{len(messages)} email(s) to send",
        {
            "sender_id": _sender_id(step),
            "template_id": params.get("template_id"),
            "subject": params["subject"],
            "body": params["body"],
            "messages": messages,
            "links": _links(step),
        },
    )


def _send_sms(step: Step, params: dict) -> Outcome:
    contacts = [c.id for c in _recipients(step)]
    if not contacts:
        return Outcome("skipped", "no contact to text")
    return Outcome("queued", f"{len(contacts)} SMS to send", {"sender_id": _sender_id(step), "text": params["text"], "contact_ids": contacts})


def _notify(step: Step, params: dict) -> Outcome:
    from alerts.services import do_notify

    to = params["to"]
    if to == "record_owner" or (to == "deal_owners" and step.record_type == "deal"):
        users = [step.record.owner_id] if step.record.owner_id else []
    elif to == "deal_owners":
        users = list(dict.fromkeys(d.owner_id for d in _open_deals(step) if d.owner_id))
    else:
        users = [to]
    users = list(User.objects.filter(id__in=users, is_active=True).values_list("id", flat=True))
    if not users:
        return Outcome("skipped", "nobody to notify")
    for user_id in users:
        do_notify(
            user_id,
            "workflow",
            params["title"],
            body=params["body"],
            url=f"/{step.record_type}s/{step.record.id}/",
            record=(step.record_type, step.record.id),
            key=f"workflow:{step.key}",
        )
    return Outcome("done", f"notified user(s) {', '.join(map(str, users))}")


def record_fields(record_type: str, record_id: int) -> dict:
    """The record as a webhook receives it: its condition fields' columns."""
    from automation.conditions import MODELS, REGISTRY

    columns = {f.name: f.column for f in REGISTRY[record_type].values() if f.column}
    row = MODELS[record_type].objects.filter(id=record_id).values("id", *columns.values()).first() or {"id": record_id}
    out = {"id": row["id"], **{name: row.get(column) for name, column in columns.items()}}
    return json.loads(json.dumps(out, cls=DjangoJSONEncoder))


def _webhook(step: Step, params: dict) -> Outcome:
    body = {
        "delivery": step.key,
        "workflow": {"id": step.workflow_id, "name": step.workflow_name},
        "run": step.run_id,
        "event": step.event_key,
        "record_type": step.record_type,
        "record": record_fields(step.record_type, step.record.id),
    }
    return Outcome("queued", f"POST {params['url']}", {"url": params["url"], "body": body})


PERFORM: dict[str, Callable[[Step, dict], Outcome]] = {
    "update_field": _update_field,
    "create_task": _create_task,
    "create_event": _create_event,
    "send_email": _send_email,
    "send_sms": _send_sms,
    "notify": _notify,
    "webhook": _webhook,
}


def describe_action(action: dict) -> str:
    params = action.get("params", {})
    summary = {
        "update_field": lambda: f"set {params.get('field')} to {params.get('value')}",
        "create_task": lambda: f"task \u201c{params.get('title')}\u201d for {str(params.get('assign_to', '')).replace('_', ' ')}",
        "create_event": lambda: f"event \u201c{params.get('subject')}\u201d for {str(params.get('assign_to', '')).replace('_', ' ')}",
        "send_email": lambda: f"email template {params['template_id']}" if params.get("template_id") else f"email \u201c{params.get('subject')}\u201d",
        "send_sms": lambda: "SMS",
        "notify": lambda: f"notify {str(params.get('to', '')).replace('_', ' ')}: {params.get('title')}",
        "webhook": lambda: f"POST {params.get('url')}",
    }.get(action.get("type"), lambda: "")
    return f"{ACTION_LABELS.get(action.get('type'), action.get('type'))}: {summary()}"
