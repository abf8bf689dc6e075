"""Building the daily KPI rollups from the source tables: the nightly run (yesterday, days
whose cases changed since, days never built), rebuilds of a date range, and today's cells
computed in memory for the dashboard. Rebuilding a day replaces its rows (idempotent).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from complaints.models import Complaint, ComplaintEvent, ComplaintMessage, SatisfactionRating
from complaints.selectors import business_calendar
from customers.models import CustomerAccount, Order, OrderLine
from returns.models import (
    Disposition,
    Resolution,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnResolution,
    ReturnStatus,
)

from .histograms import add_slowest, add_to_histogram, keep_slowest, merge_histograms
from .kpis import (
    MONEY_OUT,
    NOT_RETURNED,
    POLICY_OVERRIDDEN,
    RESOLVED_RETURN,
    RETURN_STAGES,
    complaint_first_response_hours,
    complaint_resolution_hours,
    repeats_earlier,
)
from .models import (
    ComplaintRollup,
    MonthlyReport,
    QuarterlyReport,
    ReturnRollup,
    RollupDay,
    RollupMonth,
    RollupState,
    Span,
)
from .periods import Period
from .slices import COMPLAINT_SLICES, RETURN_SLICES, SliceSet

logger = logging.getLogger(__name__)

# How far back the nightly run fills days that were never built (a new tenant, a missed
# night); older history is rebuilt on demand with `manage.py rebuild_kpis`.
CATCH_UP_DAYS = 400
CATCH_UP_PER_RUN = 62
MEASURE_TYPES = ("PositiveIntegerField", "DecimalField", "FloatField")
RETURN_MEASURES = tuple(
    f.name for f in ReturnRollup._meta.concrete_fields if f.get_internal_type() in MEASURE_TYPES
)
COMPLAINT_MEASURES = tuple(
    f.name for f in ComplaintRollup._meta.concrete_fields if f.get_internal_type() in MEASURE_TYPES
)
RESOLUTION_MEASURE = {value: f"resolved_{value}" for value in ReturnResolution.values}
MONEY_MEASURE = {Resolution.REFUND: "refunded_value", Resolution.CREDIT_NOTE: "credited_value"}
LINE_BATCH = 5000
DISPOSITIONS = frozenset(Disposition.values)  # Choices.values is rebuilt at every access
REQUEST_FIELDS = (
    "pk",
    "number",
    "customer_account_id",
    "channel",
    "status",
    "resolution",
    "submitted_at",
    "approved_at",
    "received_at",
    "resolved_at",
    "refund_total",
    "credit_note_total",
    "restocking_fee",
    "decided_at",
    "decision_due_at",
    "refund_due_at",
    "update_lapses",
    "requested_value",
)
NO_REGION = {"country": "", "region": ""}


@dataclass
class Cell:
    measures: dict[str, float | int | Decimal] = field(default_factory=lambda: defaultdict(int))
    durations: dict[str, dict[str, list]] = field(default_factory=dict)
    slowest: dict[str, list[list]] = field(default_factory=dict)

    def add(self, measures: dict) -> None:
        for name, value in measures.items():
            self.measures[name] += value

    def add_duration(self, stage: str, hours: float, case: list | None = None) -> None:
        add_to_histogram(self.durations.setdefault(stage, {}), hours)
        if case is not None:
            add_slowest(self.slowest.setdefault(stage, []), case)

    def merge(self, other: Cell) -> None:
        self.add(other.measures)
        for stage, histogram in other.durations.items():
            merge_histograms(self.durations.setdefault(stage, {}), histogram)
        for stage, cases in other.slowest.items():
            self.slowest[stage] = keep_slowest([*self.slowest.get(stage, []), *cases])


# (day, slice, values of the slice's columns) → cell
CellKey = tuple[datetime.date, str, tuple]


class Cells:
    """The rollup cells of a range of days, as they are being added up."""

    def __init__(self, slices: SliceSet):
        self.slices = slices
        self.cells: dict[CellKey, Cell] = {}
        self._by_slice: dict[str, list] | None = None

    def by_slice(self, slice_name: str) -> list[tuple[datetime.date, tuple, Cell]]:
        """The finished cells of one slice (built once: readers ask per figure)."""
        if self._by_slice is None:
            index: dict[str, list] = defaultdict(list)
            for (day, name, values), cell in self.cells.items():
                index[name].append((day, values, cell))
            self._by_slice = index
        return self._by_slice.get(slice_name, [])

    def _cell(self, day, slice_name: str, dims: dict) -> Cell:
        key = (day, slice_name, tuple(map(dims.__getitem__, self.slices.columns(slice_name))))
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell()
        return cell

    def add(self, day, dims: dict, measures: dict, *, slices: Iterable[str] | None = None):
        """One fact (a line, a delivery, a complaint): added to its cell in each slice."""
        for slice_name in self.slices.stored if slices is None else slices:
            self._cell(day, slice_name, dims).add(measures)

    def add_duration(self, day, dims: dict, stage: str, hours: float, case: list) -> None:
        for slice_name in self.slices.detail:
            self._cell(day, slice_name, dims).add_duration(stage, hours, case)

    def touch(self, day, touched: list[dict], measures: dict, duration=None) -> None:
        """A return request's figures: once in every cell its lines touch (touch slices)."""
        cells = self.cells
        for slice_name in self.slices.touch:
            columns = self.slices.columns(slice_name)
            detail = duration is not None and slice_name in self.slices.detail
            for values in {tuple(map(dims.__getitem__, columns)) for dims in touched}:
                key = (day, slice_name, values)
                cell = cells.get(key)
                if cell is None:
                    cell = cells[key] = Cell()
                cell.add(measures)
                if detail:
                    cell.add_duration(*duration)


