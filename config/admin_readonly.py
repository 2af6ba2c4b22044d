"""A read-only ModelAdmin for rows whose writes must go through a service
(the touchpoint they own, Last Contacted, the rollup): staff browse them in
the admin and change them on the app's pages or through the API."""
from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
