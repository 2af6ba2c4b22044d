"""GET /healthz: database and job queue reachability, for load balancers.

No authentication (a load balancer has no token) and no details beyond
ok/error per dependency, so it leaks nothing.
"""
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from huey.contrib.djhuey import HUEY


@require_GET
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        checks["database"] = "error"
    try:
        HUEY.pending_count()
        checks["queue"] = "ok"
    except Exception:  # noqa: BLE001
        checks["queue"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
