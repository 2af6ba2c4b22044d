"""Sending what a step queued: email, SMS and webhooks, each from its own
job, claimed per step with a conditional update (queued -> sending), so a
retried run or a second job never sends twice.

Email and SMS are sent at most once: a worker killed while sending leaves
the step ``sending``, and the sweeper marks it failed rather than risk a
second copy to a customer. Webhooks are delivered at least once: a failure
(no answer, or not 2xx) is retried with exponential backoff up to
WEBHOOK_ATTEMPTS, and the receiver de-duplicates on the
``X-Touchpoints-Delivery`` header (the same for every attempt).

The signature is ``X-Touchpoints-Signature: sha256=<hex>``, the HMAC-SHA256
with the workflow's secret of ``<X-Touchpoints-Timestamp>.<raw body>``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import requests
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from config.errors import ServiceError
from crm.models import Contact
from workflows import triggers
from workflows.models import StepOutcome, WorkflowRunStep

WEBHOOK_ATTEMPTS = 6
WEBHOOK_BACKOFF = timedelta(seconds=30)  # 30 s, 1, 2, 4, 8 minutes
WEBHOOK_TIMEOUT = 10
SENDING_STALE = timedelta(minutes=10)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _claim(step_id: int, now: datetime) -> WorkflowRunStep | None:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = WorkflowRunStep.objects.filter(due, id=step_id, outcome=StepOutcome.QUEUED).update(
        outcome=StepOutcome.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    return WorkflowRunStep.objects.select_related("run__workflow").get(id=step_id) if claimed else None


def _settle(step: WorkflowRunStep, outcome: str, detail: str, next_attempt_at: datetime | None = None) -> None:
    WorkflowRunStep.objects.filter(id=step.id, outcome=StepOutcome.SENDING).update(
        outcome=outcome, detail=detail[:2000], next_attempt_at=next_attempt_at, updated_at=timezone.now()
    )


def do_deliver_step(step_id: int, now: datetime | None = None) -> float | None:
    """Send one queued step. Returns the seconds until the next attempt
    when a webhook must be retried, else None."""
    now = now or timezone.now()
    step = _claim(step_id, now)
    if step is None:
        return None
    send = {"send_email": _send_email, "send_sms": _send_sms, "webhook": _webhook}[step.action_type]
    with triggers.suppressed():
        return send(step, now)


def _sender(step: WorkflowRunStep) -> User | None:
    return User.objects.filter(id=step.payload["sender_id"], is_active=True).first()


def _send_email(step: WorkflowRunStep, now: datetime) -> None:
    from emails.sending import Outgoing, do_send_email

    sender = _sender(step)
    if sender is None:
        _settle(step, StepOutcome.FAILED, "the sender is no longer an active user")
        return None
    results, sent = [], 0
    for message in step.payload["messages"]:
        out = Outgoing(
            to=[message["to"]],
            template_id=step.payload.get("template_id"),
            subject=step.payload["subject"],
            body_text=step.payload["body"],
            **step.payload["links"],
        )
        try:
            result = do_send_email(sender, out)
            sent += 1
            results.append(f"{message['to']}: sent (touchpoint {result.touchpoint_id})")
        except ServiceError as exc:
            results.append(f"{message['to']}: {exc}")
    _settle(step, StepOutcome.DONE if sent else StepOutcome.FAILED, "; ".join(results))
    return None


def _send_sms(step: WorkflowRunStep, now: datetime) -> None:
    from emails import merge
    from emails.sending import sender_of
    from telephony.services import do_send_sms

    sender = _sender(step)
    if sender is None:
        _settle(step, StepOutcome.FAILED, "the sender is no longer an active user")
        return None
    results, sent = [], 0
    for contact in Contact.objects.filter(id__in=step.payload["contact_ids"]).select_related("organization").order_by("id"):
        text = merge.render(step.payload["text"], merge.values_for(contact, "", sender_of(sender)), html=False)
        try:
            (result,) = do_send_sms(sender, text, contact_ids=[contact.id])
            sent += result.status != "failed"
            results.append(f"contact {contact.id}: {result.status}{f' ({result.error})' if result.error else ''}")
        except ServiceError as exc:
            results.append(f"contact {contact.id}: {exc}")
    _settle(step, StepOutcome.DONE if sent else StepOutcome.FAILED, "; ".join(results) or "no contact left to text")
    return None


def _webhook(step: WorkflowRunStep, now: datetime) -> float | None:
    body = json.dumps(step.payload["body"], sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Touchpoints-Workflows/1",
        "X-Touchpoints-Delivery": step.payload["body"]["delivery"],
        "X-Touchpoints-Timestamp": timestamp,
        "X-Touchpoints-Signature": sign(step.run.workflow.secret, timestamp, body),
    }
    try:
        response = requests.post(step.payload["url"], data=body, headers=headers, timeout=WEBHOOK_TIMEOUT, allow_redirects=False)
        if 200 <= response.status_code < 300:
            _settle(step, StepOutcome.DONE, f"POST {step.payload['url']}: {response.status_code} (attempt {step.attempts})")
            return None
        problem = f"answered {response.status_code}"
    except requests.RequestException as exc:
        problem = f"no answer ({type(exc).__name__})"
    if step.attempts >= WEBHOOK_ATTEMPTS:
        _settle(step, StepOutcome.FAILED, f"POST {step.payload['url']}: {problem}; gave up after {step.attempts} attempts")
        return None
    delay = WEBHOOK_BACKOFF * 2 ** (step.attempts - 1)
    _settle(step, StepOutcome.QUEUED, f"POST {step.payload['url']}: {problem} (attempt {step.attempts}); retrying", now + delay)
    return delay.total_seconds()


def steps_to_retry(now: datetime | None = None) -> list[int]:
    """Queued steps due (a lost job or a retry whose scheduled job was
    lost). A step left ``sending`` by a dead worker: a webhook is queued
    again (at least once), an email or SMS is failed (at most once)."""
    now = now or timezone.now()
    stale = WorkflowRunStep.objects.filter(outcome=StepOutcome.SENDING, updated_at__lt=now - SENDING_STALE)
    stale.filter(action_type="webhook").update(outcome=StepOutcome.QUEUED, next_attempt_at=now)
    stale.exclude(action_type="webhook").update(
        outcome=StepOutcome.FAILED, detail="the worker stopped while sending; not sent again, so nobody gets it twice"
    )
    due = Q(next_attempt_at__isnull=True, updated_at__lt=now - timedelta(minutes=2)) | Q(next_attempt_at__lte=now)
    return list(WorkflowRunStep.objects.filter(due, outcome=StepOutcome.QUEUED).order_by("id").values_list("id", flat=True)[:1000])
