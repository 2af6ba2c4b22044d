from django.urls import path

from documents import views

urlpatterns = [
    path("<rt:record_type>/<int:record_id>/documents", views.record_documents, name="record-documents"),
    path("documents/<int:document_id>/download", views.download, name="document-download"),
    path("documents/shares/<int:share_id>/download", views.share_download, name="document-share-download"),
]
