from django.urls import path

from privacy import views

urlpatterns = [
    path("contacts/<int:record_id>/export.json", views.export, name="contact-export"),
    path("contacts/<int:record_id>/erase", views.erase, name="contact-erase"),
]
