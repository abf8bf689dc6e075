"""The complaints' NPS (docs/feedback.md#figures, docs/kpis.md#satisfaction): over the ratings
given in the period (the tenant's local days) that scored the 0–10 question, promoters 9–10
less detractors 0–6, from −100 to +100; empty with no answers, never 0. Hand-computed, on the
dashboard beside the returns' NPS, in the monthly and quarterly reports."""

from __future__ import annotations

import datetime
import io

import pypdf
import pytest

from analytics import kpis, reports
from analytics.dashboard import DashboardQuery, build_dashboard
from analytics.kpis import NO_FILTERS, KpiFilters, Nps
from analytics.rollups import kpi_rollups_rebuild
from complaints.models import SatisfactionRating
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context

from .dataset import END, START, at, make_complaint, rate
from .test_dashboard import PERIOD, tile

pytestmark = pytest.mark.django_db

OCTOBER = (START, datetime.date(2026, 10, 31))
NOVEMBER = (datetime.date(2026, 11, 1), END)
SEPTEMBER = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))


def nps(tenant, code: str, value: int | None) -> None:
    SatisfactionRating.unscoped.filter(tenant=tenant, complaint__code=code).update(nps=value)


def rated_complaint(d, code: str, score: int, value: int | None, when) -> None:
    complaint = make_complaint(
        d.ta, d.c1, d.a.customer, code, category="service", priority="normal",
        status="closed", created_at=when - datetime.timedelta(days=3),
        first_response_due_at=when, resolution_due_at=when,
        resolved_at=when - datetime.timedelta(days=1),
    )  # fmt: skip
    rate(complaint, d.a.customer, score, when)
    nps(d.ta, code, value)


@pytest.fixture
def answered(dataset):
    """The 0–10 answers of the complaints' ratings (tests/analytics/dataset.py):

    K1  rated 4 Nov: 10 (promoter)         K7  rated 1 Oct 0:00 local: 7 (passive)
    K3  rated 13 Nov: 9 (promoter)         K8  rated 20 Nov: 1–5 score only, no 0–10
    K2  rated 7 Nov: 3 (detractor, C2)     K9  rated 1 Dec 0:00 local: 0 (after the period)
    KB1 (tenant B) rated 3 Nov: 2 (detractor)
    """
    d = dataset
    nps(d.ta, "K1", 10)
    nps(d.ta, "K3", 9)
    nps(d.ta, "K2", 3)
    nps(d.tb, "KB1", 2)
    rated_complaint(d, "K7", 4, 7, at(10, 1, 0))  # 22:00 UTC on 30 September
    rated_complaint(d, "K8", 5, None, at(11, 20, 12))
    rated_complaint(d, "K9", 1, 0, at(12, 1, 0))  # 23:00 UTC on 30 November
    return d


def score(tenant, start, end, **filters) -> Nps:
    return kpis.complaint_nps(tenant=tenant, start=start, end=end, filters=KpiFilters(**filters))


def test_nps_by_hand(answered):
    d = answered
    # 10, 9, 7, 3: (2 promoters − 1 detractor) / 4 answers = +25; K8 has no answer, K9 is
    # December's.
    both = score(d.ta, START, END)
    assert both == Nps(answers=4, promoters=2, detractors=1)
    assert both.passives == 1
    assert both.share == 0.25 and both.score == 25.0
    # November: 10, 9, 3 → +33.3; October: 7 alone, a passive → 0, a figure (not empty).
    assert score(d.ta, *NOVEMBER).share == pytest.approx(1 / 3)
    assert score(d.ta, *OCTOBER) == Nps(answers=1, promoters=0, detractors=0)
    assert score(d.ta, *OCTOBER).share == 0.0
    # No answers: empty, never 0.
    assert score(d.ta, *SEPTEMBER).share is None
    december = (datetime.date(2026, 12, 1), datetime.date(2026, 12, 31))
    assert score(d.ta, *december) == Nps(answers=1, promoters=0, detractors=1)
    assert score(d.ta, *december).score == -100.0
    # The ratings' CSAT still counts K8 (and K7): 5, 2, 4 of the data set with 4 and 5.
    csat = kpis.csat(tenant=d.ta, start=START, end=END)
    assert csat.ratings == 5 and csat.average == pytest.approx(4.0)


def test_the_filters_and_the_tenant_narrow_the_answers(answered):
    d = answered
    assert score(d.ta, START, END, customer_account_id=d.c2.pk).share == -1.0  # K2: 3
    assert score(d.ta, START, END, category_id=d.electronics.pk).share == 1.0  # K1: 10
    assert score(d.ta, START, END, reason="wrong_size") == score(d.ta, START, END)  # n/a
    assert score(d.tb, START, END) == Nps(answers=1, promoters=0, detractors=1)


def test_the_dashboard_tile_beside_the_returns_nps(client, answered):
    d = answered
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    board = build_dashboard(
        DashboardQuery(
            preset="custom", start=NOVEMBER[0], end=NOVEMBER[1], filters=NO_FILTERS,
            today=tenant_today(d.ta),
        ),
        tenant=d.ta,
    )  # fmt: skip
    tiles = {tile.key: tile for tile in board.tiles}
    keys = [tile.key for tile in board.tiles]
    assert keys.index("complaint_nps") == keys.index("return_nps") + 1
    complaints = tiles["complaint_nps"]
    assert complaints.value == pytest.approx(1 / 3) and complaints.previous == 0.0  # October
    assert complaints.change == pytest.approx(1 / 3)  # points, as for rates
    assert complaints.trend == "good"

    client.force_login(d.a.manager)
    html = client.get("/dashboard/kpis/satisfaction/?" + PERIOD).content.decode()
    assert tile(html, "Complaints: NPS") == "25.0 %"
    assert tile(html, "Returns: NPS") == "—"  # no return survey answers in the data set
    september = "period=custom&from=2026-09-01&to=2026-09-30"
    html = client.get("/dashboard/kpis/satisfaction/?" + september).content.decode()
    assert tile(html, "Complaints: NPS") == "—"
    client.force_login(d.b.manager)
    html = client.get("/dashboard/kpis/satisfaction/?" + PERIOD).content.decode()
    assert tile(html, "Complaints: NPS") == "-100.0 %"


def pdf_text(data: bytes) -> str:
    """The PDF's words, one space apart (a tile's label wraps onto two lines)."""
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def test_the_monthly_and_quarterly_reports_show_it(answered, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    d = answered
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    with tenant_context(d.ta):
        monthly, _complete = reports.monthly_report_render(
            tenant=d.ta, month=datetime.date(2026, 11, 1), language="en"
        )
        quarterly, _complete = reports.quarterly_report_render(
            tenant=d.ta, quarter=datetime.date(2026, 10, 1), language="en"
        )
        context = reports.quarterly_report_context(tenant=d.ta, quarter=datetime.date(2026, 10, 1))
    assert "Complaints: NPS" in pdf_text(monthly)
    assert "33.3 %" in pdf_text(monthly)
    assert "Complaints: NPS" in pdf_text(quarterly)
    quarter = next(tile for tile in context["board"].tiles if tile.key == "complaint_nps")
    # The whole of Q4: October's 7, November's 10, 9, 3 and December's 0: (2 − 2) / 5 = 0, a
    # figure; Q3 had no answers: empty.
    assert quarter.value == 0.0 and quarter.previous is None
