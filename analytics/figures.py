"""The dashboard's KPI figures, read from the rollups (analytics.rollup_reader) in the shapes
analytics.kpis computes live; where no stored slice answers a filter combination exactly,
the figure is computed live by analytics.kpis over the same period and filters."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count
from django.db.models.functions import TruncDate, TruncMonth

from returns.models import Disposition, ReturnResolution

from . import kpis
from .histograms import Durations
from .kpis import (
    NOT_RETURNED,
    REJECTED,
    RESOLVED_RETURN,
    RETURN_STAGES,
    Csat,
    DispositionFigure,
    ReasonFigure,
    Region,
    ResolutionQuality,
    ReturnMoney,
    ReturnRate,
    SlaCompliance,
    filtered_return_requests,
    tenant_period,
)
from .periods import DurationStats, ratio
from .rollup_reader import RollupReader
from .slices import RETURN_SLICES, normalise

ZERO = Decimal("0.00")
RATE_MEASURES = ("delivered_quantity", "delivered_value", "returned_quantity", "returned_value")
RATE_GROUP_LETTER = {"category": "g", "product": "p", "customer_account": "c"}
RATE_GROUP_COLUMN = {
    "category": "category_id",
    "product": "product_id",
    "customer_account": "customer_account_id",
}


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(ZERO)


def _live(reader: RollupReader) -> dict:
    return {
        "tenant": reader.tenant,
        "start": reader.start,
        "end": reader.end,
        "filters": reader.filters,
    }


# --- returns --------------------------------------------------------------------------------


def return_rate(reader: RollupReader) -> ReturnRate:
    returned = reader.total("returns", ("returned_quantity", "returned_value"))
    delivered = reader.total("returns", ("delivered_quantity", "delivered_value"), deliveries=True)
    return ReturnRate(
        delivered_quantity=int(delivered["delivered_quantity"]),
        returned_quantity=int(returned["returned_quantity"]),
        delivered_value=_money(delivered["delivered_value"]),
        returned_value=_money(returned["returned_value"]),
    )


def return_rate_by(reader: RollupReader, group: str) -> dict[int, ReturnRate]:
    """Per category, product or customer account (key: its id), like kpis.return_rate_by."""
    letter, column = RATE_GROUP_LETTER[group], RATE_GROUP_COLUMN[group]
    returned = reader.sums("returns", ("returned_quantity", "returned_value"), group=letter)
    delivered = reader.sums(
        "returns", ("delivered_quantity", "delivered_value"), group=letter, deliveries=True
    )
    columns = reader_group_columns(letter)
    index = columns.index(column)

    def by_id(sums):
        merged: dict[int, dict] = {}
        for key, values in sums.items():
            target = merged.setdefault(key[index], dict.fromkeys(values, 0))
            for name, value in values.items():
                target[name] += value
        return merged

    returned, delivered = by_id(returned), by_id(delivered)
    empty = dict.fromkeys(RATE_MEASURES, 0)
    rates = {}
    for key in returned.keys() | delivered.keys():
        r, d = returned.get(key, empty), delivered.get(key, empty)
        if not (r.get("returned_quantity") or d.get("delivered_quantity")):
            continue
        rates[key] = ReturnRate(
            delivered_quantity=int(d.get("delivered_quantity", 0)),
            returned_quantity=int(r.get("returned_quantity", 0)),
            delivered_value=_money(d.get("delivered_value")),
            returned_value=_money(r.get("returned_value")),
        )
    return rates


def reader_group_columns(letter: str) -> tuple[str, ...]:
    return RETURN_SLICES.columns(normalise(letter))


# The returns of the period and those of them filed by exception: read together.
RETURN_COUNT_MEASURES = ("returns", "by_exception", "by_exception_value")


def returns_count(reader: RollupReader) -> int:
    total = reader.total("returns", RETURN_COUNT_MEASURES, exact=True)
    if total is None:
        return kpis.returns_count(**_live(reader))
    return int(total["returns"])


def return_reasons(reader: RollupReader) -> dict[str, ReasonFigure]:
    sums = reader.sums("returns", ("returned_lines", "returned_quantity"), group="r")
    total = sum(values["returned_lines"] for values in sums.values())
    return {
        key[0]: ReasonFigure(
            lines=int(values["returned_lines"]),
            quantity=int(values["returned_quantity"]),
            share=ratio(values["returned_lines"], total),
        )
        for key, values in sums.items()
        if values["returned_lines"]
    }


def returns_by_channel(reader: RollupReader) -> dict[str, int]:
    """Returns per channel, like kpis.returns_by_channel."""
    sums = reader.sums("returns", ("returns",), group="h", exact=True)
    if sums is None:
        return kpis.returns_by_channel(**_live(reader))
    return {key[0]: int(values["returns"]) for key, values in sums.items() if values["returns"]}


@dataclass(frozen=True)
class RegionFigure:
    """A region's returns (submitted in the period), their returned value, and complaints
    filed."""

    returns: int
    returned_value: Decimal
    complaints: int


def by_region(reader: RollupReader) -> dict[Region, RegionFigure]:
    """Per region of the customer accounts (billing country and region), like
    kpis.returns_by_region, kpis.returned_value_by_region and kpis.complaints_by_region;
    only regions with any of the three."""
    returns = reader.sums("returns", ("returns",), group="l", exact=True)
    if returns is None:
        returns = {
            (region.country, region.name): {"returns": count}
            for region, count in kpis.returns_by_region(**_live(reader)).items()
        }
    values = reader.sums("returns", ("returned_value",), group="l")
    complaints = reader.sums("complaints", ("filed",), group="l")
    figures = {}
    for key in returns.keys() | values.keys() | complaints.keys():
        figure = RegionFigure(
            returns=int(returns.get(key, {}).get("returns", 0)),
            returned_value=_money(values.get(key, {}).get("returned_value")),
            complaints=int(complaints.get(key, {}).get("filed", 0)),
        )
        if figure.returns or figure.returned_value or figure.complaints:
            figures[Region(*key)] = figure
    return figures


RETURN_CLOCK_MEASURES = ("decision_met", "decision_missed", "refund_met", "refund_missed")
UPDATE_CADENCE_MEASURES = ("updates_kept", "updates_lapsed")
# Read together, in one sum per reader: the clocks of returns with their cadence, the
# complaints' SLA compliance with theirs (tiles and the SLA table ask for both).
RETURN_PROMISE_MEASURES = (*RETURN_CLOCK_MEASURES, *UPDATE_CADENCE_MEASURES)
COMPLAINT_SLA_MEASURES = (
    "first_response_met",
    "first_response_missed",
    "resolution_met",
    "resolution_missed",
    *UPDATE_CADENCE_MEASURES,
)


def return_sla_compliance(reader: RollupReader) -> dict[str, SlaCompliance]:
    """The clocks of returns that stopped in the period, like kpis.return_sla_compliance."""
    total = reader.total("returns", RETURN_PROMISE_MEASURES, exact=True)
    if total is None:
        return kpis.return_sla_compliance(**_live(reader))
    return {
        clock: SlaCompliance(met=int(total[f"{clock}_met"]), missed=int(total[f"{clock}_missed"]))
        for clock in ("decision", "refund")
    }


def _kept(total: dict) -> SlaCompliance:
    return SlaCompliance(met=int(total["updates_kept"]), missed=int(total["updates_lapsed"]))


def update_cadence(reader: RollupReader) -> dict[str, SlaCompliance]:
    """The customer-update cadence kept by the cases resolved in the period (returns,
    complaints, all), like kpis.update_cadence."""
    total = reader.total("returns", RETURN_PROMISE_MEASURES, exact=True)
    returns = kpis.update_cadence(**_live(reader))["returns"] if total is None else _kept(total)
    complaints = _kept(reader.total("complaints", COMPLAINT_SLA_MEASURES))
    return {
        "returns": returns,
        "complaints": complaints,
        "all": kpis.cadence_together(returns, complaints),
    }


def returns_by_resolution(reader: RollupReader) -> dict[str, int]:
    measures = (*(f"resolved_{value}" for value in ReturnResolution.values), "rejected")
    total = reader.total("returns", measures, exact=True)
    if total is None:
        return kpis.returns_by_resolution(**_live(reader))
    counts = {value: int(total[f"resolved_{value}"]) for value in ReturnResolution.values}
    counts[REJECTED] = int(total["rejected"])
    return counts


def returns_by_disposition(reader: RollupReader) -> dict[str, DispositionFigure]:
    measures = tuple(
        f"{value}_{part}" for value in Disposition.values for part in ("lines", "quantity", "value")
    )
    total = reader.total("returns", measures)
    return {
        value: DispositionFigure(
            lines=int(total[f"{value}_lines"]),
            accepted_quantity=int(total[f"{value}_quantity"]),
            value=_money(total[f"{value}_value"]),
        )
        for value in Disposition.values
    }


def return_money(reader: RollupReader) -> ReturnMoney:
    total = reader.total(
        "returns", ("refunded_value", "credited_value", "restocking_fees"), exact=True
    )
    goods = reader.total("returns", ("restock_value", "scrap_value"))
    if total is None:
        return kpis.return_money(**_live(reader))
    return ReturnMoney(
        refunded=_money(total["refunded_value"]),
        credited=_money(total["credited_value"]),
        restocking_fees=_money(total["restocking_fees"]),
        restocked_value=_money(goods["restock_value"]),
        scrapped_value=_money(goods["scrap_value"]),
    )


@dataclass(frozen=True)
class SlowCase:
    pk: int
    number: str
    hours: float


def return_cycle_times(reader: RollupReader) -> tuple[dict[str, DurationStats], list[SlowCase]]:
    """Per stage: count, average (exact), median and p90 (from the histogram); and the
    slowest returns resolved in the period (submitted → resolved)."""
    stats, slowest = {}, []
    for stage in RETURN_STAGES:
        details = reader.details(
            "returns", stage, count_measure=f"{stage}_count", hours_measure=f"{stage}_hours"
        )
        if details is None:
            return kpis.return_cycle_times(**_live(reader)), live_slowest_returns(reader)
        durations, cases = details
        stats[stage] = durations.stats()
        if stage == "submitted_to_resolved":
            slowest = [SlowCase(pk=c[1], number=c[2], hours=c[0]) for c in cases]
    return stats, slowest


def return_decision_times(reader: RollupReader) -> DurationStats:
    """Submission → decision (approval or rejection) of the returns decided in the period,
    read live like kpis.return_decision_times (the rollups keep no decision stage)."""
    return kpis.return_decision_times(**_live(reader))


def live_slowest_returns(reader: RollupReader, limit: int = 10) -> list[SlowCase]:
    period = tenant_period(reader.tenant, reader.start, reader.end)
    rows = (
        filtered_return_requests(reader.tenant, reader.filters)
        .filter(
            status__in=RESOLVED_RETURN,
            submitted_at__isnull=False,
            **period.instant_filter("resolved_at"),
        )
        .values_list("pk", "number", "submitted_at", "resolved_at")
    )
    cases = [
        SlowCase(pk=pk, number=number, hours=round((b - a).total_seconds() / 3600, 2))
        for pk, number, a, b in rows
    ]
    return sorted(cases, key=lambda case: (-case.hours, case.pk))[:limit]


# --- complaints -----------------------------------------------------------------------------


def complaint_volume(reader: RollupReader) -> dict[str, dict[str, int]]:
    sums = reader.sums("complaints", ("filed",), group="k")
    volume: dict[str, dict[str, int]] = {"category": {}, "priority": {}}
    for (category, priority), values in sums.items():
        if not values["filed"]:
            continue
        volume["category"][category] = volume["category"].get(category, 0) + values["filed"]
        volume["priority"][priority] = volume["priority"].get(priority, 0) + values["filed"]
    return volume


def complaints_by_channel(reader: RollupReader) -> dict[str, int]:
    """Complaints filed per channel, like kpis.complaints_by_channel."""
    sums = reader.sums("complaints", ("filed",), group="h")
    return {key[0]: int(values["filed"]) for key, values in sums.items() if values["filed"]}


def complaints_filed(reader: RollupReader) -> int:
    return int(reader.total("complaints", ("filed",))["filed"])


def complaint_sla_compliance(reader: RollupReader) -> dict[str, SlaCompliance]:
    total = reader.total("complaints", COMPLAINT_SLA_MEASURES)
    return {
        "first_response": SlaCompliance(
            met=int(total["first_response_met"]), missed=int(total["first_response_missed"])
        ),
        "resolution": SlaCompliance(
            met=int(total["resolution_met"]), missed=int(total["resolution_missed"])
        ),
    }


def complaint_response_times(
    reader: RollupReader,
) -> tuple[dict[str, DurationStats], list[SlowCase]]:
    stats, slowest = {}, []
    for stage, count, hours in (
        ("first_response", "first_responses", "first_response_hours"),
        ("resolution", "resolved", "resolution_hours"),
    ):
        details = reader.details("complaints", stage, count_measure=count, hours_measure=hours)
        if details is None:
            return kpis.complaint_response_times(**_live(reader)), []
        durations, cases = details
        stats[stage] = durations.stats()
        if stage == "resolution":
            slowest = [SlowCase(pk=c[1], number=c[2], hours=c[0]) for c in cases]
    return stats, slowest


def complaint_resolution_quality(reader: RollupReader) -> ResolutionQuality:
    total = reader.total("complaints", ("resolved", "reopened", "first_contact"))
    return ResolutionQuality(
        resolved=int(total["resolved"]),
        reopened=int(total["reopened"]),
        first_contact=int(total["first_contact"]),
    )


def sla_rate(sums: dict, clock: str) -> float | None:
    """Share of the clock (first_response or resolution) stopped within SLA, from rollup
    sums; None when no clock stopped."""
    met, missed = sums.get(f"{clock}_met", 0), sums.get(f"{clock}_missed", 0)
    return ratio(met, met + missed)


def csat_from_sums(values: dict) -> Csat:
    return Csat(
        ratings=int(values["ratings"]),
        average=values["score_total"] / values["ratings"] if values["ratings"] else None,
        satisfied_share=ratio(values["satisfied"], values["ratings"]),
    )


CSAT_MEASURES = ("ratings", "score_total", "satisfied")


def csat(reader: RollupReader) -> Csat:
    return csat_from_sums(reader.total("complaints", CSAT_MEASURES))


def csat_by(reader: RollupReader, group: str) -> dict[int | None, Csat]:
    """Per agent (None: unassigned) or per customer account, like kpis.csat_by."""
    letter = {"agent": "a", "customer_account": "c"}[group]
    sums = reader.sums("complaints", CSAT_MEASURES, group=letter)
    figures = {}
    for (key,), values in sums.items():
        if values["ratings"]:
            figures[(key or None) if group == "agent" else key] = csat_from_sums(values)
    return figures


# --- returns' satisfaction survey ---------------------------------------------------------
# Read live from the answers (index tenant, answered_at), not from rollups: at most one answer
# per resolved return, a few rows per day where the rollups' cells count lines.


def returns_by_exception(reader: RollupReader) -> kpis.Exceptions:
    """Returns filed against the policy in the period, like kpis.returns_by_exception."""
    total = reader.total("returns", RETURN_COUNT_MEASURES, exact=True)
    if total is None:
        return kpis.returns_by_exception(**_live(reader))
    return kpis.Exceptions(
        returns=int(total["returns"]),
        by_exception=int(total["by_exception"]),
        by_exception_value=_money(total["by_exception_value"]),
    )


def complaint_outcomes(reader: RollupReader) -> kpis.ComplaintOutcomes:
    """Accepted and rejected complaints of the period, from the complaints (indexed by
    resolved_at and closed_at): kpis.complaint_outcomes."""
    return kpis.complaint_outcomes(**_live(reader))


def repeat_complaints(reader: RollupReader) -> kpis.RepeatComplaints:
    """Repeat complaints of the period, like kpis.repeat_complaints (counted on the day each
    was filed)."""
    total = reader.total("complaints", ("filed_with_product", "repeats"))
    return kpis.RepeatComplaints(
        with_product=int(total["filed_with_product"]), repeats=int(total["repeats"])
    )


def return_satisfaction(reader: RollupReader) -> kpis.ReturnSatisfaction:
    """CSAT and NPS of the survey answers given in the period, like kpis.return_satisfaction."""
    return kpis.return_satisfaction(**_live(reader))


def return_satisfaction_by(reader: RollupReader, group: str) -> dict:
    """Per resolution or customer account, like kpis.return_satisfaction_by."""
    return kpis.return_satisfaction_by(**_live(reader), group=group)


def complaint_nps(reader: RollupReader) -> kpis.Nps:
    """NPS of the complaints' ratings given in the period, read live like the returns' (one
    rating per complaint, indexed by tenant and created_at): kpis.complaint_nps."""
    return kpis.complaint_nps(**_live(reader))


# --- trend ----------------------------------------------------------------------------------

TREND_RETURN_MEASURES = ("returned_lines", "returned_quantity", "returned_value")
TREND_COMPLAINT_MEASURES = (
    "filed",
    "first_response_met",
    "first_response_missed",
    "resolution_met",
    "resolution_missed",
    *CSAT_MEASURES,
)


@dataclass(frozen=True)
class TrendPoint:
    bucket: datetime.date
    returns: int
    returned_quantity: int
    delivered_quantity: int
    complaints: int
    first_response_sla: float | None
    resolution_sla: float | None
    csat: float | None

    @property
    def return_rate(self) -> float | None:
        return ratio(self.returned_quantity, self.delivered_quantity)


def trend_granularity(start: datetime.date, end: datetime.date) -> str:
    return "day" if (end - start).days < 62 else "month"


def live_returns_by_bucket(reader: RollupReader, by: str) -> dict[tuple, dict]:
    """Returns per day or month of submission, from the source tables (filters without a
    slice of their own), keyed like RollupReader.sums."""
    period = tenant_period(reader.tenant, reader.start, reader.end)
    trunc = TruncDate if by == "day" else TruncMonth
    rows = (
        filtered_return_requests(reader.tenant, reader.filters)
        .filter(**period.instant_filter("submitted_at"))
        .exclude(status__in=NOT_RETURNED)
        .annotate(bucket=trunc("submitted_at", tzinfo=period.zone))
        .values("bucket")
        .annotate(returns=Count("id"))
        .order_by()
    )
    buckets = {}
    for row in rows:
        bucket = row["bucket"]
        if isinstance(bucket, datetime.datetime):
            bucket = bucket.astimezone(period.zone).date()
        buckets[(bucket,)] = {"returns": row["returns"]}
    return buckets


def trend(reader: RollupReader) -> list[TrendPoint]:
    by = trend_granularity(reader.start, reader.end)
    returned = reader.sums("returns", TREND_RETURN_MEASURES, by=by)
    delivered = reader.sums("returns", ("delivered_quantity",), by=by, deliveries=True)
    requests = reader.sums("returns", ("returns",), by=by, exact=True)
    if requests is None:
        requests = live_returns_by_bucket(reader, by)
    complaints = reader.sums("complaints", TREND_COMPLAINT_MEASURES, by=by)
    buckets = []
    day = reader.start if by == "day" else reader.start.replace(day=1)
    while day <= reader.end:
        buckets.append(day)
        day = (
            day + datetime.timedelta(days=1)
            if by == "day"
            else (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        )
    points = []
    for bucket in buckets:
        r = returned.get((bucket,), {})
        c = complaints.get((bucket,), {})
        count = requests.get((bucket,), {}).get("returns")
        points.append(
            TrendPoint(
                bucket=bucket,
                returns=int(count if count is not None else 0),
                returned_quantity=int(r.get("returned_quantity", 0)),
                delivered_quantity=int(delivered.get((bucket,), {}).get("delivered_quantity", 0)),
                complaints=int(c.get("filed", 0)),
                first_response_sla=sla_rate(c, "first_response"),
                resolution_sla=sla_rate(c, "resolution"),
                csat=csat_from_sums(c).average if c.get("ratings") else None,
            )
        )
    return points


__all__ = [
    "Durations",
    "RegionFigure",
    "SlowCase",
    "TrendPoint",
    "by_region",
    "complaint_nps",
    "complaint_resolution_quality",
    "complaint_response_times",
    "complaint_sla_compliance",
    "complaint_volume",
    "complaints_by_channel",
    "complaints_filed",
    "csat",
    "csat_by",
    "return_cycle_times",
    "return_decision_times",
    "return_money",
    "return_rate",
    "return_rate_by",
    "return_reasons",
    "return_satisfaction",
    "return_satisfaction_by",
    "return_sla_compliance",
    "returns_by_channel",
    "returns_by_disposition",
    "returns_by_resolution",
    "returns_count",
    "trend",
    "update_cadence",
]
