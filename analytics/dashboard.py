"""What the manager dashboard asks for and shows: the period (presets or custom dates), the
comparison period, the filters checked against the tenant's own rows, and every tile, chart
and table, read through analytics.figures."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.models import ComplaintCategory, Priority
from customers.cases import CaseChannel
from customers.models import CustomerAccount, Product, ProductCategory
from returns.models import Disposition, ReturnReason, ReturnResolution
from returns.selectors import tenant_today
from rma_portal.accounts.models import STAFF_ROLES, Role, User
from rma_portal.ids import parse_id

from . import figures, kpis
from .kpis import REJECTED, KpiFilters, Region
from .periods import comparison_range, preset_range
from .rollup_reader import RollupReader
from .rollups import month_end
from .templatetags.kpi_format import format_kpi

MAX_PERIOD_DAYS = 3 * 366
# The drill-down lists' `missed=` value of the cases whose customer-update cadence lapsed.
UPDATES = "updates"
EARLIEST_DAY = datetime.date(2000, 1, 1)
TOP = 10

PRESETS = {
    "7d": gettext_lazy("Last 7 days"),
    "30d": gettext_lazy("Last 30 days"),
    "90d": gettext_lazy("Last 90 days"),
    "12m": gettext_lazy("Last 12 months"),
    "this_month": gettext_lazy("This month"),
    "last_month": gettext_lazy("Last month"),
    "this_year": gettext_lazy("This year"),
    "custom": gettext_lazy("Custom"),
}
DEFAULT_PRESET = "12m"


class DashboardInputError(ValueError):
    """The dashboard's query string asks for something impossible; the message says what."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class DashboardQuery:
    preset: str
    start: datetime.date
    end: datetime.date
    filters: KpiFilters
    today: datetime.date

    @property
    def previous(self) -> tuple[datetime.date, datetime.date]:
        """The period compared with (analytics.periods.comparison_range): a month or year to
        date against the same days of the one before, whole months against as many whole
        months just before, other periods against as many days just before."""
        return comparison_range(self.preset, self.start, self.end)

    @property
    def includes_today(self) -> bool:
        return self.start <= self.today <= self.end

    def params(self, **changes) -> dict[str, str]:
        """The query string of this view (with changes), for links and exports."""
        values = {
            "period": self.preset,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "customer": self.filters.customer_account_id or "",
            "category": self.filters.category_id or "",
            "product": self.filters.product_id or "",
            "reason": self.filters.reason or "",
            "channel": self.filters.channel or "",
            "region": self.filters.region.key if self.filters.region else "",
        }
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in ("", None)}

    def url(self, name: str, **changes) -> str:
        return f"{reverse(name)}?{urlencode(self.params(**changes))}"


def _date(value: str, name: str, errors: dict) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Enter the date as YYYY-MM-DD.")
        return None


def _id(value: str, name: str, model, tenant, errors: dict, label: str) -> int | None:
    if not value:
        return None
    number = parse_id(value)
    if number is None or not model.objects.for_tenant(tenant).filter(pk=number).exists():
        errors[name] = _("Choose a %(what)s from the list.") % {"what": label}
        return None
    return number


def region_choices(tenant) -> list[tuple[str, str]]:
    """The regions of the tenant's customer accounts, as (query value, label): "PL:mazowieckie"
    and "PL · mazowieckie", "PL:" and "PL · (no region)"."""
    rows = (
        CustomerAccount.objects.for_tenant(tenant)
        .order_by("billing_country", "billing_region")
        .values_list("billing_country", "billing_region")
        .distinct()
    )
    return [(region.key, region.label) for region in (Region(*row) for row in rows)]


def _region(value: str, tenant, errors: dict) -> Region | None:
    """A region some customer account of the tenant is in (another tenant's regions are not
    offered), or None with the error noted."""
    if not value:
        return None
    region = Region.from_key(value)
    if region is None or not (
        CustomerAccount.objects.for_tenant(tenant)
        .filter(billing_country=region.country, billing_region=region.name)
        .exists()
    ):
        errors["region"] = _("Choose a region from the list.")
        return None
    return region


def parse_query(params, *, tenant) -> DashboardQuery:
    """The dashboard's query string, checked; DashboardInputError lists every problem."""
    today = tenant_today(tenant)
    errors: dict[str, str] = {}
    preset = params.get("period") or (
        "custom" if params.get("from") or params.get("to") else DEFAULT_PRESET
    )
    if preset not in PRESETS:
        errors["period"] = _("Choose a period from the list.")
        preset = DEFAULT_PRESET
    if preset == "custom":
        start = _date(params.get("from", ""), "from", errors)
        end = _date(params.get("to", ""), "to", errors)
        if start and end:
            if end < start:
                errors["to"] = _("The end date must not be before the start date.")
            elif end > today:
                errors["to"] = _("The end date cannot be in the future.")
            elif (end - start).days + 1 > MAX_PERIOD_DAYS:
                errors["from"] = _("Choose a period of at most three years.")
            elif start < EARLIEST_DAY:
                errors["from"] = _("Choose a start date in 2000 or later.")
    else:
        start, end = preset_range(preset, today)
    reason = params.get("reason", "")
    if reason and reason not in ReturnReason.values:
        errors["reason"] = _("Choose a reason from the list.")
    channel = params.get("channel", "")
    if channel and channel not in CaseChannel.values:
        errors["channel"] = _("Choose a channel from the list.")
    region = _region(params.get("region", ""), tenant, errors)
    filters = KpiFilters(
        customer_account_id=_id(
            params.get("customer", ""), "customer", CustomerAccount, tenant, errors, _("customer")
        ),
        category_id=_id(
            params.get("category", ""), "category", ProductCategory, tenant, errors, _("category")
        ),
        product_id=_id(params.get("product", ""), "product", Product, tenant, errors, _("product")),
        reason=reason or None,
        channel=channel or None,
        region=region,
    )
    if errors:
        raise DashboardInputError(errors)
    return DashboardQuery(preset=preset, start=start, end=end, filters=filters, today=today)


