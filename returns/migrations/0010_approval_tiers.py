# Approval tiers: from a requested value (or for a policy override) a coordinator or a manager
# approves; the approver is recorded.

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("returns", "0009_policy_lists"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="returnpolicy",
            name="approval_coordinator_from",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text=(
                    "Returns asking for at least this value are approved by a coordinator, a "
                    "manager or a tenant admin; an agent asks them to. Empty: no such limit."
                ),
                max_digits=12,
                null=True,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="coordinator approves from",
            ),
        ),
        migrations.AddField(
            model_name="returnpolicy",
            name="approval_manager_from",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text=(
                    "Returns asking for at least this value are approved by a manager or a "
                    "tenant admin. Empty: no such limit."
                ),
                max_digits=12,
                null=True,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="manager approves from",
            ),
        ),
        migrations.AddField(
            model_name="returnpolicy",
            name="override_approval",
            field=models.CharField(
                blank=True,
                choices=[("coordinator", "a coordinator"), ("manager", "a manager")],
                help_text="Empty: any agent, like other returns.",
                max_length=12,
                verbose_name="returns filed with a policy override are approved by",
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="approval_level",
            field=models.CharField(
                blank=True,
                choices=[("coordinator", "a coordinator"), ("manager", "a manager")],
                editable=False,
                max_length=12,
                verbose_name="approval needed from",
            ),
        ),
        migrations.AddField(
            model_name="returnrequest",
            name="approved_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="Empty when the return policy approved it automatically.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="approved by",
            ),
        ),
        migrations.AlterField(
            model_name="returnrequest",
            name="status",
            field=django_fsm.FSMField(
                choices=[
                    ("draft", "Draft"),
                    ("submitted", "Submitted"),
                    ("awaiting_approval", "Awaiting approval"),
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
    ]
