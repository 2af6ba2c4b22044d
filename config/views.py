"""The signed-in landing page. The full web UI (record pages, Activity
section, Actions dashboard) is issue #3; this page shows the user who they
are and the organizations they most recently contacted."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from crm.models import Organization
from crm.permissions import visible


@login_required
def home(request):
    recent = visible(Organization, request.user).filter(last_contacted_on__isnull=False).order_by("-last_contacted_on", "-id")[:20]
    return render(request, "home.html", {"recent": recent})
