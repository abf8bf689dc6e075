# Canned responses move from complaints to customers, shared by returns and complaints: the
# model's state is created here over the existing table, which is then renamed; the rows stay.

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_customer_region"),
        ("complaints", "0010_rating_nps"),
        ("tenancy", "0005_tenant_api_rate_limit"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CannedResponse",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("title", models.CharField(max_length=200, verbose_name="title")),
                        ("body", models.TextField(verbose_name="text")),
                        (
                            "language",
                            models.CharField(
                                blank=True,
                                choices=[("en", "English"), ("pl", "Polish")],
                                max_length=8,
                                verbose_name="language",
                            ),
                        ),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="tenancy.tenant",
                                verbose_name="tenant",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "canned response",
                        "verbose_name_plural": "canned responses",
                        "ordering": ["title"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("tenant", "title"), name="canned_response_title_unique"
                            )
                        ],
                        "db_table": "complaints_cannedresponse",
                    },
                    managers=[
                        ("objects", django.db.models.manager.Manager()),
                        ("unscoped", django.db.models.manager.Manager()),
                    ],
                ),
            ],
        ),
        migrations.AlterModelTable(name="cannedresponse", table=None),
    ]
