from django.urls import path

from portal import staff_views, views

urlpatterns = [
    path("portal/", views.home, name="portal-home"),
    path("portal/login/", views.sign_in, name="portal-login"),
    path("portal/logout/", views.sign_out, name="portal-logout"),
    path("portal/link/", views.link_request, name="portal-link-request"),
    path("portal/link/<str:token>/", views.link_sign_in, name="portal-link"),
    path("portal/invitation/<str:token>/", views.invitation, name="portal-invitation"),
    path("portal/cases/new", views.case_new, name="portal-case-new"),
    path("portal/cases/<int:case_id>/", views.case_detail, name="portal-case"),
    path("portal/cases/<int:case_id>/comments", views.case_comment, name="portal-case-comment"),
    path("portal/documents/<int:document_id>", views.document_download, name="portal-document"),
    # Staff: the contact page's portal card.
    path("contacts/<int:record_id>/portal", staff_views.portal_card, name="contact-portal"),
]
