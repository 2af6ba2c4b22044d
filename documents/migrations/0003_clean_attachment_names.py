"""Attachments stored before issue #6 kept the name their email gave
(``a.filename[:255]``): clean them as new ones are (documents.files), so a
name with a line break or a path in it is never sent in a header."""
from django.db import migrations


def clean_names(apps, schema_editor):
    from documents.files import clean_filename

    Document = apps.get_model("documents", "Document")
    for document in Document.objects.only("id", "filename").iterator(chunk_size=2000):
        clean = clean_filename(document.filename, "attachment")
        if clean != document.filename:
            Document.objects.filter(id=document.id).update(filename=clean)


class Migration(migrations.Migration):
    dependencies = [("documents", "0002_documentshare_document_description_document_owner_and_more")]

    operations = [migrations.RunPython(clean_names, migrations.RunPython.noop)]
