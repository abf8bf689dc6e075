"""Demo data of the analytics app for `manage.py seed_demo`: a year of returns and complaints
per demo tenant, stored as the services would have stored them, so every KPI has a history.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import math
import random
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.rollups import kpi_rollups_nightly
from complaints.models import UPDATE_CADENCE_STATUSES as COMPLAINT_CADENCE_STATUSES
from complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    Priority,
    SatisfactionRating,
)
from complaints.selectors import (
    business_calendar,
    first_response_clock,
    resolution_clock,
    sla_targets,
    support_settings,
)
from complaints.sla import (
    BusinessCalendar,
    add_business_time,
    at_risk_moment,
    business_seconds_between,
    resumed_due_at,
)
from customers.calendar import update_cadence
from customers.cases import CaseChannel
from customers.models import CustomerAccount, CustomerMembership, OrderLine
from returns.feedback_models import FeedbackChannel, ReturnFeedback
from returns.models import (
    CLAIMING_STATUSES,
    Disposition,
    Resolution,
    ReturnEvent,
    ReturnLine,
    ReturnMethod,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    ShippingPaidBy,
)
from returns.models import UPDATE_CADENCE_STATUSES as RETURN_CADENCE_STATUSES
from returns.policies import LineSettlement, PolicyRules, evaluate_return, settle
from returns.selectors import claimed_quantities, line_facts, return_rules_for
from rma_portal import cadence
from rma_portal.accounts.models import Role, User
from rma_portal.surveys import SurveyChannel
from rma_portal.tenancy.models import Tenant
from rma_portal.tenancy.sequences import format_document_number, next_in_sequence

HISTORY_DAYS = 365
# The recent demo cases of returns.demo and complaints.demo are days old: anything older
# than this is history, so the tenant has it already.
RECENT_DAYS = 30
# Younger deliveries are left to returns.demo, whose recent returns claim them.
MIN_DELIVERY_AGE_DAYS = 10
MAX_SUBMIT_DAYS = 20
# Sparse months are topped up so that a monthly chart never shows a hole.
MIN_RETURNS_PER_MONTH = 2
COMPLAINTS_PER_MONTH = (6, 10)

# Share of delivered lines that come back, by category (with the lines that join them in
# the same return, about 10 % of all returnable lines).
RETURN_SHARE = {"workwear": 0.08, "electronics": 0.07, "office-supplies": 0.045}
DEFAULT_RETURN_SHARE = 0.055
JOIN_SHARE = 0.2  # another line of the same order goes back in the same return
NOT_RETURNABLE_CATEGORIES = frozenset({"personalised"})

REASON_WEIGHTS = {
    "workwear": {
        "wrong_size": 46,
        "ordered_by_mistake": 12,
        "wrong_item": 10,
        "defective": 9,
        "not_as_described": 8,
        "late_delivery": 5,
        "damaged_in_transport": 4,
        "other": 6,
    },
    "electronics": {
        "defective": 34,
        "damaged_in_transport": 22,
        "not_as_described": 12,
        "wrong_item": 10,
        "ordered_by_mistake": 9,
        "late_delivery": 5,
        "wrong_size": 2,
        "other": 6,
    },
    "office-supplies": {
        "ordered_by_mistake": 36,
        "wrong_item": 18,
        "damaged_in_transport": 14,
        "defective": 9,
        "not_as_described": 8,
        "wrong_size": 5,
        "late_delivery": 5,
        "other": 5,
    },
    # "Wrong size or dimensions": a bearing or a belt of the wrong size is a common mistake.
    "machine-parts": {
        "defective": 26,
        "wrong_size": 18,
        "wrong_item": 15,
        "damaged_in_transport": 11,
        "not_as_described": 10,
        "ordered_by_mistake": 10,
        "late_delivery": 5,
        "other": 5,
    },
}
DEFAULT_REASON_WEIGHTS = dict.fromkeys(ReturnReason.values, 10)
# Month of the year -> factor on a reason's weight.
SEASONAL_REASONS = {
    # Frost and the parcel peak break more goods in transit; the peak also delays deliveries.
    "damaged_in_transport": {12: 1.6, 1: 1.5, 2: 1.3},
    "late_delivery": {11: 1.8, 12: 2.2},
    # Winter workwear is ordered in autumn for whole crews, in sizes nobody tried on.
    "wrong_size": {10: 1.3, 11: 1.2},
}
RESOLUTION_WEIGHTS = {
    "defective": {"replacement": 40, "repair": 25, "credit_note": 20, "refund": 15},
    "damaged_in_transport": {"replacement": 50, "credit_note": 30, "refund": 20},
    "wrong_item": {"replacement": 60, "credit_note": 25, "refund": 15},
    "wrong_size": {"replacement": 65, "credit_note": 25, "refund": 10},
    "ordered_by_mistake": {"credit_note": 60, "refund": 40},
    "not_as_described": {"credit_note": 40, "refund": 35, "replacement": 25},
    "late_delivery": {"credit_note": 55, "refund": 45},
    "other": {"credit_note": 50, "refund": 30, "replacement": 20},
}
REPAIRABLE_CATEGORIES = frozenset({"electronics", "machine-parts"})
CONDITION_WEIGHTS = {
    "defective": {"opened": 50, "used": 35, "damaged": 15},
    "damaged_in_transport": {"damaged": 80, "opened": 20},
    "wrong_item": {"unopened": 70, "opened": 30},
    "wrong_size": {"unopened": 55, "opened": 40, "used": 5},
    "ordered_by_mistake": {"unopened": 75, "opened": 25},
    "not_as_described": {"opened": 70, "unopened": 20, "used": 10},
    "late_delivery": {"unopened": 85, "opened": 15},
    "other": {"opened": 50, "unopened": 30, "used": 20},
}
DISPOSITION_WEIGHTS = {
    "defective": {"return_to_supplier": 40, "scrap": 30, "refurbish": 30},
    "damaged_in_transport": {"scrap": 45, "refurbish": 30, "return_to_supplier": 25},
    "wrong_item": {"restock": 90, "refurbish": 10},
    "wrong_size": {"restock": 90, "refurbish": 10},
    "ordered_by_mistake": {"restock": 95, "refurbish": 5},
    "not_as_described": {"restock": 60, "refurbish": 25, "return_to_supplier": 15},
    "late_delivery": {"restock": 100},
    "other": {"restock": 60, "refurbish": 25, "scrap": 15},
}
RETURN_METHOD_WEIGHTS = {"drop_off": 40, "courier_pickup": 35, "self_printed_label": 25}
REJECTED_SHARE = 0.09  # of returns a person decides on (auto-approved ones cannot be)
CANCELLED_SHARE = 0.06
# Approved returns whose goods never come (every NEVER_SHIPPED_EVERY-th return approved by
# staff, counted from NEVER_SHIPPED_FIRST): reminded, then expired by the hourly job.
NEVER_SHIPPED_EVERY = 20
NEVER_SHIPPED_FIRST = 3
SHIP_DEADLINES_MINUTE = 35  # settings.CELERY_BEAT_SCHEDULE["return-ship-deadlines"]
NEEDS_INFO_SHARE = 0.06
# Returns whose refund or credit waits on a supplier's answer: resolved 9–16 days after the
# inspection, mostly past the refund clock's 7 working days (docs/returns-rules.md).
SLOW_RESOLUTION_SHARE = 0.12
CLOSED_BY_STAFF_SHARE = 0.25  # the rest is closed by the nightly auto-close
AUTO_CLOSE_RETURNS_AT = datetime.time(3, 30)  # settings.CELERY_BEAT_SCHEDULE
# settings.CELERY_BEAT_SCHEDULE["auto-close-complaints"]: every 5 minutes.
AUTO_CLOSE_COMPLAINTS_EVERY = datetime.timedelta(minutes=5)


def _next_auto_close(after: datetime.datetime) -> datetime.datetime:
    """The first run of the complaints' auto-close (every 5 minutes) after `after`."""
    every = int(AUTO_CLOSE_COMPLAINTS_EVERY.total_seconds())
    seconds = int(after.timestamp()) // every * every + every
    return datetime.datetime.fromtimestamp(seconds, tz=after.tzinfo or datetime.UTC)


RETURN_COMMENTS = {
    "wrong_size": (
        "Too small for most of the crew; we need the next size up.",
        "Sizes run larger than in the previous delivery.",
        "Ordered the wrong size for the new team members.",
    ),
    "defective": (
        "Stops working after a few minutes of use.",
        "Does not power on at all.",
        "Visible defect straight out of the box.",
    ),
    "damaged_in_transport": (
        "The carton was crushed on arrival; noted on the delivery note.",
        "Broken in transit, photos taken when unpacking.",
    ),
    "wrong_item": (
        "We received a different variant than ordered.",
        "The label says one thing, the box holds another.",
    ),
    "not_as_described": (
        "Specification differs from the catalogue.",
        "Colour and material are not as in the product sheet.",
    ),
    "ordered_by_mistake": (
        "Ordered twice by two colleagues.",
        "Wrong item number in our purchase order.",
    ),
    "late_delivery": ("Arrived after the job was finished; we had to buy elsewhere.",),
    "other": ("Project cancelled by our client.",),
}
OTHER_REASON_TEXTS = (
    "Project cancelled by our client.",
    "Surplus after the stock count.",
    "The site closed earlier than planned.",
)
REJECTION_REASONS = (
    "The goods show signs of use that the return policy does not cover.",
    "The photos show damage caused after delivery, not in transport.",
    "This product was made to your specification and cannot be taken back.",
    "The quantity exceeds what is left to return on this order line.",
)
INFO_QUESTIONS = (
    "Could you send a photo of the label and of the damage?",
    "Which serial numbers are affected?",
    "Is the original packaging still available?",
)
INFO_ANSWERS = (
    "Photos sent by e-mail just now.",
    "All units from this delivery are affected.",
    "Yes, everything is in the original boxes.",
)
CANCEL_NOTES = ("", "", "We will keep the goods after all.", "Solved on site with the fitter.")
INSPECTION_NOTES = {
    "used": "Clear signs of use.",
    "damaged": "Housing or packaging damaged.",
}

