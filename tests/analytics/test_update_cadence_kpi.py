"""The customer-update cadence kept (docs/kpis.md#the-customer-update-cadence): over the
returns and complaints resolved in the period, those whose customer was never owed an update
past its due moment (update_lapses = 0): hand-computed, the period's local-day boundary, from
the rollups, on the dashboard (the tile with its counts, the SLA table), the drill-down to the
cases that lapsed with their lapse counts, the exports and the monthly and quarterly
reports."""

from __future__ import annotations

import csv
import datetime
import io

import pypdf
import pytest

from analytics import figures, kpis, reports
from analytics.kpis import KpiFilters, SlaCompliance
from analytics.rollup_reader import RollupReader
from analytics.rollups import kpi_rollups_rebuild
from complaints.models import Complaint
from returns.models import ReturnRequest
from rma_portal.tenancy.context import tenant_context
from tests.html import table_rows

from .dataset import END, START, at, make_complaint
from .test_dashboard import PERIOD, _dashboard_queries, listed, tile
from .test_rollups import AFTER, assert_agree

pytestmark = pytest.mark.django_db

OCTOBER = (START, datetime.date(2026, 10, 31))
NOVEMBER = (datetime.date(2026, 11, 1), END)
SEPTEMBER = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))


def lapses(model, tenant, number: str, count: int, **fields) -> None:
    key = "number" if model is ReturnRequest else "code"
    model.unscoped.filter(tenant=tenant, **{key: number}).update(update_lapses=count, **fields)


@pytest.fixture
def cadence(dataset):
    """The lapses of the data set's cases (tests/analytics/dataset.py):

    R1  resolved 14 Oct, owed an update once past its due moment: lapsed.
    R2  closed, resolved 15 Nov, never owed one late: kept.
    R3  approved, still open, three lapses: counts nowhere (not resolved).
    K1  resolved 3 Nov, none: kept.
    K2  closed, resolved 6 Nov (after a reopen), one: lapsed.
    K3  resolved 12 Nov, none: kept.
    K4  in progress, two: counts nowhere.
    KB1 (tenant B) resolved 2 Nov, one: lapsed, for B only.
    """
    d = dataset
    lapses(ReturnRequest, d.ta, "R1", 1)
    lapses(ReturnRequest, d.ta, "R3", 3)
    lapses(Complaint, d.ta, "K2", 1)
    lapses(Complaint, d.ta, "K4", 2)
    lapses(Complaint, d.tb, "KB1", 1)
    return d


def kept(tenant, start, end, **filters):
    return kpis.update_cadence(tenant=tenant, start=start, end=end, filters=KpiFilters(**filters))


def test_kept_by_hand(cadence):
    d = cadence
    both = kept(d.ta, START, END)
    assert both["returns"] == SlaCompliance(met=1, missed=1)  # R2 | R1
    assert both["complaints"] == SlaCompliance(met=2, missed=1)  # K1, K3 | K2
    assert both["all"] == SlaCompliance(met=3, missed=2)
    assert both["all"].rate == 0.6
    assert both["complaints"].rate == pytest.approx(2 / 3)
    # R1 was resolved in October: November counts R2 alone.
    november = kept(d.ta, *NOVEMBER)
    assert november["returns"] == SlaCompliance(met=1, missed=0)
    assert november["all"] == SlaCompliance(met=3, missed=1)
    october = kept(d.ta, *OCTOBER)
    assert october == {
        "returns": SlaCompliance(0, 1),
        "complaints": SlaCompliance(0, 0),
        "all": SlaCompliance(0, 1),
    }
    assert october["complaints"].rate is None  # nothing resolved: empty, not 0
    assert kept(d.ta, *SEPTEMBER)["all"].rate is None
    # Tenant B's lapse is B's alone.
    assert kept(d.tb, START, END)["complaints"] == SlaCompliance(met=0, missed=1)
    assert kept(d.tb, START, END)["returns"] == SlaCompliance(met=1, missed=0)  # RB1


def test_the_filters_narrow_the_cases(cadence):
    d = cadence
    # C2: R2 (kept) and K2 (lapsed).
    c2 = kept(d.ta, START, END, customer_account_id=d.c2.pk)
    assert (c2["returns"], c2["complaints"]) == (SlaCompliance(1, 0), SlaCompliance(0, 1))
    # A line filter: R1 is the only wrong-size return; the reason does not narrow complaints.
    wrong_size = kept(d.ta, START, END, reason="wrong_size")
    assert wrong_size["returns"] == SlaCompliance(0, 1)
    assert wrong_size["complaints"] == SlaCompliance(2, 1)
    # A category narrows complaints by their product: K1 (p1, electronics) only.
    electronics = kept(d.ta, START, END, category_id=d.electronics.pk)
    assert electronics["complaints"] == SlaCompliance(1, 0)


