# Canned responses are the customers app's now (customers/migrations/0008): the model leaves
# this app's state; its table was renamed there, its rows kept.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0010_rating_nps"),
        ("customers", "0008_canned_response"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CannedResponse")],
        ),
    ]