# --- what the page shows --------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: object
    previous: object
    kind: str  # "count", "rate", "money", "hours", "bhours", "score"
    better: str = "up"  # which way is good: "up", "down"
    note: str = ""  # the counts a rate is made of, e.g. "45 of 52 on time"

    @property
    def has_base(self) -> bool:
        """Whether the previous period gives something to compare with: a value, and for
        anything but a rate (compared in percentage points) a value other than 0, as a
        change against nothing is no percentage."""
        if self.previous is None:
            return False
        return self.kind == "rate" or float(self.previous) != 0

    @property
    def change(self) -> float | None:
        """Percentage points for rates, else a fraction of the previous value; None when
        either period has no value or the previous one is no base (has_base)."""
        if self.value is None or not self.has_base:
            return None
        if self.kind == "rate":
            return float(self.value) - float(self.previous)  # percentage points
        return (float(self.value) - float(self.previous)) / float(self.previous)

    @property
    def trend(self) -> str:
        """ "good" or "bad" by whether the figure moved the way that is better for it
        (`better`: up for SLA compliance, down for returns), "flat" when it did not move,
        "none" when there is nothing to compare with."""
        change = self.change
        if change is None:
            return "none"
        if abs(change) < 1e-9:
            return "flat"
        good = (change > 0) == (self.better == "up")
        return "good" if good else "bad"


@dataclass
class Table:
    """A table of the page, also exported as CSV under its key; rows are display values."""

    key: str
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # drill-down per row
    # per column: text, day, month, count, rate, money, hours
    kinds: list[str] = field(default_factory=list)


class _Figures:
    """The figures of one period, each computed once however many tiles and tables of the
    page show it (the reader keeps the rollup sums; this keeps what is read live)."""

    def __init__(self, reader: RollupReader):
        self.reader = reader
        self._memo: dict = {}

    def of(self, compute):
        if compute not in self._memo:
            self._memo[compute] = compute(self.reader)
        return self._memo[compute]


def _refunded(f: _Figures):
    money = f.of(figures.return_money)
    return money.refunded + money.credited


# What each tile shows, from the figures of a period: computed only for the tiles of the page.
TILE_VALUES = {
    "returns": lambda f: f.of(figures.returns_count),
    "return_rate_quantity": lambda f: f.of(figures.return_rate).by_quantity,
    "return_rate_value": lambda f: f.of(figures.return_rate).by_value,
    "returned_value": lambda f: f.of(figures.return_rate).returned_value,
    "refunded": _refunded,
    "restocking_fees": lambda f: f.of(figures.return_money).restocking_fees,
    "resolution_median": (
        lambda f: f.of(figures.return_cycle_times)[0]["submitted_to_resolved"].median
    ),
    "decision_sla": lambda f: f.of(figures.return_sla_compliance)["decision"].rate,
    "refund_sla": lambda f: f.of(figures.return_sla_compliance)["refund"].rate,
    "update_cadence": lambda f: f.of(figures.update_cadence)["all"].rate,
    "returns_by_exception": lambda f: f.of(figures.returns_by_exception).share,
    "returns_by_exception_value": (lambda f: f.of(figures.returns_by_exception).by_exception_value),
    "complaints": lambda f: f.of(figures.complaints_filed),
    "first_response_sla": lambda f: f.of(figures.complaint_sla_compliance)["first_response"].rate,
    "resolution_sla": lambda f: f.of(figures.complaint_sla_compliance)["resolution"].rate,
    "first_response_median": (
        lambda f: f.of(figures.complaint_response_times)[0]["first_response"].median
    ),
    "reopen_rate": lambda f: f.of(figures.complaint_resolution_quality).reopen_rate,
    "first_contact_rate": (
        lambda f: f.of(figures.complaint_resolution_quality).first_contact_resolution_rate
    ),
    "complaints_rejected": lambda f: f.of(figures.complaint_outcomes).rejected_share,
    "repeat_complaints": lambda f: f.of(figures.repeat_complaints).rate,
    "csat": lambda f: f.of(figures.csat).average,
    "csat_satisfied": lambda f: f.of(figures.csat).satisfied_share,
    "return_csat": lambda f: f.of(figures.return_satisfaction).csat.average,
    "return_csat_satisfied": lambda f: f.of(figures.return_satisfaction).csat.satisfied_share,
    "return_nps": lambda f: f.of(figures.return_satisfaction).nps.share,
    "complaint_nps": lambda f: f.of(figures.complaint_nps).share,
}
# The SLA compliance figures behind tiles that show their counts ("45 of 52 on time").
TILE_COUNTS = {
    "decision_sla": lambda f: f.of(figures.return_sla_compliance)["decision"],
    "refund_sla": lambda f: f.of(figures.return_sla_compliance)["refund"],
    "update_cadence": lambda f: f.of(figures.update_cadence)["all"],
}
# How a tile says its counts, when not "45 of 52 on time".
NOTES = {"update_cadence": gettext_lazy("%(met)s of %(total)s kept")}


def _tile_note(key: str, figure: kpis.SlaCompliance | None) -> str:
    if figure is None:
        return ""
    note = NOTES.get(key) or _("%(met)s of %(total)s on time")
    return str(note) % {"met": figure.met, "total": figure.met + figure.missed}