COMPLAINT_CATEGORY_WEIGHTS = {
    "product_quality": 38,
    "delivery": 26,
    "billing": 14,
    "service": 12,
    "other": 10,
}
PRIORITY_WEIGHTS = {
    "product_quality": {"low": 8, "normal": 47, "high": 32, "urgent": 13},
    "delivery": {"low": 12, "normal": 58, "high": 24, "urgent": 6},
    "service": {"low": 25, "normal": 55, "high": 17, "urgent": 3},
    "billing": {"low": 25, "normal": 60, "high": 13, "urgent": 2},
    "other": {"low": 45, "normal": 50, "high": 5},
}
# Days before filing in which the goods complained about were delivered.
COMPLAINT_DELIVERY_DAYS = {"product_quality": (2, 60), "delivery": (0, 10), "billing": (1, 45)}
FIRST_RESPONSE_MISSED_SHARE = 0.12
RESOLUTION_MET_SHARE = 0.86
REJECTED_COMPLAINT_SHARE = 0.03
REOPENED_SHARE = 0.05
RATED_SHARE = 0.6
# Public staff replies before the resolution: one reply is a first-contact resolution.
REPLY_COUNT_WEIGHTS = {0: 8, 1: 60, 2: 22, 3: 10}
QUALITY_SUBJECTS = {
    "workwear": (
        "Seams tear after the first wash",
        "Colour fades after a few washes",
        "Zips break within a week",
        "Reflective tape peels off",
    ),
    "electronics": (
        "Device does not power on",
        "Connection drops every few minutes",
        "Display flickers after warm-up",
    ),
    "office-supplies": (
        "Labels do not stick in the cold store",
        "Toner leaks inside the printer",
        "Tape does not hold on recycled cartons",
    ),
    "machine-parts": (
        "Bearing runs hot and noisy",
        "Seal leaks after installation",
        "Dimensions out of tolerance",
    ),
    "personalised": (
        "Logo embroidery is misaligned",
        "Typo in the engraved text",
        "Printed logo in the wrong colour",
    ),
}
COMPLAINT_SUBJECTS = {
    "delivery": (
        "Delivery arrived two days late",
        "Pallet damaged on arrival",
        "Items missing from the delivery",
        "Delivered to the wrong site",
    ),
    "billing": (
        "Invoice shows the wrong discount",
        "Charged twice for one order",
        "Payment terms differ from our contract",
    ),
    "service": (
        "No reply to our e-mail about an order",
        "Installation appointment was missed",
        "Hotline kept us waiting for 40 minutes",
    ),
    "other": (
        "Certificates of conformity requested",
        "Can you take the pallets back?",
        "Cannot sign in to the portal",
    ),
}
CUSTOMER_FOLLOW_UPS = (
    "Adding the batch number from the label, in case it helps.",
    "Any news? The crew is waiting for this.",
    "Photos are attached to our e-mail from this morning.",
)
STAFF_REPLIES = (
    "Thank you, we are checking this with our quality team and will come back to you.",
    "We have asked the warehouse and the carrier and will update you shortly.",
    "Thank you for the details; the case is with the responsible department.",
)
STAFF_QUESTIONS = (
    "Could you send photos of the product and of its label?",
    "Which delivery note number does this concern?",
    "Could you tell us how many units are affected?",
)
CUSTOMER_ANSWERS = (
    "Photos are attached, the label is readable on the second one.",
    "It is the delivery of last Tuesday, note number on the pallet label.",
    "About a third of the units, the rest are fine.",
)
INTERNAL_NOTES = (
    "Internal: ask the supplier for the batch report.",
    "Internal: second case from this customer this quarter, keep an eye on it.",
    "Internal: carrier claim filed.",
)
RESOLUTIONS = {
    "product_quality": (
        "We sent replacements with the next delivery at no charge.",
        "Credit note issued for the affected units.",
        "The supplier confirmed a faulty batch; the units are replaced.",
    ),
    "delivery": (
        "The missing items were shipped by express at our cost.",
        "We opened a claim with the carrier and credited the freight.",
        "Delivery address corrected in your account.",
    ),
    "billing": (
        "Corrected invoice issued.",
        "The double charge was refunded.",
        "Payment terms corrected as in the contract.",
    ),
    "service": (
        "New appointment agreed with your site manager.",
        "We apologised and set up a direct line to your account manager.",
    ),
    "other": (
        "Documents sent by e-mail.",
        "Pickup of the pallets booked for next week.",
        "Access restored; the password link was sent again.",
    ),
}
COMPLAINT_REJECTIONS = (
    "The goods were handled against the instructions in the manual.",
    "The delivery was signed for as complete and undamaged.",
    "The invoice matches the prices agreed in the contract.",
)
REOPEN_REASONS = (
    "The replacement has the same problem.",
    "The credit note has still not arrived.",
    "Only part of the missing items came.",
)
RATING_COMMENTS = {
    5: ("Quick and friendly, thank you.", "Solved the same day.", ""),
    4: ("Good, if a little slow.", "Fine, thanks.", ""),
    3: ("Took longer than we hoped.", ""),
    2: ("We had to chase this twice.", ""),
    1: ("Nobody told us what was happening.", ""),
}
RATING_WEIGHTS_GOOD = {5: 50, 4: 32, 3: 10, 2: 5, 1: 3}
RATING_WEIGHTS_POOR = {5: 18, 4: 28, 3: 26, 2: 15, 1: 13}  # SLA missed or reopened

# Answers to the survey of resolved returns (docs/feedback.md): a third of the requesters answer,
# most through the resolution e-mail's links, within a few days. Scores are lower when the
# resolution was not the one asked for or fewer units were accepted; the 0–10 question and the
# comment are optional.
FEEDBACK_SHARE = 0.35
FEEDBACK_BY_EMAIL_SHARE = 0.7
FEEDBACK_NPS_SHARE = 0.75
FEEDBACK_COMMENT_SHARE = 0.3
FEEDBACK_CSAT_AS_ASKED = {5: 48, 4: 33, 3: 11, 2: 5, 1: 3}
FEEDBACK_CSAT_OTHERWISE = {5: 14, 4: 27, 3: 29, 2: 17, 1: 13}
FEEDBACK_NPS_RANGE = {5: (8, 10), 4: (7, 9), 3: (5, 8), 2: (2, 6), 1: (0, 4)}
FEEDBACK_COMMENTS = {
    5: ("Fast and painless, thank you.", "The refund came sooner than we expected."),
    4: ("Good, though the pickup took a while.", "Fine; the label was a little hard to find."),
    3: ("It worked out, but we had to wait for news.", "Correct in the end, slow on the way."),
    2: ("Took too long, and nobody told us why.",),
    1: ("Only part of the goods was accepted, without a clear reason.",),
}

HISTORY_RETURNS = "history returns"
HISTORY_COMPLAINTS = "history complaints"


def seed(*, tenant: Tenant, rng: random.Random) -> dict[str, int]:
    """Create a year of returns and complaints unless the tenant has its history already.

    A return (complaint) older than RECENT_DAYS means it has: so a rerun, also on a later day,
    creates nothing. Rows are bulk-created: cases long finished send no e-mails or webhooks
    and get no label PDFs.
    """
    # One generator each: the returns drawn do not shift when the complaints change.
    returns_rng = random.Random(rng.getrandbits(64))
    complaints_rng = random.Random(rng.getrandbits(64))
    created = {HISTORY_RETURNS: 0, HISTORY_COMPLAINTS: 0}
    now = timezone.now()
    cutoff = now - datetime.timedelta(days=RECENT_DAYS)
    wants_returns = not ReturnRequest.objects.filter(submitted_at__lt=cutoff).exists()
    wants_complaints = not Complaint.objects.filter(created_at__lt=cutoff).exists()
    world = _World.load(tenant, now) if wants_returns or wants_complaints else None
    if world is not None:
        if wants_returns:
            created[HISTORY_RETURNS] = _seed_returns(world, returns_rng)
        if wants_complaints:
            created[HISTORY_COMPLAINTS] = _seed_complaints(world, complaints_rng)
    # The dashboard reads rollups: build the days never built (all of them the first time)
    # and those the demo changed, as the nightly run would.
    kpi_rollups_nightly(tenant=tenant, now=now, catch_up=None)
    return created


def history_span(*, tenant: Tenant) -> tuple[datetime.date, datetime.date] | None:
    """First and last local day with return or complaint activity of the tenant (filing,
    transitions, messages, ratings); None when it has none. KPI rollups are rebuilt over it."""
    firsts = [
        ReturnRequest.objects.for_tenant(tenant).aggregate(at=Min("submitted_at"))["at"],
        Complaint.objects.for_tenant(tenant).aggregate(at=Min("created_at"))["at"],
    ]
    lasts = [
        model.objects.for_tenant(tenant).aggregate(at=Max("created_at"))["at"]
        for model in (ReturnEvent, ComplaintEvent, ComplaintMessage, SatisfactionRating)
    ]
    firsts = [moment for moment in firsts if moment is not None]
    lasts = [moment for moment in lasts if moment is not None]
    if not firsts or not lasts:
        return None
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    first = timezone.localtime(min(firsts), zone).date()
    last = timezone.localtime(max(lasts), zone).date()
    return first, max(first, last)


# --- shared -----------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: Mapping) -> object:
    keys = list(weights)
    return rng.choices(keys, [weights[key] for key in keys])[0]


@dataclass(frozen=True)
class _Step:
    """One transition or timeline row, as a service would have written it."""

    at: datetime.datetime
    action: str
    from_status: str
    to_status: str
    actor: User | None
    note: str = ""
    is_public: bool = True


