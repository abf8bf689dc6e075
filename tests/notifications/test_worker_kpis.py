"""KPI work on a real worker: the nightly rollup task fills every tenant's rollups, and the
monthly report task mails the PDF to managers and tenant admins through the outbox."""

from __future__ import annotations

import datetime
import io

import pytest
from pypdf import PdfReader

from analytics import figures, kpis
from analytics.models import RollupDay
from analytics.rollup_reader import RollupReader
from analytics.tasks import monthly_reports_task, rollups_task
from returns.selectors import tenant_today
from tests.analytics.dataset import END, START, build_dataset

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_worker_rolls_up_every_tenant_and_mails_the_monthly_report(
    worker_env, world_a, world_b
):
    d = build_dataset(world_a, world_b)
    worker_env.start_worker()

    rollups_task.delay()  # queues one rollup task per tenant
    [run] = worker_env.wait_finished("analytics.rollups_task", 1)
    assert run["outcome"] == "SUCCESS"
    per_tenant = worker_env.wait_finished("analytics.tenant_rollups_task", 2)
    assert all(event["outcome"].endswith(" days") for event in per_tenant), per_tenant
    yesterday = tenant_today(d.ta) - datetime.timedelta(days=1)
    for tenant in (d.ta, d.tb):
        assert RollupDay.unscoped.filter(tenant=tenant, day=yesterday).exists(), tenant.slug
    reader = RollupReader(tenant=d.ta, start=START, end=END)
    assert figures.returns_count(reader) == kpis.returns_count(tenant=d.ta, start=START, end=END)

    monthly_reports_task.delay()
    worker_env.wait_finished("analytics.monthly_reports_task", 1)
    # Tenant A's manager and tenant admin, and tenant B's.
    deliveries = worker_env.wait_finished("notifications.deliver_notification_task", 4)
    assert [event["outcome"] for event in deliveries] == ["sent"] * 4
    mails = worker_env.mails()
    assert len(mails) == 4
    to_a = sorted(m["To"] for m in mails if d.ta.name in m["Subject"])
    assert to_a == sorted([d.a.manager.email, d.a.tenant_admin.email])
    message = next(m for m in mails if m["To"] == d.a.manager.email)
    (attachment,) = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_content_type() == "application/pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_payload(decode=True)))
    assert d.ta.name in "".join(page.extract_text() for page in pdf.pages)
