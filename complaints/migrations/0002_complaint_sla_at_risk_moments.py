# When each SLA clock of a complaint turns "at risk", stored so that the back-office queues
# can select at-risk complaints in SQL; open complaints filed before get theirs computed here.

from django.db import migrations, models

OPEN_STATUSES = ["new", "open", "in_progress", "awaiting_customer"]


def _calendar(apps, tenant):
    from complaints.sla import BusinessCalendar

    SupportSettings = apps.get_model("complaints", "SupportSettings")
    Holiday = apps.get_model("complaints", "Holiday")
    holidays = frozenset(Holiday.objects.filter(tenant=tenant).values_list("date", flat=True))
    row = SupportSettings.objects.filter(tenant=tenant).first()
    if row is None:
        return BusinessCalendar(timezone=tenant.timezone, holidays=holidays)
    return BusinessCalendar(
        timezone=tenant.timezone,
        day_start=row.day_start,
        day_end=row.day_end,
        weekdays=frozenset(row.working_weekdays or [0, 1, 2, 3, 4]),
        holidays=holidays,
    )


def _at_risk_at(calendar, started_at, due_at, paused_seconds):
    # The rule of complaints.services.complaints._at_risk_at, frozen as of this migration.
    from complaints.sla import AT_RISK_SHARE, add_business_time, business_seconds_between

    total = business_seconds_between(calendar, started_at, due_at)
    allowed = total - paused_seconds
    return add_business_time(calendar, started_at, total - allowed * (1 - AT_RISK_SHARE))


def compute_at_risk_moments(apps, schema_editor):
    Complaint = apps.get_model("complaints", "Complaint")
    calendars = {}
    pending = Complaint.objects.filter(status__in=OPEN_STATUSES).select_related("tenant")
    for complaint in pending.iterator(chunk_size=500):
        if complaint.tenant_id not in calendars:
            calendars[complaint.tenant_id] = _calendar(apps, complaint.tenant)
        calendar = calendars[complaint.tenant_id]
        paused = complaint.sla_paused_seconds
        complaint.first_response_at_risk_at = _at_risk_at(
            calendar, complaint.created_at, complaint.first_response_due_at, paused
        )
        complaint.resolution_at_risk_at = _at_risk_at(
            calendar, complaint.created_at, complaint.resolution_due_at, paused
        )
        complaint.save(update_fields=["first_response_at_risk_at", "resolution_at_risk_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="complaint",
            name="first_response_at_risk_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="first response at risk from"
            ),
        ),
        migrations.AddField(
            model_name="complaint",
            name="resolution_at_risk_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="resolution at risk from"
            ),
        ),
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                fields=["tenant", "first_response_at_risk_at"], name="complaint_fr_risk_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                fields=["tenant", "resolution_at_risk_at"], name="complaint_res_risk_idx"
            ),
        ),
        migrations.RunPython(compute_at_risk_moments, migrations.RunPython.noop, elidable=True),
    ]
