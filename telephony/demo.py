"""Demo calls and messages for touchpoints.demo, made through the channel's
own path (telephony.processing), so contact pages have a call log with
busy and unanswered calls beside the completed ones, and SMS with their
provider statuses."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from accounts.models import User
from crm.models import ContactPhone
from telephony.processing import Context, apply_call_events, apply_sms_events
from telephony.providers.base import CallEvent, SmsEvent

OUR_NUMBER = "+12025550100"
CALL_OUTCOMES = (("completed", 0.55), ("busy", 0.1), ("no_answer", 0.2), ("hangup", 0.1), ("failed", 0.05))
TEXTS = ("Running 5 minutes late, sorry!", "Thanks, talk tomorrow.", "Can you send the contract today?", "Confirmed for Tuesday 10am.")


def demo_calls(rng: random.Random, n: int, rep: User, contact_ids: list[int], anchor: datetime) -> int:
    """A few calls and texts between the n-th rep and their contacts in the
    last three weeks; ids come from positions (the demo is deterministic).
    Returns how many touchpoints they made."""
    phones = dict(ContactPhone.objects.filter(contact_id__in=contact_ids, position=0).values_list("contact_id", "number"))
    made = 0
    for k, contact_id in enumerate(contact_ids):
        number = phones.get(contact_id)
        if number is None:
            continue
        when = anchor - timedelta(days=rng.randint(1, 21), minutes=rng.randint(0, 600))
        status = rng.choices([s for s, _ in CALL_OUTCOMES], [w for _, w in CALL_OUTCOMES])[0]
        inbound = rng.random() < 0.3
        duration = rng.randint(60, 1500) if status == "completed" else (rng.randint(1, 4) if status == "hangup" else None)
        event = CallEvent(
            provider="twilio",
            call_id=f"CAdemo{n:03d}{k:03d}",
            direction="inbound" if inbound else "outbound",
            from_number=number if inbound else OUR_NUMBER,
            to_number=OUR_NUMBER if inbound else number,
            status=status,
            provider_status=status.replace("_", "-"),
            duration_seconds=duration,
            recording_url=None,
            error_code="31005" if status == "failed" else None,
            occurred_at=when,
            sequence=None,
            raw={},
        )
        apply_call_events([event], Context(user_id=rep.id, contact_id=contact_id))
        made += status in ("completed", "hangup", "busy", "no_answer", "failed")
        if rng.random() < 0.5:
            text_status = rng.choices(["delivered", "dispatched", "failed"], [0.8, 0.1, 0.1])[0]
            sms = SmsEvent(
                provider="twilio",
                message_id=f"SMdemo{n:03d}{k:03d}",
                direction="outbound",
                from_number=OUR_NUMBER,
                to_number=number,
                body=rng.choice(TEXTS),
                status=text_status,
                provider_status=text_status,
                error_code="30003" if text_status == "failed" else None,
                occurred_at=when + timedelta(hours=1),
                raw={},
            )
            apply_sms_events([sms], Context(user_id=rep.id, contact_id=contact_id))
            made += 1
    return made
