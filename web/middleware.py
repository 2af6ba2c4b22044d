"""Show times in the signed-in user's own zone.

Storage is UTC; activating the user's zone per request makes templates
({{ when|date }}) and form fields (a datetime-local input read as local
time) use it, so "today" and "overdue" on a page mean what the user sees
on their wall clock.
"""
from django.utils import timezone


class UserTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(user.tzinfo)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
