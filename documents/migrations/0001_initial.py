"""Takes over emails.Document (its table was renamed by
emails.0002_document_moves_to_documents); the new fields come in 0002."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("emails", "0002_document_moves_to_documents"),
        ("touchpoints", "0002_alter_touchpoint_source"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Document",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("filename", models.CharField(max_length=255)),
                        ("content_type", models.CharField(max_length=127)),
                        ("size", models.PositiveBigIntegerField()),
                        ("sha256", models.CharField(max_length=64)),
                        ("stored", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "touchpoint",
                            models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="documents", to="touchpoints.touchpoint"),
                        ),
                    ],
                    options={"indexes": [models.Index(fields=["touchpoint", "id"], name="emails_docu_touchpo_2765d4_idx")]},
                ),
            ],
        ),
        migrations.RenameIndex(model_name="document", new_name="document_touchpoint_idx", old_name="emails_docu_touchpo_2765d4_idx"),
    ]
