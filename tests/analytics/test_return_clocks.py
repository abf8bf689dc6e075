"""SLA compliance of the two clocks of returns: decisions within SLA (returns decided in the
period by their decision_due_at) and refunds or credits within the promised days (returns
resolved in the period by their refund_due_at): hand-computed, the boundary (stopped exactly
at the due moment is on time), from the rollups, on the dashboard (tiles with their counts,
the SLA table), the drill-down to the returns that missed, the exports and the report."""

from __future__ import annotations

import datetime
import io

import pypdf
import pytest

from analytics import figures, kpis, reports
from analytics.kpis import KpiFilters, SlaCompliance
from analytics.rollup_reader import RollupReader
from analytics.rollups import kpi_rollups_rebuild
from returns.models import ReturnRequest
from rma_portal.tenancy.context import tenant_context
from tests.html import table_rows

from .dataset import END, START, at
from .test_dashboard import PERIOD, _add_returns, _dashboard_queries, listed, tile
from .test_rollups import AFTER, assert_agree

pytestmark = pytest.mark.django_db

OCTOBER = (START, datetime.date(2026, 10, 31))
NOVEMBER = (datetime.date(2026, 11, 1), END)


def clock(tenant, number: str, **moments) -> None:
    ReturnRequest.unscoped.filter(tenant=tenant, number=number).update(**moments)


@pytest.fixture
def clocks(dataset):
    """The clocks of the data set's returns (tests/analytics/dataset.py):

    R1  approved 11 Oct 10:00, due 12 Oct 10:00: on time; resolved 14 Oct 10:00, refund due
        at that very moment: on time (the boundary).
    R2  approved 12 Nov 15:00, due at that very moment: on time (the boundary); resolved
        15 Nov 9:00, refund due 8:59: late.
    R3  approved 22 Nov 0:00, due 21 Nov 12:00: late; not resolved.
    R4  rejected 6 Nov 9:00, due 6 Nov 8:00: late.
    R6  submitted 2 Dec, due 3 Dec, not decided: counts nowhere.
    RB1 (tenant B) approved 3 Nov 10:00, due 9:00: late, for B only.
    """
    d = dataset
    clock(d.ta, "R1", decision_due_at=at(10, 12, 10), decided_at=at(10, 11, 10))
    clock(d.ta, "R1", refund_due_at=at(10, 14, 10))
    clock(d.ta, "R2", decision_due_at=at(11, 12, 15), decided_at=at(11, 12, 15))
    clock(d.ta, "R2", refund_due_at=at(11, 15, 8, 59))
    clock(d.ta, "R3", decision_due_at=at(11, 21, 12), decided_at=at(11, 22, 0))
    clock(d.ta, "R4", decision_due_at=at(11, 6, 8), decided_at=at(11, 6, 9))
    clock(d.ta, "R6", decision_due_at=at(12, 3, 9))
    clock(d.tb, "RB1", decision_due_at=at(11, 3, 9), decided_at=at(11, 3, 10))
    return d


def compliance(tenant, start, end, **filters):
    return kpis.return_sla_compliance(
        tenant=tenant, start=start, end=end, filters=KpiFilters(**filters)
    )


def test_compliance_by_hand_with_the_boundary_on_time(clocks):
    d = clocks
    both = compliance(d.ta, START, END)
    assert both["decision"] == SlaCompliance(met=2, missed=2)  # R1, R2 | R3, R4
    assert both["decision"].rate == 0.5
    assert both["refund"] == SlaCompliance(met=1, missed=1)  # R1 | R2
    october, november = compliance(d.ta, *OCTOBER), compliance(d.ta, *NOVEMBER)
    assert (october["decision"], october["refund"]) == (SlaCompliance(1, 0), SlaCompliance(1, 0))
    assert november["decision"] == SlaCompliance(met=1, missed=2)
    assert november["refund"] == SlaCompliance(met=0, missed=1)
    # Narrowed to C2 (R2 only), and by a line filter (R1 is the only wrong-size return).
    assert compliance(d.ta, START, END, customer_account_id=d.c2.pk) == {
        "decision": SlaCompliance(1, 0),
        "refund": SlaCompliance(0, 1),
    }
    assert compliance(d.ta, START, END, reason="wrong_size")["refund"] == SlaCompliance(1, 0)
    # A minute later R1's refund is late, and R2's decision too.
    clock(d.ta, "R1", resolved_at=at(10, 14, 10, 1))
    clock(d.ta, "R2", decided_at=at(11, 12, 15, 1))
    later = compliance(d.ta, START, END)
    assert (later["decision"], later["refund"]) == (SlaCompliance(1, 3), SlaCompliance(0, 2))
    # Tenant B's clock is B's alone.
    assert compliance(d.tb, START, END)["decision"] == SlaCompliance(met=0, missed=1)


def test_a_return_without_a_clock_or_not_resolved_counts_nowhere(clocks):
    d = clocks
    # The decision clock switched off (0 hours): decided, but judged by no clock.
    clock(d.ta, "R3", decision_due_at=None)
    # Resolved is what counts: a refund clock of a return only received counts nowhere.
    clock(d.ta, "R3", refund_due_at=at(11, 23, 9))
    both = compliance(d.ta, START, END)
    assert both["decision"] == SlaCompliance(met=2, missed=1)
    assert both["refund"] == SlaCompliance(met=1, missed=1)
    assert compliance(d.ta, *OCTOBER)["refund"].rate == 1.0
    assert compliance(d.ta, datetime.date(2026, 9, 1), datetime.date(2026, 9, 30)) == {
        "decision": SlaCompliance(0, 0),
        "refund": SlaCompliance(0, 0),
    }
    assert SlaCompliance(0, 0).rate is None


