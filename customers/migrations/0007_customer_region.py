# The billing address's region of customer accounts (the KPI dashboard's region dimension).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_warranty_months'),
    ]

    operations = [
        migrations.AddField(
            model_name='customeraccount',
            name='billing_region',
            field=models.CharField(blank=True, help_text='Voivodeship, state or province, e.g. mazowieckie. Optional.', max_length=100, verbose_name='billing region'),
        ),
    ]
