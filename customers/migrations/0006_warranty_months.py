# Warranty months of categories and products (claims of defects past the return window).

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_sync_times_of_catalogue_and_customers"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="warranty_months",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Empty: the category's warranty.",
                null=True,
                validators=[django.core.validators.MaxValueValidator(120)],
                verbose_name="warranty (months)",
            ),
        ),
        migrations.AddField(
            model_name="productcategory",
            name="warranty_months",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "From delivery; a defect past the return window can be claimed under "
                    "warranty until then. Empty: the return policy's default."
                ),
                null=True,
                validators=[django.core.validators.MaxValueValidator(120)],
                verbose_name="warranty (months)",
            ),
        ),
    ]
