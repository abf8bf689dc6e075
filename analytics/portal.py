"""The buyer's own figures (/portal/figures/): what a customer company's administrators see
of their company's returns and complaints, from the KPI layer the manager dashboard reads
(analytics.figures over the rollups), always narrowed to their own company.

The company is the signed-in user's (customers.views.access), never a query parameter: the
only thing the page takes is the period, one of the dashboard's presets of whole days or
months (analytics.periods), compared with the period the dashboard compares it with. Nothing
of other companies, tenant-wide figures, money the merchant spends, staff or internal notes
is read here. docs/kpis.md#the-buyers-own-figures.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from returns.selectors import tenant_today

from . import figures, kpis
from .dashboard import (
    DEFAULT_PRESET,
    PRESETS,
    TILE_SPECS,
    TILE_VALUES,
    Table,
    Tile,
    _Figures,
    _Names,
    reasons_table,
)
from .kpis import KpiFilters
from .periods import comparison_range, preset_range
from .rollup_reader import RollupReader

# The dashboard's presets without custom dates: whole days ending yesterday, whole months,
# or a month or year to date.
PORTAL_PRESETS = {key: label for key, label in PRESETS.items() if key != "custom"}


def _decision_average(f: _Figures):
    return f.of(figures.return_decision_times).average


def _refund_average(f: _Figures):
    return f.of(figures.return_cycle_times)[0]["received_to_resolved"].average


# The tiles of the page: the dashboard's own where it has them, and the two averages a
# buyer waits through (submission → decision, goods received → refund or credit).
TILE_KEYS = (
    "returns",
    "return_rate_quantity",
    "decision_average",
    "refund_average",
    "complaints",
    "complaints_rejected",
)
OWN_TILES = {
    "decision_average": (
        gettext_lazy("Time to decision (average)"),
        "hours",
        "down",
        _decision_average,
    ),
    "refund_average": (
        gettext_lazy("Time to refund or credit (average)"),
        "hours",
        "down",
        _refund_average,
    ),
}


@dataclass(frozen=True)
class BuyerQuery:
    """The period of the page and the one it is compared with."""

    preset: str
    start: datetime.date
    end: datetime.date
    today: datetime.date

    @property
    def previous(self) -> tuple[datetime.date, datetime.date]:
        return comparison_range(self.preset, self.start, self.end)


def parse_period(params, *, tenant) -> tuple[BuyerQuery, str | None]:
    """The period asked for, or the default one (the last 12 months) with the message saying
    why when the value is not one of the presets. Every other parameter is ignored."""
    preset = params.get("period") or DEFAULT_PRESET
    error = None
    if preset not in PORTAL_PRESETS:
        error = _("Choose a period from the list.")
        preset = DEFAULT_PRESET
    today = tenant_today(tenant)
    start, end = preset_range(preset, today)
    return BuyerQuery(preset=preset, start=start, end=end, today=today), error


@dataclass
class BuyerFigures:
    query: BuyerQuery
    tiles: list[Tile]
    tables: dict[str, Table] = field(default_factory=dict)
    open_returns: int = 0
    open_complaints: int = 0


def _tile(key: str, current: _Figures, previous: _Figures) -> Tile:
    if key in OWN_TILES:
        label, kind, better, value = OWN_TILES[key]
    else:
        (label, kind, better), value = TILE_SPECS[key], TILE_VALUES[key]
    return Tile(key, str(label), value(current), value(previous), kind, better)


def _rate_table(key: str, title: str, heading: str, rates: dict, names: dict) -> Table:
    """Per product or category: delivered and returned units and their ratio, the highest
    rate first (then the most returned)."""
    table = Table(
        key,
        title,
        [heading, _("Delivered"), _("Returned"), _("Rate (quantity)")],
        kinds=["text", "count", "count", "rate"],
    )
    ordered = sorted(
        rates.items(),
        key=lambda item: (
            -(item[1].by_quantity or 0),
            -item[1].returned_quantity,
            names.get(item[0], ""),
            item[0],
        ),
    )
    for pk, rate in ordered:
        table.rows.append(
            [names.get(pk, "—"), rate.delivered_quantity, rate.returned_quantity, rate.by_quantity]
        )
        table.links.append(None)
    return table


def _times_table(period: _Figures) -> Table:
    decision = period.of(figures.return_decision_times)
    refund = period.of(figures.return_cycle_times)[0]["received_to_resolved"]
    table = Table(
        "times",
        _("Time to decision and to refund or credit"),
        [_("Stage"), _("Returns"), _("Average"), _("Median")],
        kinds=["text", "count", "hours", "hours"],
    )
    for label, stats in (
        (_("Submitted → decided (approved or rejected)"), decision),
        (_("Goods received → refunded, credited or otherwise resolved"), refund),
    ):
        table.rows.append([label, stats.count, stats.average, stats.median])
        table.links.append(None)
    return table


def _outcomes_table(period: _Figures) -> Table:
    outcomes = period.of(figures.complaint_outcomes)
    table = Table(
        "outcomes",
        _("Complaints by outcome"),
        [_("Outcome"), _("Complaints"), _("Share")],
        kinds=["text", "count", "rate"],
    )
    for label, count, share in (
        (_("Accepted (resolved)"), outcomes.accepted, outcomes.accepted_share),
        (_("Rejected"), outcomes.rejected, outcomes.rejected_share),
    ):
        table.rows.append([label, count, share])
        table.links.append(None)
    return table


def build_buyer_figures(*, account, query: BuyerQuery, now=None) -> BuyerFigures:
    """The figures of `account` (a customer company) over the query's period, each tile with
    its value in the comparison period. A fixed number of queries, whatever the number of
    products, categories and cases."""
    tenant = account.tenant
    filters = KpiFilters(customer_account_id=account.pk)
    reader = RollupReader(tenant=tenant, start=query.start, end=query.end, filters=filters, now=now)
    previous_start, previous_end = query.previous
    previous_reader = RollupReader(
        tenant=tenant, start=previous_start, end=previous_end, filters=filters, now=now
    )
    current, previous = _Figures(reader), _Figures(previous_reader)
    tiles = [_tile(key, current, previous) for key in TILE_KEYS]

    names = _Names(tenant)
    by_product = figures.return_rate_by(reader, "product")
    by_category = figures.return_rate_by(reader, "category")
    tables = {
        "products": _rate_table(
            "products",
            _("Return rate by product"),
            _("Product"),
            by_product,
            names.load("product", by_product),
        ),
        "categories": _rate_table(
            "categories",
            _("Return rate by category"),
            _("Category"),
            by_category,
            names.load("category", by_category),
        ),
        "reasons": reasons_table(reader, None),
        "times": _times_table(current),
        "outcomes": _outcomes_table(current),
    }
    backlog = kpis.backlog(tenant=tenant, end=query.today, filters=filters)
    return BuyerFigures(
        query=query,
        tiles=tiles,
        tables=tables,
        open_returns=backlog["returns"].open_cases,
        open_complaints=backlog["complaints"].open_cases,
    )
