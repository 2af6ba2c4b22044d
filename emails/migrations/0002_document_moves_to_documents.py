"""The Document model moves to the documents app (issue #6): its table is
renamed, its rows stay. documents.0001_initial takes the model over."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("emails", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="document", table="documents_document")],
            state_operations=[migrations.DeleteModel(name="Document")],
        )
    ]
