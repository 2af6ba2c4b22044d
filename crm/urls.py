from django.urls import path

from crm import share_views, views

urlpatterns = [
    path("search", views.search, name="search"),
    path("organizations/", views.organization_list, name="organization-list"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("deals/", views.deal_list, name="deal-list"),
    path("organizations/<int:record_id>/", views.organization_detail, name="organization-detail"),
    path("contacts/<int:record_id>/", views.contact_detail, name="contact-detail"),
    path("deals/<int:record_id>/", views.deal_detail, name="deal-detail"),
    path("<rt:record_type>/new", views.record_create, name="record-create"),
    path("<rt:record_type>/<int:record_id>/edit", views.record_edit, name="record-edit"),
    path("<rt:record_type>/<int:record_id>/last-contacted", views.last_contacted, name="last-contacted"),
    path("deals/<int:record_id>/contacts", views.deal_contact_add, name="deal-contact-add"),
    path("deals/<int:record_id>/contacts/<int:contact_id>/remove", views.deal_contact_remove, name="deal-contact-remove"),
    path("contacts/options", views.contact_options, name="contact-options"),
    path("<rt:record_type>/<int:record_id>/shares", share_views.record_shares, name="record-shares"),
    path("<rt:record_type>/<int:record_id>/shares/<int:share_id>/remove", share_views.record_share_remove, name="record-share-remove"),
]