TILES = (
    # key, label, kind, which way is better
    ("returns", gettext_lazy("Returns"), "count", "down"),
    ("return_rate_quantity", gettext_lazy("Return rate (quantity)"), "rate", "down"),
    ("return_rate_value", gettext_lazy("Return rate (value)"), "rate", "down"),
    ("returned_value", gettext_lazy("Returned value"), "money", "down"),
    ("refunded", gettext_lazy("Refunded and credited"), "money", "down"),
    ("restocking_fees", gettext_lazy("Restocking fees collected"), "money", "up"),
    ("resolution_median", gettext_lazy("Submitted → resolved (median)"), "hours", "down"),
    # The clocks of returns (docs/returns-rules.md#clocks-of-returns), stopped in the period.
    ("decision_sla", gettext_lazy("Decisions within SLA"), "rate", "up"),
    ("refund_sla", gettext_lazy("Refunds within the promised days"), "rate", "up"),
    # Returns and complaints resolved in the period whose customer was never owed an update
    # past its due moment (docs/returns-rules.md#customer-update-cadence).
    ("update_cadence", gettext_lazy("Customer-update cadence kept"), "rate", "up"),
    # Filed against the return policy with an override reason (docs/returns-rules.md).
    ("returns_by_exception", gettext_lazy("Returns by exception"), "rate", "down"),
    ("returns_by_exception_value", gettext_lazy("Value returned by exception"), "money", "down"),
    ("complaints", gettext_lazy("Complaints filed"), "count", "down"),
    ("first_response_sla", gettext_lazy("First response within SLA"), "rate", "up"),
    ("resolution_sla", gettext_lazy("Resolved within SLA"), "rate", "up"),
    ("first_response_median", gettext_lazy("First response (median)"), "bhours", "down"),
    ("reopen_rate", gettext_lazy("Reopen rate"), "rate", "down"),
    ("first_contact_rate", gettext_lazy("First-contact resolution"), "rate", "up"),
    # Of the complaints decided in the period, the share rejected (docs/kpis.md).
    ("complaints_rejected", gettext_lazy("Complaints rejected"), "rate", "down"),
    # Same customer and product within 90 days of an earlier complaint.
    ("repeat_complaints", gettext_lazy("Repeat complaints"), "rate", "down"),
    ("csat", gettext_lazy("CSAT (average of 1–5)"), "score", "up"),
    ("csat_satisfied", gettext_lazy("Ratings of 4–5"), "rate", "up"),
    # The returns' satisfaction survey (docs/feedback.md); NPS in points like a rate.
    ("return_csat", gettext_lazy("Returns: satisfaction (average of 1–5)"), "score", "up"),
    ("return_csat_satisfied", gettext_lazy("Returns: answers of 4–5"), "rate", "up"),
    ("return_nps", gettext_lazy("Returns: NPS"), "rate", "up"),
    # The complaints' ratings' 0–10 question, read like the returns' NPS.
    ("complaint_nps", gettext_lazy("Complaints: NPS"), "rate", "up"),
)
TILE_SPECS = {key: (label, kind, better) for key, label, kind, better in TILES}

# The charts, each with the table below it that is its accessible form and CSV export.
CHART_TABLES = {
    "trend": "trend",
    "return_rate": "trend",
    "reasons": "reasons",
    "categories": "categories",
    "resolutions": "resolutions",
    "sla": "trend",
    "csat": "trend",
}


@dataclass(frozen=True)
class Section:
    """A page of the dashboard: what it shows, and so all it computes (docs/kpis.md#dashboard).
    `lists`: the kinds ("returns", "complaints") whose lists behind the figures it links to."""

    key: str
    label: str
    tiles: tuple[str, ...]
    charts: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    backlog: bool = False
    lists: tuple[str, ...] = ()

    @property
    def table_keys(self) -> tuple[str, ...]:
        """Its own tables and those of its charts, each once."""
        keys = [CHART_TABLES[chart] for chart in self.charts] + list(self.tables)
        return tuple(dict.fromkeys(keys))


OVERVIEW = "overview"
SECTIONS = {
    section.key: section
    for section in (
        Section(
            OVERVIEW,
            gettext_lazy("Overview"),
            tiles=(
                "returns",
                "return_rate_quantity",
                "returned_value",
                "complaints",
                "resolution_sla",
                "update_cadence",
                "csat",
            ),
            charts=("trend",),
            tables=("channels", "regions"),
            backlog=True,
        ),
        Section(
            "returns",
            gettext_lazy("Returns"),
            tiles=("returns", "return_rate_quantity", "return_rate_value", "returns_by_exception"),
            charts=("return_rate", "reasons", "categories", "resolutions"),
            tables=("top_products", "top_customers"),
            lists=("returns",),
        ),
        Section(
            "complaints",
            gettext_lazy("Complaints"),
            tiles=(
                "complaints",
                "reopen_rate",
                "first_contact_rate",
                "complaints_rejected",
                "repeat_complaints",
            ),
            tables=("complaint_volume",),
            lists=("complaints",),
        ),
        Section(
            "service",
            gettext_lazy("Time and SLA"),
            tiles=(
                "resolution_median",
                "decision_sla",
                "refund_sla",
                "first_response_median",
                "first_response_sla",
                "resolution_sla",
                "update_cadence",
            ),
            charts=("sla",),
            tables=("sla", "times", "slowest"),
        ),
        Section(
            "money",
            gettext_lazy("Money"),
            tiles=("returned_value", "refunded", "restocking_fees", "returns_by_exception_value"),
            tables=("dispositions",),
        ),
        Section(
            "satisfaction",
            gettext_lazy("Satisfaction"),
            tiles=(
                "csat",
                "csat_satisfied",
                "return_csat",
                "return_csat_satisfied",
                "return_nps",
                "complaint_nps",
            ),
            charts=("csat",),
            tables=("csat_agents", "csat_customers", "return_satisfaction"),
        ),
    )
}
# Everything at once: the monthly and quarterly reports (never a page, so never named).
EVERYTHING = Section(
    "all",
    "",
    tiles=tuple(TILE_SPECS),
    charts=tuple(CHART_TABLES),
    tables=(
        "top_products",
        "top_customers",
        "slowest",
        "times",
        "dispositions",
        "sla",
        "complaint_volume",
        "channels",
        "regions",
        "csat_agents",
        "csat_customers",
        "return_satisfaction",
    ),
    backlog=True,
    lists=("returns", "complaints"),
)


