"""What the fault test checks once the dust has settled. Each check returns
a list of violations (empty: it holds), each a sentence a human can act on.

The expectations come from what the clients sent (faults.world) and what
they were told (faults.load.Ledger); the database is read with plain SQL,
never through the app's rollup or Last Contacted code.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from faults.load import Ledger
from faults.world import RULES, TASK_TITLE, Item, World, expected_last_contacted, records_of

TABLES = {"organization": "crm_organization", "contact": "crm_contact", "deal": "crm_deal"}
SHOW = 5  # examples quoted per violated check


def _rows(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _when(value) -> datetime | None:
    """A datetime as the driver returns it (SQLite: text) in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _examples(problems: list[str], what: str) -> list[str]:
    if not problems:
        return []
    return [f"{what}: {len(problems)} case(s), e.g. " + "; ".join(problems[:SHOW])]


def stored_exactly_once(items: list[Item], ledger: Ledger) -> list[str]:
    """Every acknowledged touchpoint is stored, once, under the id it was
    answered with; nothing else is stored; no answer said "created" twice."""
    out = []
    stored = _rows("SELECT id, source, external_id FROM touchpoints_touchpoint")
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for tp_id, source, external_id in stored:
        by_key[(source, external_id)].append(tp_id)
    out += _examples([f"{k} stored {len(v)} times (ids {v})" for k, v in by_key.items() if len(v) > 1], "duplicates")
    sent = {(item.source, item.external_id) for item in items}
    out += _examples([f"{k} (id {v})" for k, v in by_key.items() if k not in sent], "touchpoints stored that nobody sent")
    lost = [f"{k} acknowledged as id {tp_id}" for k, tp_id in ledger.acked.items() if k not in by_key]
    out += _examples(lost, "acknowledged (2xx) but not stored")
    moved = [f"{k} answered id {tp_id}, stored as {by_key[k]}" for k, tp_id in ledger.acked.items() if k in by_key and by_key[k] != [tp_id]]
    out += _examples(moved, "stored under another id than answered")
    out += _examples([f"{k} {n} times" for k, n in ledger.created.items() if n > 1], "answered \"created\" more than once")
    unacked = sent - set(ledger.acked)
    out += _examples(sorted(str(k) for k in unacked), "never acknowledged (the clients gave up)")
    return out


def links_as_sent(items: list[Item], world: World, ledger: Ledger) -> list[str]:
    """Each touchpoint is on exactly the records it names (direct links) and
    the records this world's rollup puts it on (all links): a batch cut in
    half by a kill would show here."""
    by_id = {ledger.acked[(item.source, item.external_id)]: item for item in items if (item.source, item.external_id) in ledger.acked}
    direct: dict[int, set] = defaultdict(set)
    every: dict[int, set] = defaultdict(set)
    for tp_id, org, contact, deal, path in _rows("SELECT touchpoint_id, organization_id, contact_id, deal_id, path FROM touchpoints_touchpointlink"):
        record = ("organization", org) if org else ("contact", contact) if contact else ("deal", deal)
        every[tp_id].add(record)
        if path == "direct":
            direct[tp_id].add(record)
    wrong_direct, wrong_all = [], []
    for tp_id, item in by_id.items():
        named = {("contact", c) for c in item.contact_ids} | {("organization", o) for o in item.organization_ids} | {("deal", d) for d in item.deal_ids}
        if direct.get(tp_id, set()) != named:
            wrong_direct.append(f"{item.external_id} (id {tp_id}) names {sorted(named)}, linked directly to {sorted(direct.get(tp_id, set()))}")
        expected = records_of(item, world)
        if every.get(tp_id, set()) != expected:
            wrong_all.append(f"{item.external_id} (id {tp_id}) expected on {sorted(expected)}, is on {sorted(every.get(tp_id, set()))}")
    stray = sorted(set(every) - set(by_id))
    return (
        _examples(wrong_direct, "direct links differ from what was sent")
        + _examples(wrong_all, "timeline links differ from the rollup rules")
        + _examples([str(i) for i in stray], "links of touchpoints nobody was answered with")
    )


def _counting_sql() -> tuple[str, str]:
    """SQL CASE expressions, from faults.world.RULES: does the touchpoint
    ``t`` count as contact, and its Via."""
    counts = " OR ".join(
        f"(t.kind = '{k}' AND t.status = '{s}'" + (f" AND t.event_type = '{e}')" if e else ")")
        for (k, s, e), (c, _, _, _) in RULES.items()
        if c
    )
    via = "CASE " + " ".join(
        f"WHEN t.kind = '{k}' AND t.status = '{s}'" + (f" AND t.event_type = '{e}'" if e else "") + f" THEN '{v}'"
        for (k, s, e), (c, v, _, _) in RULES.items()
        if c
    ) + " END"
    return counts, via


