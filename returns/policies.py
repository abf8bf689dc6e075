"""The return policy engine: pure code, no database.

`effective_rules()` merges a tenant policy with a customer's override into `PolicyRules`,
which can be snapshotted as JSON on a return. `evaluate_line()` and `evaluate_return()`
give a verdict with reasons a customer can read for every refusal.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from rma_portal.formats import local_day

CENT = Decimal("0.01")

ALL_REASONS = (
    "damaged_in_transport",
    "defective",
    "wrong_item",
    "not_as_described",
    "wrong_size",
    "ordered_by_mistake",
    "late_delivery",
    "other",
)
ALL_RESOLUTIONS = ("refund", "credit_note", "replacement", "repair")
# Our error or a defect: the customer does not pay for sending goods back.
DEFAULT_FREE_SHIPPING_REASONS = ("damaged_in_transport", "defective", "wrong_item")
DEFAULT_WINDOW_DAYS = 14
# After approval: the customer is reminded to send the goods after this many days, and the
# return expires (its quantity is released) when nothing has arrived after this many. 0 = off.
DEFAULT_SHIP_REMINDER_DAYS = 7
DEFAULT_SHIP_WITHIN_DAYS = 30
MAX_SHIP_DAYS = 365
# The clocks of a return, in business time of the tenant's calendar: a decision within this
# many business hours of submission, the refund or credit within this many working days of the
# goods' arrival; 0 = no clock (docs/returns-rules.md#clocks-of-returns).
DEFAULT_DECISION_HOURS = 16
DEFAULT_REFUND_DAYS = 7
MAX_DECISION_HOURS = 1000
MAX_REFUND_DAYS = 365

# A defect past the return window is a warranty claim while the warranty runs: the goods'
# reasons and resolutions of a warranty claim, unless the policy says otherwise.
DEFAULT_WARRANTY_REASONS = ("defective",)
DEFAULT_WARRANTY_RESOLUTIONS = ("repair", "replacement")

# Who must approve a return (ApprovalLevel in returns.models); "" is any agent.
LEVEL_COORDINATOR = "coordinator"
LEVEL_MANAGER = "manager"
LEVEL_ORDER = ("", LEVEL_COORDINATOR, LEVEL_MANAGER)

# How a customer's contract lists the customer (CustomerListing in returns.models).
LISTING_ALLOW = "allow"  # every line returnable whatever the windows and non-returnable lists
LISTING_REVIEW = "review"  # never approved automatically
LISTING_REFUSE = "refuse"  # no return through the portal or the API; staff may still override


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class PolicyRules:
    default_window_days: int = DEFAULT_WINDOW_DAYS
    category_windows: dict[str, int] = field(default_factory=dict)  # category code -> days
    non_returnable_categories: frozenset[str] = frozenset()
    non_returnable_skus: frozenset[str] = frozenset()
    conditions_text: str = ""
    restocking_fee_percent: Decimal = Decimal("0")
    free_shipping_reasons: frozenset[str] = frozenset(DEFAULT_FREE_SHIPPING_REASONS)
    allowed_reasons: tuple[str, ...] = ALL_REASONS
    allowed_resolutions: tuple[str, ...] = ALL_RESOLUTIONS
    auto_approve_enabled: bool = False
    auto_approve_reasons: frozenset[str] = frozenset()
    auto_approve_max_value: Decimal = Decimal("0")
    ship_reminder_days: int = DEFAULT_SHIP_REMINDER_DAYS
    ship_within_days: int = DEFAULT_SHIP_WITHIN_DAYS
    decision_hours: int = DEFAULT_DECISION_HOURS
    refund_days: int = DEFAULT_REFUND_DAYS
    # Lists: always returnable (before windows and non-returnable lists), always reviewed.
    always_returnable_categories: frozenset[str] = frozenset()
    always_returnable_skus: frozenset[str] = frozenset()
    review_categories: frozenset[str] = frozenset()
    review_skus: frozenset[str] = frozenset()
    customer_listing: str = ""
    # Approval tiers: from these requested values a coordinator or a manager approves; a
    # return filed with a policy override needs `override_approval` ("" is any agent).
    approval_coordinator_from: Decimal | None = None
    approval_manager_from: Decimal | None = None
    override_approval: str = ""
    # Warranty: months for goods whose product and category give none (the tenant's), or for
    # all the customer's goods (its contract); the reasons and resolutions of a claim.
    default_warranty_months: int | None = None
    contract_warranty_months: int | None = None
    warranty_reasons: tuple[str, ...] = DEFAULT_WARRANTY_REASONS
    warranty_resolutions: tuple[str, ...] = DEFAULT_WARRANTY_RESOLUTIONS

    def warranty_months(self, facts: LineFacts) -> int | None:
        """The contract's months, else the product's (or its category's), else the tenant's
        default; None or 0: no warranty."""
        for months in (
            self.contract_warranty_months,
            facts.warranty_months,
            self.default_warranty_months,
        ):
            if months is not None:
                return months
        return None

    def window_days(self, category_code: str) -> int:
        return self.category_windows.get(category_code, self.default_window_days)

    def to_snapshot(self) -> dict:
        return {
            "default_window_days": self.default_window_days,
            "category_windows": dict(sorted(self.category_windows.items())),
            "non_returnable_categories": sorted(self.non_returnable_categories),
            "non_returnable_skus": sorted(self.non_returnable_skus),
            "conditions_text": self.conditions_text,
            "restocking_fee_percent": str(self.restocking_fee_percent),
            "free_shipping_reasons": sorted(self.free_shipping_reasons),
            "allowed_reasons": list(self.allowed_reasons),
            "allowed_resolutions": list(self.allowed_resolutions),
            "auto_approve_enabled": self.auto_approve_enabled,
            "auto_approve_reasons": sorted(self.auto_approve_reasons),
            "auto_approve_max_value": str(self.auto_approve_max_value),
            "ship_reminder_days": self.ship_reminder_days,
            "ship_within_days": self.ship_within_days,
            "decision_hours": self.decision_hours,
            "refund_days": self.refund_days,
            "always_returnable_categories": sorted(self.always_returnable_categories),
            "always_returnable_skus": sorted(self.always_returnable_skus),
            "review_categories": sorted(self.review_categories),
            "review_skus": sorted(self.review_skus),
            "customer_listing": self.customer_listing,
            "approval_coordinator_from": _money_or_none(self.approval_coordinator_from),
            "approval_manager_from": _money_or_none(self.approval_manager_from),
            "override_approval": self.override_approval,
            "default_warranty_months": self.default_warranty_months,
            "contract_warranty_months": self.contract_warranty_months,
            "warranty_reasons": list(self.warranty_reasons),
            "warranty_resolutions": list(self.warranty_resolutions),
        }

    @classmethod
    def from_snapshot(cls, data: dict) -> PolicyRules:
        return cls(
            default_window_days=int(data["default_window_days"]),
            category_windows={k: int(v) for k, v in data["category_windows"].items()},
            non_returnable_categories=frozenset(data["non_returnable_categories"]),
            non_returnable_skus=frozenset(data["non_returnable_skus"]),
            conditions_text=data["conditions_text"],
            restocking_fee_percent=Decimal(data["restocking_fee_percent"]),
            free_shipping_reasons=frozenset(data["free_shipping_reasons"]),
            allowed_reasons=tuple(data["allowed_reasons"]),
            allowed_resolutions=tuple(data["allowed_resolutions"]),
            auto_approve_enabled=bool(data["auto_approve_enabled"]),
            auto_approve_reasons=frozenset(data["auto_approve_reasons"]),
            auto_approve_max_value=Decimal(data["auto_approve_max_value"]),
            # Snapshots taken before shipping deadlines existed: the defaults.
            ship_reminder_days=int(data.get("ship_reminder_days", DEFAULT_SHIP_REMINDER_DAYS)),
            ship_within_days=int(data.get("ship_within_days", DEFAULT_SHIP_WITHIN_DAYS)),
            # ... and before the clocks: the defaults.
            decision_hours=int(data.get("decision_hours", DEFAULT_DECISION_HOURS)),
            refund_days=int(data.get("refund_days", DEFAULT_REFUND_DAYS)),
            # ... and before the lists: none.
            always_returnable_categories=frozenset(data.get("always_returnable_categories", ())),
            always_returnable_skus=frozenset(data.get("always_returnable_skus", ())),
            review_categories=frozenset(data.get("review_categories", ())),
            review_skus=frozenset(data.get("review_skus", ())),
            customer_listing=data.get("customer_listing", ""),
            approval_coordinator_from=_decimal_or_none(data.get("approval_coordinator_from")),
            approval_manager_from=_decimal_or_none(data.get("approval_manager_from")),
            override_approval=data.get("override_approval", ""),
            default_warranty_months=data.get("default_warranty_months"),
            contract_warranty_months=data.get("contract_warranty_months"),
            warranty_reasons=tuple(data.get("warranty_reasons", DEFAULT_WARRANTY_REASONS)),
            warranty_resolutions=tuple(
                data.get("warranty_resolutions", DEFAULT_WARRANTY_RESOLUTIONS)
            ),
        )

    def approval_level(self, requested_value: Decimal, *, overridden: bool = False) -> str:
        """Who must approve a return asking for `requested_value` ("" is any agent): the
        highest of the value's tier and, for a return filed with a policy override, the
        override's. A value at the limit is in the tier."""
        levels = [""]
        if (
            self.approval_coordinator_from is not None
            and requested_value >= self.approval_coordinator_from
        ):
            levels.append(LEVEL_COORDINATOR)
        if self.approval_manager_from is not None and requested_value >= self.approval_manager_from:
            levels.append(LEVEL_MANAGER)
        if overridden and self.override_approval:
            levels.append(self.override_approval)
        return max(levels, key=LEVEL_ORDER.index)

    def ship_deadlines(
        self, approved_at: datetime.datetime, timezone: str
    ) -> tuple[datetime.datetime | None, datetime.datetime | None]:
        """(when to remind the customer to send the goods, the last moment they may arrive)
        for a return approved at `approved_at`; None where switched off (0).

        The goods may arrive until the end of the `ship_within_days`-th calendar day after the
        day of approval, in the tenant's time zone (`timezone`): approved on 3 March with 30
        days, they may arrive on 2 April until 23:59:59. The reminder comes `ship_reminder_days`
        × 24 hours after approval, and not at all when that is not before the last moment."""
        ship_by = None
        if self.ship_within_days:
            zone = ZoneInfo(timezone)
            last_day = approved_at.astimezone(zone).date() + datetime.timedelta(
                days=self.ship_within_days
            )
            ship_by = datetime.datetime.combine(
                last_day, datetime.time(23, 59, 59), tzinfo=zone
            ).astimezone(datetime.UTC)
        remind_at = (
            approved_at + datetime.timedelta(days=self.ship_reminder_days)
            if self.ship_reminder_days
            else None
        )
        if remind_at is not None and ship_by is not None and remind_at >= ship_by:
            remind_at = None
        return remind_at, ship_by


@dataclass(frozen=True)
class PolicyLayer:
    """One stored policy (the tenant's or a customer's override); None means "inherit"."""

    default_window_days: int | None = None
    category_windows: dict[str, int] = field(default_factory=dict)
    non_returnable_categories: frozenset[str] = frozenset()
    non_returnable_skus: frozenset[str] = frozenset()
    conditions_text: str = ""
    restocking_fee_percent: Decimal | None = None
    free_shipping_reasons: Sequence[str] | None = None
    allowed_reasons: Sequence[str] | None = None
    allowed_resolutions: Sequence[str] | None = None
    auto_approve_enabled: bool | None = None
    auto_approve_reasons: Sequence[str] | None = None
    auto_approve_max_value: Decimal | None = None
    ship_reminder_days: int | None = None
    ship_within_days: int | None = None
    decision_hours: int | None = None
    refund_days: int | None = None
    always_returnable_categories: frozenset[str] = frozenset()
    always_returnable_skus: frozenset[str] = frozenset()
    review_categories: frozenset[str] = frozenset()
    review_skus: frozenset[str] = frozenset()
    customer_listing: str = ""  # set on a customer's override only
    approval_coordinator_from: Decimal | None = None
    approval_manager_from: Decimal | None = None
    override_approval: str | None = None
    default_warranty_months: int | None = None  # the tenant's policy
    contract_warranty_months: int | None = None  # a customer's override
    warranty_reasons: Sequence[str] | None = None
    warranty_resolutions: Sequence[str] | None = None


def effective_rules(layers: Iterable[PolicyLayer]) -> PolicyRules:
    """Merge layers, most general first: later layers override what they set.

    Category windows override per category; non-returnable, always returnable and always
    reviewed categories and products add up; the customer's listing comes from its override.
    """
    rules: dict = {}
    windows: dict[str, int] = {}
    blocked_categories: set[str] = set()
    blocked_skus: set[str] = set()
    listed: dict[str, set[str]] = {
        name: set()
        for name in (
            "always_returnable_categories",
            "always_returnable_skus",
            "review_categories",
            "review_skus",
        )
    }
    for layer in layers:
        for name in (
            "default_window_days",
            "restocking_fee_percent",
            "auto_approve_enabled",
            "auto_approve_max_value",
            "ship_reminder_days",
            "ship_within_days",
            "decision_hours",
            "refund_days",
            "approval_coordinator_from",
            "approval_manager_from",
            "override_approval",
            "default_warranty_months",
            "contract_warranty_months",
        ):
            value = getattr(layer, name)
            if value is not None:
                rules[name] = value
        if layer.conditions_text:
            rules["conditions_text"] = layer.conditions_text
        for name, convert in (
            ("free_shipping_reasons", frozenset),
            ("allowed_reasons", tuple),
            ("allowed_resolutions", tuple),
            ("auto_approve_reasons", frozenset),
            ("warranty_reasons", tuple),
            ("warranty_resolutions", tuple),
        ):
            value = getattr(layer, name)
            if value is not None:
                rules[name] = convert(value)
        windows.update(layer.category_windows)
        blocked_categories |= layer.non_returnable_categories
        blocked_skus |= layer.non_returnable_skus
        for name, values in listed.items():
            values |= getattr(layer, name)
        if layer.customer_listing:
            rules["customer_listing"] = layer.customer_listing
    return PolicyRules(
        **rules,
        **{name: frozenset(values) for name, values in listed.items()},
        category_windows=windows,
        non_returnable_categories=frozenset(blocked_categories),
        non_returnable_skus=frozenset(blocked_skus),
    )


@dataclass(frozen=True)
class LineFacts:
    """What the engine needs to know about one line a customer wants to return."""

    sku: str
    product_name: str
    category_code: str
    category_name: str
    product_returnable: bool
    delivered_on: datetime.date | None  # the line's delivery date, else the order's
    quantity_delivered: int  # as the ERP reported it; lines without delivery data: as ordered
    quantity_claimed_elsewhere: int
    quantity_requested: int
    unit_price: Decimal
    reason: str
    warranty_months: int | None = None  # the product's, else its category's


# The rule behind each refusal of a line (LineVerdict.codes), the same wherever a line is
# judged: the wizard's steps, submission, the back-office's filing.
REFUSAL_NOT_RETURNABLE = "not_returnable"  # product, SKU or category not returnable
REFUSAL_NOT_DELIVERED = "not_delivered"
REFUSAL_WINDOW_CLOSED = "window_closed"
REFUSAL_WARRANTY_AVAILABLE = "warranty_available"  # ... but a defect may be claimed
REFUSAL_REASON_NOT_ALLOWED = "reason_not_allowed"
REFUSAL_QUANTITY_INVALID = "quantity_invalid"
REFUSAL_QUANTITY_BEYOND_RETURNABLE = "quantity_beyond_returnable"  # the ledger


@dataclass
class LineVerdict:
    allowed: bool
    refusals: list[str]
    window_days: int
    last_day: datetime.date | None
    returnable_quantity: int
    # Listed as always returnable: the window and the non-returnable lists did not apply.
    always_returnable: bool = False
    # The last day of the warranty (None: none), and whether the line is a warranty claim: a
    # defect past the window (or of goods not returnable) while the warranty runs.
    warranty_until: datetime.date | None = None
    warranty: bool = False
    # The rule of each refusal (REFUSAL_*), in the order of `refusals`.
    codes: list[str] = field(default_factory=list)

    @property
    def rule(self) -> str:
        """Which rule lets the line be returned: "listed", "warranty" or "window"."""
        if self.always_returnable:
            return "listed"
        return "warranty" if self.warranty else "window"


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or the month's last day when it is shorter (31 January
    and one month: 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# Labels of the values named in messages (the engine knows no models).
_REASON_LABELS = {"defective": _lazy("Defective")}
_RESOLUTION_LABELS = {
    "refund": _lazy("Refund"),
    "credit_note": _lazy("Credit note"),
    "replacement": _lazy("Replacement"),
    "repair": _lazy("Repair"),
}


def _warranty_reason_label(rules: PolicyRules) -> str:
    reason = rules.warranty_reasons[0] if rules.warranty_reasons else "defective"
    return str(_REASON_LABELS.get(reason, reason))


def _resolution_label(resolution: str) -> str:
    return str(_RESOLUTION_LABELS.get(resolution, resolution))


def always_returnable(rules: PolicyRules, facts: LineFacts) -> bool:
    return (
        rules.customer_listing == LISTING_ALLOW
        or facts.sku in rules.always_returnable_skus
        or facts.category_code in rules.always_returnable_categories
    )


def always_reviewed(rules: PolicyRules, facts: LineFacts) -> bool:
    return facts.sku in rules.review_skus or facts.category_code in rules.review_categories


def evaluate_line(rules: PolicyRules, facts: LineFacts, *, today: datetime.date) -> LineVerdict:
    refusals: list[str] = []
    codes: list[str] = []

    def refuse(code: str, text: str) -> None:
        codes.append(code)
        refusals.append(text)

    window = rules.window_days(facts.category_code)
    category = facts.category_name or facts.category_code
    returnable_quantity = max(facts.quantity_delivered - facts.quantity_claimed_elsewhere, 0)
    last_day = None
    listed = always_returnable(rules, facts)
    not_returnable = not listed and (
        not facts.product_returnable
        or facts.sku in rules.non_returnable_skus
        or facts.category_code in rules.non_returnable_categories
    )
    # Nothing of the line delivered: no date, or the ERP reported none of it delivered.
    undelivered = facts.delivered_on is None or facts.quantity_delivered < 1
    warranty_until = None
    months = rules.warranty_months(facts)
    if months and not undelivered:
        warranty_until = add_months(facts.delivered_on, months)
    under_warranty = warranty_until is not None and today <= warranty_until
    past_window = False
    if not undelivered:
        last_day = facts.delivered_on + datetime.timedelta(days=window)
        past_window = today > last_day and not listed
    # A defect past the window, or of goods not returnable, while the warranty runs.
    warranty = (
        (past_window or not_returnable)
        and under_warranty
        and facts.reason in rules.warranty_reasons
    )

    if not_returnable and not warranty:
        if facts.category_code in rules.non_returnable_categories:
            refuse(
                REFUSAL_NOT_RETURNABLE,
                _("Goods in the category “%(category)s” cannot be returned.")
                % {"category": category},
            )
        else:
            refuse(
                REFUSAL_NOT_RETURNABLE,
                _("%(product)s (%(sku)s) cannot be returned.")
                % {"product": facts.product_name, "sku": facts.sku},
            )

    if undelivered:
        refuse(REFUSAL_NOT_DELIVERED, _("This line has not been delivered yet."))
    elif past_window and not warranty:
        days_since = (today - facts.delivered_on).days
        refuse(
            REFUSAL_WINDOW_CLOSED,
            ngettext(
                "The return window for the category “%(category)s” is %(window)d day; this "
                "line was delivered %(days)d days ago.",
                "The return window for the category “%(category)s” is %(window)d days; this "
                "line was delivered %(days)d days ago.",
                window,
            )
            % {"category": category, "window": window, "days": days_since},
        )
    if (past_window or not_returnable) and under_warranty and not warranty:
        refuse(
            REFUSAL_WARRANTY_AVAILABLE,
            _(
                "It is under warranty until %(date)s: a defect can still be claimed (reason "
                "“%(reason)s”)."
            )
            % {"date": local_day(warranty_until), "reason": _warranty_reason_label(rules)},
        )

    if facts.reason not in rules.allowed_reasons:
        refuse(
            REFUSAL_REASON_NOT_ALLOWED, _("This reason is not accepted under your return policy.")
        )

    if facts.quantity_requested < 1:
        refuse(REFUSAL_QUANTITY_INVALID, _("Quantity must be at least 1."))
    elif facts.quantity_delivered < 1:
        pass  # "not delivered yet" says it; "only 0 of 0" would add nothing
    elif facts.quantity_requested > returnable_quantity:
        refuse(
            REFUSAL_QUANTITY_BEYOND_RETURNABLE,
            _(
                "Only %(available)d of %(delivered)d can still be returned "
                "(%(claimed)d already in other returns); you asked for %(requested)d."
            )
            % {
                "available": returnable_quantity,
                "delivered": facts.quantity_delivered,
                "claimed": facts.quantity_claimed_elsewhere,
                "requested": facts.quantity_requested,
            },
        )
    return LineVerdict(
        allowed=not refusals,
        refusals=refusals,
        window_days=window,
        last_day=None if listed else last_day,
        returnable_quantity=returnable_quantity,
        always_returnable=listed,
        warranty_until=warranty_until,
        warranty=warranty,
        codes=codes,
    )


@dataclass
class ReturnVerdict:
    allowed: bool
    lines: list[LineVerdict]
    refusals: list[str]  # about the return as a whole
    requested_value: Decimal
    auto_approve: bool
    auto_approve_reasons: list[str]  # why it was not auto-approved (for staff)
    free_shipping: bool
    warranty: bool = False  # a line is a warranty claim: the return is one


def evaluate_return(
    rules: PolicyRules,
    lines: Sequence[LineFacts],
    *,
    resolution: str,
    today: datetime.date,
) -> ReturnVerdict:
    line_verdicts = [evaluate_line(rules, facts, today=today) for facts in lines]
    refusals: list[str] = []
    if not lines:
        refusals.append(_("Choose at least one line to return."))
    if resolution and resolution not in rules.allowed_resolutions:
        refusals.append(_("This resolution is not offered under your return policy."))
    warranty = any(v.warranty for v in line_verdicts)
    if warranty and resolution and resolution not in rules.warranty_resolutions:
        refusals.append(
            _("A warranty claim is settled by %(resolutions)s.")
            % {"resolutions": ", ".join(_resolution_label(r) for r in rules.warranty_resolutions)}
        )
    if rules.customer_listing == LISTING_REFUSE:
        refusals.append(
            _(
                "Returns of your company are not accepted here: please contact us and we will "
                "handle the return with you."
            )
        )
    value = sum((f.unit_price * f.quantity_requested for f in lines), Decimal("0"))

    not_auto: list[str] = []
    if not rules.auto_approve_enabled:
        not_auto.append(_("Auto-approval is off."))
    if any(f.reason not in rules.auto_approve_reasons for f in lines):
        not_auto.append(_("A reason is not in the auto-approval list."))
    if rules.customer_listing == LISTING_REVIEW:
        not_auto.append(_("The customer's returns are always reviewed."))
    if warranty:
        not_auto.append(_("Warranty claims are always reviewed."))
    reviewed = sorted({f.sku for f in lines if always_reviewed(rules, f)})
    if reviewed:
        not_auto.append(
            _("Goods that are always reviewed: %(skus)s.") % {"skus": ", ".join(reviewed)}
        )
    if value > rules.auto_approve_max_value:
        not_auto.append(
            _("The value %(value)s is above the auto-approval limit %(limit)s.")
            % {"value": value, "limit": rules.auto_approve_max_value}
        )
    allowed = not refusals and all(v.allowed for v in line_verdicts)
    return ReturnVerdict(
        allowed=allowed,
        lines=line_verdicts,
        refusals=refusals,
        requested_value=value.quantize(CENT),
        auto_approve=allowed and not not_auto,
        auto_approve_reasons=not_auto,
        free_shipping=bool(lines) and all(f.reason in rules.free_shipping_reasons for f in lines),
        warranty=warranty,
    )


@dataclass(frozen=True)
class LineSettlement:
    accepted_quantity: int
    unit_price: Decimal
    reason: str


@dataclass
class Settlement:
    line_amounts: list[Decimal]
    accepted_value: Decimal
    restocking_fee: Decimal
    total: Decimal


def settle(rules: PolicyRules, lines: Sequence[LineSettlement]) -> Settlement:
    """Money of a resolution: accepted quantity × unit price, less the restocking fee on lines
    returned for reasons that are not our fault (those with free return shipping)."""
    amounts: list[Decimal] = []
    fee = Decimal("0")
    for line in lines:
        value = (line.unit_price * line.accepted_quantity).quantize(CENT)
        if line.reason not in rules.free_shipping_reasons and rules.restocking_fee_percent:
            line_fee = (value * rules.restocking_fee_percent / 100).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
        else:
            line_fee = Decimal("0")
        fee += line_fee
        amounts.append(value - line_fee)
    accepted = sum(
        ((x.unit_price * x.accepted_quantity).quantize(CENT) for x in lines), Decimal("0")
    )
    return Settlement(
        line_amounts=amounts,
        accepted_value=accepted,
        restocking_fee=fee,
        total=accepted - fee,
    )
