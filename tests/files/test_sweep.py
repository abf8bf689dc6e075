"""The sweep of orphaned files: files under a tenant's folder that no row names are deleted
once older than the grace period; named files, young files, other tenants' folders and
anything outside the tenants' folders are left alone. Times are driven: file ages are set
with os.utime against a fixed `now`."""

from __future__ import annotations

import datetime
import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.models import MonthlyReport
from complaints import services as complaint_services
from complaints.models import ComplaintAttachment
from customers.models import OrderLine
from returns.models import ReturnAttachment, ReturnRequest
from rma_portal.files import tasks
from rma_portal.files.management.commands.sweep_files import Command as SweepFiles
from rma_portal.files.sweep import stored_name_fields, sweep_orphaned_files
from rma_portal.files.uploads import clean_upload
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant
from tests.returns import conftest as returns_fixtures

from .conftest import png_upload, stored_files

pytestmark = pytest.mark.django_db

# The return service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
OLD = datetime.timedelta(hours=48)  # past the default grace period of 24 h
FRESH = datetime.timedelta(hours=2)  # inside it


def age_file(media: Path, name: str, age: datetime.timedelta, *, now=NOW) -> str:
    stamp = (now - age).timestamp()
    os.utime(media / name, (stamp, stamp))
    return name


def put(media: Path, name: str, age: datetime.timedelta, *, now=NOW) -> str:
    """A file with no row, `age` old at `now`."""
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")
    return age_file(media, name, age, now=now)


def orphan(media: Path, tenant, age: datetime.timedelta, folder: str = "returns", **kw) -> str:
    return put(media, f"tenants/{tenant.pk}/{folder}/{os.urandom(8).hex()}.png", age, **kw)


def sweep(tenant, **kwargs):
    with tenant_context(tenant):
        return sweep_orphaned_files(tenant=tenant, now=kwargs.pop("now", NOW), **kwargs)


@pytest.fixture
def attachment(world_a, delivered_order, file_return, media) -> ReturnAttachment:
    """A stored return attachment of tenant A whose file is old."""
    line = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number").first()
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    with tenant_context(world_a.tenant):
        row = ReturnAttachment.store(
            clean_upload(png_upload()),
            uploaded_by=world_a.customer,
            tenant=world_a.tenant,
            return_request=return_request,
        )
    age_file(media, row.file.name, OLD)
    return row


def test_an_old_orphan_goes_while_a_named_file_and_a_young_orphan_stay(world_a, attachment, media):
    old_orphan = orphan(media, world_a.tenant, OLD)
    young_orphan = orphan(media, world_a.tenant, FRESH)

    result = sweep(world_a.tenant)

    assert result.deleted == [old_orphan]
    assert (result.examined, result.referenced, result.recent) == (3, 1, 1)
    assert result.complete
    assert stored_files(media) == {attachment.file.name, young_orphan}


def test_a_dry_run_reports_and_deletes_nothing(world_a, attachment, media):
    old_orphan = orphan(media, world_a.tenant, OLD)
    before = stored_files(media)

    result = sweep(world_a.tenant, dry_run=True)

    assert result.dry_run
    assert result.deleted == [old_orphan]
    assert stored_files(media) == before


def test_each_tenant_is_swept_on_its_own(world_a, world_b, attachment, media):
    orphan_a = orphan(media, world_a.tenant, OLD)
    orphan_b = orphan(media, world_b.tenant, OLD, folder="complaints")
    young_b = orphan(media, world_b.tenant, FRESH, folder="complaints")

    assert sweep(world_a.tenant).deleted == [orphan_a]
    assert stored_files(media) == {attachment.file.name, orphan_b, young_b}

    assert sweep(world_b.tenant).deleted == [orphan_b]
    assert stored_files(media) == {attachment.file.name, young_b}


def test_another_tenants_row_naming_a_file_in_this_folder_keeps_it(world_a, world_b, media):
    """Names are compared across every tenant's rows: a misplaced file is never lost."""
    name = orphan(media, world_a.tenant, OLD, folder="reports")
    MonthlyReport.unscoped.create(
        tenant=world_b.tenant, month=datetime.date(2026, 10, 1), file=name, generated_at=NOW
    )
    assert sweep(world_a.tenant).deleted == []
    assert name in stored_files(media)


def test_every_kind_of_row_that_names_a_file_keeps_it(world_a, attachment, media):
    tenant = world_a.tenant
    with tenant_context(tenant):
        complaint = complaint_services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="product_quality",
            priority="normal",
            subject="Cracked housings",
            description="Three housings arrived cracked.",
            uploads=[png_upload()],
        )
    complaint_file = ComplaintAttachment.unscoped.get(complaint=complaint).file.name
    label = put(media, f"tenants/{tenant.pk}/labels/label.pdf", OLD)
    ReturnRequest.unscoped.filter(pk=attachment.return_request_id).update(label_file=label)
    report = put(media, f"tenants/{tenant.pk}/reports/kpi.pdf", OLD)
    MonthlyReport.unscoped.create(
        tenant=tenant, month=datetime.date(2026, 10, 1), file=report, generated_at=NOW
    )
    mailed = put(media, f"tenants/{tenant.pk}/reports/mailed.pdf", OLD)
    Notification.unscoped.create(
        tenant=tenant,
        event="analytics.monthly_report",
        idempotency_key="monthly-report:2026-09:1",
        email="manager@example.com",
        language="en",
        attachment=mailed,
        attachment_name="kpi.pdf",
    )
    logo = put(media, f"tenants/{tenant.pk}/branding/logo.png", OLD)
    Tenant.objects.filter(pk=tenant.pk).update(logo=logo)
    age_file(media, complaint_file, OLD)
    old_logo = put(media, f"tenants/{tenant.pk}/branding/old-logo.png", OLD)
    named = {attachment.file.name, complaint_file, label, report, mailed, logo}

    result = sweep(tenant)

    assert result.deleted == [old_logo]
    assert result.referenced == len(named)
    assert stored_files(media) == named