def table_section(key: str) -> Section | None:
    """The section that shows a table (for its CSV export), None when none does."""
    for section in SECTIONS.values():
        if key in section.table_keys:
            return section
    return None


@dataclass
class Dashboard:
    query: DashboardQuery
    section: Section
    tiles: list[Tile]
    trend: list[figures.TrendPoint]
    tables: dict[str, Table]
    missing_days: int
    previous_missing_days: int
    backlog: dict[str, kpis.Backlog] | None


@dataclass
class _TableInputs:
    reader: RollupReader
    query: DashboardQuery
    names: _Names
    figures: _Figures
    trend: list[figures.TrendPoint]


TABLE_BUILDERS = {
    "reasons": lambda t: reasons_table(t.reader, t.query),
    "categories": lambda t: _category_table(t.reader, t.query, t.names),
    "resolutions": lambda t: _resolution_table(t.reader, t.query),
    "dispositions": lambda t: _disposition_table(t.reader),
    "times": lambda t: _cycle_table(
        t.figures.of(figures.return_cycle_times)[0],
        t.figures.of(figures.complaint_response_times)[0],
    ),
    "sla": lambda t: _sla_table(t.figures, t.query),
    "complaint_volume": lambda t: _complaint_volume_table(t.reader, t.query),
    "channels": lambda t: _channel_table(t.reader, t.query),
    "regions": lambda t: _region_table(t.reader, t.query),
    "csat_agents": lambda t: _csat_agent_table(t.reader, t.names),
    "csat_customers": lambda t: _csat_customer_table(t.reader, t.names),
    "return_satisfaction": lambda t: _return_satisfaction_table(t.figures),
    "top_products": lambda t: _top_products_table(t.reader, t.query, t.names),
    "top_customers": lambda t: _top_customers_table(t.reader, t.query, t.names),
    "slowest": lambda t: _slowest_table(
        t.figures.of(figures.return_cycle_times)[1],
        t.figures.of(figures.complaint_response_times)[1],
    ),
    "trend": lambda t: _trend_table(t.trend, t.query),
}


def build_dashboard(
    query: DashboardQuery, *, tenant, now=None, section: Section = EVERYTHING
) -> Dashboard:
    """The figures of one section of the dashboard (by default all of them, as the reports
    show): only its tiles (with the comparison period's values), charts and tables are
    computed."""
    reader = RollupReader(
        tenant=tenant, start=query.start, end=query.end, filters=query.filters, now=now
    )
    current = _Figures(reader)
    tiles, previous_missing_days = [], 0
    if section.tiles:
        previous_start, previous_end = query.previous
        previous_reader = RollupReader(
            tenant=tenant, start=previous_start, end=previous_end, filters=query.filters, now=now
        )
        previous = _Figures(previous_reader)
        for key in section.tiles:
            label, kind, better = TILE_SPECS[key]
            counts = TILE_COUNTS.get(key)
            tiles.append(
                Tile(
                    key,
                    str(label),
                    TILE_VALUES[key](current),
                    TILE_VALUES[key](previous),
                    kind,
                    better,
                    _tile_note(key, counts(current) if counts else None),
                )
            )
        previous_missing_days = previous_reader.missing_days()
    table_keys = section.table_keys
    points = figures.trend(reader) if "trend" in table_keys else []
    inputs = _TableInputs(reader, query, _Names(tenant), current, points)
    tables = {key: TABLE_BUILDERS[key](inputs) for key in table_keys}
    backlog = None
    if section.backlog:
        backlog = kpis.backlog(tenant=tenant, end=query.today, filters=query.filters)
    return Dashboard(
        query=query,
        section=section,
        tiles=tiles,
        trend=points,
        tables=tables,
        missing_days=reader.missing_days(),
        previous_missing_days=previous_missing_days,
        backlog=backlog,
    )


class _Names:
    """Display names of the ids in the figures: one query per kind, only ids asked for."""

    def __init__(self, tenant):
        self.tenant = tenant

    def load(self, kind: str, ids) -> dict[int, str]:
        ids = {i for i in ids if i}
        if kind == "product":
            rows = Product.objects.for_tenant(self.tenant).filter(pk__in=ids)
            found = {p.pk: f"{p.sku} · {p.name}" for p in rows.only("pk", "sku", "name")}
        elif kind == "category":
            found = dict(
                ProductCategory.objects.for_tenant(self.tenant)
                .filter(pk__in=ids)
                .values_list("pk", "name")
            )
        elif kind == "customer":
            found = dict(
                CustomerAccount.objects.for_tenant(self.tenant)
                .filter(pk__in=ids)
                .values_list("pk", "name")
            )
        else:  # agent
            found = {
                u.pk: u.get_full_name()
                for u in User.objects.filter(tenant=self.tenant, pk__in=ids).only(
                    "pk", "full_name", "email"
                )
            }
        return found


