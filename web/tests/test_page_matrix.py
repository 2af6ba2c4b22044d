"""The page permission matrix (issue #10): every URL pattern of the web UI,
for every persona, with the answer it must give.

The API has its own matrix (config/tests/test_permissions.py). This one walks
Django's URL resolver, so a new page without an entry here fails
``test_every_page_has_an_entry``. Excluded, each with its own test below:
``/api/v1/`` (the API matrix), ``/admin/`` (Django's admin: staff only) and
the public routes in ``PUBLIC`` (sign-in, health, email tracking, provider
webhooks, the customer portal), which answer anonymous requests.

Personas (conftest.py): admin and manager see everything; alice owns the
records every path parameter names (the API matrix's ``records`` fixture:
her organization, Carol, the deal, an event, a task, an email, a document,
a case, a list, a workflow of the admin's that ran on her deal, ...); bob is
her teammate; charlie is an outsider on another team, who must get 404 for
anything of Alice's (never 403, which would tell him it exists).

Each persona's requests run in one test, each inside a savepoint that is
rolled back, so a POST (a delete, say) cannot change what the next request
sees. A POST carries an empty form unless ``POST_DATA`` says otherwise: the
point is who gets past the permission check (a 422 or a redirect back for
those who may, 404/403 for those who may not), not the form's own rules,
which each page's tests cover.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from config.tests.test_permissions import records  # noqa: F401  (a fixture: alice's records of every kind)
from telephony.tests.standin import provider_standin  # noqa: F401  (a fixture the records need)

PERSONAS = ("admin", "manager", "alice", "bob", "charlie")
RECORD_COLLECTIONS = ("organizations", "contacts", "deals")


def who(admin: int, manager: int, alice: int, bob: int, charlie: int) -> dict[str, int]:
    """The answer each persona gets, in the order of PERSONAS."""
    return dict(zip(PERSONAS, (admin, manager, alice, bob, charlie)))


def everyone(status: int) -> dict[str, int]:
    return who(status, status, status, status, status)


READ = who(200, 200, 200, 200, 404)  # one of alice's records: her team, managers, admins
ACT = who(302, 302, 302, 302, 404)  # a form on alice's record, without JavaScript: back to the page
INVALID = who(422, 422, 422, 422, 404)  # a form on alice's record: the empty form is refused, the outsider never gets that far
NOT_ALLOWED = everyone(405)
OWN = who(200, 200, 200, 200, 200)  # one's own (lists of what one may see, one's settings)

# Route (as Django spells it; with <rt:record_type> one entry covers the three
# record types, or an entry per type with it filled in) -> method -> answers.
PAGES: dict[str, dict[str, dict[str, int]]] = {
    # --- dashboard, record lists, search, record pages ---
    "": {"GET": OWN, "POST": NOT_ALLOWED},
    "me/idle-days": {"GET": NOT_ALLOWED, "POST": everyone(302)},  # one's own setting, back to the dashboard
    "search": {"GET": OWN, "POST": NOT_ALLOWED},
    "organizations/": {"GET": OWN, "POST": NOT_ALLOWED},
    "contacts/": {"GET": OWN, "POST": NOT_ALLOWED},
    "deals/": {"GET": OWN, "POST": NOT_ALLOWED},
    "contacts/options": {"GET": OWN, "POST": NOT_ALLOWED},
    "organizations/<int:record_id>/": {"GET": READ, "POST": NOT_ALLOWED},
    "contacts/<int:record_id>/": {"GET": READ, "POST": NOT_ALLOWED},
    "deals/<int:record_id>/": {"GET": READ, "POST": NOT_ALLOWED},
    "<rt:record_type>/new": {"GET": OWN, "POST": everyone(422)},
    "<rt:record_type>/<int:record_id>/edit": {"GET": READ, "POST": INVALID},
    "<rt:record_type>/<int:record_id>/last-contacted": {"GET": READ, "POST": NOT_ALLOWED},
    "<rt:record_type>/<int:record_id>/up-next": {"GET": READ, "POST": NOT_ALLOWED},
    "<rt:record_type>/<int:record_id>/activity": {"GET": READ, "POST": NOT_ALLOWED},
    "<rt:record_type>/<int:record_id>/activity/filter": {"GET": NOT_ALLOWED, "POST": ACT},
    "<rt:record_type>/<int:record_id>/journey": {"GET": READ, "POST": NOT_ALLOWED},
    "<rt:record_type>/<int:record_id>/calls": {"GET": NOT_ALLOWED, "POST": ACT},
    "<rt:record_type>/<int:record_id>/notes": {"GET": NOT_ALLOWED, "POST": ACT},
    "<rt:record_type>/<int:record_id>/events": {"GET": NOT_ALLOWED, "POST": ACT},
    "<rt:record_type>/<int:record_id>/tasks": {"GET": NOT_ALLOWED, "POST": ACT},
    "events/<int:event_id>/outcome": {"GET": NOT_ALLOWED, "POST": who(302, 302, 302, 302, 404)},
    "tasks/<int:task_id>/done": {"GET": NOT_ALLOWED, "POST": who(302, 302, 302, 302, 404)},
    "deals/<int:record_id>/contacts": {"GET": NOT_ALLOWED, "POST": ACT},
    "deals/<int:record_id>/contacts/<int:contact_id>/remove": {"GET": NOT_ALLOWED, "POST": ACT},
    # Sharing (crm.sharing): everyone who sees the record sees the card; the owner's team, managers and admins change it.
    "<rt:record_type>/<int:record_id>/shares": {"GET": READ, "POST": ACT},
    "<rt:record_type>/<int:record_id>/shares/<int:share_id>/remove": {"GET": NOT_ALLOWED, "POST": ACT},
    # Change history (audit) and personal data (privacy): exporting and erasing a contact is for admins and managers.
    "<rt:record_type>/<int:record_id>/history": {"GET": READ, "POST": NOT_ALLOWED},
    "contacts/<int:record_id>/export.json": {"GET": who(200, 200, 403, 403, 404), "POST": NOT_ALLOWED},
    "contacts/<int:record_id>/erase": {"GET": NOT_ALLOWED, "POST": who(302, 302, 403, 403, 404)},
    # --- email ---
    "settings/mailboxes/": {"GET": OWN, "POST": everyone(422)},  # one's own mailboxes; the form adds one
    "settings/mailboxes/test": {"GET": NOT_ALLOWED, "POST": everyone(422)},
    # Alice's mailbox: hers, and an admin's to help with; nobody else's, not even a manager's.
    "settings/mailboxes/<int:mailbox_id>/edit": {"GET": who(200, 404, 200, 404, 404), "POST": who(422, 404, 422, 404, 404)},
    "settings/mailboxes/<int:mailbox_id>/test": {"GET": NOT_ALLOWED, "POST": who(200, 404, 200, 404, 404)},
    "settings/mailboxes/<int:mailbox_id>/sync": {"GET": NOT_ALLOWED, "POST": who(302, 404, 302, 404, 404)},
    "settings/mailboxes/<int:mailbox_id>/delete": {"GET": NOT_ALLOWED, "POST": who(302, 404, 302, 404, 404)},
    "<rt:record_type>/<int:record_id>/email": {"GET": READ, "POST": INVALID},
    "email-templates/fill": {"GET": everyone(204), "POST": NOT_ALLOWED},  # no template picked: nothing to fill
    "campaigns/new": {"GET": OWN, "POST": everyone(422)},
    "campaigns/recipients": {"GET": OWN, "POST": NOT_ALLOWED},
    "campaigns/<int:campaign_id>/": {"GET": READ, "POST": NOT_ALLOWED},  # the owner's team, as GET /api/v1/campaigns/{id}
    "engagements/": {"GET": OWN, "POST": NOT_ALLOWED},
    "emails/unmatched/": {"GET": OWN, "POST": NOT_ALLOWED},
    "emails/unmatched/contact": {"GET": everyone(302), "POST": everyone(422)},  # a GET goes back to the list
    "emails/by-touchpoint/<int:touchpoint_id>/": {"GET": who(302, 302, 302, 302, 404), "POST": NOT_ALLOWED},  # on to the email page
    "emails/documents/<int:document_id>": {"GET": READ, "POST": NOT_ALLOWED},  # an attachment of alice's email
    "emails/<int:email_id>/": {"GET": READ, "POST": NOT_ALLOWED},
    # --- telephony ---
    "contacts/<int:record_id>/call": {"GET": NOT_ALLOWED, "POST": INVALID},
    "contacts/<int:record_id>/sms": {"GET": READ, "POST": INVALID},
    "contacts/<int:record_id>/call-log": {"GET": READ, "POST": NOT_ALLOWED},
    "me/phone": {"GET": NOT_ALLOWED, "POST": INVALID},  # posted from Carol's call widget (POST_DATA)
    "settings/telephony/": {"GET": who(200, 403, 403, 403, 403), "POST": NOT_ALLOWED},  # admins only
    "settings/telephony/<str:provider>": {"GET": NOT_ALLOWED, "POST": who(422, 403, 403, 403, 403)},
    # --- documents, cases, the staff side of the portal ---
    "contacts/<int:record_id>/portal": {"GET": READ, "POST": ACT},
    "<rt:record_type>/<int:record_id>/documents": {"GET": READ, "POST": ACT},
    "documents/<int:document_id>/download": {"GET": READ, "POST": NOT_ALLOWED},
    "documents/shares/<int:share_id>/download": {"GET": READ, "POST": NOT_ALLOWED},
    "cases/": {"GET": OWN, "POST": NOT_ALLOWED},
    "cases/new": {"GET": OWN, "POST": everyone(422)},
    "cases/<int:case_id>/": {"GET": READ, "POST": INVALID},
    "cases/<int:case_id>/comments": {"GET": NOT_ALLOWED, "POST": INVALID},
    "cases/<int:case_id>/delete": {"GET": NOT_ALLOWED, "POST": who(302, 302, 302, 403, 404)},  # reps delete only their own
    "deals/<int:record_id>/one-view": {"GET": READ, "POST": NOT_ALLOWED},
    "organizations/<int:record_id>/cases": {"GET": READ, "POST": NOT_ALLOWED},
    "contacts/<int:record_id>/cases": {"GET": READ, "POST": NOT_ALLOWED},
    "deals/<int:record_id>/cases": {"GET": everyone(404), "POST": NOT_ALLOWED},  # a deal has One View instead
    # --- automation: the condition builder, lists, workflows, alerts ---
    "automation/builder": {"GET": NOT_ALLOWED, "POST": OWN},  # re-renders the posted conditions
    "lists/": {"GET": OWN, "POST": NOT_ALLOWED},
    "lists/new": {"GET": OWN, "POST": OWN},  # an incomplete form re-renders (htmx builder)
    # Alice's list, shared with team east: her and her team read it, only she (and admins) change it;
    # lists are personal, so a manager outside the team does not see it (as GET /api/v1/lists/{id}).
    "lists/<int:list_id>/": {"GET": who(200, 404, 200, 200, 404), "POST": NOT_ALLOWED},
    "lists/<int:list_id>/edit": {"GET": who(200, 404, 200, 403, 404), "POST": who(422, 404, 422, 403, 404)},
    "lists/<int:list_id>/delete": {"GET": NOT_ALLOWED, "POST": who(302, 404, 302, 403, 404)},
    "lists/<int:list_id>/export.csv": {"GET": who(200, 404, 200, 200, 404), "POST": NOT_ALLOWED},
    "lists/<int:list_id>/export.xlsx": {"GET": who(200, 404, 200, 200, 404), "POST": NOT_ALLOWED},
    # Workflows: everyone reads them, admins and managers change them (docs/automation.md).
    "workflows/": {"GET": OWN, "POST": NOT_ALLOWED},
    "workflows/new": {"GET": who(200, 200, 403, 403, 403), "POST": who(422, 422, 403, 403, 403)},
    "workflows/actions": {"GET": NOT_ALLOWED, "POST": OWN},
    "workflows/<int:workflow_id>/": {"GET": OWN, "POST": who(422, 422, 403, 403, 403)},
    "workflows/<int:workflow_id>/delete": {"GET": NOT_ALLOWED, "POST": who(302, 302, 403, 403, 403)},
    "workflows/<int:workflow_id>/runs/": {"GET": OWN, "POST": NOT_ALLOWED},
    "workflows/<int:workflow_id>/runs/<int:run_id>": {"GET": OWN, "POST": NOT_ALLOWED},
    "actions/configuration": {"GET": who(200, 403, 403, 403, 403), "POST": who(422, 403, 403, 403, 403)},  # Smart Alerts: admins
    "notifications/": {"GET": OWN, "POST": NOT_ALLOWED},
    "notifications/bell": {"GET": OWN, "POST": NOT_ALLOWED},
    "notifications/read-all": {"GET": NOT_ALLOWED, "POST": everyone(302)},
    "notifications/<int:notification_id>/read": {"GET": NOT_ALLOWED, "POST": who(404, 404, 302, 404, 404)},  # alice's own
    # --- one's own API tokens: the page acts only on the signed-in user's, even for admins ---
    "settings/tokens/": {"GET": OWN, "POST": everyone(422)},
    "settings/tokens/<int:token_id>/revoke/": {"GET": NOT_ALLOWED, "POST": who(404, 404, 302, 404, 404)},  # alice's token
    # --- insights, imports ---
    "insights/": {"GET": everyone(302), "POST": NOT_ALLOWED},  # on to the first report
    "insights/<slug:name>/": {"GET": OWN, "POST": NOT_ALLOWED},  # each sees their scope (docs/insights.md)
    "imports/new": {"GET": OWN, "POST": everyone(422)},
    "imports/<int:job_id>/": {"GET": who(200, 200, 200, 404, 404), "POST": NOT_ALLOWED},  # the uploader's, as the API
}

# Routes that answer without a staff sign-in, with why, and what an
# anonymous request gets (GET, POST with an empty body).
PUBLIC: dict[str, tuple[str, dict[str, int]]] = {
    "healthz": ("load balancers probe it", {"GET": 200, "POST": 405}),
    "login/": ("the sign-in page", {"GET": 200, "POST": 200}),  # an empty form re-renders with its errors
    "logout/": ("signing out (POST only)", {"GET": 405, "POST": 302}),
    "t/o/<str:token>.gif": ("the open-tracking pixel mail clients fetch", {"GET": 200, "POST": 405}),  # a GIF whatever the token
    "t/c/<str:token>": ("click-tracking redirects from mail clients", {"GET": 404, "POST": 405}),  # a forged token goes nowhere
    "hooks/sendgrid/events": ("SendGrid's signed event webhook", {"GET": 405, "POST": 503}),  # no signing key configured
    "hooks/mailgun/events": ("Mailgun's signed event webhook", {"GET": 405, "POST": 503}),
    "webhooks/<str:provider>/<str:kind>": ("Twilio/Plivo callbacks, checked by signature", {"GET": 403, "POST": 403}),
    # The customer portal: its own sign-in (portal.sessions), never a staff session.
    "portal/": ("the customer portal", {"GET": 302, "POST": 405}),
    "portal/login/": ("the customer portal", {"GET": 200, "POST": 422}),
    "portal/logout/": ("the customer portal", {"GET": 405, "POST": 302}),
    "portal/link/": ("the customer portal", {"GET": 200, "POST": 422}),
    "portal/link/<str:token>/": ("the customer portal", {"GET": 404, "POST": 404}),
    "portal/invitation/<str:token>/": ("the customer portal", {"GET": 404, "POST": 404}),
    "portal/cases/new": ("the customer portal", {"GET": 302, "POST": 302}),
    "portal/cases/<int:case_id>/": ("the customer portal", {"GET": 302, "POST": 405}),
    "portal/cases/<int:case_id>/comments": ("the customer portal", {"GET": 405, "POST": 302}),
    "portal/documents/<int:document_id>": ("the customer portal", {"GET": 302, "POST": 405}),
}
EXCLUDED_PREFIXES = ("api/v1/", "admin/")  # the API matrix; Django's admin (test_admin_is_for_staff_only)

# Form bodies where an empty one would not reach the permission check.
POST_DATA: dict[str, Callable[[dict], dict]] = {
    "me/phone": lambda ids: {"contact": ids["carol"]},  # the contact page the widget is on
}

# Path parameters -> which of the records fixture's ids fills them.
PARAMETER = {
    "event_id": "event", "task_id": "task", "contact_id": "carol", "mailbox_id": "mailbox", "campaign_id": "campaign",
    "touchpoint_id": "email_touchpoint", "case_id": "case", "list_id": "list", "workflow_id": "workflow",
    "run_id": "workflow_run", "notification_id": "notification", "job_id": "import", "email_id": "email", "token_id": "token",
}  # fmt: skip
RECORD_OF = {"organizations": "org", "contacts": "carol", "deals": "deal"}
FIXED = {"<slug:name>": "activities-added", "<str:provider>": "twilio", "<str:kind>": "voice-status", "<str:token>": "not-a-token"}


def routes(patterns=None, prefix: str = "") -> Iterator[str]:
    """Every URL pattern of the project, includes walked, as Django spells it."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def staff_routes() -> list[str]:
    return [r for r in routes() if not r.startswith(EXCLUDED_PREFIXES) and r not in PUBLIC]