def last_contacted(items: list[Item], world: World) -> list[str]:
    """Last Contacted On/Via of every organization, contact and deal equals
    the newest counting touchpoint of its log, computed twice: in SQL from
    the stored log (touchpoints and their links, counted by this module's
    own rules), and in Python from what the clients sent."""
    out = []
    counts, via = _counting_sql()
    from_sent = expected_last_contacted(items, world)
    for record_type, table in TABLES.items():
        column = f"{record_type}_id"
        from_log = {
            rid: (_when(when), v)
            for rid, when, v in _rows(
                f"""
                WITH counting AS (
                    SELECT l.{column} AS rid, t.occurred_at AS occurred_at, {via} AS via
                    FROM touchpoints_touchpointlink l JOIN touchpoints_touchpoint t ON t.id = l.touchpoint_id
                    WHERE l.{column} IS NOT NULL AND ({counts})
                ), newest AS (SELECT rid, MAX(occurred_at) AS occurred_at FROM counting GROUP BY rid)
                SELECT c.rid, c.occurred_at, c.via FROM counting c JOIN newest n ON n.rid = c.rid AND n.occurred_at = c.occurred_at
                """
            )
        }
        stored = {rid: (_when(on), v) for rid, on, v in _rows(f"SELECT id, last_contacted_on, last_contacted_via FROM {table}")}
        against_log, against_sent = [], []
        for rid, value in stored.items():
            log_value = from_log.get(rid, (None, None))
            sent_value = from_sent.get((record_type, rid), (None, None))
            if value != log_value:
                against_log.append(f"{record_type} {rid}: stored {value[0]} {value[1]}, log's newest {log_value[0]} {log_value[1]}")
            if value != sent_value:
                against_sent.append(f"{record_type} {rid}: stored {value[0]} {value[1]}, newest sent {sent_value[0]} {sent_value[1]}")
        out += _examples(against_log, f"{record_type} Last Contacted differs from the maximum of its log")
        out += _examples(against_sent, f"{record_type} Last Contacted differs from the newest touchpoint sent for it")
    return out


def workflow_jobs(items: list[Item], world: World, ledger: Ledger) -> list[str]:
    """The workflow fired once per job-deal touchpoint and did its work
    once: one run per trigger, finished; one step per run; one task per
    deal, on that deal; nothing else."""
    out = []
    deal_items = {item.deal_ids[0]: item for item in items if item.deal_ids}
    tp_of_deal = {d: ledger.acked.get((i.source, i.external_id)) for d, i in deal_items.items()}
    runs = _rows("SELECT id, event_key, status, attempts, record_ids FROM workflows_workflowrun WHERE workflow_id = %s", [world.workflow_id])
    by_key = Counter(key for _, key, _, _, _ in runs)
    expected_keys = {f"touchpoint:{tp}" for tp in tp_of_deal.values()}
    out += _examples([f"{k} {n} runs" for k, n in by_key.items() if n > 1], "a trigger with more than one run")
    out += _examples(sorted(expected_keys - set(by_key)), "a deal touchpoint without its workflow run")
    out += _examples(sorted(set(by_key) - expected_keys), "a run for a trigger that did not happen")
    out += _examples([f"run {rid} ({key}) {status} after {attempts} attempt(s)" for rid, key, status, attempts, _ in runs if status != "done"], "runs not done")
    steps = _rows("SELECT run_id, record_id, action_index, outcome, detail FROM workflows_workflowrunstep")
    steps_per_run = Counter(run_id for run_id, *_ in steps)
    out += _examples([f"run {r}: {n} steps" for r, n in steps_per_run.items() if n != 1], "a run with other than one step")
    out += _examples([f"run {r} record {rec}: {outcome} {detail}" for r, rec, _, outcome, detail in steps if outcome != "done"], "steps not done")
    tasks = Counter(deal for (deal,) in _rows("SELECT deal_id FROM activities_task WHERE title = %s", [TASK_TITLE]))
    out += _examples([f"deal {d}: {tasks.get(d, 0)} tasks" for d in world.deal_org if tasks.get(d, 0) != 1], "a deal without exactly one workflow task")
    out += _examples([f"deal {d}" for d in tasks if d not in world.deal_org], "a workflow task on a deal that had no trigger")
    return out


def insights_rollup(items: list[Item]) -> list[str]:
    """Sales Insights' day cells (UTC, all stages) equal the activities
    sent, per owner, day and kind: added, completed and effort. A refresh
    job lost, or applied twice, would show."""
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for item in items:
        _, _, activity, completed = RULES[item.shape]
        if not activity:
            continue
        cell = expected[(item.owner_id, item.occurred_at.astimezone(UTC).date().isoformat(), item.shape[0])]
        cell[0] += 1
        if completed:
            cell[1] += 1
            cell[2] += item.duration or 0
    stored = {
        (owner, str(start)[:10], kind): [added, completed, seconds]
        for owner, start, kind, added, completed, seconds in _rows(
            "SELECT owner_id, start, kind, added, completed, completed_seconds FROM insights_activitycell "
            "WHERE zone = 'UTC' AND grain = 'day' AND stage = '*'"
        )
    }
    pending = _rows("SELECT (SELECT COUNT(*) FROM insights_pendingday), (SELECT COUNT(*) FROM insights_pendingdeal)")[0]
    wrong = [f"{cell}: stored {stored.get(cell)}, sent {value}" for cell, value in expected.items() if stored.get(cell) != value]
    wrong += [f"{cell}: stored {value}, nothing sent" for cell, value in stored.items() if cell not in expected]
    out = _examples(wrong, "Sales Insights day cells differ from the activities sent")
    if any(pending):
        out.append(f"Sales Insights marks left unprocessed: {pending[0]} days, {pending[1]} deals")
    return out