def reasons_table(reader, query: DashboardQuery | None) -> Table:
    """Return reasons, the most frequent first; each row links to its returns when `query`
    (the dashboard's) is given, and to nothing without one (the buyer's figures)."""
    reasons = figures.return_reasons(reader)
    labels = dict(ReturnReason.choices)
    table = Table(
        "reasons",
        _("Return reasons"),
        [_("Reason"), _("Lines"), _("Quantity"), _("Share")],
        kinds=["text", "count", "count", "rate"],
    )
    for reason, figure in sorted(reasons.items(), key=lambda item: (-item[1].lines, item[0])):
        table.rows.append(
            [str(labels.get(reason, reason)), figure.lines, figure.quantity, figure.share]
        )
        table.links.append(query.url("dashboard:returns", reason=reason) if query else None)
    return table


def _category_table(reader, query: DashboardQuery, names: _Names) -> Table:
    rates = figures.return_rate_by(reader, "category")
    found = names.load("category", rates)
    table = Table(
        "categories",
        _("Return rate by category"),
        [_("Category"), _("Delivered"), _("Returned"), _("Rate (quantity)"), _("Rate (value)")],
        kinds=["text", "count", "count", "rate", "rate"],
    )
    ordered = sorted(rates.items(), key=lambda item: (-(item[1].by_quantity or 0), item[0]))
    for category_id, rate in ordered:
        table.rows.append(
            [
                found.get(category_id, "—"),
                rate.delivered_quantity,
                rate.returned_quantity,
                rate.by_quantity,
                rate.by_value,
            ]
        )
        table.links.append(query.url("dashboard:returns", category=category_id))
    return table


def _resolution_table(reader, query: DashboardQuery) -> Table:
    counts = figures.returns_by_resolution(reader)
    labels = {**dict(ReturnResolution.choices), REJECTED: _("Rejected")}
    table = Table(
        "resolutions",
        _("Returns by resolution"),
        [_("Resolution"), _("Returns")],
        kinds=["text", "count"],
    )
    for key, count in counts.items():
        table.rows.append([str(labels[key]), count])
        table.links.append(query.url("dashboard:returns", resolution=key))
    return table


def _disposition_table(reader) -> Table:
    dispositions = figures.returns_by_disposition(reader)
    labels = dict(Disposition.choices)
    table = Table(
        "dispositions",
        _("Returned goods by disposition"),
        [_("Disposition"), _("Lines"), _("Accepted quantity"), _("Value")],
        kinds=["text", "count", "count", "money"],
    )
    for key, figure in dispositions.items():
        table.rows.append([str(labels[key]), figure.lines, figure.accepted_quantity, figure.value])
        table.links.append(None)
    return table


def _cycle_table(cycle, times) -> Table:
    labels = {
        "submitted_to_approved": _("Return: submitted → approved"),
        "approved_to_received": _("Return: approved → received"),
        "received_to_resolved": _("Return: received → resolved"),
        "submitted_to_resolved": _("Return: submitted → resolved"),
        "first_response": _("Complaint: first response (business hours)"),
        "resolution": _("Complaint: resolution (business hours)"),
    }
    table = Table(
        "times",
        _("Time to resolution (hours)"),
        [_("Stage"), _("Cases"), _("Average"), _("Median"), _("90th percentile")],
        kinds=["text", "count", "hours", "hours", "hours"],
    )
    for key, stats in [*cycle.items(), *times.items()]:
        table.rows.append([labels[key], stats.count, stats.average, stats.median, stats.p90])
        table.links.append(None)
    return table


def _sla_table(period: _Figures, query: DashboardQuery) -> Table:
    """Complaints' clocks, then returns' (a return row opens the returns that missed it),
    then the customer-update cadence of the cases resolved in the period (kept: never owed an
    update past its due moment; the rows of returns and complaints open those that lapsed)."""
    sla = period.of(figures.complaint_sla_compliance)
    clocks = period.of(figures.return_sla_compliance)
    cadence = period.of(figures.update_cadence)
    table = Table(
        "sla",
        _("SLA compliance"),
        [_("Clock"), _("Within SLA"), _("Late"), _("Compliance")],
        kinds=["text", "count", "count", "rate"],
    )
    for key, label in (("first_response", _("First response")), ("resolution", _("Resolution"))):
        figure = sla[key]
        table.rows.append([label, figure.met, figure.missed, figure.rate])
        table.links.append(None)
    for key, label in (
        ("decision", _("Return decision")),
        ("refund", _("Return refund or credit")),
    ):
        figure = clocks[key]
        table.rows.append([label, figure.met, figure.missed, figure.rate])
        table.links.append(query.url("dashboard:returns", missed=key))
    for key, label, link in (
        ("returns", _("Customer updates: returns"), "dashboard:returns"),
        ("complaints", _("Customer updates: complaints"), "dashboard:complaints"),
        ("all", _("Customer updates: all cases"), None),
    ):
        figure = cadence[key]
        table.rows.append([label, figure.met, figure.missed, figure.rate])
        table.links.append(query.url(link, missed=UPDATES) if link else None)
    return table