def _local_day(moment: datetime.datetime | None, zone) -> datetime.date | None:
    return None if moment is None else timezone.localtime(moment, zone).date()


def _hours_between(start: datetime.datetime, end: datetime.datetime) -> float:
    return (end - start).total_seconds() / 3600


def account_regions(tenant) -> dict[int, dict[str, str]]:
    """The region columns ("l") of each customer account of the tenant: one query per build,
    looked up per fact instead of a join in every query."""
    return {
        pk: {"country": country, "region": region}
        for pk, country, region in CustomerAccount.objects.for_tenant(tenant)
        .order_by()
        .values_list("pk", "billing_country", "billing_region")
    }


# --- returns --------------------------------------------------------------------------------


def return_cells(*, tenant, start: datetime.date, end: datetime.date) -> Cells:
    """Every return figure of the days start..end, in cells of every stored slice."""
    period = Period(start=start, end=end, timezone=tenant.timezone)
    zone = period.zone
    cells = Cells(RETURN_SLICES)
    regions = account_regions(tenant)

    deliveries = (
        OrderLine.objects.for_tenant(tenant)
        .filter(order__delivery_date__gte=start, order__delivery_date__lte=end)
        .values(
            "order__delivery_date",
            "order__customer_account_id",
            "product__category_id",
            "product_id",
        )
        .annotate(
            units=Sum("quantity"),
            value=Sum(F("quantity") * F("unit_price"), output_field=MONEY_OUT),
        )
        .order_by()
    )
    for row in deliveries:
        cells.add(
            row["order__delivery_date"],
            {
                "customer_account_id": row["order__customer_account_id"],
                "category_id": row["product__category_id"],
                "product_id": row["product_id"],
                "reason": "",
                "channel": "",
                **regions.get(row["order__customer_account_id"], NO_REGION),
            },
            # A delivery has no reason nor channel: in reason and channel slices it sits in the
            # "" cell, which no filter selects (delivered figures are read without them).
            {"delivered_quantity": row["units"], "delivered_value": row["value"]},
        )

    returned = (
        ReturnLine.objects.for_tenant(tenant)
        .filter(**period.instant_filter("return_request__submitted_at"))
        .exclude(return_request__status__in=NOT_RETURNED)
        .order_by()
        .values_list(
            "return_request__submitted_at",
            "return_request__customer_account_id",
            "order_line__product__category_id",
            "order_line__product_id",
            "reason",
            "return_request__channel",
            "quantity",
            "unit_price",
        )
    )
    for (
        submitted,
        customer,
        category,
        product,
        reason,
        channel,
        quantity,
        price,
    ) in returned.iterator(chunk_size=5000):
        cells.add(
            _local_day(submitted, zone),
            {
                "customer_account_id": customer,
                "category_id": category,
                "product_id": product,
                "reason": reason,
                "channel": channel,
                **regions.get(customer, NO_REGION),
            },
            {
                "returned_lines": 1,
                "returned_quantity": quantity,
                "returned_value": price * quantity,
            },
        )

    _add_return_requests(cells, tenant, period, regions)
    return cells