def test_the_period_is_the_tenants_local_days(cadence):
    d = cadence
    # Resolved at local midnight opening 1 November (23:00 UTC on 31 October): November's.
    lapses(ReturnRequest, d.ta, "R1", 1, resolved_at=at(11, 1, 0))
    assert kept(d.ta, *NOVEMBER)["returns"] == SlaCompliance(met=1, missed=1)
    assert kept(d.ta, *OCTOBER)["returns"] == SlaCompliance(met=0, missed=0)
    # A minute before it: still October's.
    lapses(ReturnRequest, d.ta, "R1", 1, resolved_at=at(10, 31, 23, 59))
    assert kept(d.ta, *OCTOBER)["returns"] == SlaCompliance(met=0, missed=1)
    # More lapses are one lapsed case; a case cancelled or rejected is never resolved.
    lapses(ReturnRequest, d.ta, "R1", 4)
    lapses(ReturnRequest, d.ta, "R4", 2)  # rejected
    assert kept(d.ta, START, END)["returns"] == SlaCompliance(met=1, missed=1)
    # A complaint reopened and not resolved again has no resolved_at: it counts nowhere.
    lapses(Complaint, d.ta, "K3", 0, resolved_at=None, status="in_progress")
    assert kept(d.ta, START, END)["complaints"] == SlaCompliance(met=1, missed=1)


def test_rollups_agree_with_the_live_figures(cadence):
    d = cadence
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END, now=AFTER)
    for filters in [
        KpiFilters(),
        KpiFilters(customer_account_id=d.c2.pk),
        KpiFilters(reason="wrong_size"),
        KpiFilters(channel="portal"),
        KpiFilters(category_id=d.electronics.pk),
        KpiFilters(customer_account_id=d.c1.pk, reason="defective"),  # returns live
    ]:
        reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
        assert_agree(reader, d.ta, START, END, filters)
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=AFTER)
    assert figures.update_cadence(reader)["all"] == SlaCompliance(3, 2)
    # Each case on the day it was resolved: K2 on 6 November.
    day = datetime.date(2026, 11, 6)
    reader = RollupReader(tenant=d.ta, start=day, end=day, now=AFTER)
    assert figures.update_cadence(reader)["complaints"] == SlaCompliance(0, 1)
    # Today's cases are read live: K3 resolved on "today", 12 November, with a lapse.
    lapses(Complaint, d.ta, "K3", 1)
    now = at(11, 12, 18)
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=now)
    reader = RollupReader(tenant=d.ta, start=START, end=now.date(), now=now)
    assert figures.update_cadence(reader)["complaints"] == SlaCompliance(1, 2)


