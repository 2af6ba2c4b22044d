# Zones are built on demand (insights.models.RollupZone): a row is asked for
# first and built later.
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupzone",
            name="requested_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="rollupzone",
            name="built_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