def _add_return_requests(cells: Cells, tenant, period: Period, regions: dict) -> None:
    """Figures of whole requests (counts, money, cycle times, clocks) and of their resolved
    lines."""
    zone = period.zone
    in_period = Q()
    for column in ("submitted_at", "approved_at", "received_at", "resolved_at"):
        in_period |= Q(**period.instant_filter(column))
    # A decision is an approval (decided_at = approved_at, above) or a rejection, which is
    # final: by status, the rejections are read through an index too.
    in_period |= Q(status=ReturnStatus.REJECTED, **period.instant_filter("decided_at"))
    requests = ReturnRequest.objects.for_tenant(tenant).filter(in_period)
    rejections = ReturnEvent.objects.for_tenant(tenant).filter(
        to_status="rejected",
        return_request__status="rejected",
        **period.instant_filter("created_at"),
    )
    rejected = list(
        rejections.order_by().values_list(
            "return_request_id",
            "created_at",
            "return_request__customer_account_id",
            "return_request__channel",
        )
    )
    request_rows = list(requests.values(*REQUEST_FIELDS).order_by())
    wanted = sorted({row["pk"] for row in request_rows} | {row[0] for row in rejected})
    overridden = _overridden(tenant, [row["pk"] for row in request_rows if row["submitted_at"]])
    lines: dict[int, list[dict]] = defaultdict(list)
    # By id, in batches: an index lookup per request instead of a scan of every line.
    for first in range(0, len(wanted), LINE_BATCH):
        line_rows = (
            ReturnLine.objects.for_tenant(tenant)
            .filter(return_request_id__in=wanted[first : first + LINE_BATCH])
            .order_by()
            .values_list(
                "return_request_id",
                "order_line__product__category_id",
                "order_line__product_id",
                "reason",
                "disposition",
                "accepted_quantity",
                "unit_price",
            )
        )
        for request_id, category, product, reason, disposition, accepted, price in line_rows:
            lines[request_id].append(
                {
                    "category_id": category,
                    "product_id": product,
                    "reason": reason,
                    "disposition": disposition,
                    "accepted": accepted or 0,
                    "price": price,
                }
            )

    for row in request_rows:
        account = {
            "customer_account_id": row["customer_account_id"],
            "channel": row["channel"],
            **regions.get(row["customer_account_id"], NO_REGION),
        }
        touched = [{**line, **account} for line in lines.get(row["pk"], [])]
        if not touched:
            continue
        case = row["number"]
        submitted_day = _local_day(row["submitted_at"], zone)
        if (
            submitted_day
            and period.start <= submitted_day <= period.end
            and row["status"] not in NOT_RETURNED
        ):
            measures = {"returns": 1}
            if row["pk"] in overridden:  # filed against the policy
                measures["by_exception"] = 1
                measures["by_exception_value"] = row["requested_value"] or Decimal("0")
            cells.touch(submitted_day, touched, measures)
        for stage, (begin, finish) in RETURN_STAGES.items():
            finished = _local_day(row[finish], zone)
            if row[begin] is None or finished is None:
                continue
            if not period.start <= finished <= period.end:
                continue
            hours = _hours_between(row[begin], row[finish])
            cells.touch(
                finished,
                touched,
                {f"{stage}_count": 1, f"{stage}_hours": hours},
                duration=(stage, hours, [round(hours, 2), row["pk"], case]),
            )
        decided_day = _local_day(row["decided_at"], zone)
        if (
            decided_day
            and row["decision_due_at"] is not None
            and period.start <= decided_day <= period.end
        ):
            met = row["decided_at"] <= row["decision_due_at"]
            cells.touch(decided_day, touched, {"decision_met" if met else "decision_missed": 1})
        resolved_day = _local_day(row["resolved_at"], zone)
        if (
            resolved_day
            and period.start <= resolved_day <= period.end
            and row["status"] in RESOLVED_RETURN
        ):
            _add_resolution(cells, resolved_day, row, touched)
    for request_id, moment, customer, channel in rejected:
        account = {
            "customer_account_id": customer,
            "channel": channel,
            **regions.get(customer, NO_REGION),
        }
        touched = [{**line, **account} for line in lines.get(request_id, [])]
        if touched:
            cells.touch(_local_day(moment, zone), touched, {"rejected": 1})