def fill(route: str, ids: dict) -> list[tuple[str, str]]:
    """(entry key, URL) for each concrete URL of a route: one per record type
    for <rt:record_type>, every parameter naming one of alice's rows."""
    out = []
    for expanded in [route.replace("<rt:record_type>", c) for c in RECORD_COLLECTIONS] if "<rt:record_type>" in route else [route]:
        key = expanded if expanded in PAGES else route
        url = expanded
        collection = url.split("/", 1)[0]
        if collection in RECORD_OF:
            url = url.replace("<int:record_id>", str(ids[RECORD_OF[collection]]))
            url = url.replace("<int:share_id>", str(ids.get(f"{collection}_share", "")))  # a record's share (crm.sharing)
        url = url.replace("<int:share_id>", str(ids["share"]))  # a document's share
        url = url.replace("<int:document_id>", str(ids["attachment" if url.startswith("emails/") else "document"]))
        for name, id_key in PARAMETER.items():
            url = url.replace(f"<int:{name}>", str(ids[id_key]))
        for placeholder, value in FIXED.items():
            url = url.replace(placeholder, value)
        assert "<" not in url, f"no value for a parameter of {route}: add it to PARAMETER or FIXED"
        out.append((key, f"/{url}"))
    return out


@pytest.fixture
def ids(records) -> dict:  # noqa: F811  (records: the API matrix's fixture, imported above)
    from accounts.models import ApiToken, User
    from emails.models import EmailMessage

    return {
        **records,
        "email_touchpoint": EmailMessage.objects.get(id=records["email"]).touchpoint_id,
        "token": ApiToken.objects.filter(user=User.objects.get(username="alice")).order_by("id").first().id,
    }


