"""Which dimension slices the rollups keep, and which slice answers a question.

A slice is named by the letters of its dimensions in alphabetical order ("" = the tenant's
total). Line figures and complaint figures add up across any cells, so any slice that holds
the dimensions asked for answers them; a return *request* is counted once in every cell its
lines touch, so request figures add up only within a slice that holds exactly the asked
dimensions (otherwise the dashboard computes them live, see docs/kpis.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .kpis import KpiFilters


@dataclass(frozen=True)
class SliceSet:
    dims: dict[str, tuple[str, ...]]  # letter → columns of the rollup table
    stored: tuple[str, ...]
    touch: frozenset[str]  # slices holding request figures (returns)
    detail: frozenset[str]  # slices holding histograms and slowest cases
    compact: frozenset[str]  # slices also kept as whole-month rows

    def __post_init__(self) -> None:
        # The builder asks for a slice's columns once per fact and slice: look them up.
        names = set(self.stored) | {normalise(letter) for letter in self.dims}
        columns = {
            name: tuple(column for letter in name for column in self.dims[letter])
            for name in names | {""}
        }
        object.__setattr__(self, "_columns", columns)

    def columns(self, slice_name: str) -> tuple[str, ...]:
        known = self._columns.get(slice_name)
        if known is not None:
            return known
        return tuple(column for letter in slice_name for column in self.dims[letter])

    @property
    def all_columns(self) -> tuple[str, ...]:
        return tuple(column for columns in self.dims.values() for column in columns)

    def pick(self, needed: str, *, exact: bool = False, detail: bool = False) -> str | None:
        """The smallest stored slice holding the letters `needed`; with `exact`, the slice of
        exactly those letters that holds request figures (or None)."""
        wanted = normalise(needed)
        candidates = [
            name
            for name in self.stored
            if set(wanted) <= set(name)
            and (not exact or (name == wanted and name in self.touch))
            and (not detail or name in self.detail)
        ]
        if not candidates:
            return None
        # Fewest dimensions first; a month-compacted slice before one kept only by day.
        return min(candidates, key=lambda name: (len(name), name not in self.compact))


def normalise(letters: str) -> str:
    """A product implies its category: the "p" cells are the "gp" cells."""
    letters = set(letters)
    if "p" in letters:
        letters.add("g")
    return "".join(sorted(letters))


# "h": the channel a case came through (customers.cases.CaseChannel). Deliveries have none:
# they sit in the "" cell of the channel slices, which no channel filter selects.
# "l": the region of the customer account (billing country and region, "" without one), as
# the account said when the day was built; deliveries have one too (their order's account).
RETURN_SLICES = SliceSet(
    dims={
        "c": ("customer_account_id",),
        "g": ("category_id",),
        "h": ("channel",),
        "l": ("country", "region"),
        "p": ("product_id",),
        "r": ("reason",),
    },
    stored=("", "c", "g", "h", "l", "gp", "r", "gr", "cghlpr"),
    touch=frozenset({"", "c", "g", "h", "l", "gp", "r", "gr"}),
    # Not per customer: a customer's cases are few enough to time live, and the customer
    # slice's histograms were most of a month's compaction.
    detail=frozenset({"", "g", "h", "l", "r", "gr"}),
    compact=frozenset({"", "c", "g", "h", "l", "gp", "r", "gr"}),
)

COMPLAINT_SLICES = SliceSet(
    dims={
        "a": ("agent_id",),
        "c": ("customer_account_id",),
        "g": ("category_id",),
        "h": ("channel",),
        "k": ("complaint_category", "priority"),
        "l": ("country", "region"),
        "p": ("product_id",),
    },
    stored=("", "a", "c", "g", "h", "k", "l", "gp", "acghklp"),
    touch=frozenset(),
    detail=frozenset({"", "a", "g", "h", "k", "l", "acghklp"}),
    compact=frozenset({"", "a", "c", "g", "h", "k", "l", "gp"}),
)


def filter_letters(
    filters: KpiFilters, *, reason_applies: bool = True, channel_applies: bool = True
) -> str:
    letters = ""
    if filters.customer_account_id:
        letters += "c"
    if filters.category_id:
        letters += "g"
    if filters.channel and channel_applies:
        letters += "h"
    if filters.region:
        letters += "l"
    if filters.product_id:
        letters += "p"
    if filters.reason and reason_applies:
        letters += "r"
    return letters


def filter_columns(
    filters: KpiFilters, *, reason_applies: bool = True, channel_applies: bool = True
) -> dict[str, object]:
    columns: dict[str, object] = {}
    if filters.customer_account_id:
        columns["customer_account_id"] = filters.customer_account_id
    if filters.category_id:
        columns["category_id"] = filters.category_id
    if filters.channel and channel_applies:
        columns["channel"] = filters.channel
    if filters.region:
        columns["country"] = filters.region.country
        columns["region"] = filters.region.name
    if filters.product_id:
        columns["product_id"] = filters.product_id
    if filters.reason and reason_applies:
        columns["reason"] = filters.reason
    return columns