def test_the_fields_that_name_stored_files_are_all_found():
    found = {(model._meta.label, attname) for model, attname in stored_name_fields()}
    assert {
        ("returns.ReturnAttachment", "file"),
        ("returns.ReturnRequest", "label_file"),
        ("complaints.ComplaintAttachment", "file"),
        ("analytics.MonthlyReport", "file"),
        ("tenancy.Tenant", "logo"),
        ("notifications.Notification", "attachment"),
    } <= found


def test_a_logo_folder_named_by_slug_is_swept_too(world_a, media):
    """A tenant created together with its logo has no id yet when the logo is stored."""
    tenant = world_a.tenant
    logo = put(media, f"tenants/{tenant.slug}/branding/logo.png", OLD)
    Tenant.objects.filter(pk=tenant.pk).update(logo=logo)
    replaced = put(media, f"tenants/{tenant.slug}/branding/logo_aXb3.png", OLD)

    assert sweep(tenant).deleted == [replaced]
    assert stored_files(media) == {logo}


def test_files_outside_the_tenants_folders_are_never_touched(world_a, media):
    elsewhere = put(media, "exports/old.csv", OLD)
    unknown_tenant = put(media, "tenants/999999/returns/old.png", OLD)
    assert sweep(world_a.tenant).deleted == []
    assert stored_files(media) == {elsewhere, unknown_tenant}


def test_the_grace_period_comes_from_the_settings_or_the_caller(world_a, media, settings):
    two_days = orphan(media, world_a.tenant, OLD)
    settings.FILES_ORPHAN_GRACE_HOURS = 72
    assert sweep(world_a.tenant).deleted == []
    assert sweep(world_a.tenant, older_than=datetime.timedelta(hours=36)).deleted == [two_days]
    with pytest.raises(ValueError, match="grace period"):
        sweep(world_a.tenant, older_than=datetime.timedelta(minutes=30))


def test_the_work_of_one_run_is_bounded_and_the_next_run_goes_on(world_a, media, settings):
    orphans = {orphan(media, world_a.tenant, OLD) for _ in range(3)}
    settings.FILES_SWEEP_MAX_DELETIONS = 2

    first = sweep(world_a.tenant)
    assert len(first.deleted) == 2
    assert not first.complete
    second = sweep(world_a.tenant)
    assert len(second.deleted) == 1
    assert second.complete
    assert set(first.deleted) | set(second.deleted) == orphans
    assert stored_files(media) == set()


def test_an_empty_or_missing_folder_is_nothing_to_do(world_a, media):
    result = sweep(world_a.tenant)
    assert (result.examined, result.deleted, result.complete) == (0, [], True)


# --- the task and the command ---------------------------------------------------------------


def test_the_beat_task_queues_one_sweep_per_tenant(world_a, world_b, monkeypatch):
    queued = []
    monkeypatch.setattr(
        tasks.sweep_tenant_files_task, "apply_async", lambda args: queued.append(args)
    )
    assert tasks.sweep_orphaned_files_task() == 2
    assert queued == [[world_a.tenant.pk], [world_b.tenant.pk]]


def test_the_tenant_task_sweeps_that_tenant(world_a, world_b, media):
    now = timezone.now()
    orphan_a = orphan(media, world_a.tenant, OLD, now=now)
    orphan_b = orphan(media, world_b.tenant, OLD, now=now)

    outcome = tasks.sweep_tenant_files_task.apply(args=[world_a.tenant.pk]).get()

    assert outcome == "1 deleted"
    assert stored_files(media) == {orphan_b}
    assert orphan_a not in stored_files(media)


def run_command(*args) -> str:
    out = io.StringIO()
    call_command(SweepFiles(), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_sweeps_every_tenant_and_says_what_it_did(world_a, world_b, media):
    now = timezone.now()
    orphan_a = orphan(media, world_a.tenant, OLD, now=now)
    orphan_b = orphan(media, world_b.tenant, OLD, now=now)
    young_b = orphan(media, world_b.tenant, FRESH, now=now)

    dry = run_command("--dry-run")
    assert f"{world_a.tenant.slug}: would delete {orphan_a}" in dry.splitlines()
    assert f"{world_b.tenant.slug}: would delete {orphan_b}" in dry.splitlines()
    assert stored_files(media) == {orphan_a, orphan_b, young_b}

    printed = run_command("--older-than", "36", "--tenant", world_b.tenant.slug)
    assert printed.splitlines() == [
        f"{world_b.tenant.slug}: deleted {orphan_b}",
        f"{world_b.tenant.slug}: 1 deleted, 0 in use, 1 younger than the grace period, 2 examined",
    ]
    assert stored_files(media) == {orphan_a, young_b}

    run_command()
    assert stored_files(media) == {young_b}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--older-than", "0.5"], r"--older-than \(hours\) must be at least 1:"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--tenant", "nobody"], "No tenant with the slug 'nobody'"),
    ],
)
def test_the_command_refuses_what_could_do_harm(world_a, media, arguments, message):
    young = orphan(media, world_a.tenant, FRESH, now=timezone.now())
    with pytest.raises(CommandError, match=message):
        run_command(*arguments)
    assert stored_files(media) == {young}