def _complaint_volume_table(reader, query: DashboardQuery) -> Table:
    volume = figures.complaint_volume(reader)
    table = Table(
        "complaint_volume",
        _("Complaints by category and priority"),
        [_("Category or priority"), _("Complaints")],
        kinds=["text", "count"],
    )
    for key, label in ComplaintCategory.choices:
        if volume["category"].get(key):
            table.rows.append([str(label), volume["category"][key]])
            table.links.append(query.url("dashboard:complaints", complaint_category=key))
    for key, label in Priority.choices:
        if volume["priority"].get(key):
            table.rows.append(
                [_("Priority: %(priority)s") % {"priority": label}, volume["priority"][key]]
            )
            table.links.append(query.url("dashboard:complaints", priority=key))
    return table


def _channel_table(reader, query: DashboardQuery) -> Table:
    """Returns submitted and complaints filed per channel: the portal, the API, and what
    staff filed for customers who phoned, wrote, chatted or came by. A row opens the
    dashboard narrowed to its channel."""
    returns = figures.returns_by_channel(reader)
    complaints = figures.complaints_by_channel(reader)
    table = Table(
        "channels",
        _("Cases by channel"),
        [_("Channel"), _("Returns"), _("Complaints")],
        kinds=["text", "count", "count"],
    )
    for key, label in CaseChannel.choices:
        if returns.get(key) or complaints.get(key):
            table.rows.append([str(label), returns.get(key, 0), complaints.get(key, 0)])
            table.links.append(query.url("dashboard:index", channel=key))
    return table


def _region_table(reader, query: DashboardQuery) -> Table:
    """Returns submitted, their returned value and complaints filed per region of the customer
    accounts (billing country and region); a row opens the dashboard narrowed to it."""
    by_region = figures.by_region(reader)
    table = Table(
        "regions",
        _("Cases by region"),
        [_("Region"), _("Returns"), _("Returned value"), _("Complaints")],
        kinds=["text", "count", "money", "count"],
    )
    ordered = sorted(
        by_region.items(), key=lambda item: (-item[1].returns, -item[1].complaints, item[0])
    )
    for region, figure in ordered:
        table.rows.append([region.label, figure.returns, figure.returned_value, figure.complaints])
        table.links.append(query.url("dashboard:index", region=region.key))
    return table


def _csat_agent_table(reader, names: _Names) -> Table:
    by_agent = figures.csat_by(reader, "agent")
    found = names.load("agent", by_agent)
    table = Table(
        "csat_agents",
        _("Satisfaction per agent"),
        [_("Agent"), _("Ratings"), _("Average"), _("Ratings of 4–5")],
        kinds=["text", "count", "score", "rate"],
    )
    ordered = sorted(by_agent.items(), key=lambda item: (-(item[1].average or 0), item[0] or 0))
    for agent_id, figure in ordered:
        label = found.get(agent_id, _("Unassigned")) if agent_id else _("Unassigned")
        table.rows.append([label, figure.ratings, figure.average, figure.satisfied_share])
        table.links.append(None)
    return table


def _csat_customer_table(reader, names: _Names) -> Table:
    by_customer = figures.csat_by(reader, "customer_account")
    found = names.load("customer", by_customer)
    table = Table(
        "csat_customers",
        _("Satisfaction per customer"),
        [_("Customer"), _("Ratings"), _("Average"), _("Ratings of 4–5")],
        kinds=["text", "count", "score", "rate"],
    )
    ordered = sorted(by_customer.items(), key=lambda item: (-item[1].ratings, item[0]))
    for customer_id, figure in ordered[:TOP]:
        table.rows.append(
            [found.get(customer_id, "—"), figure.ratings, figure.average, figure.satisfied_share]
        )
        table.links.append(None)
    return table


def _return_satisfaction_table(period: _Figures) -> Table:
    """The returns' survey per resolution of the return, and all of them: CSAT and NPS with
    the counts they come from (docs/feedback.md#figures)."""
    by_resolution = figures.return_satisfaction_by(period.reader, "resolution")
    labels = dict(ReturnResolution.choices)
    table = Table(
        "return_satisfaction",
        _("Satisfaction with returns"),
        [
            _("Resolution"),
            _("Answers"),
            _("Average (1–5)"),
            _("Answers of 4–5"),
            _("NPS answers"),
            _("Promoters (9–10)"),
            _("Detractors (0–6)"),
            _("NPS"),
        ],
        kinds=["text", "count", "score", "rate", "count", "count", "count", "rate"],
    )
    if not by_resolution:
        return table

    def row(label, figure: kpis.ReturnSatisfaction) -> list:
        csat, nps = figure.csat, figure.nps
        return [
            label,
            csat.ratings,
            csat.average,
            csat.satisfied_share,
            nps.answers,
            nps.promoters,
            nps.detractors,
            nps.share,
        ]

    order = [*ReturnResolution.values, *sorted(set(by_resolution) - set(ReturnResolution.values))]
    for key in order:
        if key in by_resolution:
            table.rows.append(row(str(labels.get(key, key or "—")), by_resolution[key]))
            table.links.append(None)
    table.rows.append(row(_("All returns"), period.of(figures.return_satisfaction)))
    table.links.append(None)
    return table


def _top_products_table(reader, query: DashboardQuery, names: _Names) -> Table:
    rates = figures.return_rate_by(reader, "product")
    top = sorted(
        ((key, rate) for key, rate in rates.items() if rate.returned_quantity),
        key=lambda item: (-item[1].returned_quantity, item[0]),
    )[:TOP]
    found = names.load("product", [key for key, _rate in top])
    table = Table(
        "top_products",
        _("Most returned products"),
        [_("Product"), _("Returned"), _("Returned value"), _("Delivered"), _("Rate (quantity)")],
        kinds=["text", "count", "money", "count", "rate"],
    )
    for product_id, rate in top:
        table.rows.append(
            [
                found.get(product_id, "—"),
                rate.returned_quantity,
                rate.returned_value,
                rate.delivered_quantity,
                rate.by_quantity,
            ]
        )
        table.links.append(query.url("dashboard:returns", product=product_id))
    return table


