"""Each action on a real database (and real loopback servers for SMTP,
the SMS provider and webhooks): what it does, and that its external
effect goes out once, from its own job."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, time, timedelta

from django.utils import timezone

from activities.models import Event
from alerts.models import Notification
from crm.models import Deal
from emails.tests.smtpserver import smtp_server  # noqa: F401 - a fixture
from telephony.tests.standin import provider_standin  # noqa: F401 - a fixture
from workflows import delivery, runner, tasks, triggers
from workflows.models import StepOutcome, Workflow, WorkflowRunStep
from workflows.tests.conftest import runs_of


def run_on(workflow: dict, record_type: str, record_id: int) -> WorkflowRunStep | None:
    """Fire the record-created trigger and run it as the worker does; the last step."""
    triggers.record_created(record_type, record_id)
    tasks.process_runs.call_local([r.id for r in runs_of(workflow["id"])])
    return WorkflowRunStep.objects.filter(run__workflow_id=workflow["id"]).order_by("id").last()


def test_update_field_goes_through_the_crm_service(wf, world):
    made = wf(actions=[{"type": "update_field", "params": {"field": "stage", "value": "closed_won"}}, {"type": "update_field", "params": {"field": "amount", "value": 1200}}])
    step = run_on(made, "deal", world["deal"])
    deal = Deal.objects.get(id=world["deal"])
    assert (deal.stage, deal.amount, step.outcome) == ("closed_won", 1200, "done")
    assert deal.closed_at is not None  # the service's rule: a closed stage stamps closed_at


def test_a_failing_action_is_logged_and_the_next_still_runs(wf, world, bob, manager):
    made = wf(actions=[{"type": "update_field", "params": {"field": "owner_id", "value": bob.user.id}}, {"type": "notify", "params": {"title": "Hi"}}])
    # Bob leaves the company after the workflow was saved: the service refuses him as an owner.
    type(bob.user).objects.filter(id=bob.user.id).update(is_active=False)
    run_on(made, "deal", world["deal"])
    first, second = WorkflowRunStep.objects.order_by("action_index")
    assert first.outcome == "failed" and "not assignable" in first.detail
    assert second.outcome == "done"
    assert Deal.objects.get(id=world["deal"]).owner_id != bob.user.id


def test_create_event_for_the_owner_at_the_local_time(wf, alice, world, settings):
    settings.COMPANY_TIME_ZONE = "Asia/Tokyo"
    made = wf(actions=[{"type": "create_event", "params": {"subject": "Kickoff", "start_in_days": 2, "start_time": "10:30", "duration_minutes": 45, "event_type": "call"}}])
    step = run_on(made, "deal", world["deal"])
    event = Event.objects.get()
    tokyo = runner.company_tz()
    start = event.start_at.astimezone(tokyo)
    assert (start.date(), start.time()) == (timezone.now().astimezone(tokyo).date() + timedelta(days=2), time(10, 30))
    assert event.end_at - event.start_at == timedelta(minutes=45)
    assert (event.owner_id, event.deal_id, event.status, event.event_type) == (alice.user.id, world["deal"], "planned", "call")
    assert step.detail == f"event {event.id} for user {alice.user.id}"


def test_create_task_for_a_contact_without_open_deals_is_skipped(wf, world):
    made = wf(record_type="contact", actions=[{"type": "create_task", "params": {"title": "Call"}}])
    step = run_on(made, "contact", world["dave"])
    assert (step.outcome, step.detail) == ("skipped", "nobody to assign it to (no owner or no open deal)")


def test_notify_a_named_user_once(wf, world, bob):
    made = wf(actions=[{"type": "notify", "params": {"to": bob.user.id, "title": "Big deal", "body": "Look"}}])
    run_on(made, "deal", world["deal"])
    run_on(made, "deal", world["deal"])
    (note,) = Notification.objects.all()
    assert (note.user_id, note.kind, note.title, note.url, note.record_type) == (bob.user.id, "workflow", "Big deal", f"/deals/{world['deal']}/", "deal")


def test_send_email_to_the_contact_from_its_owner_once(wf, alice, world, smtp_server):  # noqa: F811
    alice.user.email = "alice@ourco.example"
    alice.user.save(update_fields=["email"])
    made = wf(record_type="contact", actions=[{"type": "send_email", "params": {"subject": "Hello {{ first_name }}", "body": "Dear {{ full_name }}, how are you?"}}])
    step = run_on(made, "contact", world["carol"])
    assert step.outcome == StepOutcome.QUEUED and smtp_server.messages == []  # not sent by the run itself
    assert delivery.do_deliver_step(step.id) is None
    assert delivery.do_deliver_step(step.id) is None  # a second job sends nothing
    (message,) = smtp_server.messages
    assert message.rcpt_tos == ["carol@grasspods.example"] and message.mail_from == "alice@ourco.example"
    assert message.message["Subject"] == "Hello Carol"
    step.refresh_from_db()
    assert step.outcome == "done" and step.attempts == 1 and "sent" in step.detail


def test_send_email_for_a_deal_goes_to_its_contacts_with_an_address(wf, world, smtp_server):  # noqa: F811
    made = wf(actions=[{"type": "send_email", "params": {"subject": "Renewal", "body": "Hi {{ first_name }}"}}])
    step = run_on(made, "deal", world["deal"])
    delivery.do_deliver_step(step.id)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["carol@grasspods.example"]]
    assert [m["contact_id"] for m in step.payload["messages"]] == [world["carol"]]


def test_an_email_left_sending_by_a_dead_worker_is_not_sent_again(wf, world, smtp_server):  # noqa: F811
    made = wf(record_type="contact", actions=[{"type": "send_email", "params": {"subject": "Hi", "body": "x"}}])
    step = run_on(made, "contact", world["carol"])
    WorkflowRunStep.objects.filter(id=step.id).update(outcome=StepOutcome.SENDING)  # claimed, then the worker died
    assert delivery.steps_to_retry(timezone.now() + timedelta(minutes=11)) == []
    step.refresh_from_db()
    assert step.outcome == "failed" and smtp_server.messages == []


def test_send_sms_through_the_provider_once(wf, admin, alice, world, provider_standin, settings):  # noqa: F811
    from telephony.services import do_set_provider_account

    settings.PUBLIC_BASE_URL = "http://testserver"
    do_set_provider_account(admin.user, "twilio", {"account_id": "AC" + "0" * 32, "auth_token": "token", "from_number": "+12025550100", "api_base": provider_standin.base_url})
    alice.patch(f"contacts/{world['carol']}", {"phones": ["+12025550143"]})
    made = wf(record_type="contact", actions=[{"type": "send_sms", "params": {"text": "Hi {{ first_name }}, call me back"}}])
    step = run_on(made, "contact", world["carol"])
    delivery.do_deliver_step(step.id)
    delivery.do_deliver_step(step.id)
    (request,) = provider_standin.requests
    assert "Hi Carol, call me back" in request.body.decode() or "Hi+Carol" in request.body.decode()
    step.refresh_from_db()
    assert step.outcome == "done", step.detail


def test_webhook_is_signed_and_retried_with_backoff(wf, world, receiver, monkeypatch):
    made = wf(actions=[{"type": "webhook", "params": {"url": receiver.url}}])
    step = run_on(made, "deal", world["deal"])
    receiver.fail_next(500, 503)
    now = timezone.now()
    assert delivery.do_deliver_step(step.id, now) == 30.0
    assert delivery.do_deliver_step(step.id, now + timedelta(seconds=5)) is None  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    assert delivery.do_deliver_step(step.id, now + timedelta(seconds=31)) == 60.0  # doubled
    assert delivery.do_deliver_step(step.id, now + timedelta(seconds=92)) is None
    step.refresh_from_db()
    assert (step.outcome, step.attempts) == ("done", 3)
    assert len(receiver.requests) == 3
    secret = Workflow.objects.get(id=made["id"]).secret
    for request in receiver.requests:
        headers = request["headers"]
        signed = headers["X-Touchpoints-Timestamp"].encode() + b"." + request["body"]
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Touchpoints-Signature"], expected)
        assert headers["X-Touchpoints-Delivery"] == receiver.json(0)["delivery"]  # the receiver's de-duplication key
    body = receiver.json(2)
    assert body["record_type"] == "deal" and body["record"]["id"] == world["deal"] and body["record"]["name"] == "Grasspods renewal"
    assert body["event"] == f"created:deal:{world['deal']}"
    assert receiver.requests[0]["body"] == receiver.requests[2]["body"]  # a retry sends the same bytes


def test_the_webhook_job_schedules_its_retry_and_gives_up_at_last(wf, world, receiver, monkeypatch):
    made = wf(actions=[{"type": "webhook", "params": {"url": receiver.url}}])
    step = run_on(made, "deal", world["deal"])
    scheduled = []
    monkeypatch.setattr(tasks.deliver_step, "schedule", lambda args, delay: scheduled.append((args, delay)))
    receiver.fail_next(*[500] * delivery.WEBHOOK_ATTEMPTS)
    tasks.deliver_step.call_local(step.id)
    assert scheduled == [((step.id,), 30.0)]
    now = timezone.now()
    for attempt in range(2, delivery.WEBHOOK_ATTEMPTS + 1):
        now += timedelta(hours=1)
        delivery.do_deliver_step(step.id, now)
    step.refresh_from_db()
    assert step.outcome == "failed" and "gave up after 6 attempts" in step.detail
    assert len(receiver.requests) == delivery.WEBHOOK_ATTEMPTS


def test_a_webhook_left_sending_is_queued_again_and_a_lost_retry_is_swept(wf, world, receiver):
    made = wf(actions=[{"type": "webhook", "params": {"url": receiver.url}}])
    step = run_on(made, "deal", world["deal"])
    WorkflowRunStep.objects.filter(id=step.id).update(outcome=StepOutcome.SENDING)
    later = timezone.now() + timedelta(minutes=11)
    assert delivery.steps_to_retry(later) == [step.id]
    assert delivery.do_deliver_step(step.id, later) is None
    assert len(receiver.requests) == 1


def test_a_webhook_to_a_closed_port_is_retried(wf, world):
    made = wf(actions=[{"type": "webhook", "params": {"url": "http://127.0.0.1:9/hook"}}])
    step = run_on(made, "deal", world["deal"])
    assert delivery.do_deliver_step(step.id) == 30.0
    step.refresh_from_db()
    assert step.outcome == "queued" and "no answer" in step.detail


def test_every_payload_is_json(wf, world):
    made = wf(actions=[{"type": "webhook", "params": {"url": "http://127.0.0.1:9/hook"}}])
    step = run_on(made, "deal", world["deal"])
    assert json.loads(json.dumps(step.payload))["body"]["workflow"] == {"id": made["id"], "name": "Follow up"}
    assert isinstance(datetime.fromisoformat(step.payload["body"]["record"]["created_at"]), datetime)


def test_send_email_from_a_saved_template(wf, admin, alice, world, smtp_server):  # noqa: F811
    template = admin.post("email-templates", {"name": "Nudge", "subject": "Still there, {{ first_name }}?", "body_html": "<p>Hello {{ full_name }}</p>"}).json()
    made = wf(record_type="contact", actions=[{"type": "send_email", "params": {"template_id": template["id"]}}])
    step = run_on(made, "contact", world["carol"])
    delivery.do_deliver_step(step.id)
    (message,) = smtp_server.messages
    assert message.message["Subject"] == "Still there, Carol?"
    assert "Hello Carol Ng" in message.message.get_body(("html",)).get_content()


def test_send_email_template_and_own_text_do_not_mix(admin):
    from workflows.tests.conftest import locs

    body = {"name": "x", "record_type": "contact", "trigger": "record_created", "actions": [{"type": "send_email", "params": {"template_id": 999999, "subject": "Hi"}}]}
    assert locs(admin.post("workflows", body)) == ["body.actions.0.params.template_id", "body.actions.0.params.subject"]
