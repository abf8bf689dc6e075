"""The monthly KPI report: the PDF's text, its download, and the e-mail to managers and
tenant admins through the outbox (with the PDF attached), once per month and person."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pypdf
import pytest
from django.core import mail

from analytics import reports, tasks
from analytics.models import MonthlyReport
from analytics.reports import previous_month
from analytics.rollups import kpi_rollups_rebuild
from returns.selectors import tenant_today
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import tenant_context

from .dataset import END, START

pytestmark = pytest.mark.django_db

NOVEMBER = datetime.date(2026, 11, 1)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def reporting(dataset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    for tenant in (dataset.ta, dataset.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    return dataset


def test_the_pdf_names_the_tenant_and_the_months_return_count(reporting):
    d = reporting
    with tenant_context(d.ta):
        text = pdf_text(
            reports.monthly_report_render(tenant=d.ta, month=NOVEMBER, language="en")[0]
        )
    assert d.ta.name in text
    assert "KPI report for November 2026" in text
    # November: R2 and R3 (R1 was in October, R4 rejected): see tests/analytics/dataset.py
    assert "2 returns in the month" in text
    assert "The biggest changes" in text
    assert "Return reasons (lines)" in text  # a chart drawn as SVG
    assert "Most returned products" in text


def test_the_polish_pdf(reporting):
    d = reporting
    with tenant_context(d.ta):
        text = pdf_text(
            reports.monthly_report_render(tenant=d.ta, month=NOVEMBER, language="pl")[0]
        )
    assert "listopad 2026" in text.lower()


def test_managers_download_any_past_month(client, reporting):
    d = reporting
    client.force_login(d.a.manager)
    response = client.get("/dashboard/reports/2026-11.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "kpi-report-" in response["Content-Disposition"]
    assert d.ta.name in pdf_text(response.content)
    # Stored once: the second download serves the same file.
    client.get("/dashboard/reports/2026-11.pdf")
    assert MonthlyReport.unscoped.filter(tenant=d.ta).count() == 1
    # The current month is not over, and a month 13 does not exist.
    today = tenant_today(d.ta)  # the tenant's date, not the machine's
    assert client.get(f"/dashboard/reports/{today:%Y-%m}.pdf").status_code == 404
    assert client.get("/dashboard/reports/2026-13.pdf").status_code == 404
    # The dashboard lists last month's report, whichever month that is when the test runs.
    last_month = previous_month(today)
    assert (
        f"/dashboard/reports/{last_month:%Y-%m}.pdf" in client.get("/dashboard/").content.decode()
    )


def test_each_tenant_gets_its_own_report(client, reporting):
    d = reporting
    client.force_login(d.b.manager)
    text = pdf_text(client.get("/dashboard/reports/2026-11.pdf").content)
    assert d.tb.name in text and d.ta.name not in text
    assert "1 return in the month" in text


def test_agents_and_customers_cannot_download_reports(client, reporting):
    for user in (reporting.a.agent, reporting.a.customer):
        client.force_login(user)
        assert client.get("/dashboard/reports/2026-11.pdf").status_code == 403


def test_the_monthly_task_mails_managers_and_admins_once(
    reporting, django_capture_on_commit_callbacks
):
    # given: eager tasks (the test settings), so queued e-mails are sent at commit
    d = reporting
    mail.outbox.clear()
    # when: the beat task on the 1st (last month is November)
    with tenant_context(d.ta), django_capture_on_commit_callbacks(execute=True):
        queued = reports.monthly_report_send(tenant=d.ta, month=NOVEMBER)
    # then: the manager and the tenant admin, nobody else
    assert queued == 2
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == sorted([d.a.manager.email, d.a.tenant_admin.email])
    message = mail.outbox[0]
    assert "KPI report for November 2026" in message.subject
    (name, content, mimetype) = message.attachments[0]
    assert name.endswith("2026-11.pdf") and mimetype == "application/pdf"
    assert d.ta.name in pdf_text(content)
    # Sent again (a retried beat run): nothing new is queued or sent.
    with tenant_context(d.ta), django_capture_on_commit_callbacks(execute=True):
        assert reports.monthly_report_send(tenant=d.ta, month=NOVEMBER) == 0
    assert len(mail.outbox) == 2
    assert Notification.unscoped.filter(tenant=d.ta, event="analytics.monthly_report").count() == 2


def test_the_hourly_task_mails_each_tenants_report_from_six_on_the_1st(
    reporting, django_capture_on_commit_callbacks
):
    d = reporting
    mail.outbox.clear()
    warsaw = zoneinfo.ZoneInfo("Europe/Warsaw")
    before_six = datetime.datetime(2026, 12, 1, 5, 59, tzinfo=warsaw)
    at_six = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=warsaw)
    with tenant_context(d.ta), django_capture_on_commit_callbacks(execute=True):
        assert reports.monthly_report_send_due(tenant=d.ta, now=before_six) == 0
        assert reports.monthly_report_send_due(tenant=d.ta, now=at_six) == 2  # November's
        # The next hours (and days) of the month send nothing more.
        later = at_six + datetime.timedelta(days=3)
        assert reports.monthly_report_send_due(tenant=d.ta, now=later) == 0
    assert len(mail.outbox) == 2


def test_a_month_not_rolled_up_is_neither_stored_nor_mailed(dataset, settings, tmp_path):
    # given: no rollups at all for November
    settings.MEDIA_ROOT = tmp_path / "media"
    d = dataset
    with tenant_context(d.ta):
        report, pdf = reports.monthly_report_get_or_render(tenant=d.ta, month=NOVEMBER)
        assert pdf.startswith(b"%PDF") and report.pk is None
        assert reports.monthly_report_send(tenant=d.ta, month=NOVEMBER) == 0
        warsaw = zoneinfo.ZoneInfo("Europe/Warsaw")
        noon = datetime.datetime(2026, 12, 1, 12, tzinfo=warsaw)
        assert reports.monthly_report_send_due(tenant=d.ta, now=noon) == 0
    assert not MonthlyReport.unscoped.exists()
    assert not Notification.unscoped.filter(event="analytics.monthly_report").exists()


def test_rebuilding_a_month_replaces_its_stored_report(reporting):
    d = reporting
    with tenant_context(d.ta):
        reports.monthly_report_get_or_render(tenant=d.ta, month=NOVEMBER)
        assert MonthlyReport.unscoped.filter(tenant=d.ta, month=NOVEMBER).exists()
        kpi_rollups_rebuild(
            tenant=d.ta, start=datetime.date(2026, 11, 5), end=datetime.date(2026, 11, 5)
        )
    assert not MonthlyReport.unscoped.filter(tenant=d.ta, month=NOVEMBER).exists()


def test_the_report_compares_with_the_calendar_month_before(reporting):
    d = reporting
    with tenant_context(d.ta):
        context = reports.monthly_report_context(tenant=d.ta, month=NOVEMBER)
    assert context["board"].query.previous == (
        datetime.date(2026, 10, 1),
        END.replace(day=31, month=10),
    )
    returns = next(tile for tile in context["board"].tiles if tile.key == "returns")
    assert (returns.value, returns.previous) == (2, 1)  # R2, R3 in November; R1 in October


def test_the_beat_tasks_run_for_every_tenant(reporting, monkeypatch):
    d = reporting
    sent = []
    monkeypatch.setattr(
        tasks, "monthly_report_send_due", lambda *, tenant: sent.append(tenant.pk) or 1
    )
    assert tasks.monthly_reports_task() == 2
    assert sorted(sent) == sorted([d.ta.pk, d.tb.pk])


def test_the_rollup_task_rolls_up_every_tenant(dataset):
    from analytics.models import RollupDay

    assert tasks.rollups_task() == 2  # one task per tenant (run at once: eager in tests)
    assert RollupDay.unscoped.filter(tenant=dataset.ta).exists()
    assert RollupDay.unscoped.filter(tenant=dataset.tb).exists()