def csv_lines(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_dashboard_tile_table_drill_down_and_exports(client, cadence):
    d = cadence
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    client.force_login(d.a.manager)

    # On the overview and beside the other clocks; the SLA table on the latter.
    assert (
        tile(client.get("/dashboard/?" + PERIOD).content.decode(), "Customer-update cadence kept")
        == "60.0 %"
    )
    html = client.get("/dashboard/kpis/service/?" + PERIOD).content.decode()

    assert tile(html, "Customer-update cadence kept") == "60.0 %"
    assert "3 of 5 kept" in html
    rows = table_rows(html, "#table-sla")
    assert ["Customer updates: returns", "1", "1", "50.0 %"] in rows
    assert ["Customer updates: complaints", "2", "1", "66.7 %"] in rows
    assert ["Customer updates: all cases", "3", "2", "60.0 %"] in rows
    assert "/dashboard/returns/?" in html and "missed=updates" in html

    returns = client.get(f"/dashboard/returns/?{PERIOD}&missed=updates").content.decode()
    assert listed(returns) == ["R1"]
    assert "whose customer was owed an update past its due moment" in returns
    assert table_rows(returns, "table.table")[1][-1] == "1"  # its lapses
    complaints = client.get(f"/dashboard/complaints/?{PERIOD}&missed=updates").content.decode()
    assert listed(complaints) == ["K2"]
    assert "Updates overdue" in complaints
    assert table_rows(complaints, "table.table")[1][-1] == "1"
    # Narrowed further as any list: C1 has no lapsed complaint.
    narrowed = client.get(f"/dashboard/complaints/?{PERIOD}&missed=updates&customer={d.c1.pk}")
    assert listed(narrowed.content.decode()) == []

    export = client.get(f"/dashboard/export/returns.csv?{PERIOD}&missed=updates&separator=comma")
    lines = csv_lines(export)
    assert lines[0][-1] == "update_lapses"
    assert {(line[0], line[-1]) for line in lines[1:]} == {("R1", "1")}
    export = client.get(f"/dashboard/export/complaints.csv?{PERIOD}&missed=updates&separator=comma")
    lines = csv_lines(export)
    assert lines[0][-1] == "update_lapses"
    assert [(line[0], line[-1]) for line in lines[1:]] == [("K2", "1")]
    every = csv_lines(client.get(f"/dashboard/export/complaints.csv?{PERIOD}&separator=comma"))
    assert {line[0]: line[-1] for line in every[1:]}["K4"] == "2"
    sla = csv_lines(client.get(f"/dashboard/export/sla.csv?{PERIOD}&separator=comma"))
    assert ["Customer updates: all cases", "3", "2", "0.6"] in sla


def test_another_tenant_neither_counts_nor_lists_these_cases(client, cadence):
    d = cadence
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    client.force_login(d.b.manager)
    html = client.get("/dashboard/kpis/service/?" + PERIOD).content.decode()
    assert tile(html, "Customer-update cadence kept") == "50.0 %"  # RB1 kept, KB1 lapsed
    assert "1 of 2 kept" in html
    returns = client.get(f"/dashboard/returns/?{PERIOD}&missed=updates").content.decode()
    assert listed(returns) == []
    complaints = client.get(f"/dashboard/complaints/?{PERIOD}&missed=updates").content.decode()
    assert listed(complaints) == ["KB1"]
    export = client.get(f"/dashboard/export/complaints.csv?{PERIOD}&missed=updates")
    assert "K2" not in b"".join(export.streaming_content).decode("utf-8-sig")
    # Tenant A's manager never sees B's complaint, nor a customer any of these lists.
    client.force_login(d.a.manager)
    complaints = client.get(f"/dashboard/complaints/?{PERIOD}&missed=updates").content.decode()
    assert "KB1" not in complaints
    for role in ("customer", "customer_admin"):
        client.force_login(getattr(d.a, role))
        for url in ("/dashboard/returns/", "/dashboard/complaints/"):
            assert client.get(f"{url}?{PERIOD}&missed=updates").status_code == 403
        export = client.get(f"/dashboard/export/complaints.csv?{PERIOD}&missed=updates")
        assert export.status_code == 403


def test_an_unknown_list_is_refused_and_changes_nothing(client, cadence):
    d = cadence
    client.force_login(d.a.manager)
    before = list(Complaint.unscoped.order_by("pk").values_list("pk", "update_lapses"))
    for url in (
        f"/dashboard/complaints/?{PERIOD}&missed=decision",  # a clock complaints do not have
        f"/dashboard/complaints/?{PERIOD}&missed=update",
        f"/dashboard/returns/?{PERIOD}&missed=Updates",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "Choose a clock from the list." in response.content.decode()
    assert client.get(f"/dashboard/export/complaints.csv?{PERIOD}&missed=x").status_code == 400
    assert list(Complaint.unscoped.order_by("pk").values_list("pk", "update_lapses")) == before


def pdf_text(data: bytes) -> str:
    """The PDF's words, one space apart (a tile's label wraps onto two lines)."""
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def test_the_monthly_and_quarterly_reports_show_the_cadence(cadence, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    d = cadence
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    with tenant_context(d.ta):
        monthly, _complete = reports.monthly_report_render(
            tenant=d.ta, month=datetime.date(2026, 11, 1), language="en"
        )
        quarterly, _complete = reports.quarterly_report_render(
            tenant=d.ta, quarter=datetime.date(2026, 10, 1), language="en"
        )
    november = pdf_text(monthly)
    assert "Customer-update cadence kept" in november
    assert "3 of 4 kept" in november  # November: R2, K1, K3 | K2
    assert "Customer updates: complaints" in november
    quarter = pdf_text(quarterly)
    assert "Customer-update cadence kept" in quarter
    assert "3 of 5 kept" in quarter  # Q4 so far: October's R1 too


def test_the_list_of_lapsed_complaints_keeps_its_query_count(client, cadence):
    d = cadence
    client.force_login(d.a.manager)
    url = f"/dashboard/complaints/?{PERIOD}&missed=updates"
    before = _dashboard_queries(client, url)
    for n in range(30):
        make_complaint(
            d.ta, d.c1, d.a.customer, f"KX{n}", category="delivery", priority="normal",
            status="resolved", assignee=d.a.agent, created_at=at(10, 1 + n % 28, 9),
            first_response_due_at=at(10, 2, 9), resolution_due_at=at(10, 30, 9),
            resolved_at=at(10, 1 + n % 28, 15), update_lapses=1 + n % 3,
        )  # fmt: skip
    html = client.get(url).content.decode()
    assert len(listed(html)) == 31  # K2 and the thirty
    assert _dashboard_queries(client, url) == before
    returns = f"/dashboard/returns/?{PERIOD}&missed=updates"
    before = _dashboard_queries(client, returns)
    ReturnRequest.unscoped.filter(tenant=d.ta, number="R2").update(update_lapses=1)
    assert len(listed(client.get(returns).content.decode())) == 2
    assert _dashboard_queries(client, returns) == before
