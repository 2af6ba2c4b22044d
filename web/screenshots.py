"""``./dev screenshots``: regenerate docs/screenshots/ from the demo data.

Builds a throwaway SQLite database under a temporary folder, loads a small
demo, serves it with the production server (gunicorn + WhiteNoise, so the
static files are the real ones), signs in as the busiest sales rep in
Debian's Chromium and saves a PNG of each main page. The demo is relative
to today, so the pictures always look current.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {seconds:.0f} s")


def _pick_records() -> dict:
    from django.db.models import Count

    from accounts.models import User
    from crm.models import Deal
    from touchpoints.models import TouchpointLink

    rep = User.objects.filter(role="rep").annotate(n=Count("id")).order_by("username").first()
    deal_owner_counts = Deal.objects.values("owner").annotate(n=Count("id")).order_by("-n", "owner")
    rep = User.objects.get(id=deal_owner_counts[0]["owner"]) if deal_owner_counts else rep
    from activities.models import Event

    from documents.models import DocumentShare

    # The rep's busiest deal that also has planned events and shared documents,
    # so Up Next and the Documents widget show something.
    planned = Event.objects.filter(status="planned", deal__owner=rep).values("deal_id")
    shared = DocumentShare.objects.filter(deal__owner=rep).values("deal_id")
    busiest = (
        TouchpointLink.objects.filter(deal__owner=rep, deal_id__in=planned).filter(deal_id__in=shared).values("deal").annotate(n=Count("id")).order_by("-n", "deal").first()
        or TouchpointLink.objects.filter(deal__owner=rep, deal_id__in=shared).values("deal").annotate(n=Count("id")).order_by("-n", "deal").first()
        or TouchpointLink.objects.filter(deal__owner=rep, deal_id__in=planned).values("deal").annotate(n=Count("id")).order_by("-n", "deal").first()
        or TouchpointLink.objects.filter(deal__owner=rep, deal__isnull=False).values("deal").annotate(n=Count("id")).order_by("-n", "deal").first()
    )
    deal = Deal.objects.select_related("organization").get(id=busiest["deal"])
    contact = deal.deal_contacts.select_related("contact").order_by("id").first().contact
    phone = contact.phones.order_by("position").first()
    from emails.models import EmailMessage

    # The rep's tracked mail with the most opens, for the email page.
    email = (
        EmailMessage.objects.filter(touchpoint__owner=rep, tracked=True).annotate(n=Count("participants__engagements")).order_by("-n", "id").first()
    )
    from cases.models import Case
    from portal.models import PortalAccount

    case = Case.objects.filter(owner=rep).annotate(n=Count("comments")).order_by("-n", "id").first()
    portal = PortalAccount.objects.filter(is_active=True).order_by("id").first()
    from lists.models import SavedList
    from workflows.models import Workflow

    stale = SavedList.objects.filter(owner=rep, name="My stale contacts").first()
    workflow = Workflow.objects.filter(trigger="schedule").order_by("id").first()
    return {
        "list": stale.id if stale else None,
        "workflow": workflow.id if workflow else None,
        "case": case.id if case else None,
        "portal_email": portal.email if portal else None,
        "rep": rep.username,
        "deal": deal.id,
        "organization": deal.organization_id,
        "contact": contact.id,
        "phone": phone.number if phone else contact.last_name,
        "email": email.id if email else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./dev screenshots")
    parser.add_argument("--scale", type=float, default=0.05, help="demo scale (default 0.05)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    var = Path(tempfile.mkdtemp(prefix="touchpoints-screenshots-"))
    os.environ.update({"TOUCHPOINTS_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("HUEY_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("demo", scale=args.scale)
    records = _pick_records()

    port = _free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz")
        _shoot(base, records, args.out)
    finally:
        server.terminate()
        server.wait(10)
    print(f"Screenshots in {args.out}")
    return 0


def _shoot(base: str, records: dict, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from touchpoints.demo import PASSWORD
    from web.browser import chromium_missing_reason, launch

    reason = chromium_missing_reason()
    if reason:
        raise SystemExit(reason)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
        page = context.new_page()
        page.goto("/login/")
        page.screenshot(path=out / "sign-in.png")
        page.get_by_label("Username").fill(records["rep"])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        shots = [
            ("dashboard", "/"),
            ("deal", f"/deals/{records['deal']}/"),
            ("contact", f"/contacts/{records['contact']}/"),
            ("organization", f"/organizations/{records['organization']}/"),
            ("deals-list", "/deals/?sort=-last_contacted_on"),
            ("engagements", "/engagements/"),
            ("mailboxes", "/settings/mailboxes/"),
            *([("email", f"/emails/{records['email']}/")] if records["email"] else []),
            *([("case", f"/cases/{records['case']}/")] if records["case"] else []),
            ("lists", "/lists/"),
            *([("list", f"/lists/{records['list']}/"), ("list-edit", f"/lists/{records['list']}/edit")] if records["list"] else []),
            ("notifications", "/notifications/"),
        ]
        for name, url in shots:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out / f"{name}.png", full_page=name != "deal")
            if name == "deal":
                page.screenshot(path=out / "deal.png")
        page.goto("/")
        page.get_by_role("searchbox").fill(records["phone"])
        page.locator("#search-results a").first.wait_for()
        page.screenshot(path=out / "search.png")
        mobile = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base, storage_state=context.storage_state(), is_mobile=True)
        phone_page = mobile.new_page()
        phone_page.goto(f"/deals/{records['deal']}/")
        phone_page.wait_for_load_state("networkidle")
        phone_page.screenshot(path=out / "deal-mobile.png")
        # Workflows and Smart Alerts configuration, as the demo's admin.
        admin = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base).new_page()
        admin.goto("/login/")
        admin.get_by_label("Username").fill("demo-admin")
        admin.get_by_label("Password").fill(PASSWORD)
        admin.get_by_role("button", name="Sign in").click()
        admin.wait_for_load_state("networkidle")
        admin_shots = [("workflows", "/workflows/"), ("alerts-config", "/actions/configuration")]
        if records["workflow"]:
            admin_shots += [("workflow", f"/workflows/{records['workflow']}/"), ("workflow-runs", f"/workflows/{records['workflow']}/runs/")]
        for name, url in admin_shots:
            admin.goto(url)
            admin.wait_for_load_state("networkidle")
            admin.screenshot(path=out / f"{name}.png", full_page=True)
        # Sales Insights: the chart and the top of the table (the tables run long).
        for name in ("activities-added", "activities-completed", "activity-efficiency"):
            admin.goto(f"/insights/{name}/" + ("?bucket=month&start=" + (date.today() - timedelta(days=180)).isoformat() if name == "activities-added" else ""))
            admin.wait_for_load_state("networkidle")
            admin.screenshot(path=out / f"insights-{name}.png")
        if records["portal_email"]:  # the customer portal, as the demo's portal contact
            portal = browser.new_context(viewport={"width": 1100, "height": 700}, base_url=base).new_page()
            portal.goto("/portal/")
            portal.get_by_label("Email address").fill(records["portal_email"])
            portal.get_by_label("Password").fill(PASSWORD)
            portal.get_by_role("button", name="Sign in").click()
            portal.wait_for_load_state("networkidle")
            portal.screenshot(path=out / "portal.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