def answer(client: Client, method: str, url: str, data: dict) -> tuple[int, str]:
    """The status (and Location) of one request, inside a savepoint rolled back after it."""
    with transaction.atomic():
        response = client.get(url) if method == "GET" else client.post(url, data)
        transaction.set_rollback(True)
    return response.status_code, response.get("Location", "")


def test_every_page_has_an_entry():
    """A new page needs a row in PAGES (or, if it is public, in PUBLIC with its reason)."""
    missing = sorted({r for r in staff_routes()} - set(PAGES) - {r for r in staff_routes() for c in RECORD_COLLECTIONS if r.replace("<rt:record_type>", c) in PAGES})
    assert missing == [], f"add an entry to PAGES for each new page: {missing}"
    known = set(routes())
    expanded = {r.replace("<rt:record_type>", c) for r in known for c in RECORD_COLLECTIONS}
    stale = sorted(set(PAGES) - known - expanded) + sorted(set(PUBLIC) - known)
    assert stale == [], f"entries for pages that no longer exist: {stale}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_gets_the_expected_answer_on_every_page(request, ids, persona):
    client = Client()
    client.force_login(request.getfixturevalue(persona).user)
    wrong = []
    for route in staff_routes():
        for key, url in fill(route, ids):
            for method in ("GET", "POST"):
                expected = PAGES[key][method][persona]
                status, location = answer(client, method, url, POST_DATA.get(route, lambda ids: {})(ids))
                if status != expected:
                    wrong.append(f"{method} {url} ({key}): {status}, expected {expected}")
                elif status == 302 and location.startswith("/login/"):
                    wrong.append(f"{method} {url}: sent {persona} to sign in")
    assert wrong == [], "\n".join(wrong)


