"""The three reports over the API: figures, time zones, late and deleted
touchpoints, filters, scope and CSV. Every test logs activity through the
API (the one write path) and runs the refresh the worker runs every minute."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from conftest import at
from insights import refresh
from insights.rules import ACTIVITY_KINDS


def log(api, kind, when, status=None, **extra):
    body = {"kind": kind, "occurred_at": when, **extra}
    if status:
        body["status"] = status
    response = api.post("touchpoints", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def added(api, **params):
    response = api.get("insights/activities-added", **params)
    assert response.status_code == 200, response.content
    return response.json()


def by_kind(rows):
    """(bucket, kind, count) of a pivoted Activities Added answer."""
    return [(r["bucket"], kind, r[kind]) for r in rows for kind in ACTIVITY_KINDS if r[kind]]


def kinds_of(rows):
    return [kind for _, kind, _ in by_kind(rows)]


def test_added_counts_every_status_per_week_and_kind(alice, world):
    log(alice, "phone_call", at("2026-11-02 10:00"), "completed", contact_ids=[world["carol"]], duration_seconds=300)
    log(alice, "phone_call", at("2026-11-03 10:00"), "no_answer", contact_ids=[world["carol"]])
    log(alice, "email", at("2026-11-10 10:00"), "sent", contact_ids=[world["carol"]])
    log(alice, "note", at("2026-11-10 11:00"), contact_ids=[world["carol"]])  # not an activity
    refresh.refresh()
    report = added(alice, start="2026-11-01", end="2026-11-30")
    # 2026-11-01 is a Sunday: its week began on Monday 2026-10-26.
    assert by_kind(report["rows"]) == [("2026-11-02", "phone_call", 2), ("2026-11-09", "email", 1)]
    # One row per rep and week, a count per kind (0 when none) and their total.
    assert report["rows"][0] == {
        "rep_id": alice.user.id, "rep": "alice", "bucket": "2026-11-02", "activities": 2,
        "event": 0, "phone_call": 2, "email": 0, "email_campaign": 0, "sms": 0, "chat": 0,
    }
    assert report["period"] == {"start": "2026-11-01", "end": "2026-11-30", "time_zone": "UTC", "bucket": "week"}
    # An instant with its offset, as the schema's date-time says (SQLite hands raw SQL's datetimes back bare).
    assert datetime.fromisoformat(report["refreshed_at"].replace("Z", "+00:00")).utcoffset() is not None
    assert added(alice, start="2026-11-01", end="2026-11-30")["refreshed_at"] == report["refreshed_at"]
    monthly = added(alice, start="2026-10-15", end="2026-11-30", bucket="month")
    assert by_kind(monthly["rows"]) == [("2026-11-01", "phone_call", 2), ("2026-11-01", "email", 1)]
    assert [r["activities"] for r in monthly["rows"]] == [3]
    # Kinds the filter leaves out are not counted (null), not zero.
    emails = added(alice, start="2026-11-01", end="2026-11-30", kinds="email,sms")["rows"]
    assert [(r["bucket"], r["activities"], r["email"], r["sms"], r["phone_call"], r["event"]) for r in emails] == [("2026-11-09", 1, 1, 0, None, None)]


def test_completed_reports_count_and_effort(alice, world):
    log(alice, "phone_call", at("2026-11-02 10:00"), "completed", contact_ids=[world["carol"]], duration_seconds=300)
    log(alice, "phone_call", at("2026-11-04 10:00"), "hangup", contact_ids=[world["carol"]], duration_seconds=60)
    log(alice, "phone_call", at("2026-11-05 10:00"), "busy", contact_ids=[world["carol"]], duration_seconds=5)
    log(alice, "event", at("2026-11-06 10:00"), "not_held", contact_ids=[world["carol"]])
    refresh.refresh()
    rows = alice.get("insights/activities-completed", start="2026-11-01", end="2026-11-30").json()["rows"]
    assert rows == [{"rep_id": alice.user.id, "rep": "alice", "kind": "phone_call", "activities": 2, "duration_seconds": 360}]


def test_sunday_night_lands_in_the_users_week(db):
    from conftest import _persona

    ny = _persona("nora", time_zone="America/New_York")
    # Sunday 2026-11-08 23:30 in New York is Monday 04:30 UTC: the UTC week would be wrong.
    log(ny, "email", "2026-11-08T23:30:00-05:00", "sent")
    refresh.refresh()
    rows = added(ny, start="2026-11-01", end="2026-11-30")["rows"]
    assert [(r["bucket"], r["activities"]) for r in rows] == [("2026-11-02", 1)]
    monthly = added(ny, start="2026-10-01", end="2026-11-30", bucket="month")["rows"]
    assert [(r["bucket"], r["activities"]) for r in monthly] == [("2026-11-01", 1)]
    # The period is in her days too: Sunday the 8th only.
    assert [r["activities"] for r in added(ny, start="2026-11-08", end="2026-11-08")["rows"]] == [1]
    assert added(ny, start="2026-11-09", end="2026-11-09")["rows"] == []


def test_late_changed_and_deleted_touchpoints_show_at_the_next_refresh(alice, world):
    first = log(alice, "email", at("2026-11-03 09:00"), "sent", contact_ids=[world["carol"]])
    refresh.refresh()
    assert [r["activities"] for r in added(alice, start="2026-11-01", end="2026-11-30")["rows"]] == [1]
    # Imported a month late, for a day already rolled up.
    log(alice, "email", at("2026-11-03 18:00"), "sent", contact_ids=[world["carol"]])
    assert [r["activities"] for r in added(alice, start="2026-11-01", end="2026-11-30")["rows"]] == [1]  # not refreshed yet
    refresh.refresh()
    assert [r["activities"] for r in added(alice, start="2026-11-01", end="2026-11-30")["rows"]] == [2]
    assert alice.patch(f"touchpoints/{first}", {"occurred_at": at("2026-11-20 09:00")}).status_code == 200
    assert alice.delete(f"touchpoints/{first}").status_code == 204
    refresh.refresh()
    rows = added(alice, start="2026-11-01", end="2026-11-30")["rows"]
    assert [(r["bucket"], r["activities"]) for r in rows] == [("2026-11-02", 1)]


def test_stage_filter_follows_the_deal(alice, world):
    log(alice, "phone_call", at("2026-11-02 10:00"), "completed", deal_ids=[world["deal"]])
    log(alice, "email", at("2026-11-02 11:00"), "sent")  # on no deal
    refresh.refresh()
    on_prospecting = added(alice, start="2026-11-01", end="2026-11-30", stages="prospecting")["rows"]
    assert kinds_of(on_prospecting) == ["phone_call"]
    assert kinds_of(added(alice, start="2026-11-01", end="2026-11-30", stages="none")["rows"]) == ["email"]
    assert alice.patch(f"deals/{world['deal']}", {"stage": "negotiation"}).status_code == 200
    refresh.refresh()
    assert added(alice, start="2026-11-01", end="2026-11-30", stages="prospecting")["rows"] == []
    assert kinds_of(added(alice, start="2026-11-01", end="2026-11-30", stages="negotiation")["rows"]) == ["phone_call"]


def test_efficiency_counts_activities_up_to_closing(alice, world):
    deal = world["deal"]
    lost = alice.post("deals", {"name": "Lost one", "organization_id": world["org"], "created_at": at("2026-01-01 00:00")}).json()["id"]
    for day in ("2026-11-02", "2026-11-03", "2026-11-04"):
        log(alice, "phone_call", at(f"{day} 10:00"), "completed", deal_ids=[deal], duration_seconds=120)
    log(alice, "email", at("2026-11-05 10:00"), "sent", deal_ids=[lost])
    assert alice.patch(f"deals/{deal}", {"stage": "closed_won"}).status_code == 200
    assert alice.patch(f"deals/{lost}", {"stage": "closed_lost"}).status_code == 200
    log(alice, "email", at("2030-01-01 10:00"), "sent", deal_ids=[deal])  # after the win: not what won it
    refresh.refresh()
    today = alice.get("me").json()
    rows = alice.get("insights/activity-efficiency", end="2099-12-31", start="2096-01-01").json()["rows"]
    assert rows == []  # closed today, not in that period
    rows = alice.get("insights/activity-efficiency").json()["rows"]  # the last 90 days: closed today
    assert rows == [
        {
            "rep_id": alice.user.id,
            "rep": "alice",
            "won_deals": 1,
            "lost_deals": 1,
            "activities_on_won_deals": 3,
            "activities_on_closed_deals": 4,
            "average_activities_per_won_deal": 3.0,
            "estimated_activities_to_win": 4.0,
            "average_duration_seconds": 120.0,
        }
    ], today
    emails_only = alice.get("insights/activity-efficiency", kinds="email").json()["rows"][0]
    assert (emails_only["activities_on_won_deals"], emails_only["activities_on_closed_deals"]) == (0, 1)


def test_scope_reps_see_themselves_managers_their_team_admins_all(alice, bob, charlie, admin, world):
    from conftest import _persona

    lead = _persona("lead", role="manager", team="east")
    for api in (alice, bob, charlie):
        log(api, "email", at("2026-11-02 10:00"), "sent")
    refresh.refresh()

    def reps(api, **params):
        return sorted(r["rep"] for r in added(api, start="2026-11-01", end="2026-11-30", **params)["rows"])

    assert reps(alice) == ["alice"]
    assert reps(alice, team_id=alice.user.team_id) == ["alice"]
    assert reps(lead) == ["alice", "bob"]
    assert reps(lead, rep_ids=str(bob.user.id)) == ["bob"]
    assert reps(admin) == ["alice", "bob", "charlie"]
    assert reps(admin, team_id=charlie.user.team_id) == ["charlie"]
    outside = alice.get("insights/activities-added", rep_ids=str(bob.user.id))
    assert outside.status_code == 422
    assert outside.json()["detail"][0]["loc"] == ["query", "rep_ids"]
    other_team = lead.get("insights/activities-completed", team_id=charlie.user.team_id)
    assert other_team.status_code == 422 and other_team.json()["detail"][0]["loc"] == ["query", "team_id"]


def test_bad_filters_name_the_parameter(alice):
    cases = {
        (("start", "2026-12-01"), ("end", "2026-11-01")): ["query", "start"],
        (("kinds", "email,fax"),): ["query", "kinds"],
        (("stages", "won"),): ["query", "stages"],
        (("bucket", "year"),): ["query", "bucket"],
        (("start", "2010-01-01"), ("end", "2026-01-01")): ["query", "start"],
        (("rep_ids", "1,x"),): ["query", "rep_ids"],
    }
    for params, loc in cases.items():
        response = alice.get("insights/activities-added", **dict(params))
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"] == loc, (params, response.json())


def test_reports_require_authentication(client, db):
    for name in ("activities-added", "activities-completed", "activity-efficiency", "activities-added.csv"):
        assert client.get(f"/api/v1/insights/{name}").status_code == 401


def test_csv_has_the_same_rows(alice, world):
    log(alice, "phone_call", at("2026-11-02 10:00"), "completed", contact_ids=[world["carol"]], duration_seconds=300)
    refresh.refresh()
    response = alice.get("insights/activities-completed.csv", start="2026-11-01", end="2026-11-30")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="activities-completed-20261101-20261130.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["rep_id", "rep", "kind", "activities", "duration_seconds"], [str(alice.user.id), "alice", "phone_call", "1", "300"]]
    response = alice.get("insights/activities-added.csv", start="2026-11-01", end="2026-11-30", kinds="phone_call,email")
    assert 'filename="activities-added-20261101-20261130.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    # A column per kind counted; the JSON has the same figures.
    assert rows == [["rep_id", "rep", "bucket", "activities", "phone_call", "email"], [str(alice.user.id), "alice", "2026-11-02", "1", "1", "0"]]


def test_a_new_time_zone_on_a_large_log_asks_to_retry(alice, world, monkeypatch):
    from conftest import _persona

    log(alice, "email", at("2026-11-02 10:00"), "sent")
    refresh.refresh()
    kiwi = _persona("kiri", time_zone="Pacific/Auckland")
    monkeypatch.setattr(refresh, "SYNC_BUILD_LIMIT", 0)
    response = kiwi.get("insights/activities-added")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    monkeypatch.setattr(refresh, "SYNC_BUILD_LIMIT", 10**9)
    assert kiwi.get("insights/activities-added").status_code == 200


def test_rebuild_command_gives_what_the_incremental_refresh_gave(alice, bob, world):
    from django.core.management import call_command

    from insights.models import ActivityCell, DealActivity, FillState, PendingDay

    log(alice, "phone_call", at("2026-11-02 10:00"), "completed", deal_ids=[world["deal"]], duration_seconds=30)
    log(bob, "email", at("2026-10-31 23:59"), "sent")
    first = log(alice, "email", at("2026-11-30 12:00"), "received", contact_ids=[world["carol"]])
    refresh.refresh()
    alice.delete(f"touchpoints/{first}")
    assert PendingDay.objects.exists()
    done = refresh.refresh()
    assert done["days"] == 1 and not PendingDay.objects.exists()
    state = FillState.objects.get()
    assert state.refreshed_at is not None and state.last_days == 1

    def snapshot():
        cells = ActivityCell.objects.values_list("zone", "grain", "start", "owner_id", "kind", "stage", "added", "completed", "completed_seconds")
        return sorted(cells), sorted(DealActivity.objects.values_list("deal_id", "kind", "activities", "duration_seconds"))

    incremental = snapshot()
    assert incremental[0] and incremental[1]
    call_command("rebuild_insights", stdout=io.StringIO())
    assert snapshot() == incremental
    assert FillState.objects.get().rebuilt_at is not None


def test_the_periodic_job_refreshes(alice, world):
    from insights.tasks import refresh_insights

    log(alice, "sms", at("2026-11-02 10:00"), "delivered", contact_ids=[world["carol"]])
    refresh_insights.call_local()
    assert kinds_of(added(alice, start="2026-11-01", end="2026-11-30")["rows"]) == ["sms"]