def _top_customers_table(reader, query: DashboardQuery, names: _Names) -> Table:
    rates = figures.return_rate_by(reader, "customer_account")
    top = sorted(
        ((key, rate) for key, rate in rates.items() if rate.returned_quantity),
        key=lambda item: (-(item[1].by_quantity or 0), -item[1].returned_quantity, item[0]),
    )[:TOP]
    found = names.load("customer", [key for key, _rate in top])
    table = Table(
        "top_customers",
        _("Customers with the highest return rate"),
        [_("Customer"), _("Delivered"), _("Returned"), _("Rate (quantity)"), _("Rate (value)")],
        kinds=["text", "count", "count", "rate", "rate"],
    )
    for customer_id, rate in top:
        table.rows.append(
            [
                found.get(customer_id, "—"),
                rate.delivered_quantity,
                rate.returned_quantity,
                rate.by_quantity,
                rate.by_value,
            ]
        )
        table.links.append(query.url("dashboard:returns", customer=customer_id))
    return table


def _slowest_table(returns, complaints) -> Table:
    table = Table(
        "slowest",
        _("Slowest cases resolved in the period"),
        [_("Case"), _("Kind"), _("Duration")],
        kinds=["text", "text", "hours"],
    )
    for case in returns:
        table.rows.append([case.number, _("Return (submitted → resolved)"), case.hours])
        table.links.append(reverse("admin:returns_returnrequest_change", args=[case.pk]))
    for case in complaints:
        table.rows.append([case.number, _("Complaint (business hours)"), case.hours])
        table.links.append(reverse("admin:complaints_complaint_change", args=[case.pk]))
    return table


def _trend_table(points, query: DashboardQuery) -> Table:
    by_day = figures.trend_granularity(query.start, query.end) == "day"
    table = Table(
        "trend",
        _("Trend"),
        [
            _("Day") if by_day else _("Month"),
            _("Returns"),
            _("Returned quantity"),
            _("Return rate (quantity)"),
            _("Complaints filed"),
            _("First response within SLA"),
            _("Resolved within SLA"),
            _("CSAT"),
        ],
        kinds=[
            "day" if by_day else "month",
            *("count", "count", "rate", "count", "rate", "rate", "score"),
        ],
    )
    for point in points:
        if by_day:
            start = end = point.bucket
        else:
            start, end = max(point.bucket, query.start), min(month_end(point.bucket), query.end)
        table.rows.append(
            [
                point.bucket.isoformat() if by_day else point.bucket.strftime("%Y-%m"),
                point.returns,
                point.returned_quantity,
                point.return_rate,
                point.complaints,
                point.first_response_sla,
                point.resolution_sla,
                point.csat,
            ]
        )
        table.links.append(
            query.url(
                "dashboard:returns",
                period="custom",
                **{"from": start.isoformat(), "to": end.isoformat()},
            )
        )
    return table


# --- an agent's own figures ------------------------------------------------------------------


@dataclass
class AgentView:
    open_returns: dict[str, int]
    open_complaints: int
    at_risk: int
    breached: int
    resolved: int
    first_response_sla: float | None
    resolution_sla: float | None
    csat: kpis.Csat | None

    @property
    def open_returns_total(self) -> int:
        return sum(self.open_returns.values())

    @property
    def open_returns_labelled(self) -> list[tuple[str, int]]:
        from returns.models import ReturnStatus

        labels = dict(ReturnStatus.choices)
        return [(str(labels[s]), n) for s, n in sorted(self.open_returns.items())]


