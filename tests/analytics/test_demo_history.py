"""`seed_demo` gives each demo tenant a year of returns and complaints, consistent with what the
services write, so the KPI dashboard has months to compare."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import kpis
from analytics.demo import history_span
from complaints.models import Complaint, ComplaintMessage, SatisfactionRating
from customers.models import OrderLine
from returns.models import ReturnEvent, ReturnLine, ReturnRequest, ReturnStatus
from rma_portal.tenancy.models import Tenant
from tests.conftest import run_seed_demo

pytestmark = pytest.mark.django_db

NOT_CLAIMING = (ReturnStatus.DRAFT, ReturnStatus.CANCELLED, ReturnStatus.REJECTED)
OUR_FAULT = {"defective", "damaged_in_transport", "wrong_item"}  # returns.demo's policy


@pytest.fixture
def seeded(demo) -> None:
    """The demo of tests/conftest.py, seeded once for this module."""


def local_today(tenant) -> datetime.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.timezone))


def month_of(moment: datetime.datetime, tenant) -> datetime.date:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(tenant.timezone)).date().replace(day=1)


def months_before(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def test_each_tenant_has_a_year_of_returns_that_add_up(seeded):
    now = timezone.now()

    for tenant in Tenant.objects.all():
        returns = ReturnRequest.unscoped.filter(tenant=tenant)
        this_month = local_today(tenant).replace(day=1)
        submitted_months = {
            month_of(at, tenant)
            for at in returns.exclude(submitted_at=None).values_list("submitted_at", flat=True)
        }
        assert {months_before(this_month, n) for n in range(12)} <= submitted_months
        assert returns.filter(submitted_at__lt=now - datetime.timedelta(days=300)).exists()

        # No order line is claimed beyond what was delivered.
        claimed = Counter()
        for order_line_id, quantity in (
            ReturnLine.unscoped.filter(tenant=tenant)
            .exclude(return_request__status__in=NOT_CLAIMING)
            .values_list("order_line_id", "quantity")
        ):
            claimed[order_line_id] += quantity
        delivered = dict(OrderLine.unscoped.filter(pk__in=claimed).values_list("pk", "quantity"))
        assert all(claimed[pk] <= delivered[pk] for pk in claimed)

        lines = defaultdict(list)
        for line in ReturnLine.unscoped.filter(return_request__in=returns):
            lines[line.return_request_id].append(line)
        finished = returns.filter(status__in=[ReturnStatus.RESOLVED, ReturnStatus.CLOSED])
        assert finished.count() > 0.6 * returns.count()
        for rma in finished:
            assert rma.submitted_at <= rma.approved_at <= rma.received_at
            assert rma.received_at <= rma.inspected_at <= rma.resolved_at <= now
            assert rma.closed_at is None or rma.resolved_at <= rma.closed_at <= now
            assert all(line.disposition for line in lines[rma.pk])
            assert all(line.accepted_quantity is not None for line in lines[rma.pk])
            assert rma.refund_total == sum(line.refund_amount for line in lines[rma.pk])
            if rma.resolution in ("refund", "credit_note"):
                assert rma.refund_total == rma.accepted_value - rma.restocking_fee
                if {line.reason for line in lines[rma.pk]} <= OUR_FAULT:
                    assert rma.restocking_fee == Decimal("0.00")
            else:
                assert rma.refund_total == Decimal("0.00")

        # The timeline says the same as the status.
        last_event = {}
        for event in ReturnEvent.unscoped.filter(return_request__in=returns).order_by(
            "created_at", "pk"
        ):
            assert event.created_at <= now
            last_event[event.return_request_id] = event
        assert all(last_event[rma.pk].to_status == rma.status for rma in returns)
        assert returns.filter(status=ReturnStatus.REJECTED).exclude(rejection_reason="").exists()
        assert returns.filter(auto_approved=True).exists()

        # Some approved returns never saw their goods: reminded, then expired after ship_by.
        expired = returns.filter(status=ReturnStatus.EXPIRED)
        assert expired.exists()
        for rma in expired:
            assert rma.approved_at < rma.ship_reminded_at < rma.ship_by < rma.expired_at <= now
            actions = [
                e.action for e in ReturnEvent.unscoped.filter(return_request=rma).order_by("pk")
            ]
            assert actions[-2:] == ["ship_reminder", "expired"]

    baltic = Tenant.objects.get(slug="baltic")
    reasons = Counter(ReturnLine.unscoped.filter(tenant=baltic).values_list("reason", flat=True))
    assert "wrong_size" in [reason for reason, _count in reasons.most_common(2)]


def test_each_tenant_has_a_year_of_complaints_with_sla_outcomes_and_ratings(seeded):

    for tenant in Tenant.objects.all():
        first, last = history_span(tenant=tenant)
        assert (last - first).days >= 330
        assert last <= local_today(tenant)

        complaints = Complaint.unscoped.filter(tenant=tenant)
        per_month = Counter(
            month_of(at, tenant) for at in complaints.values_list("created_at", flat=True)
        )
        this_month = local_today(tenant).replace(day=1)
        assert all(per_month[months_before(this_month, n)] >= 3 for n in range(1, 12))

        sla = kpis.complaint_sla_compliance(tenant=tenant, start=first, end=last)
        for clock in ("first_response", "resolution"):
            assert sla[clock].missed > 0
            assert sla[clock].rate > 0.7

        quality = kpis.complaint_resolution_quality(tenant=tenant, start=first, end=last)
        assert quality.reopened > 0
        assert 0.4 < quality.first_contact_resolution_rate < 0.85
        assert complaints.filter(sla_paused_seconds__gt=0).exists()
        assert ComplaintMessage.unscoped.filter(tenant=tenant, is_internal=True).exists()

        ratings = SatisfactionRating.unscoped.filter(tenant=tenant).select_related("complaint")
        assert ratings.count() > 20
        for rating in ratings:
            assert rating.rated_by_id == rating.complaint.reporter_id
            assert rating.created_at >= rating.complaint.resolved_at
        # Agent and coordinator both handled rated complaints: CSAT per agent compares two.
        by_agent = kpis.csat_by(tenant=tenant, start=first, end=last, group="agent")
        assert len(by_agent) == 2
        assert None not in by_agent


def test_running_seed_demo_again_adds_no_history(seeded, monkeypatch):
    counted = (ReturnRequest, ReturnEvent, Complaint, ComplaintMessage, SatisfactionRating)

    def counts() -> dict[str, int]:
        return {model.__name__: model.unscoped.count() for model in counted}

    before = counts()

    # when: run again the same day, then half a year later
    run_seed_demo()
    same_day = counts()
    later = timezone.now() + datetime.timedelta(days=200)
    monkeypatch.setattr(timezone, "now", lambda: later)
    run_seed_demo()

    # then
    assert same_day == before
    assert counts() == before


def test_the_demo_manager_walks_from_the_dashboard_to_the_wrong_size_returns(seeded, client):
    """The demo's walk-through: 12 months of figures, "wrong size" in the reasons chart drills down
    to those returns, the list exports to CSV, and last month's PDF report downloads."""
    import re
    from html import unescape

    from django.conf import settings

    response = client.post(
        "/accounts/login/",
        {"username": "manager@baltic.demo", "password": settings.DEMO_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/").url == "/dashboard/"
    html = client.get("/dashboard/").content.decode()
    assert "has not been rolled up yet" not in html
    returns = re.search(
        r'<span class="tile-label">Returns</span>\s*<strong class="tile-value">([\d\s,.]+)<', html
    )
    assert returns and int(re.sub(r"\D", "", returns.group(1))) > 30
    # The monthly trend has 12 months, and returns in each of the last 12 months.
    trend = re.search(r'id="spec-trend" type="application/json">(.*?)</script>', html).group(1)
    import json

    spec = json.loads(trend)
    assert len(spec["labels"]) == 12
    assert all(count > 0 for count in spec["datasets"][0]["data"][:-1])
    # The returns section, with the same period, drills down from the reason.
    nav = re.search(r'<a href="(/dashboard/kpis/returns/[^"]*)"', html)
    assert nav
    returns_html = client.get(unescape(nav.group(1))).content.decode()
    link = re.search(r'<a href="([^"]+)">Wrong size or dimensions</a>', returns_html)
    assert link
    listing = client.get(unescape(link.group(1)))
    assert listing.status_code == 200
    rows = re.findall(r"returnrequest/(\d+)/change/", listing.content.decode())
    assert rows
    export_url = unescape(link.group(1)).replace(
        "/dashboard/returns/", "/dashboard/export/returns.csv"
    )
    export = client.get(export_url)
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(body)))
    assert rows
    assert {row[header.index("reason")] for row in rows} >= {"wrong_size"}
    # Last month's report.
    tenant = Tenant.objects.get(slug="baltic")
    month = (local_today(tenant).replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    assert f"/dashboard/reports/{month:%Y-%m}.pdf" in html
    pdf = client.get(f"/dashboard/reports/{month:%Y-%m}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_the_demo_shows_regions_and_the_clocks_of_returns(seeded):
    """Every demo company has a voivodeship, and the year's returns were decided and refunded
    on their clocks, some on time and some late, so each new figure has something to show."""
    for tenant in Tenant.objects.all():
        today = local_today(tenant)
        period = {"tenant": tenant, "start": months_before(today.replace(day=1), 11), "end": today}
        regions = kpis.returns_by_region(**period)
        assert len(regions) >= 2
        assert all(region.country == "PL" and region.name for region in regions)
        assert kpis.complaints_by_region(**period)
        clocks = kpis.return_sla_compliance(**period)
        for name in ("decision", "refund"):
            assert clocks[name].met > 0 and clocks[name].missed > 0, (tenant.slug, name)
        # The clocks were run as the services run them: each decision's due moment follows
        # its start, and a clock stops no earlier than it started.
        decided = ReturnRequest.unscoped.filter(tenant=tenant, decided_at__isnull=False)
        for rma in decided.only("decision_started_at", "decision_due_at", "decided_at"):
            assert rma.decision_started_at < rma.decision_due_at
            assert rma.decision_started_at <= rma.decided_at


def test_the_demo_shows_the_update_cadence_and_the_complaints_nps(seeded):
    """The year's cases kept their customer-update cadence or lapsed as the SLA watch would
    have counted it (some kept by a staff update before the due moment), and part of the
    complaints' ratings answered the 0–10 question, so both figures have something to show."""
    for tenant in Tenant.objects.all():
        today = local_today(tenant)
        period = {"tenant": tenant, "start": months_before(today.replace(day=1), 11), "end": today}
        cadence = kpis.update_cadence(**period)
        for kind in ("returns", "complaints"):
            assert cadence[kind].met > 0 and cadence[kind].missed > 0, (tenant.slug, kind)
        # Lapses are counted while a case is the merchant's: never on a case that never was.
        never = ReturnRequest.unscoped.filter(tenant=tenant, submitted_at__isnull=True)
        assert not never.filter(update_lapses__gt=0).exists()
        # The staff's updates that kept it are public, and the customer's last update is one.
        updates = ReturnEvent.unscoped.filter(tenant=tenant, action="comment", is_public=True)
        assert updates.exists()
        assert all(event.actor and not event.actor.is_customer for event in updates)
        told = ReturnRequest.unscoped.filter(tenant=tenant, customer_updated_at__isnull=False)
        assert told.exists()
        assert all(rma.customer_updated_at <= timezone.now() for rma in told)

        nps = kpis.complaint_nps(**period)
        assert nps.answers > 10 and nps.promoters > 0 and nps.detractors > 0
        assert -100 <= nps.score <= 100
        ratings = SatisfactionRating.unscoped.filter(tenant=tenant)
        assert ratings.filter(nps__isnull=True).exists()  # the 0–10 question left out
        assert {rating.channel for rating in ratings} == {"email", "portal"}
