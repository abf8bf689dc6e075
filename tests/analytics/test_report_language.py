"""The monthly and quarterly reports in the reader's language: the download in the language the
reader chose (whatever the tenant's default), the mailed report in each recipient's own, each
language stored apart; and the month named as Polish writes it inside a sentence ("za listopad
2026": the nominative in lower case, not "Listopad" nor the genitive "listopada")."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import translation

from analytics import reports
from analytics.models import MonthlyReport, QuarterlyReport
from analytics.rollups import kpi_rollups_rebuild
from rma_portal.tenancy.context import tenant_context

from .test_reports import NOVEMBER, pdf_text, reporting  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

Q3 = datetime.date(2026, 7, 1)


@pytest.fixture
def polish_tenant(reporting):  # noqa: F811
    """Tenant A writes in Polish by default; its manager reads English, its admin Polish."""
    d = reporting
    d.ta.default_language = "pl"
    d.ta.save(update_fields=["default_language"])
    d.a.manager.language = "en"
    d.a.manager.save(update_fields=["language"])
    d.a.tenant_admin.language = ""  # the tenant's default: Polish
    d.a.tenant_admin.save(update_fields=["language"])
    return d


def _choose(client, user, language: str) -> None:
    client.force_login(user)
    # The language switch of every page: remembered in a cookie and on the user.
    client.post("/accounts/language/", {"language": language, "next": "/dashboard/"})


@pytest.mark.parametrize(
    ("month", "english", "polish"),
    [
        (datetime.date(2026, 11, 1), "November 2026", "listopad 2026"),
        (datetime.date(2026, 2, 1), "February 2026", "luty 2026"),
        (datetime.date(2027, 9, 1), "September 2027", "wrzesień 2027"),
        (datetime.date(2028, 12, 1), "December 2028", "grudzień 2028"),
    ],
)
def test_the_month_inside_a_sentence(month, english, polish):
    with translation.override("en"):
        assert reports.month_in_text(month) == english
    with translation.override("pl"):
        assert reports.month_in_text(month) == polish


def test_an_english_reader_downloads_the_english_report_of_a_polish_tenant(client, polish_tenant):
    d = polish_tenant
    _choose(client, d.a.manager, "en")
    response = client.get("/dashboard/reports/2026-11.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "KPI report for November 2026" in text
    assert "2 returns in the month" in text
    assert "Raport" not in text and "listopad" not in text.lower()


def test_a_polish_reader_downloads_the_polish_report_with_the_month_in_lower_case(
    client, polish_tenant
):
    d = polish_tenant
    _choose(client, d.a.manager, "pl")
    text = pdf_text(client.get("/dashboard/reports/2026-11.pdf").content)
    assert "Raport KPI za listopad 2026" in text
    assert "Listopad" not in text and "listopada 2026" not in text
    assert "KPI report" not in text


def test_each_language_is_stored_apart_and_served_again(client, polish_tenant):
    d = polish_tenant
    _choose(client, d.a.manager, "en")
    english = client.get("/dashboard/reports/2026-11.pdf").content
    _choose(client, d.a.manager, "pl")
    polish = client.get("/dashboard/reports/2026-11.pdf").content
    stored = MonthlyReport.unscoped.filter(tenant=d.ta, month=NOVEMBER)
    assert sorted(stored.values_list("language", flat=True)) == ["en", "pl"]
    assert len({report.file.name for report in stored}) == 2
    # Downloaded again: the stored file of the reader's language, unchanged.
    _choose(client, d.a.manager, "en")
    assert client.get("/dashboard/reports/2026-11.pdf").content == english
    _choose(client, d.a.manager, "pl")
    assert client.get("/dashboard/reports/2026-11.pdf").content == polish
    assert stored.count() == 2


def test_the_mailed_report_is_in_each_recipients_language(
    polish_tenant, django_capture_on_commit_callbacks
):
    d = polish_tenant
    mail.outbox.clear()
    with tenant_context(d.ta), django_capture_on_commit_callbacks(execute=True):
        assert reports.monthly_report_send(tenant=d.ta, month=NOVEMBER) == 2
    sent = {message.to[0]: message for message in mail.outbox}
    english, polish = sent[d.a.manager.email], sent[d.a.tenant_admin.email]
    assert "KPI report for November 2026" in english.subject
    assert "The KPI report for November 2026 is attached" in english.body
    assert "KPI report for November 2026" in pdf_text(english.attachments[0][1])
    assert polish.subject == f"{d.ta.name}: Raport KPI za listopad 2026"
    assert "raport KPI za listopad 2026 w formacie PDF" in polish.body
    polish_pdf = pdf_text(polish.attachments[0][1])
    assert "Raport KPI za listopad 2026" in polish_pdf and "KPI report" not in polish_pdf
    assert sorted(
        MonthlyReport.unscoped.filter(tenant=d.ta, month=NOVEMBER).values_list(
            "language", flat=True
        )
    ) == ["en", "pl"]


def test_the_quarterly_report_in_the_readers_language_each_stored_apart(client, polish_tenant):
    d = polish_tenant
    kpi_rollups_rebuild(tenant=d.ta, start=Q3, end=datetime.date(2026, 9, 30))
    _choose(client, d.a.manager, "en")
    english = pdf_text(client.get("/dashboard/reports/2026-Q3.pdf").content)
    _choose(client, d.a.manager, "pl")
    polish = pdf_text(client.get("/dashboard/reports/2026-Q3.pdf").content)
    assert "Quarterly report Q3 2026" in english and "Raport kwartalny" not in english
    assert "Raport kwartalny 3 kw. 2026" in polish and "Quarterly report" not in polish
    stored = QuarterlyReport.unscoped.filter(tenant=d.ta, quarter=Q3)
    assert sorted(stored.values_list("language", flat=True)) == ["en", "pl"]


def test_an_unknown_language_falls_back_to_the_tenants(polish_tenant):
    d = polish_tenant
    assert reports.report_language("de", tenant=d.ta) == "pl"
    assert reports.report_language("en-GB", tenant=d.ta) == "en"
    assert reports.report_language("", tenant=d.ta) == "pl"