def test_anonymous_is_sent_to_sign_in_on_every_staff_page(ids):
    client = Client()
    wrong = []
    for route in staff_routes():
        for _, url in fill(route, ids):
            for method in ("GET", "POST"):
                status, location = answer(client, method, url, {})
                if status != 302 or not location.startswith("/login/?next=/"):
                    wrong.append(f"{method} {url}: {status} {location}")
    assert wrong == [], "\n".join(wrong)


def test_public_routes_answer_anonymous_requests(ids):
    client = Client()
    wrong = []
    for route, (_reason, expected) in PUBLIC.items():
        for _, url in fill(route, ids):
            for method in ("GET", "POST"):
                status, location = answer(client, method, url, {})
                if status != expected[method]:
                    wrong.append(f"{method} {url}: {status}, expected {expected[method]}")
                elif status == 302 and url.startswith("/portal/") and not location.startswith("/portal/login/"):
                    wrong.append(f"{method} {url}: to {location}, expected the portal's sign-in")
    assert wrong == [], "\n".join(wrong)


def test_a_staff_session_does_not_open_the_customer_portal(ids, alice):
    """The portal has its own sessions: a signed-in rep is still asked to sign in there."""
    client = Client()
    client.force_login(alice.user)
    response = client.get(f"/portal/cases/{ids['case']}/")
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")


def test_signing_out_takes_post_only(alice):
    client = Client()
    client.force_login(alice.user)
    assert client.get("/logout/").status_code == 405
    assert client.get("/").status_code == 200  # still signed in
    assert client.post("/logout/").status_code == 302
    assert client.get("/")["Location"].startswith("/login/")


@pytest.mark.parametrize("persona", PERSONAS)
def test_admin_is_for_staff_only(request, persona):
    """Django's admin: staff (the admin role) get in; everyone else is sent
    to the admin's own sign-in, never shown a model page."""
    client = Client()
    client.force_login(request.getfixturevalue(persona).user)
    for url in ("/admin/", "/admin/crm/organization/", "/admin/touchpoints/touchpoint/"):
        response = client.get(url)
        if persona == "admin":
            assert response.status_code == 200, url
        else:
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    assert Client().get("/admin/").status_code == 302
