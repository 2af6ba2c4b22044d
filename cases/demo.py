"""Demo cases for touchpoints.demo, through cases.services: a few per rep
in every status, with comments (an internal note among them)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from accounts.models import User
from cases.models import CaseComment
from cases.services import do_comment_case, do_create_case, do_update_case

PROBLEMS = (
    ("Invoice shows the wrong amount", "The March invoice charges 12 seats, we have 10."),
    ("Cannot sign in after password reset", "The reset link says it expired right away."),
    ("Export to CSV is missing columns", "The phone column is empty in the export."),
    ("Delivery arrived damaged", "Two of the five units have a cracked case."),
)
WALK = (("open",), ("in_progress",), ("in_progress", "wait_for_response"), ("in_progress", "resolved"), ("in_progress", "resolved", "closed"))


def demo_cases(rng: random.Random, rep: User, contact_ids: list[int], anchor: datetime) -> int:
    """Up to five cases per rep on their contacts, opened over the last four
    months; returns how many touchpoints (one per case) they made."""
    made = 0
    for k, contact_id in enumerate(contact_ids[:5]):
        title, description = rng.choice(PROBLEMS)
        opened = anchor - timedelta(days=rng.randint(1, 120), hours=rng.randint(0, 12))
        case = do_create_case(rep, {"title": title, "description": description, "contact_id": contact_id, "priority": rng.choice(("low", "normal", "high", "urgent")), "created_at": opened})
        comment = do_comment_case(rep, case.id, "Thanks for reporting this, we are looking into it.")
        CaseComment.objects.filter(id=comment.id).update(created_at=opened + timedelta(hours=2))
        if rng.random() < 0.5:
            note = do_comment_case(rep, case.id, "Checked with billing: a known issue, fix in the next release.", internal=True)
            CaseComment.objects.filter(id=note.id).update(created_at=opened + timedelta(hours=5))
        for status in WALK[(k + rng.randint(0, 4)) % len(WALK)]:
            do_update_case(rep, case.id, {"status": status})
        made += 1
    return made