def _overridden(tenant, request_ids: list[int]) -> set[int]:
    """The requests among these filed against the return policy with an override reason (a
    "Return policy overridden" timeline entry): analytics.kpis.returns_by_exception."""
    found: set[int] = set()
    ids = sorted(request_ids)
    for first in range(0, len(ids), LINE_BATCH):
        found.update(
            ReturnEvent.objects.for_tenant(tenant)
            .filter(return_request_id__in=ids[first : first + LINE_BATCH], action=POLICY_OVERRIDDEN)
            .values_list("return_request_id", flat=True)
        )
    return found


def _add_resolution(cells: Cells, day, row: dict, touched: list[dict]) -> None:
    measures = {}
    if row["resolution"] in RESOLUTION_MEASURE:
        measures[RESOLUTION_MEASURE[row["resolution"]]] = 1
    if row["resolution"] in MONEY_MEASURE:
        measures[MONEY_MEASURE[row["resolution"]]] = row["refund_total"] or Decimal("0")
    elif row["resolution"] == ReturnResolution.MIXED:
        # Lines resolved differently: the credit-note lines' part is credited, the rest of
        # the money back refunded (as analytics.kpis.return_money counts it).
        credited = row["credit_note_total"] or Decimal("0")
        measures["credited_value"] = credited
        measures["refunded_value"] = (row["refund_total"] or Decimal("0")) - credited
    measures["restocking_fees"] = row["restocking_fee"] or Decimal("0")
    if row["refund_due_at"] is not None:  # the refund / credit clock stops at the resolution
        met = row["resolved_at"] <= row["refund_due_at"]
        measures["refund_met" if met else "refund_missed"] = 1
    # The customer-update cadence of the resolved return (it does not run once resolved).
    measures["updates_kept" if not row["update_lapses"] else "updates_lapsed"] = 1
    cells.touch(day, touched, measures)
    for line in touched:
        if line["disposition"] not in DISPOSITIONS:
            continue
        prefix = line["disposition"]
        cells.add(
            day,
            line,
            {
                f"{prefix}_lines": 1,
                f"{prefix}_quantity": line["accepted"],
                f"{prefix}_value": line["accepted"] * line["price"],
            },
        )


# --- complaints -----------------------------------------------------------------------------


