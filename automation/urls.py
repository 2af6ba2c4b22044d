from django.urls import path

from automation import views

urlpatterns = [path("automation/builder", views.builder, name="condition-builder")]
