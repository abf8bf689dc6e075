# Approved returns get a reminder to send the goods and expire when nothing arrives in time
# (returns.policies.PolicyRules.ship_deadlines). Returns already approved get the deadlines of
# the policy they were submitted under, counted from this migration rather than from their
# approval: none expires on the first scan after the upgrade.

import datetime

import django.core.validators
import django_fsm
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

DEFAULT_SHIP_REMINDER_DAYS = 7  # returns.policies, frozen as of this migration
DEFAULT_SHIP_WITHIN_DAYS = 30


def set_deadlines_of_approved_returns(apps, schema_editor):
    ReturnRequest = apps.get_model("returns", "ReturnRequest")
    now = timezone.now()
    for rma in ReturnRequest.objects.filter(status="approved").iterator(chunk_size=500):
        snapshot = rma.policy_snapshot or {}
        remind = int(snapshot.get("ship_reminder_days", DEFAULT_SHIP_REMINDER_DAYS))
        within = int(snapshot.get("ship_within_days", DEFAULT_SHIP_WITHIN_DAYS))
        rma.ship_by = now + datetime.timedelta(days=within) if within else None
        rma.ship_reminder_at = now + datetime.timedelta(days=remind) if remind else None
        if rma.ship_by and rma.ship_reminder_at and rma.ship_reminder_at >= rma.ship_by:
            rma.ship_reminder_at = None
        rma.save(update_fields=["ship_by", "ship_reminder_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_sync_times_of_catalogue_and_customers"),
        ("returns", "0007_return_window_at_most_ten_years"),
        ("tenancy", "0005_tenant_api_rate_limit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="returnpolicy",
            name="ship_reminder_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "Days after approval; the customer is reminded once if the goods have "
                    "not arrived. 0: no reminder."
                ),
                null=True,
                validators=[django.core.validators.MaxValueValidator(365)],
                verbose_name="remind to send the goods after (days)",
            ),
        ),
        migrations.AddField(
            model_name="returnpolicy",
            name="ship_within_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "Days after approval; a return whose goods have not arrived by then "
                    "expires and its quantities can be returned again. 0: never expires."
                ),
                null=True,
                validators=[django.core.validators.MaxValueValidator(365)],
                verbose_name="goods to arrive within (days)",
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="expired_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="expired"
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="ship_by",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="goods to arrive by"
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="ship_reminded_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="reminded to send the goods"
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="ship_reminder_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="reminder to send the goods due"
            ),
        ),
        migrations.AlterField(
            model_name="returnrequest",
            name="status",
            field=django_fsm.FSMField(
                choices=[
                    ("draft", "Draft"),
                    ("submitted", "Submitted"),
                    ("needs_info", "Needs information"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("cancelled", "Cancelled"),
                    ("received", "Received"),
                    ("inspected", "Inspected"),
                    ("resolved", "Resolved"),
                    ("closed", "Closed"),
                    ("expired", "Expired"),
                ],
                default="draft",
                max_length=50,
                protected=True,
                verbose_name="status",
            ),
        ),
        migrations.AddIndex(
            model_name="returnrequest",
            index=models.Index(
                condition=models.Q(("status", "approved")),
                fields=["tenant", "ship_by"],
                name="return_ship_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="returnrequest",
            index=models.Index(
                condition=models.Q(("ship_reminded_at__isnull", True), ("status", "approved")),
                fields=["tenant", "ship_reminder_at"],
                name="return_ship_reminder_idx",
            ),
        ),
        migrations.RunPython(set_deadlines_of_approved_returns, migrations.RunPython.noop),
    ]
