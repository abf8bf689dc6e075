"""Reading KPI figures for a period from the rollups: whole past months from month rows, the
other past days from day rows, today from the source tables (the same cell builder, in
memory, kept a minute per process). A fixed number of queries per figure, whatever the
number of returns.
"""

from __future__ import annotations

import datetime
import time
from collections import OrderedDict, defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .histograms import Durations, keep_slowest, merge_histograms
from .kpis import NO_FILTERS, RETURN_STAGES, KpiFilters
from .models import ComplaintRollup, ReturnRollup, RollupDay, RollupMonth, Span
from .periods import Period
from .rollups import Cells, complaint_cells, month_end, month_start, return_cells
from .slices import COMPLAINT_SLICES, RETURN_SLICES, filter_columns, filter_letters, normalise

# Today's cells of a large tenant take a second or two to build from the source tables: each
# process keeps them for KPI_TODAY_CACHE_SECONDS (0: build them for every request), for the
# last few tenants asked for.
_TODAY: OrderedDict[tuple, tuple[float, Cells]] = OrderedDict()
TODAY_CACHE_TENANTS = 32

KINDS = {
    "returns": (ReturnRollup, RETURN_SLICES, return_cells),
    "complaints": (ComplaintRollup, COMPLAINT_SLICES, complaint_cells),
}