def test_rollups_agree_with_the_live_figures(clocks):
    d = clocks
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END, now=AFTER)
    filter_sets = [
        KpiFilters(),
        KpiFilters(customer_account_id=d.c2.pk),
        KpiFilters(reason="wrong_size"),
        KpiFilters(channel="portal"),
        KpiFilters(customer_account_id=d.c1.pk, reason="defective"),  # live
    ]
    for filters in filter_sets:
        reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
        assert_agree(reader, d.ta, START, END, filters)
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=AFTER)
    assert figures.return_sla_compliance(reader) == {
        "decision": SlaCompliance(2, 2),
        "refund": SlaCompliance(1, 1),
    }
    # Each clock on the day it stopped: the rejection of R4 on 6 Nov.
    day = datetime.date(2026, 11, 6)
    reader = RollupReader(tenant=d.ta, start=day, end=day, now=AFTER)
    assert figures.return_sla_compliance(reader)["decision"] == SlaCompliance(0, 1)
    # Today's clocks are read live: R3 decided on "today", 22 Nov.
    now = at(11, 22, 18)
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=now)
    reader = RollupReader(tenant=d.ta, start=START, end=now.date(), now=now)
    assert figures.return_sla_compliance(reader)["decision"] == SlaCompliance(2, 2)


def test_the_dashboard_tiles_table_and_drill_down(client, clocks):
    d = clocks
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    client.force_login(d.a.manager)

    html = client.get("/dashboard/kpis/service/?" + PERIOD).content.decode()

    assert tile(html, "Decisions within SLA") == "50.0 %"
    assert tile(html, "Refunds within the promised days") == "50.0 %"
    assert "2 of 4 on time" in html and "1 of 2 on time" in html
    rows = table_rows(html, "#table-sla")
    assert ["Return decision", "2", "2", "50.0 %"] in rows
    assert ["Return refund or credit", "1", "1", "50.0 %"] in rows
    assert "missed=decision" in html and "missed=refund" in html

    late = client.get(f"/dashboard/returns/?{PERIOD}&missed=decision").content.decode()
    assert listed(late) == ["R3", "R4"]
    assert "Decided after the decision was due" in late
    refunds = client.get(f"/dashboard/returns/?{PERIOD}&missed=refund").content.decode()
    assert listed(refunds) == ["R2"]
    # The export of the list names the same returns, with their clocks' moments.
    export = client.get(f"/dashboard/export/returns.csv?{PERIOD}&missed=decision&separator=comma")
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[-4:-1] == ["decision_due_at", "decided_at", "refund_due_at"]
    assert {line.split(",")[0] for line in lines[1:]} == {"R3", "R4"}
    sla = client.get(f"/dashboard/export/sla.csv?{PERIOD}&separator=comma")
    text = b"".join(sla.streaming_content).decode("utf-8-sig")
    assert "Return decision,2,2,0.5" in text.replace("\r", "")


def test_another_tenant_neither_counts_nor_lists_these_returns(client, clocks):
    d = clocks
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    client.force_login(d.b.manager)
    html = client.get("/dashboard/kpis/service/?" + PERIOD).content.decode()
    assert tile(html, "Decisions within SLA") == "0.0 %"
    assert "0 of 1 on time" in html
    late = client.get(f"/dashboard/returns/?{PERIOD}&missed=decision").content.decode()
    assert listed(late) == ["RB1"]


def test_an_unknown_clock_is_refused(client, clocks):
    client.force_login(clocks.a.manager)
    response = client.get(f"/dashboard/returns/?{PERIOD}&missed=shipping")
    assert response.status_code == 400
    assert "Choose a clock from the list." in response.content.decode()
    assert client.get(f"/dashboard/export/returns.csv?{PERIOD}&missed=x").status_code == 400


def test_the_monthly_report_shows_the_clocks(clocks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    d = clocks
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    with tenant_context(d.ta):
        pdf, _complete = reports.monthly_report_render(
            tenant=d.ta, month=datetime.date(2026, 11, 1), language="en"
        )
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Decisions within SLA" in text
    assert "1 of 3 on time" in text  # November: R2 | R3, R4
    assert "Return refund or credit" in text


def test_the_list_of_late_returns_keeps_its_query_count(client, clocks):
    d = clocks
    client.force_login(d.a.manager)
    url = f"/dashboard/returns/?{PERIOD}&missed=decision"
    before = _dashboard_queries(client, url)
    _add_returns(d, 30)  # submitted in October, each decided a day late
    late = ReturnRequest.unscoped.filter(tenant=d.ta, number__startswith="X")
    late.update(decision_due_at=at(10, 29, 9), decided_at=at(10, 30, 9))
    html = client.get(url).content.decode()
    assert len(listed(html)) == 32  # R3, R4 and the thirty
    assert _dashboard_queries(client, url) == before