def build_agent_view(query: DashboardQuery, *, tenant, user, now=None) -> AgentView:
    from django.db.models import Count
    from django.utils import timezone

    from complaints.models import OPEN_COMPLAINT_STATUSES, Complaint
    from complaints.selectors import sla_at_risk, sla_breached
    from returns.models import OPEN_STATUSES, ReturnRequest

    now = now or timezone.now()
    returns = dict(
        ReturnRequest.objects.for_tenant(tenant)
        .filter(assignee=user, status__in=OPEN_STATUSES)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    mine = Complaint.objects.for_tenant(tenant).filter(
        assignee=user, status__in=OPEN_COMPLAINT_STATUSES
    )
    counts = mine.aggregate(
        open=Count("id"),
        at_risk=Count("id", filter=sla_at_risk(now)),
        breached=Count("id", filter=sla_breached(now)),
    )
    reader = RollupReader(tenant=tenant, start=query.start, end=query.end, now=now)
    sums = reader.sums(
        "complaints",
        (
            "resolved",
            "first_response_met",
            "first_response_missed",
            "resolution_met",
            "resolution_missed",
            *figures.CSAT_MEASURES,
        ),
        group="a",
    )
    own = sums.get((user.pk,), {})
    return AgentView(
        open_returns=returns,
        open_complaints=counts["open"],
        at_risk=counts["at_risk"],
        breached=counts["breached"],
        resolved=int(own.get("resolved", 0)),
        first_response_sla=figures.sla_rate(own, "first_response"),
        resolution_sla=figures.sla_rate(own, "resolution"),
        csat=figures.csat_from_sums(own) if own.get("ratings") else None,
    )


def is_manager(user) -> bool:
    return user.is_superuser or user.role in (Role.MANAGER, Role.TENANT_ADMIN)


def is_dashboard_user(user) -> bool:
    return user.is_superuser or user.role in STAFF_ROLES


# --- charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A chart of the page: drawn by the vendored chart library from `spec` (JSON), with the
    table `table` below it as its accessible fallback and CSV export."""

    key: str
    title: str
    table: str
    spec: dict


def _percent(value) -> float | None:
    return None if value is None else round(value * 100, 2)


def charts(board: Dashboard) -> list[Chart]:
    """The charts of the board's section, in its order (drawn from its tables, in memory)."""
    tables = board.tables
    empty = Table("", "", [])
    trend = tables.get("trend", empty)
    # The days or months of the trend in the language's format (the table keeps them ISO).
    label_kind = trend.kinds[0] if trend.kinds else "text"
    labels = [format_kpi(row[0], label_kind) for row in trend.rows]
    points = board.trend
    reasons, categories = tables.get("reasons", empty), tables.get("categories", empty)
    resolutions = tables.get("resolutions", empty)
    every = {
        chart.key: chart
        for chart in _all_charts(trend, labels, points, reasons, categories, resolutions)
    }
    return [every[key] for key in board.section.charts]


def _all_charts(trend, labels, points, reasons, categories, resolutions) -> list[Chart]:
    return [
        Chart(
            "trend",
            _("Returns and complaints"),
            "trend",
            {
                "type": "line",
                "labels": labels,
                "format": "count",
                "links": trend.links,
                "datasets": [
                    {"label": _("Returns"), "data": [p.returns for p in points]},
                    {"label": _("Complaints filed"), "data": [p.complaints for p in points]},
                ],
            },
        ),
        Chart(
            "return_rate",
            _("Return rate (quantity)"),
            "trend",
            {
                "type": "line",
                "labels": labels,
                "format": "percent",
                "links": trend.links,
                "datasets": [
                    {
                        "label": _("Return rate (quantity)"),
                        "data": [_percent(p.return_rate) for p in points],
                    },
                ],
            },
        ),
        Chart(
            "reasons",
            _("Return reasons"),
            "reasons",
            {
                "type": "bar",
                "horizontal": True,
                "format": "count",
                "links": reasons.links,
                "labels": [row[0] for row in reasons.rows],
                "datasets": [{"label": _("Lines"), "data": [row[1] for row in reasons.rows]}],
            },
        ),
        Chart(
            "categories",
            _("Return rate by category"),
            "categories",
            {
                "type": "bar",
                "format": "percent",
                "links": categories.links,
                "labels": [row[0] for row in categories.rows],
                "datasets": [
                    {
                        "label": _("Rate (quantity)"),
                        "data": [_percent(row[3]) for row in categories.rows],
                    }
                ],
            },
        ),
        Chart(
            "resolutions",
            _("Returns by resolution"),
            "resolutions",
            {
                "type": "bar",
                "format": "count",
                "links": resolutions.links,
                "labels": [row[0] for row in resolutions.rows],
                "datasets": [{"label": _("Returns"), "data": [row[1] for row in resolutions.rows]}],
            },
        ),
        Chart(
            "sla",
            _("SLA compliance"),
            "trend",
            {
                "type": "line",
                "labels": labels,
                "format": "percent",
                "links": trend.links,
                "datasets": [
                    {
                        "label": _("First response within SLA"),
                        "data": [_percent(p.first_response_sla) for p in points],
                    },
                    {
                        "label": _("Resolved within SLA"),
                        "data": [_percent(p.resolution_sla) for p in points],
                    },
                ],
            },
        ),
        Chart(
            "csat",
            _("Satisfaction (CSAT)"),
            "trend",
            {
                "type": "line",
                "labels": labels,
                "format": "score",
                "links": trend.links,
                "datasets": [
                    {
                        "label": _("CSAT (average of 1–5)"),
                        "data": [None if p.csat is None else round(p.csat, 2) for p in points],
                    }
                ],
            },
        ),
    ]


def cached_dashboard(
    query: DashboardQuery, *, tenant, now=None, section: Section = EVERYTHING
) -> Dashboard:
    """A section of the dashboard of a query, kept in the cache until a rollup is rebuilt:
    at most KPI_TODAY_CACHE_SECONDS when the period includes today (today's figures are no
    older than that), else KPI_PAST_CACHE_SECONDS (past days change only when the hourly run
    rebuilds them, which ends the cached copy at once). The backlog (open cases now) is read
    anew for every page. KPI_TODAY_CACHE_SECONDS = 0: nothing is kept."""
    import hashlib
    import time

    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Max
    from django.utils.translation import get_language

    from .models import RollupDay

    seconds = getattr(settings, "KPI_TODAY_CACHE_SECONDS", 60)
    if not seconds:
        return build_dashboard(query, tenant=tenant, now=now, section=section)
    if not query.includes_today:
        seconds, moment = getattr(settings, "KPI_PAST_CACHE_SECONDS", 3600), None
    else:
        moment = time.time() // seconds
    built = RollupDay.objects.for_tenant(tenant).aggregate(last=Max("built_at"))["last"]
    fingerprint = repr(
        (
            section.key,
            sorted(query.params().items()),
            query.today,
            get_language(),
            built,
            moment,
        )
    )
    key = f"kpi-dashboard:{tenant.pk}:{hashlib.sha256(fingerprint.encode()).hexdigest()}"
    board = cache.get(key)
    if board is None:
        board = build_dashboard(query, tenant=tenant, now=now, section=section)
        cache.set(key, board, seconds)
    elif board.backlog is not None:
        board.backlog = kpis.backlog(tenant=tenant, end=query.today, filters=query.filters)
    return board
