"""Pages: the notifications list (the bell's page) and the Smart Alerts
configuration (Actions -> Configuration, admins).

Writes are the service functions the API calls (alerts.services); reads
come from alerts.queries. Another user's notification is a 404, as in the API.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import queries, services
from alerts.forms import AlertConfigForm
from automation.builder import builder_context, tree_from_form
from config.errors import Invalid, NotFound

PAGE_SIZE = 25
PREFIX = "c"


@login_required
@require_GET
def notification_list(request):
    """Newest first; ``?unread=1`` only the unread. htmx with ``cursor``:
    the next rows (the "Older" button replaces itself with them)."""
    unread = request.GET.get("unread") == "1"
    cursor = request.GET.get("cursor") or None
    try:
        page = queries.notifications_page(request.user, unread=unread, cursor=cursor, limit=PAGE_SIZE)
    except Invalid:  # a cursor this page did not hand out: start over
        page, cursor = queries.notifications_page(request.user, unread=unread, cursor=None, limit=PAGE_SIZE), None
    context = {"nav": "notifications", "notifications": page.items, "next_cursor": page.next_cursor, "cursor": cursor, "unread": unread}
    if request.htmx and cursor:
        return render(request, "alerts/_notification_rows.html", context)
    return render(request, "alerts/notification_list.html", context)


@login_required
@require_GET
def notification_bell(request):
    """The bell alone: it polls this every minute (one COUNT)."""
    return render(request, "alerts/_bell.html")


@login_required
@require_POST
def notification_read(request, notification_id: int):
    """Mark read; with ``open`` also go to what it is about."""
    try:
        notification = services.do_mark_read(request.user, notification_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    if request.POST.get("open") and url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()}) and notification.url.startswith("/"):
        return redirect(notification.url)
    if request.htmx:
        # The row, read now, and the bell's new count out of band.
        return render(request, "alerts/_notification_rows.html", {"notifications": [notification], "next_cursor": None, "cursor": None, "unread": False, "oob_bell": True})
    return redirect("notification-list")


@login_required
@require_POST
def notification_read_all(request):
    marked = services.do_mark_all_read(request.user)
    messages.success(request, f"Marked {marked} notification{'' if marked == 1 else 's'} read.")
    return redirect("notification-list")


@login_required
@require_http_methods(["GET", "POST"])
def alerts_config(request):
    """Admins: idle threshold (and per stage), which deals are watched (the
    condition builder), overdue alerts and mail on or off."""
    services.check_admin(request.user)  # 403 page for anyone else (web.http)
    config = services.get_config()
    tree_errors: list[dict] = []
    status = 200
    if request.method == "POST":
        form = AlertConfigForm(request.POST)
        tree = tree_from_form(request.POST, PREFIX)
        if form.is_valid():
            try:
                services.do_save_config(request.user, {**form.data_for_service(), "deal_conditions": tree}, loc=())
            except Invalid as exc:
                tree_errors = form.add_service_errors(exc.errors)
            else:
                messages.success(request, "Saved the Smart Alerts configuration. It applies from the next scan (every five minutes).")
                return redirect("alerts-config")
        status = 422
    else:
        form = AlertConfigForm(initial=AlertConfigForm.initial_from(config))
        tree = config.deal_conditions or {"all": []}
    context = {
        "nav": "dashboard",
        "form": form,
        "config": config,
        # The scan counts the conditions' days in the company's zone (alerts.scan.company_zone).
        "builder": builder_context("deal", tree, prefix=PREFIX, errors=tree_errors, user=request.user, zone=f"the company time zone, {settings.COMPANY_TIME_ZONE}"),
    }
    return render(request, "alerts/config.html", context, status=status)