def complaint_cells(*, tenant, start: datetime.date, end: datetime.date) -> Cells:
    period = Period(start=start, end=end, timezone=tenant.timezone)
    zone = period.zone
    calendar = business_calendar(tenant)
    cells = Cells(COMPLAINT_SLICES)
    regions = account_regions(tenant)
    complaints = Complaint.objects.for_tenant(tenant).filter(
        Q(**period.instant_filter("created_at"))
        | Q(**period.instant_filter("first_responded_at"))
        | Q(**period.instant_filter("resolved_at"))
    )
    resolved_here = Complaint.objects.for_tenant(tenant).filter(
        **period.instant_filter("resolved_at")
    )
    staff_replies = dict(
        ComplaintMessage.objects.for_tenant(tenant)
        .filter(complaint__in=resolved_here.values("pk"), is_internal=False, author__is_staff=True)
        .values("complaint_id")
        .annotate(replies=Count("id"))
        .values_list("complaint_id", "replies")
    )
    # Repeats are read where they are filed: whether a complaint repeats an earlier one of
    # its customer about the same product is known when it is filed.
    repeat_ids = set(
        Complaint.objects.for_tenant(tenant)
        .filter(product__isnull=False, **period.instant_filter("created_at"))
        .filter(repeats_earlier(tenant))
        .values_list("pk", flat=True)
    )
    rows = complaints.order_by().values(
        "pk",
        "code",
        "customer_account_id",
        "product_id",
        "product__category_id",
        "assignee_id",
        "category",
        "priority",
        "channel",
        "created_at",
        "first_responded_at",
        "first_response_due_at",
        "resolved_at",
        "resolution_due_at",
        "resolution_started_at",
        "sla_paused_seconds",
        "reopen_count",
        "update_lapses",
    )
    for row in rows.iterator(chunk_size=5000):
        dims = _complaint_dims(row, regions)
        case = row["code"]
        filed = _local_day(row["created_at"], zone)
        if period.start <= filed <= period.end:
            measures = {"filed": 1}
            if row["product_id"]:
                measures["filed_with_product"] = 1
                measures["repeats"] = int(row["pk"] in repeat_ids)
            cells.add(filed, dims, measures)
        responded = _local_day(row["first_responded_at"], zone)
        if responded and period.start <= responded <= period.end:
            hours = complaint_first_response_hours(
                calendar, row["created_at"], row["first_responded_at"]
            )
            met = row["first_responded_at"] <= row["first_response_due_at"]
            cells.add(
                responded,
                dims,
                {
                    "first_responses": 1,
                    "first_response_hours": hours,
                    "first_response_met": int(met),
                    "first_response_missed": int(not met),
                },
            )
            cells.add_duration(
                responded, dims, "first_response", hours, [round(hours, 2), row["pk"], case]
            )
        resolved = _local_day(row["resolved_at"], zone)
        if resolved and period.start <= resolved <= period.end:
            hours = complaint_resolution_hours(
                calendar,
                row["created_at"],
                row["resolution_started_at"],
                row["resolved_at"],
                row["sla_paused_seconds"],
            )
            met = row["resolved_at"] <= row["resolution_due_at"]
            cells.add(
                resolved,
                dims,
                {
                    "resolved": 1,
                    "resolution_hours": hours,
                    "resolution_met": int(met),
                    "resolution_missed": int(not met),
                    "reopened": int(row["reopen_count"] > 0),
                    "first_contact": int(staff_replies.get(row["pk"]) == 1),
                    "updates_kept": int(not row["update_lapses"]),
                    "updates_lapsed": int(bool(row["update_lapses"])),
                },
            )
            cells.add_duration(
                resolved, dims, "resolution", hours, [round(hours, 2), row["pk"], case]
            )
    ratings = (
        SatisfactionRating.objects.for_tenant(tenant)
        .filter(**period.instant_filter("created_at"))
        .order_by()
        .values(
            "created_at",
            "score",
            "complaint__customer_account_id",
            "complaint__product_id",
            "complaint__product__category_id",
            "complaint__assignee_id",
            "complaint__category",
            "complaint__priority",
            "complaint__channel",
        )
    )
    for row in ratings.iterator(chunk_size=5000):
        dims = _complaint_dims(
            {key.removeprefix("complaint__"): v for key, v in row.items()}, regions
        )
        cells.add(
            _local_day(row["created_at"], zone),
            dims,
            {"ratings": 1, "score_total": row["score"], "satisfied": int(row["score"] >= 4)},
        )
    return cells


