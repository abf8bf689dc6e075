"""CSAT and NPS of the returns' satisfaction survey (docs/feedback.md#figures): hand-computed
figures over a small set of answers, the tenant's local days as the period, the dashboard's
filters, the dashboard's tiles, table and CSV exports, and the demo history's answers."""

from __future__ import annotations

import csv
import datetime
import io
import re
import zoneinfo
from html import unescape
from types import SimpleNamespace

import pytest
from django.utils import timezone

from analytics import kpis
from analytics.dashboard import DashboardQuery, build_dashboard
from analytics.kpis import NO_FILTERS, KpiFilters
from returns.feedback_models import FeedbackChannel, ReturnFeedback
from returns.models import ReturnRequest, ReturnStatus
from returns.selectors import tenant_today
from rma_portal.tenancy.models import Tenant
from tests.factories import ProductCategoryFactory, ProductFactory

from .dataset import make_order, make_return

pytestmark = pytest.mark.django_db


def month_before(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def month_end(first: datetime.date) -> datetime.date:
    return (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(
        days=1
    )


def local(tenant, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


@pytest.fixture
def answered(world_a, world_b):
    """Answers about tenant A's returns around one whole past month M (the month before this
    one, so that the dashboard may ask for it), and one of tenant B's in M:

    | return | company | channel | goods, reason  | resolution  | CSAT | NPS | answered (local) |
    | R1     | A       | portal  | E, defective   | refund      | 5    | 10  | M 5th, 10:00     |
    | R2     | A       | portal  | E, defective   | refund      | 4    | 9   | M 10th, 14:00    |
    | R3     | A       | phone   | W, wrong size  | credit note | 3    | 7   | M 20th, 9:00     |
    | R4     | other   | portal  | W, wrong size  | replacement | 2    | 6   | M last, 23:30    |
    | R5     | other   | e-mail  | E, defective   | refund      | 1    | —   | M+1 1st, 0:00    |
    | R6     | A       | portal  | E, defective   | refund      | 5    | 0   | M−1 last, 23:59  |
    | B1     | B's     | portal  | B's, defective | refund      | 1    | 0   | M 15th           |

    (E: electronics, W: workwear; "other": tenant A's other company.)
    """
    tenant = world_a.tenant
    month = month_before(tenant_today(tenant))
    last = month_end(month)
    electronics = ProductFactory(
        tenant=tenant,
        category=ProductCategoryFactory(tenant=tenant, code="electronics", name="Electronics"),
    )
    workwear = ProductFactory(
        tenant=tenant,
        category=ProductCategoryFactory(tenant=tenant, code="workwear", name="Workwear"),
    )
    delivered = month_before(month) - datetime.timedelta(days=5)
    (e_line, w_line) = make_order(
        tenant, world_a.company, "SO-1", delivered, [(electronics, 10, "100"), (workwear, 10, "20")]
    )
    (oe_line, ow_line) = make_order(
        tenant,
        world_a.other_company,
        "SO-2",
        delivered,
        [(electronics, 10, "100"), (workwear, 10, "20")],
    )
    rows = [
        ("R1", world_a.company, world_a.customer, "portal", e_line, "defective", "refund"),
        ("R2", world_a.company, world_a.customer, "portal", e_line, "defective", "refund"),
        ("R3", world_a.company, world_a.customer, "phone", w_line, "wrong_size", "credit_note"),
        ("R4", world_a.other_company, world_a.other_company_user, "portal", ow_line, "wrong_size",
         "replacement"),
        ("R5", world_a.other_company, world_a.other_company_user, "email", oe_line, "defective",
         "refund"),
        ("R6", world_a.company, world_a.customer, "portal", e_line, "defective", "refund"),
    ]  # fmt: skip
    answers = [
        (5, 10, local(tenant, month.replace(day=5), 10)),
        (4, 9, local(tenant, month.replace(day=10), 14)),
        (3, 7, local(tenant, month.replace(day=20), 9)),
        (2, 6, local(tenant, last, 23, 30)),
        (1, None, local(tenant, last + datetime.timedelta(days=1), 0)),
        (5, 0, local(tenant, month - datetime.timedelta(days=1), 23, 59)),
    ]
    returns = {}
    for (number, company, requester, channel, line, reason, resolution), (csat, nps, at) in zip(
        rows, answers, strict=True
    ):
        rma = make_return(
            tenant,
            company,
            requester,
            number,
            ReturnStatus.RESOLVED,
            [(line, 1, reason, {})],
            channel=channel,
            resolution=resolution,
            submitted_at=at - datetime.timedelta(days=3),
            resolved_at=at - datetime.timedelta(hours=2),
        )
        ReturnFeedback.unscoped.create(
            tenant=tenant,
            return_request=rma,
            answered_by=requester,
            csat=csat,
            nps=nps,
            comment=f"Comment on {number}",
            channel=FeedbackChannel.EMAIL,
            answered_at=at,
        )
        returns[number] = rma
    b_tenant = world_b.tenant
    (b_line,) = make_order(
        b_tenant, world_b.company, "SO-B", delivered, [(ProductFactory(tenant=b_tenant), 5, "10")]
    )
    b_return = make_return(
        b_tenant,
        world_b.company,
        world_b.customer,
        "B1",
        ReturnStatus.RESOLVED,
        [(b_line, 1, "defective", {})],
        resolution="refund",
        submitted_at=local(b_tenant, month.replace(day=12), 10),
    )
    ReturnFeedback.unscoped.create(
        tenant=b_tenant,
        return_request=b_return,
        answered_by=world_b.customer,
        csat=1,
        nps=0,
        channel=FeedbackChannel.PORTAL,
        answered_at=local(b_tenant, month.replace(day=15), 12),
    )
    return SimpleNamespace(
        a=world_a,
        b=world_b,
        tenant=tenant,
        month=month,
        last=last,
        returns=returns,
        electronics=electronics,
        workwear=workwear,
    )


def period(d, *, start=None, end=None, filters=NO_FILTERS) -> dict:
    return {
        "tenant": d.tenant,
        "start": start or d.month,
        "end": end or d.last,
        "filters": filters,
    }


def figures_of(satisfaction: kpis.ReturnSatisfaction) -> tuple:
    csat, nps = satisfaction.csat, satisfaction.nps
    return (
        csat.ratings,
        csat.average,
        csat.satisfied_share,
        nps.answers,
        nps.promoters,
        nps.passives,
        nps.detractors,
        nps.score,
    )


# --- the arithmetic -------------------------------------------------------------------------


def test_csat_and_nps_of_a_month(answered):
    # R1–R4: CSAT (5 + 4 + 3 + 2) / 4 = 3.5, 2 of 4 gave 4–5; NPS 10, 9 promote, 7 is
    # passive, 6 detracts: (2 − 1) / 4 = +25. R4 at 23:30 on the last local day counts, R5 at
    # midnight after it and R6 a minute before the first day do not, nor tenant B's B1.
    result = kpis.return_satisfaction(**period(answered))

    assert figures_of(result) == (4, 3.5, 0.5, 4, 2, 1, 1, 25.0)
    assert result.nps.share == 0.25


def test_an_answer_without_the_0_to_10_score_counts_for_csat_only(answered):
    # M and the day after it: R1–R5. CSAT (5 + 4 + 3 + 2 + 1) / 5 = 3.0, 2 of 5 gave 4–5; R5
    # left the NPS question out, which stays at 4 answers and +25.
    end = answered.last + datetime.timedelta(days=1)

    result = kpis.return_satisfaction(**period(answered, end=end))

    assert figures_of(result) == (5, 3.0, 0.4, 4, 2, 1, 1, 25.0)


def test_the_month_before_has_a_single_detractor(answered):
    before = month_before(answered.month)

    result = kpis.return_satisfaction(
        **period(answered, start=before, end=answered.month - datetime.timedelta(days=1))
    )

    assert figures_of(result) == (1, 5.0, 1.0, 1, 0, 0, 1, -100.0)


def test_no_answers_give_no_figures(answered):
    far = datetime.date(2001, 1, 1)

    result = kpis.return_satisfaction(**period(answered, start=far, end=far))

    assert figures_of(result) == (0, None, None, 0, 0, 0, 0, None)


@pytest.mark.parametrize(
    ("narrowing", "expected"),
    [
        # R1–R3: CSAT (5 + 4 + 3) / 3 = 4; NPS 10, 9, 7: (2 − 0) / 3
        ("customer", (3, 4.0, 2 / 3, 3, 2, 1, 0, 200 / 3)),
        # R3 alone: CSAT 3, NPS 7 is passive: 0
        ("channel", (1, 3.0, 0.0, 1, 0, 1, 0, 0.0)),
        # R3 and R4: CSAT 2.5, NPS 7 and 6: (0 − 1) / 2
        ("category", (2, 2.5, 0.0, 2, 0, 1, 1, -50.0)),
        # R1 and R2: CSAT 4.5, NPS 10 and 9: +100
        ("reason", (2, 4.5, 1.0, 2, 2, 0, 0, 100.0)),
    ],
)
def test_the_dashboards_filters_narrow_the_returns_answered(answered, narrowing, expected):
    filters = {
        "customer": KpiFilters(customer_account_id=answered.a.company.pk),
        "channel": KpiFilters(channel="phone"),
        "category": KpiFilters(category_id=answered.workwear.category_id),
        "reason": KpiFilters(reason="defective"),
    }[narrowing]

    result = figures_of(kpis.return_satisfaction(**period(answered, filters=filters)))

    assert result[:7] == expected[:7]
    assert result[7] == pytest.approx(expected[7])


def test_per_resolution_and_per_customer(answered):
    by_resolution = kpis.return_satisfaction_by(**period(answered), group="resolution")
    by_customer = kpis.return_satisfaction_by(**period(answered), group="customer_account")

    assert {key: figures_of(value) for key, value in by_resolution.items()} == {
        "refund": (2, 4.5, 1.0, 2, 2, 0, 0, 100.0),  # R1, R2
        "credit_note": (1, 3.0, 0.0, 1, 0, 1, 0, 0.0),  # R3
        "replacement": (1, 2.0, 0.0, 1, 0, 0, 1, -100.0),  # R4
    }
    assert by_customer[answered.a.company.pk].csat.ratings == 3
    assert figures_of(by_customer[answered.a.other_company.pk]) == (1, 2.0, 0.0, 1, 0, 0, 1, -100.0)


def test_nps_splits_at_6_and_9():
    nps = kpis.Nps(answers=10, promoters=3, detractors=5)

    assert nps.passives == 2
    assert nps.share == pytest.approx(-0.2)
    assert nps.score == pytest.approx(-20.0)


# --- the dashboard --------------------------------------------------------------------------


def whole_month(d) -> DashboardQuery:
    return DashboardQuery(
        preset="custom",
        start=d.month,
        end=d.last,
        filters=NO_FILTERS,
        today=tenant_today(d.tenant),
    )


def test_tiles_and_table_of_the_dashboard(answered):
    board = build_dashboard(whole_month(answered), tenant=answered.tenant)

    tiles = {tile.key: tile for tile in board.tiles}
    assert tiles["return_csat"].value == 3.5 and tiles["return_csat"].previous == 5.0
    assert tiles["return_csat_satisfied"].value == 0.5
    assert tiles["return_nps"].value == 0.25 and tiles["return_nps"].previous == -1.0
    assert tiles["return_nps"].change == pytest.approx(1.25)  # points, as for rates
    assert tiles["return_nps"].trend == "good"
    table = board.tables["return_satisfaction"]
    assert table.rows == [
        ["Refund", 2, 4.5, 1.0, 2, 2, 0, 1.0],
        ["Credit note", 1, 3.0, 0.0, 1, 0, 0, 0.0],
        ["Replacement", 1, 2.0, 0.0, 1, 0, 1, -1.0],
        ["All returns", 4, 3.5, 0.5, 4, 2, 1, 0.25],
    ]


def tile(html: str, label: str) -> str:
    match = re.search(
        rf'<span class="tile-label">{re.escape(label)}</span>\s*'
        r'<strong class="tile-value">([^<]*)</strong>',
        html,
    )
    assert match, f"no tile {label!r}"
    return unescape(match.group(1)).strip()


def query_string(d) -> str:
    return f"period=custom&from={d.month.isoformat()}&to={d.last.isoformat()}"


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_manager_sees_the_figures_and_exports_them(client, answered):
    client.force_login(answered.a.manager)

    page = client.get("/dashboard/kpis/satisfaction/?" + query_string(answered))
    table = client.get(
        "/dashboard/export/return_satisfaction.csv?separator=comma&" + query_string(answered)
    )
    lines = client.get("/dashboard/export/returns.csv?separator=comma&" + query_string(answered))

    html = page.content.decode()
    assert tile(html, "Returns: satisfaction (average of 1–5)") == "3.50"
    assert tile(html, "Returns: answers of 4–5") == "50.0 %"
    assert tile(html, "Returns: NPS") == "25.0 %"
    assert 'id="table-return_satisfaction"' in html
    assert "Comment on" not in html  # customers' words stay in the back-office
    rows = csv_rows(table)
    assert rows[0][0] == "Resolution" and rows[0][-1] == "NPS"
    assert rows[-1][:3] == ["All returns", "4", "3.5"]
    returned = csv_rows(lines)
    header = returned[0]
    surveyed = {
        row[0]: (row[header.index("survey_csat")], row[header.index("survey_nps")])
        for row in returned[1:]
    }
    # returns submitted in the month: R1–R5 (R5 was answered the day after; R6 before)
    assert surveyed == {"R1": ("5", "10"), "R2": ("4", "9"), "R3": ("3", "7"), "R4": ("2", "6"),
                        "R5": ("1", "")}  # fmt: skip
    assert not any("Comment on" in cell for row in returned for cell in row)


def test_another_tenants_manager_sees_only_their_own_answer(client, answered):
    client.force_login(answered.b.manager)

    html = client.get("/dashboard/kpis/satisfaction/?" + query_string(answered)).content.decode()

    assert tile(html, "Returns: satisfaction (average of 1–5)") == "1.00"
    assert tile(html, "Returns: NPS") == "-100.0 %"


# --- the demo history (last: its data stays until the end of the module) --------------------


def test_the_demo_answers_part_of_its_resolved_returns(demo):
    now = timezone.now()
    answers = ReturnFeedback.unscoped.select_related("return_request")
    history = ReturnRequest.unscoped.filter(
        status__in=[ReturnStatus.RESOLVED, ReturnStatus.CLOSED],
        submitted_at__lt=now - datetime.timedelta(days=30),
    )
    # About a third of the resolved returns of the history are answered.
    assert 0.15 * history.count() < answers.count() < 0.6 * history.count()
    for answer in answers:
        rma = answer.return_request
        assert answer.tenant_id == rma.tenant_id
        assert rma.status in (ReturnStatus.RESOLVED, ReturnStatus.CLOSED)
        assert rma.resolved_at < answer.answered_at <= now
        assert answer.answered_by_id == rma.requester_id
    assert {answer.channel for answer in answers} == set(FeedbackChannel.values)
    assert answers.filter(nps__isnull=True).exists() and answers.exclude(nps=None).exists()
    assert answers.exclude(comment="").exists() and answers.filter(comment="").exists()
    for tenant in Tenant.objects.all():
        assert answers.filter(tenant=tenant).exists(), tenant.slug
        figures = kpis.return_satisfaction(
            tenant=tenant,
            start=tenant_today(tenant) - datetime.timedelta(days=800),
            end=tenant_today(tenant),
        )
        assert figures.csat.ratings == answers.filter(tenant=tenant).count()
        assert 1 <= figures.csat.average <= 5
        assert figures.nps.answers == 0 or -100 <= figures.nps.score <= 100