@dataclass
class _World:
    """What both kinds of history are drawn from, loaded once per tenant."""

    tenant: Tenant
    now: datetime.datetime
    zone: zoneinfo.ZoneInfo
    calendar: BusinessCalendar
    agent: User
    coordinator: User
    users_by_company: dict[int, list[User]]
    delivered: list[OrderLine]  # by delivery date, then order number and line
    auto_close_days: int
    reopen_window_days: int
    update_rule: cadence.Cadence = field(default_factory=cadence.Cadence)  # the cadence

    @property
    def today(self) -> datetime.date:
        return timezone.localtime(self.now, self.zone).date()

    @classmethod
    def load(cls, tenant: Tenant, now: datetime.datetime) -> _World | None:
        staff = {
            role: User.objects.filter(tenant=tenant, role=role, is_active=True)
            .order_by("email")
            .first()
            for role in (Role.AGENT, Role.COORDINATOR)
        }
        users_by_company: dict[int, list[User]] = defaultdict(list)
        for membership in CustomerMembership.objects.select_related("user").order_by("user__email"):
            if membership.user.is_active:
                users_by_company[membership.customer_account_id].append(membership.user)
        zone = zoneinfo.ZoneInfo(tenant.timezone)
        today = timezone.localtime(now, zone).date()
        delivered = [
            line
            for line in OrderLine.objects.filter(
                order__delivery_date__isnull=False, order__delivery_date__lte=today
            )
            .select_related("order__customer_account", "product__category")
            .order_by("order__delivery_date", "order__number", "line_number")
            if line.order.customer_account_id in users_by_company
        ]
        if None in staff.values() or not delivered:
            return None
        settings_row = support_settings(tenant)
        return cls(
            tenant=tenant,
            now=now,
            zone=zone,
            calendar=business_calendar(tenant),
            agent=staff[Role.AGENT],
            coordinator=staff[Role.COORDINATOR],
            users_by_company=dict(users_by_company),
            delivered=delivered,
            auto_close_days=settings_row.auto_close_days,
            reopen_window_days=settings_row.reopen_window_days,
            update_rule=update_cadence(tenant),
        )


class _Hours:
    """Moments in the tenant's time zone: customers write in the daytime, staff act in the
    support calendar's working hours."""

    def __init__(self, world: _World, rng: random.Random) -> None:
        self.calendar = world.calendar
        self.zone = world.zone
        self.rng = rng

    def local_moment(self, day: datetime.date, minutes: float) -> datetime.datetime:
        # Wall-clock minutes after local midnight, so a DST day keeps office hours.
        midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=self.zone)
        return (midnight + datetime.timedelta(minutes=minutes)).astimezone(datetime.UTC)

    def customer_moment(self, day: datetime.date) -> datetime.datetime:
        """When a customer files something on `day`: office hours mostly, now and then an
        evening or a weekend."""
        if self.rng.random() < 0.1:
            return self.local_moment(day, self.rng.uniform(6 * 60, 22 * 60))
        while day.weekday() >= 5:
            day += datetime.timedelta(days=1)
        return self.local_moment(day, self.rng.uniform(7.5 * 60, 18 * 60))

    def customer_later(
        self, after: datetime.datetime, low_hours: float, high_hours: float
    ) -> datetime.datetime:
        """A customer's answer `low..high` hours later; a night-time moment moves to the
        next morning."""
        moment = after + datetime.timedelta(hours=self.rng.uniform(low_hours, high_hours))
        local = moment.astimezone(self.zone)
        if local.hour < 7 or local.hour >= 21:
            day = local.date() + datetime.timedelta(days=1 if local.hour >= 21 else 0)
            moment = self.local_moment(day, self.rng.uniform(7 * 60, 9 * 60))
        return max(moment, after + datetime.timedelta(minutes=1))

    def staff_day(
        self, after: datetime.datetime, low_days: int, high_days: int
    ) -> datetime.datetime:
        """A moment in working hours `low..high` calendar days after `after`, never before it."""
        day = after.astimezone(self.zone).date() + datetime.timedelta(
            days=self.rng.randint(low_days, high_days)
        )
        earliest = after + datetime.timedelta(minutes=10)
        while True:
            if self.calendar.is_working_day(day):
                start, end = self.calendar.working_window(day)
                start = max(start, earliest)
                if start < end:
                    return start + (end - start) * self.rng.random()
            day += datetime.timedelta(days=1)

    def business_later(
        self, after: datetime.datetime, low_hours: float, high_hours: float
    ) -> datetime.datetime:
        return add_business_time(
            self.calendar, after, self.rng.uniform(low_hours, high_hours) * 3600
        )

    def nightly(self, not_before: datetime.datetime, at: datetime.time) -> datetime.datetime:
        """The first run of a nightly beat job (local time `at`) at or after `not_before`."""
        day = not_before.astimezone(self.zone).date()
        moment = self.local_moment(day, at.hour * 60 + at.minute)
        if moment < not_before:
            moment = self.local_moment(day + datetime.timedelta(days=1), at.hour * 60 + at.minute)
        return moment + datetime.timedelta(seconds=self.rng.uniform(1, 90))