def _complaint_dims(row: dict, regions: dict) -> dict:
    return {
        "agent_id": row["assignee_id"] or 0,
        "customer_account_id": row["customer_account_id"],
        "category_id": row["product__category_id"] or 0,
        "product_id": row["product_id"] or 0,
        "complaint_category": row["category"],
        "priority": row["priority"],
        "channel": row["channel"],
        **regions.get(row["customer_account_id"], NO_REGION),
    }


# --- writing --------------------------------------------------------------------------------

_TEXT_COLUMNS = {"reason", "complaint_category", "priority", "channel", "country", "region"}


def _insert_cells(model, tenant, span: str, slices: SliceSet, entries) -> int:
    """Write (day, slice, {column: value}, Cell) entries as rollup rows.

    A night writes thousands of rows of some forty columns: PostgreSQL takes them with COPY,
    other databases (the embedded SQLite) with one executemany; the ORM's bulk_create spends
    seconds preparing the values alone.
    """
    measures = RETURN_MEASURES if model is ReturnRollup else COMPLAINT_MEASURES
    dims = slices.all_columns
    columns = ["tenant_id", "span", "day", "slice", *dims, *measures, "durations", "slowest"]
    rows = []
    for day, slice_name, values, cell in entries:
        rows.append(
            (
                tenant.pk,
                span,
                day.isoformat(),
                slice_name,
                *(values.get(c, "" if c in _TEXT_COLUMNS else 0) for c in dims),
                *(cell.measures.get(m, 0) for m in measures),
                json.dumps(cell.durations, separators=(",", ":")),
                json.dumps(cell.slowest, separators=(",", ":")),
            )
        )
    if not rows:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows(rows)
            buffer.seek(0)
            cursor.cursor.copy_expert(
                f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", buffer
            )
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 - names from the model
    return len(rows)


def _day_entries(cells: Cells):
    for (day, slice_name, values), cell in cells.cells.items():
        yield (
            day,
            slice_name,
            dict(zip(cells.slices.columns(slice_name), values, strict=True)),
            cell,
        )


@dataclass(frozen=True)
class RebuildResult:
    days: int
    return_rows: int
    complaint_rows: int
    months: int


def kpi_rollups_rebuild(
    *, tenant, start: datetime.date, end: datetime.date, now: datetime.datetime | None = None
) -> RebuildResult:
    """Replace the rollup rows of start..end (days before today only) and of every whole
    past month they fall in.

    Built a calendar month at a time, each month in one transaction (readers see its old
    rows or its new ones), so a year of a large tenant never sits in memory at once.
    """
    now = now or timezone.now()
    yesterday = timezone.localtime(now, Period(start, start, tenant.timezone).zone).date()
    yesterday -= datetime.timedelta(days=1)
    end = min(end, yesterday)
    result = RebuildResult(days=0, return_rows=0, complaint_rows=0, months=0)
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(month_end(chunk_start), end)
        part = _rebuild_days(tenant, chunk_start, chunk_end, yesterday, now)
        result = RebuildResult(
            days=result.days + part.days,
            return_rows=result.return_rows + part.return_rows,
            complaint_rows=result.complaint_rows + part.complaint_rows,
            months=result.months + part.months,
        )
        chunk_start = chunk_end + datetime.timedelta(days=1)
    if result.days:
        logger.info(
            "kpi rollups rebuilt",
            extra={"tenant": tenant.pk, "start": start.isoformat(), "end": end.isoformat()},
        )
    return result