class RollupReader:
    """Figures of one tenant over start..end (local days), narrowed by `filters`."""

    def __init__(
        self,
        *,
        tenant,
        start: datetime.date,
        end: datetime.date,
        filters: KpiFilters = NO_FILTERS,
        now: datetime.datetime | None = None,
    ):
        self.tenant = tenant
        self.start, self.end = start, end
        self.filters = filters
        now = now or timezone.now()
        self.today = timezone.localtime(now, Period(start, end, tenant.timezone).zone).date()
        self.past_end = min(end, self.today - datetime.timedelta(days=1))
        self.has_past = start <= self.past_end
        self.has_today = start <= self.today <= end
        self._live: dict[str, Cells] = {}
        self._whole_months: list[datetime.date] | None = None
        self._details: dict[tuple, list] = {}
        self._sums: dict[tuple, dict | None] = {}

    # --- what the period covers ---------------------------------------------------------

    def whole_months(self) -> list[datetime.date]:
        """First days of the months wholly inside start..past_end whose month rows are built
        (a month not yet compacted is read from its day rows)."""
        if self._whole_months is not None:
            return self._whole_months
        months = []
        month = month_start(self.start)
        if month < self.start:
            month = month_end(month) + datetime.timedelta(days=1)
        while self.has_past and month_end(month) <= self.past_end:
            months.append(month)
            month = month_end(month) + datetime.timedelta(days=1)
        if months:
            built = set(
                RollupMonth.objects.for_tenant(self.tenant)
                .filter(month__in=months)
                .values_list("month", flat=True)
            )
            months = [month for month in months if month in built]
        self._whole_months = months
        return months

    def missing_days(self) -> int:
        """Past days of the period whose rollups were never built."""
        if not self.has_past:
            return 0
        built = (
            RollupDay.objects.for_tenant(self.tenant)
            .filter(day__gte=self.start, day__lte=self.past_end)
            .count()
        )
        return (self.past_end - self.start).days + 1 - built

    def _span_condition(self, slice_name: str, slices, *, by_day: bool) -> Q:
        months = [] if by_day or slice_name not in slices.compact else self.whole_months()
        if not months:
            return Q(span=Span.DAY, day__gte=self.start, day__lte=self.past_end)
        # Month rows for the compacted months, day rows for every other past day.
        condition = Q(span=Span.MONTH, day__in=months)
        day = self.start
        for month in [*months, None]:
            until = month - datetime.timedelta(days=1) if month else self.past_end
            if day <= until:
                condition |= Q(span=Span.DAY, day__gte=day, day__lte=until)
            if month:
                day = month_end(month) + datetime.timedelta(days=1)
        return condition

    def _live_cells(self, kind: str) -> Cells:
        if kind not in self._live:
            self._live[kind] = _todays_cells(kind, self.tenant, self.today)
        return self._live[kind]

    def _letters_and_columns(self, kind: str, *, deliveries: bool):
        """The slice letters and column values of the filters that apply: a complaint has no
        return reason; a delivery neither a reason nor a channel."""
        applies = {
            "reason_applies": kind == "returns" and not deliveries,
            "channel_applies": not deliveries,
        }
        return (
            filter_letters(self.filters, **applies),
            filter_columns(self.filters, **applies),
        )

    # --- sums ---------------------------------------------------------------------------

    def sums(
        self,
        kind: str,
        measures: tuple[str, ...],
        *,
        group: str = "",
        by: str | None = None,
        exact: bool = False,
        deliveries: bool = False,
    ) -> dict[tuple, dict[str, float | int | Decimal]] | None:
        """{(period bucket?, group column values…): {measure: sum}}; None when no stored
        slice can answer exactly (the caller computes the figure live).

        `by` = "month" or "day" puts the bucket's first day first in the key. `deliveries`:
        the measures are deliveries', which the reason and channel filters do not narrow.
        Answers are kept for the reader's life: tiles, tables and charts ask for the same sums.
        """
        memo_key = (kind, measures, group, by, exact, deliveries)
        if memo_key not in self._sums:
            self._sums[memo_key] = self._sums_uncached(
                kind, measures, group=group, by=by, exact=exact, deliveries=deliveries
            )
        return self._sums[memo_key]

    def _sums_uncached(self, kind, measures, *, group, by, exact, deliveries):
        model, slices, _build = KINDS[kind]
        letters, columns = self._letters_and_columns(kind, deliveries=deliveries)
        slice_name = slices.pick(letters + group, exact=exact)
        if slice_name is None:
            return None
        group_columns = slices.columns(normalise(group)) if group else ()
        totals: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(measures, 0))
        if self.has_past:
            rows = model.objects.for_tenant(self.tenant).filter(
                self._span_condition(slice_name, slices, by_day=by == "day"),
                slice=slice_name,
                **columns,
            )
            keys = list(group_columns)
            if by == "month":
                rows = rows.annotate(bucket=TruncMonth("day"))
                keys.insert(0, "bucket")
            elif by == "day":
                rows = rows.annotate(bucket=F("day"))
                keys.insert(0, "bucket")
            sums = {f"s_{m}": Sum(m) for m in measures}
            # No grouping: one aggregate (values() without fields would group by every column).
            grouped = rows.values(*keys).annotate(**sums) if keys else [rows.aggregate(**sums)]
            for row in grouped:
                key = tuple(_as_date(row[k]) if k == "bucket" else row[k] for k in keys)
                for m in measures:
                    totals[key][m] += row[f"s_{m}"] or 0
        if self.has_today:
            for day, values, cell in self._live_cells(kind).by_slice(slice_name):
                dims = dict(zip(slices.columns(slice_name), values, strict=True))
                if any(dims.get(c) != v for c, v in columns.items()):
                    continue
                key = tuple(dims[c] for c in group_columns)
                if by == "month":
                    key = (month_start(day), *key)
                elif by == "day":
                    key = (day, *key)
                for m in measures:
                    totals[key][m] += cell.measures.get(m, 0)
        return dict(totals)

    def total(self, kind: str, measures: tuple[str, ...], **options) -> dict | None:
        sums = self.sums(kind, measures, **options)
        if sums is None:
            return None
        return sums.get((), dict.fromkeys(measures, 0))

    # --- durations and slowest cases ------------------------------------------------------

    def _detail_rows(self, kind: str, slice_name: str, columns: dict) -> list:
        """The stored rows' histograms, slowest cases and stage counts, read once per kind
        (every stage's figures come from the same rows)."""
        key = (kind, slice_name)
        if key not in self._details:
            model, slices, _build = KINDS[kind]
            names = _detail_measures(kind)
            rows = model.objects.for_tenant(self.tenant).filter(
                self._span_condition(slice_name, slices, by_day=False),
                slice=slice_name,
                **columns,
            )
            self._details[key] = [
                (durations, cases, dict(zip(names, values, strict=True)))
                for durations, cases, *values in rows.values_list("durations", "slowest", *names)
            ]
        return self._details[key]

    def details(self, kind: str, stage: str, *, count_measure: str, hours_measure: str):
        """(Durations, slowest cases) of a stage over the period; None when the filters have
        no detail slice (the caller computes them live)."""
        _model, slices, _build = KINDS[kind]
        letters, columns = self._letters_and_columns(kind, deliveries=False)
        slice_name = slices.pick(letters, exact=kind == "returns", detail=True)
        if slice_name is None:
            return None
        histogram: dict[str, list] = {}
        slowest: list[list] = []
        count, hours = 0, 0.0
        if self.has_past:
            for durations, cases, measures in self._detail_rows(kind, slice_name, columns):
                merge_histograms(histogram, durations.get(stage, {}))
                slowest = keep_slowest([*slowest, *cases.get(stage, [])])
                count += measures[count_measure]
                hours += measures[hours_measure]
        if self.has_today:
            for _day, values, cell in self._live_cells(kind).by_slice(slice_name):
                dims = dict(zip(slices.columns(slice_name), values, strict=True))
                if any(dims.get(c) != v for c, v in columns.items()):
                    continue
                merge_histograms(histogram, cell.durations.get(stage, {}))
                slowest = keep_slowest([*slowest, *cell.slowest.get(stage, [])])
                count += cell.measures.get(count_measure, 0)
                hours += cell.measures.get(hours_measure, 0)
        return Durations(count=count, hours=hours, histogram=histogram), slowest


def _detail_measures(kind: str) -> tuple[str, ...]:
    if kind == "returns":
        return tuple(f"{stage}_{part}" for stage in RETURN_STAGES for part in ("count", "hours"))
    return ("first_responses", "first_response_hours", "resolved", "resolution_hours")


def _todays_cells(kind: str, tenant, today: datetime.date) -> Cells:
    seconds = getattr(settings, "KPI_TODAY_CACHE_SECONDS", 60)
    key = (kind, tenant.pk, today)
    if seconds:
        cached = _TODAY.get(key)
        if cached is not None and cached[0] > time.monotonic():
            _TODAY.move_to_end(key)
            return cached[1]
    build = KINDS[kind][2]
    cells = build(tenant=tenant, start=today, end=today)
    if seconds:
        _TODAY[key] = (time.monotonic() + seconds, cells)
        while len(_TODAY) > TODAY_CACHE_TENANTS * len(KINDS):
            _TODAY.popitem(last=False)
    return cells


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