def _channel(filed: datetime.datetime) -> str:
    """How a demo case came in: most through the portal, some by phone, e-mail or chat to an
    agent who filed it for the customer. Decided by the minute it was filed rather than drawn
    from the random streams, so that the rest of the history stays the one it always was."""
    minute = int(filed.timestamp() // 60) % 20
    if minute < 3:
        return CaseChannel.PHONE
    if minute < 5:
        return CaseChannel.EMAIL
    if minute == 5:
        return CaseChannel.CHAT
    return CaseChannel.PORTAL


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _months_back(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _month_end(first: datetime.date) -> datetime.date:
    return _months_back(first, -1) - datetime.timedelta(days=1)


def _bulk_create_dated(model, objects: list, stamp_fields: Sequence[str]) -> None:
    """bulk_create that keeps the historical values of auto_now / auto_now_add fields."""
    # bulk_create stamps those fields with the present, on the objects too; bulk_update then
    # writes the historical values back (it calls no pre_save).
    stamps = [[getattr(obj, name) for name in stamp_fields] for obj in objects]
    model.objects.bulk_create(objects)
    for obj, values in zip(objects, stamps, strict=True):
        for name, value in zip(stamp_fields, values, strict=True):
            setattr(obj, name, value)
    if objects:
        model.objects.bulk_update(objects, list(stamp_fields), batch_size=500)


# The SLA watches scan every five minutes: a due moment passed this long before the next
# update was surely seen (and flagged) by one of their scans.
WATCH_EVERY = datetime.timedelta(minutes=5)
EVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)
# How often the staff tell the customer where a case stands before the customer-update
# cadence's due moment (docs/returns-rules.md#customer-update-cadence), when nothing else
# would have told them by then; the rest lapse (and so do those owed an update at Monday's
# opening that nobody could give on Friday).
UPDATE_KEPT_SHARE = {"return": 0.85, "complaint": 0.3}
RETURN_UPDATES = (
    "Your return is with us and we are on it: you will hear from us again shortly.",
    "We are still checking the goods you sent; nothing is needed from you.",
    "A short update: your return is being handled and we will be in touch soon.",
)
COMPLAINT_UPDATES = (
    "We are still on it and will come back to you as soon as we know more.",
    "A short update: the case is being handled; nothing is needed from you for now.",
    "We are waiting for our quality team's findings and will update you again shortly.",
)


@dataclass
class _UpdateCadence:
    """The customer-update cadence's fields of one case (rma_portal.cadence.FIELDS), and the
    updates the staff gave to keep it."""

    customer_updated_at: datetime.datetime | None = None
    update_due_at: datetime.datetime | None = None
    update_flagged_at: datetime.datetime | None = None
    update_lapses: int = 0
    updates: list[datetime.datetime] = field(default_factory=list)


def _working_moment_before(
    world: _World, rng: random.Random, since: datetime.datetime, due: datetime.datetime
) -> datetime.datetime | None:
    """A moment of the staff's working hours in the last hours before `due` and after
    `since`; None when there is none (owed at Monday's opening for a case filed on Friday
    evening)."""
    calendar = world.calendar
    day = timezone.localtime(due, world.zone).date()
    while day >= timezone.localtime(since, world.zone).date():
        if calendar.is_working_day(day):
            opens, closes = calendar.working_window(day)
            low = max(opens, since + datetime.timedelta(minutes=10))
            high = min(closes, due - datetime.timedelta(minutes=1))
            if low < high:
                low = max(low, high - datetime.timedelta(hours=4))
                return low + (high - low) * rng.random()
        day -= datetime.timedelta(days=1)
    return None


def _update_cadence(
    world: _World,
    events: Sequence[tuple[datetime.datetime, str | None, bool]],
    running: tuple,
    *,
    rng: random.Random,
    kept_share: float,
    updates_from: datetime.datetime | None = EVER,
) -> _UpdateCadence:
    """The cadence of a case over its history (docs/returns-rules.md#customer-update-cadence),
    as the services and the SLA watch would have kept it: `events` are (moment, status after it
    or None when unchanged, whether it told the customer something), in time order; `running`
    the statuses in which the case is the merchant's. Where the due moment would pass before
    the next of them, the staff give an update before it (`kept_share` of the time, when
    their working hours allow, and not before `updates_from`; None: never); else it is one
    lapse, flagged once (with the tenant's status e-mails, the e-mail restarts the clock)."""
    case = _UpdateCadence()
    rule = world.calendar, world.update_rule
    hours = world.update_rule.hours

    def track(at, status, was, told) -> None:
        cadence.track(
            case,
            rule=lambda: rule,
            at=at,
            running=status in running,
            was_running=was in running,
            told_customer=told,
        )

    status, since = "", None
    for at, to_status, told in events:
        if at > world.now:
            break
        while (
            case.update_due_at is not None
            and case.update_flagged_at is None
            and case.update_due_at + WATCH_EVERY < at
        ):
            due = case.update_due_at
            moment = None
            if updates_from is not None and rng.random() < kept_share:
                moment = _working_moment_before(world, rng, max(since, updates_from), due)
            if moment is not None and cadence.due_moment(world.calendar, moment, hours) <= due:
                # An update that would leave the next one owed at the same moment (on Friday,
                # for Monday's opening) is no use: the staff do not give it.
                moment = None
            if moment is not None:
                case.updates.append(moment)
                track(moment, status, status, True)
                since = moment
                continue
            scanned = due + WATCH_EVERY
            case.update_flagged_at = scanned
            case.update_lapses += 1
            if world.update_rule.status_emails:  # the automatic status e-mail is an update
                track(scanned, status, status, True)
                since = scanned
        after = status if to_status is None else to_status
        track(at, after, status, told)
        status, since = after, at
    return case


# --- returns ----------------------------------------------------------------------------


@dataclass
class _ReturnLinePlan:
    order_line: OrderLine
    quantity: int
    reason: str
    reason_text: str
    comment: str
    serial_numbers: list[str]
    condition: str = ""
    disposition: str = ""
    accepted_quantity: int | None = None
    inspection_note: str = ""


@dataclass(frozen=True)
class _Feedback:
    at: datetime.datetime
    csat: int
    nps: int | None
    comment: str
    channel: str


@dataclass
class _ReturnPlan:
    company: CustomerAccount
    requester: User
    created_at: datetime.datetime
    lines: list[_ReturnLinePlan]
    rules: PolicyRules
    requested_value: Decimal
    free_shipping: bool
    requested_resolution: str
    resolution: str
    return_method: str
    pickup_date: datetime.date | None
    pickup_address: str
    resolution_note: str = ""
    steps: list[_Step] = field(default_factory=list)
    channel: str = CaseChannel.PORTAL
    filed_by: User | None = None  # the agent who filed it for the customer
    feedback: _Feedback | None = None  # the requester's answer to the survey


class _ReturnPlanner:
    def __init__(self, world: _World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.approved_by_staff = 0
        self.hours = _Hours(world, rng)
        self.rules: dict[int, PolicyRules] = {}
        # Month of the year -> reason -> factor: the mix moves a little from month to month.
        self.jitter = {
            month: {reason: rng.uniform(0.8, 1.25) for reason in ReturnReason.values}
            for month in range(1, 13)
        }
        self.used_lines: set[int] = set()

    def company_rules(self, company: CustomerAccount) -> PolicyRules:
        if company.pk not in self.rules:
            self.rules[company.pk] = return_rules_for(customer_account=company)
        return self.rules[company.pk]

    def reason(self, category: str, day: datetime.date) -> str:
        weights = {
            reason: weight
            * SEASONAL_REASONS.get(reason, {}).get(day.month, 1)
            * self.jitter[day.month][reason]
            for reason, weight in REASON_WEIGHTS.get(category, DEFAULT_REASON_WEIGHTS).items()
        }
        return _weighted(self.rng, weights)

    def quantity(self, line: OrderLine, reason: str, available: int) -> int:
        rng = self.rng
        if line.product.is_serial_tracked or line.quantity <= 3:
            wanted = 1 if rng.random() < 0.75 else rng.randint(1, line.quantity)
        elif reason in ("ordered_by_mistake", "wrong_item", "late_delivery") and rng.random() < 0.3:
            wanted = line.quantity  # the whole line goes back
        else:
            wanted = rng.randint(1, max(1, math.ceil(line.quantity * 0.3)))
        return max(0, min(wanted, available))

    def plan(
        self,
        order_lines: Sequence[OrderLine],
        submit_day: datetime.date,
        claimed: Mapping[int, int],
        taken_serials: Mapping[int, set[str]],
    ) -> _ReturnPlan | None:
        rng, world = self.rng, self.world
        company = order_lines[0].order.customer_account
        requester = rng.choice(world.users_by_company[company.pk])
        rules = self.company_rules(company)
        lines: list[_ReturnLinePlan] = []
        for order_line in order_lines:
            category = order_line.product.category.code
            if lines and rng.random() < 0.7:
                reason = lines[0].reason  # one cause for the whole parcel, mostly
            else:
                reason = self.reason(category, submit_day)
            available = order_line.quantity - claimed.get(order_line.pk, 0)
            quantity = self.quantity(order_line, reason, available)
            serials: list[str] = []
            if order_line.product.is_serial_tracked:
                free = sorted(set(order_line.serial_numbers or []) - taken_serials[order_line.pk])
                quantity = min(quantity, len(free))
                serials = sorted(rng.sample(free, quantity))
            if quantity < 1:
                continue
            lines.append(
                _ReturnLinePlan(
                    order_line=order_line,
                    quantity=quantity,
                    reason=reason,
                    reason_text=rng.choice(OTHER_REASON_TEXTS) if reason == "other" else "",
                    comment=rng.choice(RETURN_COMMENTS[reason]) if rng.random() < 0.7 else "",
                    serial_numbers=serials,
                )
            )
        if not lines:
            return None
        primary = lines[0].reason
        repairable = all(
            line.order_line.product.category.code in REPAIRABLE_CATEGORIES for line in lines
        )
        requested = self.resolution(primary, repairable)
        submitted_at = self.hours.customer_moment(submit_day)
        if submitted_at > world.now - datetime.timedelta(hours=1):
            return None
        verdict = evaluate_return(
            rules,
            [
                line_facts(
                    order_line=line.order_line,
                    quantity=line.quantity,
                    reason=line.reason,
                    claimed_elsewhere=claimed.get(line.order_line.pk, 0),
                )
                for line in lines
            ],
            resolution=requested,
            # A weekend moves the submission to Monday: the window is judged on that day.
            today=submitted_at.astimezone(world.zone).date(),
        )
        if not verdict.allowed:
            return None
        method = _weighted(rng, RETURN_METHOD_WEIGHTS)
        pickup_date = None
        pickup_address = ""
        if method == ReturnMethod.COURIER_PICKUP:
            local_submit = submitted_at.astimezone(world.zone).date()
            pickup_date = local_submit + datetime.timedelta(days=rng.randint(1, 3))
            while pickup_date.weekday() >= 5:  # couriers pick up on working days only
                pickup_date += datetime.timedelta(days=1)
            pickup_address = (
                f"{company.shipping_name or company.name}, {company.shipping_street}, "
                f"{company.shipping_postal_code} {company.shipping_city}"
            )
        resolution = requested if rng.random() < 0.85 else self.resolution(primary, repairable)
        plan = _ReturnPlan(
            company=company,
            requester=requester,
            created_at=submitted_at - datetime.timedelta(minutes=rng.uniform(3, 40)),
            lines=lines,
            rules=rules,
            requested_value=verdict.requested_value,
            free_shipping=verdict.free_shipping,
            requested_resolution=requested,
            resolution=resolution,
            return_method=method,
            pickup_date=pickup_date,
            pickup_address=pickup_address,
        )
        plan.channel = _channel(plan.created_at)
        if plan.channel != CaseChannel.PORTAL:
            plan.filed_by = world.agent
        if rng.random() < 0.6:
            plan.resolution_note = self.resolution_note(plan)
        self.inspect(plan)
        plan.steps = self.steps(plan, submitted_at, auto_approve=verdict.auto_approve)
        return plan

    def resolution(self, reason: str, repairable: bool) -> str:
        chosen = _weighted(self.rng, RESOLUTION_WEIGHTS[reason])
        return Resolution.REPLACEMENT if chosen == "repair" and not repairable else chosen

    def inspect(self, plan: _ReturnPlan) -> None:
        """Condition, disposition and accepted quantity of every line, used if inspected."""
        rng = self.rng
        for line in plan.lines:
            line.condition = _weighted(rng, CONDITION_WEIGHTS[line.reason])
            line.disposition = _weighted(rng, DISPOSITION_WEIGHTS[line.reason])
            if line.disposition == Disposition.RESTOCK and line.condition in ("used", "damaged"):
                line.disposition = Disposition.REFURBISH  # what was used is not sold as new
            line.accepted_quantity = line.quantity
            draw = rng.random()
            if draw < 0.06 and line.quantity > 1:
                line.accepted_quantity = rng.randint(1, line.quantity - 1)
                line.inspection_note = f"{line.accepted_quantity} of {line.quantity} accepted."
            elif draw < 0.08 and len(plan.lines) > 1:
                line.accepted_quantity = 0
                line.inspection_note = "Not accepted: worn and without packaging."
            elif line.condition in INSPECTION_NOTES and rng.random() < 0.5:
                line.inspection_note = INSPECTION_NOTES[line.condition]
        if not any(line.accepted_quantity for line in plan.lines):
            plan.lines[0].accepted_quantity = plan.lines[0].quantity

    def steps(
        self, plan: _ReturnPlan, submitted_at: datetime.datetime, *, auto_approve: bool
    ) -> list[_Step]:
        """Every transition up to the return's end, including those still in the future."""
        rng, hours = self.rng, self.hours
        agent, requester = self.world.agent, plan.requester
        filer = plan.filed_by or requester
        steps = [
            _Step(plan.created_at, "created", "", ReturnStatus.DRAFT, filer),
            _Step(submitted_at, "submitted", ReturnStatus.DRAFT, ReturnStatus.SUBMITTED, filer),
        ]
        at = submitted_at
        if auto_approve:
            steps.append(
                _Step(
                    at,
                    "auto_approved",
                    ReturnStatus.SUBMITTED,
                    ReturnStatus.APPROVED,
                    None,
                    _("Approved automatically under the return policy."),
                )
            )
        else:
            if rng.random() < NEEDS_INFO_SHARE:
                at = hours.business_later(at, 1, 8)
                steps.append(
                    _Step(
                        at,
                        "info_requested",
                        ReturnStatus.SUBMITTED,
                        ReturnStatus.NEEDS_INFO,
                        agent,
                        rng.choice(INFO_QUESTIONS),
                    )
                )
                at = hours.customer_later(at, 3, 48)
                steps.append(
                    _Step(
                        at,
                        "info_provided",
                        ReturnStatus.NEEDS_INFO,
                        ReturnStatus.SUBMITTED,
                        requester,
                        rng.choice(INFO_ANSWERS),
                    )
                )
            draw = rng.random()
            if draw < REJECTED_SHARE:
                at = hours.staff_day(at, 1, 3)
                reason = rng.choice(REJECTION_REASONS)
                steps.append(
                    _Step(
                        at, "rejected", ReturnStatus.SUBMITTED, ReturnStatus.REJECTED, agent, reason
                    )
                )
                return steps
            if draw < REJECTED_SHARE + CANCELLED_SHARE * 0.4:
                at = hours.customer_later(at, 6, 72)
                steps.append(self._cancelled(at, ReturnStatus.SUBMITTED, requester))
                return steps
            at = hours.business_later(at, 0.5, 24)
            steps.append(
                _Step(at, "approved", ReturnStatus.SUBMITTED, ReturnStatus.APPROVED, agent)
            )
        if rng.random() < CANCELLED_SHARE * 0.6:
            at = hours.customer_later(at, 12, 96)
            steps.append(self._cancelled(at, ReturnStatus.APPROVED, requester))
            return steps
        self.approved_by_staff += not auto_approve
        if not auto_approve and self.approved_by_staff % NEVER_SHIPPED_EVERY == NEVER_SHIPPED_FIRST:
            return steps + self._never_shipped(plan, at)
        if plan.pickup_date is not None:
            picked_up = hours.local_moment(plan.pickup_date, rng.uniform(9 * 60, 15 * 60))
            at = hours.staff_day(max(at, picked_up), 1, 3)
        else:
            at = hours.staff_day(at, 2, 10)
        steps.append(_Step(at, "received", ReturnStatus.APPROVED, ReturnStatus.RECEIVED, agent))
        at = hours.staff_day(at, 0, 3)
        steps.append(_Step(at, "inspected", ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, agent))
        if rng.random() < SLOW_RESOLUTION_SHARE:
            at = hours.staff_day(at, 9, 16)
        else:
            at = hours.staff_day(at, 0, 5)
        steps.append(
            _Step(
                at,
                "resolved",
                ReturnStatus.INSPECTED,
                ReturnStatus.RESOLVED,
                agent,
                plan.resolution_note,
            )
        )
        if rng.random() < CLOSED_BY_STAFF_SHARE:
            closed, closer = hours.staff_day(at, 1, 6), agent
        else:
            not_before = at + datetime.timedelta(days=self.world.auto_close_days)
            closed, closer = hours.nightly(not_before, AUTO_CLOSE_RETURNS_AT), None
        steps.append(_Step(closed, "closed", ReturnStatus.RESOLVED, ReturnStatus.CLOSED, closer))
        return steps

    def _never_shipped(self, plan: _ReturnPlan, approved_at: datetime.datetime) -> list[_Step]:
        """The reminder and the expiry of an approved return whose goods never came, at the
        hourly job's first run after each is due (returns.maintenance)."""
        remind_at, ship_by = plan.rules.ship_deadlines(approved_at, self.world.tenant.timezone)
        steps = []
        if remind_at is not None:
            steps.append(
                _Step(
                    _next_hourly_run(remind_at),
                    "ship_reminder",
                    ReturnStatus.APPROVED,
                    ReturnStatus.APPROVED,
                    None,
                )
            )
        if ship_by is not None:
            steps.append(
                _Step(
                    _next_hourly_run(ship_by + datetime.timedelta(seconds=1)),
                    "expired",
                    ReturnStatus.APPROVED,
                    ReturnStatus.EXPIRED,
                    None,
                )
            )
        return steps

    def _cancelled(self, at: datetime.datetime, from_status: str, requester: User) -> _Step:
        note = self.rng.choice(CANCEL_NOTES)
        return _Step(at, "cancelled", from_status, ReturnStatus.CANCELLED, requester, note)

    def resolution_note(self, plan: _ReturnPlan) -> str:
        if plan.resolution == Resolution.REFUND:
            return "Refund sent to the account on the invoice."
        if plan.resolution == Resolution.CREDIT_NOTE:
            invoice = plan.lines[0].order_line.order.invoice_number
            return f"Credit note issued against invoice {invoice}."
        if plan.resolution == Resolution.REPAIR:
            return "Repaired in our service centre and sent back."
        if plan.lines[0].reason == "wrong_size":
            return "Exchanged for the right size."
        return "Replacement shipped with the next delivery."


def _next_hourly_run(not_before: datetime.datetime) -> datetime.datetime:
    """The first run of an hourly beat job (at minute SHIP_DEADLINES_MINUTE) at or after
    `not_before`."""
    run = not_before.replace(minute=SHIP_DEADLINES_MINUTE, second=0, microsecond=0)
    return run if run >= not_before else run + datetime.timedelta(hours=1)


def _eligible_for_return(world: _World, line: OrderLine) -> bool:
    last_delivery = world.today - datetime.timedelta(days=MIN_DELIVERY_AGE_DAYS)
    return (
        line.order.delivery_date <= last_delivery
        and line.product.is_returnable
        and line.product.category.code not in NOT_RETURNABLE_CATEGORIES
    )


def _submit_days(
    planner: _ReturnPlanner, lines: Sequence[OrderLine]
) -> tuple[datetime.date, datetime.date]:
    """First and last day the customer may submit a return of these lines of one order."""
    delivered = lines[0].order.delivery_date
    rules = planner.company_rules(lines[0].order.customer_account)
    window = min(rules.window_days(line.product.category.code) for line in lines)
    last = min(
        delivered + datetime.timedelta(days=min(window, MAX_SUBMIT_DAYS)),
        planner.world.today - datetime.timedelta(days=1),
    )
    return delivered + datetime.timedelta(days=1), last


def _seed_returns(world: _World, rng: random.Random) -> int:
    planner = _ReturnPlanner(world, rng)
    eligible = [line for line in world.delivered if _eligible_for_return(world, line)]
    if not eligible:
        return 0
    claimed = claimed_quantities(order_line_ids=[line.pk for line in eligible])
    taken_serials: dict[int, set[str]] = defaultdict(set)
    for row in ReturnLine.objects.filter(
        order_line_id__in=[line.pk for line in eligible if line.product.is_serial_tracked],
        return_request__status__in=CLAIMING_STATUSES,
    ).values("order_line_id", "serial_numbers"):
        taken_serials[row["order_line_id"]] |= set(row["serial_numbers"] or [])

    plans: list[_ReturnPlan] = []

    def add(plan: _ReturnPlan | None) -> None:
        if plan is None:
            return
        plans.append(plan)
        planner.used_lines.update(line.order_line.pk for line in plan.lines)

    by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in eligible:
        by_order[line.order_id].append(line)
    for order_lines in by_order.values():  # in delivery order: dicts keep insertion order
        anchors = [
            line
            for line in order_lines
            if rng.random() < RETURN_SHARE.get(line.product.category.code, DEFAULT_RETURN_SHARE)
        ]
        if not anchors:
            continue
        joined = [line for line in order_lines if line not in anchors and rng.random() < JOIN_SHARE]
        chosen = [line for line in order_lines if line in anchors or line in joined]
        # Up to three lines per return; a few lines of one order come back separately.
        while chosen:
            size = min(len(chosen), rng.choice((1, 2, 2, 3)))
            group, chosen = chosen[:size], chosen[size:]
            first, last = _submit_days(planner, group)
            if first > last:
                continue
            add(planner.plan(group, _random_day(rng, first, last), claimed, taken_serials))

    _top_up_sparse_months(planner, eligible, plans, claimed, taken_serials, add)
    _plan_feedback(planner, plans)
    return _write_returns(world, plans, rng)


def _plan_feedback(planner: _ReturnPlanner, plans: list[_ReturnPlan]) -> None:
    """The survey answers of part of the returns resolved by now. Drawn after every other
    draw of the returns, so that adding them shifted nothing else of the history."""
    rng, world = planner.rng, planner.world
    for plan in plans:
        resolved_at = next(
            (step.at for step in plan.steps if step.action == "resolved" and step.at <= world.now),
            None,
        )
        if resolved_at is None or rng.random() >= FEEDBACK_SHARE:
            continue
        as_asked = plan.resolution == plan.requested_resolution and all(
            line.accepted_quantity == line.quantity for line in plan.lines
        )
        csat = _weighted(rng, FEEDBACK_CSAT_AS_ASKED if as_asked else FEEDBACK_CSAT_OTHERWISE)
        nps = rng.randint(*FEEDBACK_NPS_RANGE[csat]) if rng.random() < FEEDBACK_NPS_SHARE else None
        comment = (
            rng.choice(FEEDBACK_COMMENTS[csat]) if rng.random() < FEEDBACK_COMMENT_SHARE else ""
        )
        by_email = rng.random() < FEEDBACK_BY_EMAIL_SHARE
        answered_at = planner.hours.customer_later(resolved_at, 0.5, 96)
        if answered_at > world.now:
            continue
        plan.feedback = _Feedback(
            at=answered_at,
            csat=csat,
            nps=nps,
            comment=comment,
            channel=FeedbackChannel.EMAIL if by_email else FeedbackChannel.PORTAL,
        )


def _random_day(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randint(0, (last - first).days))


def _top_up_sparse_months(
    planner: _ReturnPlanner,
    eligible: Sequence[OrderLine],
    plans: list[_ReturnPlan],
    claimed: Mapping[int, int],
    taken_serials: Mapping[int, set[str]],
    add: Callable[[_ReturnPlan | None], None],
) -> None:
    """Give each of the last twelve calendar months at least MIN_RETURNS_PER_MONTH returns."""
    world, rng = planner.world, planner.rng
    zone = world.zone

    def submitted_month(plan: _ReturnPlan) -> datetime.date:
        submitted = next(step.at for step in plan.steps if step.action == "submitted")
        return _month_start(submitted.astimezone(zone).date())

    counts = Counter(submitted_month(plan) for plan in plans)
    this_month = _month_start(world.today)
    for back in range(11, -1, -1):
        month = _months_back(this_month, back)
        month_last = min(_month_end(month), world.today - datetime.timedelta(days=1))
        for _attempt in range(MIN_RETURNS_PER_MONTH * 4):
            if counts[month] >= MIN_RETURNS_PER_MONTH or month_last < month:
                break
            candidates = []
            for line in eligible:
                if line.pk in planner.used_lines:
                    continue
                first, last = _submit_days(planner, [line])
                first, last = max(first, month), min(last, month_last)
                if first <= last:
                    candidates.append((line, first, last))
            if not candidates:
                break
            line, first, last = rng.choice(candidates)
            planner.used_lines.add(line.pk)
            before = len(plans)
            add(planner.plan([line], _random_day(rng, first, last), claimed, taken_serials))
            if len(plans) > before and submitted_month(plans[-1]) == month:
                counts[month] += 1


def _document_refs(tenant: Tenant, number: str, resolution: str) -> tuple[str, str]:
    """(credit note number, replacement or repair order) of a resolved return."""
    polish = tenant.default_language == "pl"
    suffix = number.removeprefix("RMA-").replace("-", "/")
    if resolution == Resolution.CREDIT_NOTE:
        return f"{'KOR' if polish else 'CN'}/{suffix}", ""
    if resolution == Resolution.REPAIR:
        return "", f"{'SRW' if polish else 'SRV'}/{suffix}"
    if resolution == Resolution.REPLACEMENT:
        return "", f"{'ZAM/R' if polish else 'SO/R'}/{suffix}"
    return "", ""


def _write_returns(world: _World, plans: list[_ReturnPlan], rng: random.Random) -> int:
    """The returns as the services would have stored them; `rng` draws only what comes after
    every other draw of the returns (the staff's updates of the customer-update cadence)."""
    tenant, now = world.tenant, world.now
    plans.sort(key=lambda plan: plan.created_at)
    # A return gets its number when it is submitted, in the year of that local day; a draft
    # not submitted yet has none.
    numbers: dict[int, str] = {}
    submissions = sorted(
        (step.at, index)
        for index, plan in enumerate(plans)
        for step in plan.steps
        if step.action == "submitted" and step.at <= now
    )
    for at, index in submissions:
        if index in numbers:
            continue
        year = at.astimezone(world.zone).year
        numbers[index] = format_document_number(
            "RMA", year, next_in_sequence(tenant=tenant, name="RMA", year=year)
        )
    requests, line_rows, event_rows = [], [], []
    for index, plan in enumerate(plans):
        done = [step for step in plan.steps if step.at <= now]
        request = ReturnRequest(
            tenant=tenant,
            number=numbers.get(index, ""),
            customer_account=plan.company,
            requester=plan.requester,
            filed_by=plan.filed_by,
            channel=plan.channel,
            status=done[-1].to_status,
            requested_resolution=plan.requested_resolution,
            return_method=plan.return_method,
            pickup_date=plan.pickup_date,
            pickup_address=plan.pickup_address,
            policy_snapshot=plan.rules.to_snapshot(),
            shipping_paid_by=(
                ShippingPaidBy.MERCHANT if plan.free_shipping else ShippingPaidBy.CUSTOMER
            ),
            requested_value=plan.requested_value,
            created_at=plan.created_at,
            updated_at=done[-1].at,
        )
        inspected = resolved = False
        # The clocks (docs/returns-rules.md#clocks-of-returns) as the services run them.
        calendar = world.calendar
        for step in done:
            if step.action == "submitted":
                request.submitted_at = step.at
                request.start_decision_clock(calendar, now=step.at)
            elif step.action in ("approved", "auto_approved"):
                request.approved_at = step.at
                request.auto_approved = step.action == "auto_approved"
                request.ship_reminder_at, request.ship_by = plan.rules.ship_deadlines(
                    step.at, tenant.timezone
                )
                request.stop_decision_clock(calendar, now=step.at)
            elif step.action == "ship_reminder":
                request.ship_reminded_at = step.at
            elif step.action == "expired":
                request.expired_at = step.at
            elif step.action == "info_requested":
                request.info_request = step.note
                request.pause_decision_clock(now=step.at)
            elif step.action == "info_provided":
                request.info_request = ""
                request.resume_decision_clock(calendar, now=step.at)
            elif step.action == "rejected":
                request.rejection_reason = step.note
                request.stop_decision_clock(calendar, now=step.at)
            elif step.action == "received":
                request.received_at = step.at
                request.start_refund_clock(calendar, now=step.at)
            elif step.action == "inspected":
                request.inspected_at = step.at
                inspected = True
            elif step.action == "resolved":
                request.resolved_at = step.at
                resolved = True
            elif step.action == "closed":
                request.closed_at = step.at
        # The customer-update cadence's past, with the staff's updates that kept it; a return
        # still with the merchant gets its running clock from the watch's next scan
        # (returns.demo.seed_last).
        kept = _update_cadence(
            world,
            [
                (
                    step.at,
                    step.to_status,
                    cadence.told_by(is_public=step.is_public, actor=step.actor),
                )
                for step in done
            ],
            RETURN_CADENCE_STATUSES,
            rng=rng,
            kept_share=UPDATE_KEPT_SHARE["return"],
        )
        request.customer_updated_at = kept.customer_updated_at
        request.update_lapses = kept.update_lapses
        updates = [
            _Step(moment, "comment", status, status, world.agent, rng.choice(RETURN_UPDATES))
            for moment in kept.updates
            for status in [next(step.to_status for step in reversed(done) if step.at < moment)]
        ]
        amounts: list[Decimal | None] = [None] * len(plan.lines)
        if resolved:
            amounts = _resolve_money(tenant, request, plan)
        requests.append(request)
        for line, amount in zip(plan.lines, amounts, strict=True):
            line_rows.append(
                ReturnLine(
                    tenant=tenant,
                    return_request=request,
                    order_line=line.order_line,
                    quantity=line.quantity,
                    reason=line.reason,
                    reason_text=line.reason_text,
                    customer_comment=line.comment,
                    serial_numbers=line.serial_numbers,
                    unit_price=line.order_line.unit_price,
                    condition=line.condition if inspected else "",
                    disposition=line.disposition if inspected else "",
                    accepted_quantity=line.accepted_quantity if inspected else None,
                    inspection_note=line.inspection_note if inspected else "",
                    refund_amount=amount,
                )
            )
        event_rows.extend(
            ReturnEvent(
                tenant=tenant,
                return_request=request,
                actor=step.actor,
                action=step.action,
                from_status=step.from_status,
                to_status=step.to_status,
                note=step.note,
                is_public=step.is_public,
                created_at=step.at,
            )
            for step in sorted([*done, *updates], key=lambda step: step.at)
        )
    _bulk_create_dated(ReturnRequest, requests, ["created_at", "updated_at"])
    ReturnLine.objects.bulk_create(line_rows)
    ReturnEvent.objects.bulk_create(event_rows)
    ReturnFeedback.objects.bulk_create(
        ReturnFeedback(
            tenant=tenant,
            return_request=request,
            answered_by=plan.requester,
            csat=plan.feedback.csat,
            nps=plan.feedback.nps,
            comment=plan.feedback.comment,
            channel=plan.feedback.channel,
            answered_at=plan.feedback.at,
        )
        for plan, request in zip(plans, requests, strict=True)
        if plan.feedback is not None
    )
    return len(requests)


def _resolve_money(tenant: Tenant, request: ReturnRequest, plan: _ReturnPlan) -> list[Decimal]:
    """The money of the resolution, as returns.services.return_request_resolve computes it."""
    settlement = settle(
        PolicyRules.from_snapshot(request.policy_snapshot),
        [
            LineSettlement(
                accepted_quantity=line.accepted_quantity or 0,
                unit_price=line.order_line.unit_price,
                reason=line.reason,
            )
            for line in plan.lines
        ],
    )
    money_back = plan.resolution in (Resolution.REFUND, Resolution.CREDIT_NOTE)
    request.resolution = plan.resolution
    request.accepted_value = settlement.accepted_value
    request.restocking_fee = settlement.restocking_fee if money_back else Decimal("0.00")
    request.refund_total = settlement.total if money_back else Decimal("0.00")
    request.credit_note_number, request.replacement_order_ref = _document_refs(
        tenant, request.number, plan.resolution
    )
    request.resolution_note = plan.resolution_note
    return [amount if money_back else Decimal("0.00") for amount in settlement.line_amounts]


# --- complaints -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    at: datetime.datetime
    author: User
    body: str
    is_internal: bool = False


@dataclass(frozen=True)
class _Rating:
    at: datetime.datetime
    score: int
    comment: str
    nps: int | None = None  # the survey's optional 0–10 "would you recommend us"
    channel: str = SurveyChannel.PORTAL


@dataclass(frozen=True)
class _ClockPhase:
    """A stretch in which an SLA clock ran unpaused, with the moments stored for it then."""

    clock: str  # "first_response" or "resolution"
    start: datetime.datetime
    end: datetime.datetime
    at_risk_at: datetime.datetime
    due_at: datetime.datetime
    fresh: bool = False  # a new clock (after a reopen): earlier notices no longer count


@dataclass
class _ComplaintPlan:
    complaint: Complaint
    steps: list[_Step] = field(default_factory=list)
    messages: list[_Message] = field(default_factory=list)
    phases: list[_ClockPhase] = field(default_factory=list)
    rating: _Rating | None = None
    reopened_at: datetime.datetime | None = None
    status: str = ComplaintStatus.NEW


class _ComplaintPlanner:
    def __init__(self, world: _World, rng: random.Random) -> None:
        self.world = world
        self.calendar = world.calendar
        self.rng = rng
        self.hours = _Hours(world, rng)
        self.targets: dict[tuple[int, str], tuple[float, float]] = {}
        self.delivery_days = [line.order.delivery_date for line in world.delivered]
        lines_per_company = Counter(line.order.customer_account_id for line in world.delivered)
        self.companies = {
            line.order.customer_account: lines_per_company[line.order.customer_account_id]
            for line in world.delivered
        }

    def sla_seconds(self, company: CustomerAccount, priority: str) -> tuple[float, float]:
        key = (company.pk, priority)
        if key not in self.targets:
            first, resolution = sla_targets(customer_account=company, priority=priority)
            self.targets[key] = (float(first) * 3600, float(resolution) * 3600)
        return self.targets[key]

    def order_line(self, category: str, filed: datetime.datetime) -> OrderLine | None:
        if category not in COMPLAINT_DELIVERY_DAYS:
            return None
        low, high = COMPLAINT_DELIVERY_DAYS[category]
        day = filed.astimezone(self.world.zone).date()
        start = bisect.bisect_left(self.delivery_days, day - datetime.timedelta(days=high))
        stop = bisect.bisect_right(self.delivery_days, day - datetime.timedelta(days=low))
        candidates = self.world.delivered[start:stop]
        return self.rng.choice(candidates) if candidates else None

    def subject(self, category: str, line: OrderLine | None) -> tuple[str, str]:
        if category == ComplaintCategory.PRODUCT_QUALITY and line is not None:
            code = line.product.category.code
            subject = self.rng.choice(QUALITY_SUBJECTS.get(code, QUALITY_SUBJECTS["workwear"]))
        else:
            subject = self.rng.choice(COMPLAINT_SUBJECTS[category])
        if line is None:
            details = "Please get back to us."
        elif category == ComplaintCategory.BILLING:
            details = f"Invoice {line.order.invoice_number} for order {line.order.number}."
        else:
            details = (
                f"Order {line.order.number}, line {line.line_number}: {line.product.name}, "
                f"delivered {line.order.delivery_date:%Y-%m-%d}. Please get back to us."
            )
        return subject, f"{subject}. {details}"

    def phase(
        self,
        clock: str,
        start: datetime.datetime,
        end: datetime.datetime,
        *,
        started_at: datetime.datetime,
        due_at: datetime.datetime,
        paused: float = 0.0,
        fresh: bool = False,
    ) -> _ClockPhase:
        at_risk = at_risk_moment(
            self.calendar, started_at=started_at, due_at=due_at, paused_seconds=paused
        )
        return _ClockPhase(clock, start, end, at_risk, due_at, fresh)

    def plan(self, filed_day: datetime.date) -> _ComplaintPlan | None:
        """A complaint filed on `filed_day` and handled to its end; None when that end would
        still lie in the future (its running clocks would set off the SLA watch)."""
        rng, world, calendar = self.rng, self.world, self.calendar
        filed = self.hours.customer_moment(filed_day)
        category = _weighted(rng, COMPLAINT_CATEGORY_WEIGHTS)
        line = self.order_line(category, filed)
        if line is None and category in COMPLAINT_DELIVERY_DAYS:
            category = ComplaintCategory.SERVICE  # nothing delivered yet to complain about
        company = line.order.customer_account if line else _weighted(rng, self.companies)
        goods = line if category != ComplaintCategory.BILLING else None
        priority = _weighted(rng, PRIORITY_WEIGHTS[category])
        first_seconds, resolution_seconds = self.sla_seconds(company, priority)
        subject, description = self.subject(category, line)
        urgent = priority in (Priority.HIGH, Priority.URGENT)
        assignee = world.coordinator if rng.random() < (0.55 if urgent else 0.35) else world.agent
        channel = _channel(filed)
        complaint = Complaint(
            tenant=world.tenant,
            customer_account=company,
            reporter=rng.choice(world.users_by_company[company.pk]),
            channel=channel,
            filed_by=world.agent if channel != CaseChannel.PORTAL else None,
            assignee=assignee,
            category=category,
            priority=priority,
            order=line.order if line else None,
            order_line=goods,
            product=goods.product if goods else None,
            subject=subject,
            description=description,
            created_at=filed,
            first_response_due_at=add_business_time(calendar, filed, first_seconds),
            resolution_due_at=add_business_time(calendar, filed, resolution_seconds),
        )
        plan = _ComplaintPlan(complaint)
        filer = complaint.filed_by or complaint.reporter
        plan.steps.append(_Step(filed, "filed", "", ComplaintStatus.NEW, filer))

        # Offsets are business seconds after filing: the time the SLA clocks count.
        if rng.random() < FIRST_RESPONSE_MISSED_SHARE:
            first_offset = first_seconds * rng.uniform(1.05, 1.8)
        else:
            first_offset = max(first_seconds * rng.uniform(0.08, 0.95), 900.0)
        assigned_at = add_business_time(calendar, filed, first_offset * rng.uniform(0.1, 0.6))
        # Coordinators assign; an agent may also take a complaint for themselves.
        assigner = world.coordinator if rng.random() < 0.5 else assignee
        plan.steps.append(
            _Step(
                assigned_at,
                "assigned",
                ComplaintStatus.NEW,
                ComplaintStatus.OPEN,
                assigner,
                assignee.get_full_name(),
                is_public=False,
            )
        )
        first_at = add_business_time(calendar, filed, first_offset)
        if rng.random() < 0.35:
            follow_up = filed + (first_at - filed) * rng.uniform(0.1, 0.8)
            plan.messages.append(
                _Message(follow_up, complaint.reporter, rng.choice(CUSTOMER_FOLLOW_UPS))
            )
        if rng.random() < REJECTED_COMPLAINT_SHARE:
            return self._rejected(plan, first_at)
        resolved_at = self._work(plan, first_offset, resolution_seconds, assigned_at)
        if rng.random() < REOPENED_SHARE:
            reopened_at = self.hours.customer_later(resolved_at, 12, 144)
            if reopened_at <= resolved_at + datetime.timedelta(days=world.reopen_window_days):
                resolved_at = self._reopen(plan, reopened_at, resolution_seconds)
        if resolved_at > world.now:
            return None
        complaint.resolved_at = resolved_at
        plan.status = ComplaintStatus.RESOLVED
        self._rate_or_close(plan)
        return self._finish(plan)

    def _work(self, plan, first_offset, resolution_seconds, assigned_at) -> datetime.datetime:
        """Replies, perhaps a question that pauses the clocks, an internal note, and the
        resolution; returns when it was resolved."""
        rng, calendar, world = self.rng, self.calendar, self.world
        complaint = plan.complaint
        filed, assignee, reporter = complaint.created_at, complaint.assignee, complaint.reporter
        replies = _weighted(rng, REPLY_COUNT_WEIGHTS)
        if replies == 0:
            resolution_offset = first_offset  # answered by resolving at once
        elif rng.random() < RESOLUTION_MET_SHARE:
            resolution_offset = resolution_seconds * rng.uniform(0.3, 0.95)
        else:
            resolution_offset = resolution_seconds * rng.uniform(1.05, 1.7)
        if replies:
            resolution_offset = max(resolution_offset, first_offset + rng.uniform(900, 5400))
        later = sorted(rng.uniform(first_offset, resolution_offset) for _ in range(replies - 1))
        offsets = [first_offset, *later]
        question = rng.randrange(replies - 1) if replies >= 2 and rng.random() < 0.4 else None
        original_due = complaint.resolution_due_at
        pause: tuple[datetime.datetime, datetime.datetime] | None = None

        def moment(offset: float) -> datetime.datetime:
            # After the pause the clocks resume with the business time they had left.
            if pause is None or offset <= offsets[question]:
                return add_business_time(calendar, filed, offset)
            return add_business_time(calendar, pause[1], offset - offsets[question])

        status = ComplaintStatus.OPEN
        for index, offset in enumerate(offsets):
            at = moment(offset)
            if status == ComplaintStatus.OPEN:  # the first public reply starts the work
                plan.steps.append(
                    _Step(at, "started", status, ComplaintStatus.IN_PROGRESS, assignee)
                )
                status = ComplaintStatus.IN_PROGRESS
                complaint.first_responded_at = at
            if index != question:
                plan.messages.append(_Message(at, assignee, rng.choice(STAFF_REPLIES)))
                continue
            plan.messages.append(_Message(at, assignee, rng.choice(STAFF_QUESTIONS)))
            plan.steps.append(
                _Step(at, "awaiting_customer", status, ComplaintStatus.AWAITING_CUSTOMER, assignee)
            )
            resumed = self.hours.customer_later(at, 2, 60)
            pause = (at, resumed)
            plan.messages.append(_Message(resumed, reporter, rng.choice(CUSTOMER_ANSWERS)))
            plan.steps.append(
                _Step(
                    resumed,
                    "customer_replied",
                    ComplaintStatus.AWAITING_CUSTOMER,
                    ComplaintStatus.IN_PROGRESS,
                    reporter,
                )
            )
            complaint.resolution_due_at = resumed_due_at(
                calendar, due_at=original_due, paused_at=at, resumed_at=resumed
            )
            complaint.sla_paused_seconds = int(business_seconds_between(calendar, at, resumed))
        resolved_at = moment(resolution_offset)
        if rng.random() < 0.25:
            at = max(moment(rng.uniform(first_offset * 0.6, resolution_offset)), assigned_at)
            author = world.coordinator if rng.random() < 0.3 else assignee
            plan.messages.append(_Message(at, author, rng.choice(INTERNAL_NOTES), True))
        complaint.resolution = rng.choice(RESOLUTIONS[complaint.category])
        plan.steps.append(
            _Step(
                resolved_at,
                "resolved",
                status,
                ComplaintStatus.RESOLVED,
                assignee,
                complaint.resolution,
            )
        )
        if complaint.first_responded_at is None:  # the resolution is the public answer
            complaint.first_responded_at = resolved_at
        plan.phases.append(
            self.phase(
                "first_response",
                filed,
                complaint.first_responded_at,
                started_at=filed,
                due_at=complaint.first_response_due_at,
            )
        )
        if pause is None:
            plan.phases.append(
                self.phase("resolution", filed, resolved_at, started_at=filed, due_at=original_due)
            )
        else:
            plan.phases += [
                self.phase("resolution", filed, pause[0], started_at=filed, due_at=original_due),
                self.phase(
                    "resolution",
                    pause[1],
                    resolved_at,
                    started_at=filed,
                    due_at=complaint.resolution_due_at,
                    paused=complaint.sla_paused_seconds,
                ),
            ]
        return resolved_at

    def _rejected(self, plan: _ComplaintPlan, first_at: datetime.datetime):
        rng, complaint = self.rng, plan.complaint
        assignee, filed = complaint.assignee, complaint.created_at
        status = ComplaintStatus.OPEN
        rejected_at = first_at
        if rng.random() < 0.5:  # looked into it first, then found it unfounded
            plan.steps.append(
                _Step(first_at, "started", status, ComplaintStatus.IN_PROGRESS, assignee)
            )
            plan.messages.append(_Message(first_at, assignee, rng.choice(STAFF_REPLIES)))
            complaint.first_responded_at = first_at
            status = ComplaintStatus.IN_PROGRESS
            rejected_at = add_business_time(self.calendar, first_at, rng.uniform(1800, 14400))
        if rejected_at > self.world.now:
            return None
        complaint.rejection_reason = rng.choice(COMPLAINT_REJECTIONS)
        plan.steps.append(
            _Step(
                rejected_at,
                "rejected",
                status,
                ComplaintStatus.REJECTED,
                assignee,
                complaint.rejection_reason,
            )
        )
        plan.status = ComplaintStatus.REJECTED
        complaint.closed_at = rejected_at
        plan.phases += [
            self.phase(
                "first_response",
                filed,
                complaint.first_responded_at or rejected_at,
                started_at=filed,
                due_at=complaint.first_response_due_at,
            ),
            self.phase(
                "resolution",
                filed,
                rejected_at,
                started_at=filed,
                due_at=complaint.resolution_due_at,
            ),
        ]
        return self._finish(plan)

    def _reopen(self, plan, reopened_at, resolution_seconds) -> datetime.datetime:
        """The customer reopens; a fresh resolution clock runs until the second resolution."""
        rng, calendar, complaint = self.rng, self.calendar, plan.complaint
        reporter, assignee = complaint.reporter, complaint.assignee
        reason = rng.choice(REOPEN_REASONS)
        plan.messages.append(_Message(reopened_at, reporter, reason))
        plan.steps.append(
            _Step(
                reopened_at,
                "reopened",
                ComplaintStatus.RESOLVED,
                ComplaintStatus.IN_PROGRESS,
                reporter,
                reason,
            )
        )
        plan.reopened_at = reopened_at
        complaint.reopen_count = 1
        complaint.resolution_started_at = reopened_at
        complaint.resolution_due_at = add_business_time(calendar, reopened_at, resolution_seconds)
        complaint.sla_paused_seconds = 0
        reply_at = add_business_time(calendar, reopened_at, rng.uniform(1800, 14400))
        plan.messages.append(_Message(reply_at, assignee, rng.choice(STAFF_REPLIES)))
        again = add_business_time(calendar, reopened_at, resolution_seconds * rng.uniform(0.2, 0.8))
        again = max(again, reply_at + datetime.timedelta(minutes=30))
        complaint.resolution = rng.choice(RESOLUTIONS[complaint.category])
        plan.steps.append(
            _Step(
                again,
                "resolved",
                ComplaintStatus.IN_PROGRESS,
                ComplaintStatus.RESOLVED,
                assignee,
                complaint.resolution,
            )
        )
        plan.phases.append(
            self.phase(
                "resolution",
                reopened_at,
                again,
                started_at=reopened_at,
                due_at=complaint.resolution_due_at,
                fresh=True,
            )
        )
        return again

    def _rate_or_close(self, plan: _ComplaintPlan) -> None:
        """Rated (it then closes when its reopen window ends), closed by the auto-close after
        the auto-close days, or still resolved (docs/feedback.md)."""
        rng, world, complaint = self.rng, self.world, plan.complaint
        resolved_at = complaint.resolved_at
        poor = resolved_at > complaint.resolution_due_at or complaint.reopen_count
        if rng.random() < RATED_SHARE:
            rated_at = self.hours.customer_later(resolved_at, 0.5, 96)
            score = _weighted(rng, RATING_WEIGHTS_POOR if poor else RATING_WEIGHTS_GOOD)
            comment = rng.choice(RATING_COMMENTS[score])
            if rated_at > world.now:
                return
            plan.rating = _Rating(rated_at, score, comment)
            plan.steps.append(
                _Step(
                    rated_at,
                    "rated",
                    ComplaintStatus.RESOLVED,
                    ComplaintStatus.RESOLVED,
                    complaint.reporter,
                    str(score),
                )
            )
            window_end = resolved_at + datetime.timedelta(days=world.reopen_window_days)
            closed_at = rated_at if rated_at > window_end else _next_auto_close(window_end)
        else:
            not_before = resolved_at + datetime.timedelta(days=world.auto_close_days)
            closed_at = _next_auto_close(not_before)
        closer = None
        if closed_at > world.now:
            return
        plan.steps.append(
            _Step(closed_at, "closed", ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED, closer)
        )
        plan.status = ComplaintStatus.CLOSED
        complaint.closed_at = closed_at

    def _sla_notices(self, plan: _ComplaintPlan) -> None:
        """The SLA watch's "at risk" and "breached" rows: each threshold of a clock announced
        once, by a scan every five minutes that skips paused complaints."""
        transitions = sorted(plan.steps, key=lambda step: step.at)
        announced: dict[str, set[str]] = defaultdict(set)
        notices: list[_Step] = []
        for phase in plan.phases:
            if phase.fresh:
                announced.clear()
            for level, threshold in (("at_risk", phase.at_risk_at), ("breached", phase.due_at)):
                scanned = max(threshold, phase.start) + datetime.timedelta(
                    seconds=self.rng.uniform(5, 300)
                )
                if level in announced[phase.clock] or scanned >= phase.end:
                    continue
                if level == "at_risk" and scanned >= phase.due_at:
                    continue  # the scan sees the breach at once: "at risk" is never sent
                announced[phase.clock].add(level)
                status = next(
                    step.to_status for step in reversed(transitions) if step.at <= scanned
                )
                notices.append(
                    _Step(scanned, f"sla_{level}", status, status, None, phase.clock, False)
                )
        plan.steps += notices
        # A reopened complaint starts its notices afresh (Complaint.reopen).
        since = plan.reopened_at
        plan.complaint.sla_warned = [
            f"{notice.note}:{notice.action.removeprefix('sla_')}"
            for notice in notices
            if since is None or notice.at >= since
        ]

    def _finish(self, plan: _ComplaintPlan) -> _ComplaintPlan:
        self._sla_notices(plan)
        # The status is a protected FSM field: it is given once, to the row that is stored.
        draft = plan.complaint
        complaint = Complaint(
            status=plan.status,
            **{
                model_field.attname: getattr(draft, model_field.attname)
                for model_field in Complaint._meta.concrete_fields
                if model_field.name != "status"
            },
        )
        plan.complaint = complaint
        # As complaints.services._mark_at_risk_moments leaves them after the last change.
        for clock, name in (
            (first_response_clock(complaint), "first_response_at_risk_at"),
            (resolution_clock(complaint), "resolution_at_risk_at"),
        ):
            moment = at_risk_moment(
                self.calendar,
                started_at=clock.started_at,
                due_at=clock.due_at,
                paused_seconds=clock.paused_seconds,
            )
            setattr(complaint, name, moment)
        plan.steps.sort(key=lambda step: step.at)
        plan.messages.sort(key=lambda message: message.at)
        # SLA notices and internal notes leave updated_at alone, as the services do.
        complaint.updated_at = max(
            [step.at for step in plan.steps if not step.action.startswith("sla_")]
            + [message.at for message in plan.messages if not message.is_internal]
        )
        return plan


def _complaint_days(world: _World, rng: random.Random) -> list[datetime.date]:
    """Filing days: COMPLAINTS_PER_MONTH a month over the last HISTORY_DAYS, pro rata in the
    months at either end."""
    first_day = world.today - datetime.timedelta(days=HISTORY_DAYS)
    last_day = world.today - datetime.timedelta(days=1)
    days = []
    month = _month_start(first_day)
    while month <= last_day:
        month_end = _month_end(month)
        start, end = max(month, first_day), min(month_end, last_day)
        share = ((end - start).days + 1) / ((month_end - month).days + 1)
        count = round(rng.randint(*COMPLAINTS_PER_MONTH) * share)
        days += sorted(_random_day(rng, start, end) for _ in range(count))
        month = _months_back(month, -1)
    return days


def _plan_rating_answers(rng: random.Random, plans: list[_ComplaintPlan]) -> None:
    """The ratings' 0–10 answers and where they were given, like the returns' survey answers
    (docs/feedback.md): drawn after every other draw of the complaints, so that adding them
    shifted nothing else of the history."""
    for plan in plans:
        rating = plan.rating
        if rating is None:
            continue
        answer = (
            rng.randint(*FEEDBACK_NPS_RANGE[rating.score])
            if rng.random() < FEEDBACK_NPS_SHARE
            else None
        )
        by_email = rng.random() < FEEDBACK_BY_EMAIL_SHARE
        plan.rating = dataclasses.replace(
            rating,
            nps=answer,
            channel=SurveyChannel.EMAIL if by_email else SurveyChannel.PORTAL,
        )


def _complaint_cadence(world: _World, plan: _ComplaintPlan, rng: random.Random) -> None:
    """The customer-update cadence of a finished complaint: its transitions, and its public
    replies from staff (updates that leave the status as it is), with the staff's replies that
    kept it. The SLA watch's notices are its own bookkeeping. Drawn after every other draw of
    the complaints."""
    events = [
        (step.at, 0, step.to_status, cadence.told_by(is_public=step.is_public, actor=step.actor))
        for step in plan.steps
        if not step.action.startswith("sla_")
    ]
    events += [
        (message.at, 1, None, True)
        for message in plan.messages
        if not message.is_internal and not message.author.is_customer
    ]
    events.sort(key=lambda event: event[:2])
    kept = _update_cadence(
        world,
        [(at, status, told) for at, _order, status, told in events],
        COMPLAINT_CADENCE_STATUSES,
        rng=rng,
        kept_share=UPDATE_KEPT_SHARE["complaint"],
        # A reply before the first response would be the first response.
        updates_from=plan.complaint.first_responded_at,
    )
    plan.complaint.customer_updated_at = kept.customer_updated_at
    plan.complaint.update_lapses = kept.update_lapses
    author = plan.complaint.assignee or world.agent
    plan.messages += [
        _Message(moment, author, rng.choice(COMPLAINT_UPDATES)) for moment in kept.updates
    ]
    plan.messages.sort(key=lambda message: message.at)


def _seed_complaints(world: _World, rng: random.Random) -> int:
    planner = _ComplaintPlanner(world, rng)
    plans = [plan for day in _complaint_days(world, rng) if (plan := planner.plan(day))]
    _plan_rating_answers(rng, plans)
    plans.sort(key=lambda plan: plan.complaint.created_at)
    tenant = world.tenant
    complaints = [plan.complaint for plan in plans]
    for plan in plans:
        _complaint_cadence(world, plan, rng)
    for complaint in complaints:  # numbered in filing order, per local year, like the service
        year = complaint.created_at.astimezone(world.zone).year
        value = next_in_sequence(tenant=tenant, name="CMP", year=year)
        complaint.code = format_document_number("CMP", year, value)
    _bulk_create_dated(Complaint, complaints, ["updated_at"])
    ComplaintMessage.objects.bulk_create(
        ComplaintMessage(
            tenant=tenant,
            complaint=plan.complaint,
            author=message.author,
            body=message.body,
            is_internal=message.is_internal,
            created_at=message.at,
        )
        for plan in plans
        for message in plan.messages
    )
    ComplaintEvent.objects.bulk_create(
        ComplaintEvent(
            tenant=tenant,
            complaint=plan.complaint,
            actor=step.actor,
            action=step.action,
            from_status=step.from_status,
            to_status=step.to_status,
            note=step.note,
            is_public=step.is_public,
            created_at=step.at,
        )
        for plan in plans
        for step in plan.steps
    )
    ratings = [
        SatisfactionRating(
            tenant=tenant,
            complaint=plan.complaint,
            score=plan.rating.score,
            nps=plan.rating.nps,
            channel=plan.rating.channel,
            comment=plan.rating.comment,
            rated_by_id=plan.complaint.reporter_id,
            created_at=plan.rating.at,
        )
        for plan in plans
        if plan.rating is not None
    ]
    _bulk_create_dated(SatisfactionRating, ratings, ["created_at"])
    return len(complaints)