def _rebuild_days(tenant, start, end, yesterday, now) -> RebuildResult:
    """Days start..end of one month: their rows, their RollupDay marks, and the month's
    compacted rows when the month is over."""
    returns = return_cells(tenant=tenant, start=start, end=end)
    complaints = complaint_cells(tenant=tenant, start=start, end=end)
    days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]
    with transaction.atomic():
        _lock_tenant_rollups(tenant)
        for model, cells in ((ReturnRollup, returns), (ComplaintRollup, complaints)):
            model.objects.for_tenant(tenant).filter(
                span=Span.DAY, day__gte=start, day__lte=end
            ).delete()
            _insert_cells(model, tenant, Span.DAY, cells.slices, _day_entries(cells))
        RollupDay.objects.for_tenant(tenant).filter(day__gte=start, day__lte=end).delete()
        RollupDay.objects.bulk_create(
            [RollupDay(tenant=tenant, day=day, built_at=now) for day in days], batch_size=2000
        )
        months = _compact_months(tenant, start, end, yesterday)
    return RebuildResult(
        days=len(days),
        return_rows=len(returns.cells),
        complaint_rows=len(complaints.cells),
        months=months,
    )


ROLLUP_LOCK = 7421  # the first key of the tenant's advisory lock (the second: its id)


def _lock_tenant_rollups(tenant) -> None:
    """Two rebuilds of one tenant (nightly and a manual range) take turns: each replaces a
    month's compacted rows from the day rows it sees, and must see the other's."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK, tenant.pk])


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def quarter_start(day: datetime.date) -> datetime.date:
    """The first day of the calendar quarter of `day` (Q1 = January–March)."""
    return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def quarter_end(day: datetime.date) -> datetime.date:
    first = quarter_start(day)
    return month_end(first.replace(month=first.month + 2))


def _compact_months(tenant, start, end, yesterday) -> int:
    """Month rows of every month of start..end that is over by `yesterday`."""
    compacted = 0
    month = month_start(start)
    while month <= end:
        last = month_end(month)
        if last <= yesterday:
            for model, slices, measures in (
                (ReturnRollup, RETURN_SLICES, RETURN_MEASURES),
                (ComplaintRollup, COMPLAINT_SLICES, COMPLAINT_MEASURES),
            ):
                _compact_month(model, slices, measures, tenant, month, last)
            RollupMonth.objects.for_tenant(tenant).update_or_create(
                tenant=tenant, month=month, defaults={"built_at": timezone.now()}
            )
            # A stored report of the month, or of its quarter, was made from the figures just
            # replaced.
            for report in [
                *MonthlyReport.objects.for_tenant(tenant).filter(month=month),
                *QuarterlyReport.objects.for_tenant(tenant).filter(quarter=quarter_start(month)),
            ]:
                report.file.delete(save=False)
                report.delete()
            compacted += 1
        month = last + datetime.timedelta(days=1)
    return compacted


def _compact_month(model, slices: SliceSet, measures, tenant, first, last) -> None:
    rows = model.objects.for_tenant(tenant)
    rows.filter(span=Span.MONTH, day=first).delete()
    days = rows.filter(
        span=Span.DAY, day__gte=first, day__lte=last, slice__in=sorted(slices.compact)
    )
    columns = slices.all_columns
    sums = days.values("slice", *columns).annotate(
        **{f"sum_{m}": Coalesce(Sum(m), 0, output_field=model._meta.get_field(m)) for m in measures}
    )
    cells: dict[tuple, Cell] = {}
    for row in sums.order_by():
        cell = Cell()
        cell.add({m: row[f"sum_{m}"] for m in measures})
        cells[(row["slice"], *(row[c] for c in columns))] = cell
    detail = days.filter(slice__in=sorted(slices.detail & slices.compact))
    for row in detail.values("slice", *columns, "durations", "slowest").iterator(chunk_size=5000):
        key = (row["slice"], *(row[c] for c in columns))
        cells[key].merge(Cell(durations=row["durations"], slowest=row["slowest"]))
    _insert_cells(
        model,
        tenant,
        Span.MONTH,
        slices,
        (
            (first, key[0], dict(zip(columns, key[1:], strict=True)), cell)
            for key, cell in cells.items()
        ),
    )


# --- the nightly run ------------------------------------------------------------------------


def days_to_rebuild(
    *, tenant, now: datetime.datetime | None = None, catch_up: int | None = CATCH_UP_PER_RUN
) -> list[datetime.date]:
    """Yesterday, the days whose figures changed since the last run (see `changed_days`), and
    days of the last CATCH_UP_DAYS never built: the `catch_up` most recent of them (None:
    all), so one run of a new large tenant stays short and the next runs finish the rest."""
    now = now or timezone.now()
    zone = Period(datetime.date.min, datetime.date.min, tenant.timezone).zone
    today = timezone.localtime(now, zone).date()
    yesterday = today - datetime.timedelta(days=1)
    first = today - datetime.timedelta(days=CATCH_UP_DAYS)
    built = set(
        RollupDay.objects.for_tenant(tenant)
        .filter(day__gte=first, day__lte=yesterday)
        .values_list("day", flat=True)
    )
    never_built = sorted(
        {first + datetime.timedelta(days=n) for n in range(CATCH_UP_DAYS)} - built, reverse=True
    )
    # Yesterday, once the tenant's day is over, is the newest day never built.
    days = set(never_built if catch_up is None else never_built[:catch_up])
    days.update(changed_days(tenant=tenant, zone=zone))
    return sorted(day for day in days if day <= yesterday)


def changed_days(*, tenant, zone) -> set[datetime.date]:
    """Days whose figures a change since the last run touched: every timestamp of a return
    or complaint saved since then, and of its timeline (a reopened complaint's earlier
    resolution, a rejection), its rating, and the delivery day of an order changed since."""
    state = RollupState.objects.for_tenant(tenant).first()
    since = state.changes_seen_at if state else None
    if since is None:  # no nightly run yet: changes since the last rebuild of any kind
        since = RollupDay.objects.for_tenant(tenant).aggregate(last=Max("built_at"))["last"]
    if since is None:
        return set()
    moments = []
    returns = ReturnRequest.objects.for_tenant(tenant).filter(updated_at__gt=since)
    for row in returns.values_list("submitted_at", "approved_at", "received_at", "resolved_at"):
        moments.extend(row)
    moments.extend(
        ReturnEvent.objects.for_tenant(tenant)
        .filter(return_request__in=returns.values("pk"))
        .values_list("created_at", flat=True)
    )
    complaints = Complaint.objects.for_tenant(tenant).filter(updated_at__gt=since)
    for row in complaints.values_list("created_at", "first_responded_at", "resolved_at"):
        moments.extend(row)
    moments.extend(
        ComplaintEvent.objects.for_tenant(tenant)
        .filter(complaint__in=complaints.values("pk"))
        .values_list("created_at", flat=True)
    )
    moments.extend(
        SatisfactionRating.objects.for_tenant(tenant)
        .filter(Q(complaint__in=complaints.values("pk")) | Q(created_at__gt=since))
        .values_list("created_at", flat=True)
    )
    days = {_local_day(moment, zone) for moment in moments if moment}
    days.update(
        Order.objects.for_tenant(tenant)
        .filter(Q(imported_at__gt=since) | Q(updated_at__gt=since), delivery_date__isnull=False)
        .values_list("delivery_date", flat=True)
    )
    return days


def contiguous_ranges(days: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    ranges: list[list[datetime.date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + datetime.timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(a, b) for a, b in ranges]


def kpi_rollups_nightly(
    *, tenant, now: datetime.datetime | None = None, catch_up: int | None = CATCH_UP_PER_RUN
) -> int:
    """One rollup run for one tenant (hourly on beat; the tenant's night brings yesterday);
    returns the number of days rebuilt. Changes made while it runs are seen by the next."""
    now = now or timezone.now()
    started = now
    rebuilt = 0
    for first, last in contiguous_ranges(
        days_to_rebuild(tenant=tenant, now=now, catch_up=catch_up)
    ):
        rebuilt += kpi_rollups_rebuild(tenant=tenant, start=first, end=last, now=now).days
    RollupState.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, defaults={"changes_seen_at": started}
    )
    return rebuilt
