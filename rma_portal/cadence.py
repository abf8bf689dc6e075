"""The customer-update cadence of a case (docs/returns-rules.md#customer-update-cadence): while
the next move is the merchant's, the customer must hear from the merchant at least every N
hours (48 by default, the tenant's support settings), weekends and holidays not counted.
Shared by returns and complaints.

The clock runs from the last update the customer got from the merchant (a public timeline
entry or reply by staff, an integration or the system), or from the moment the case came back
to the merchant (submitted, the customer answered, the goods arrived), whichever is later. It
does not run while the customer is to act (a question asked, goods to send) or once the case
is decided. N hours are counted on working days only (whole days: nights count, weekends and
holidays do not); a due moment outside working hours moves to the next opening, so nobody is
flagged at night and no automatic e-mail goes out on a Sunday.

When the due moment passes, the case's SLA watch flags it once to the assignee (coordinators
when nobody has it), counts the lapse (the KPI "customer-update cadence kept"), and, when the
tenant wishes, e-mails the customer the case's status, which is an update and restarts the
clock. The fields live on each case model (`CustomerUpdateCadence`); the services tell
`track` what happened and store what it answers, in the transaction of the change.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from .sla import BusinessCalendar, add_business_time

DEFAULT_HOURS = 48
MAX_HOURS = 24 * 30
FIELDS = ("customer_updated_at", "update_due_at", "update_flagged_at", "update_lapses")


@dataclass(frozen=True)
class Cadence:
    """The tenant's rule: every `hours` elapsed hours (0: no cadence), and whether the
    customer gets an automatic status e-mail when the cadence lapses."""

    hours: int = DEFAULT_HOURS
    status_emails: bool = False


class CustomerUpdateCadence(models.Model):
    """The cadence's fields on a case model (returns and complaints)."""

    customer_updated_at = models.DateTimeField(
        _("customer last updated"), null=True, blank=True, editable=False
    )
    # When the customer is owed an update; empty while the clock does not run.
    update_due_at = models.DateTimeField(
        _("customer update due"), null=True, blank=True, editable=False
    )
    # When the SLA watch flagged the current lapse; cleared by the next update.
    update_flagged_at = models.DateTimeField(
        _("customer update overdue since"), null=True, blank=True, editable=False
    )
    update_lapses = models.PositiveIntegerField(
        _("customer updates overdue"), default=0, editable=False
    )

    class Meta:
        abstract = True

    def update_overdue(self, now: datetime.datetime) -> bool:
        return self.update_due_at is not None and self.update_due_at <= now


def due_moment(
    calendar: BusinessCalendar, since: datetime.datetime, hours: int
) -> datetime.datetime:
    """`hours` hours after `since` counted on the calendar's working days only (whole days,
    in the tenant's time zone: a weekend or a holiday does not count, a night does), moved to
    the next opening when that is outside working hours (the closing instant counts as
    outside, as for the other clocks). 48 hours from Friday 10:00 are Tuesday 10:00."""
    zone = calendar.zone
    moment = since.astimezone(zone)
    left = datetime.timedelta(hours=hours)
    for _day in range(3700):  # ten years of days: a guard, like the calendar's own
        day = moment.date()
        next_midnight = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(0), tzinfo=zone
        )
        if calendar.is_working_day(day):
            # In UTC: a day with a DST change is 23 or 25 hours long.
            available = next_midnight.astimezone(datetime.UTC) - moment.astimezone(datetime.UTC)
            if left <= available:
                end = moment.astimezone(datetime.UTC) + left
                return add_business_time(calendar, end, 0)
            left -= available
        moment = next_midnight
    raise ValueError("The calendar has no working day in the next ten years.")


def told_by(*, is_public: bool, actor) -> bool:
    """Whether a timeline entry or reply tells the customer something from the merchant:
    public, and written by staff, an integration or the system (no actor), not the customer."""
    return is_public and (actor is None or not actor.is_customer)


def track(
    case: CustomerUpdateCadence,
    *,
    rule: Callable[[], tuple[BusinessCalendar, Cadence]],
    at: datetime.datetime,
    running: bool,
    was_running: bool,
    told_customer: bool,
) -> dict:
    """What changes on `case` after something happened at `at`: the customer was told
    something (`told_customer`), and the case is with the merchant now (`running`) or was
    before (`was_running`). `rule()` answers the tenant's calendar and cadence; it is asked
    only when a due moment is to be set. Sets the fields on `case` and answers those that
    changed."""
    changes: dict = {}
    if told_customer:
        changes["customer_updated_at"] = at
    if told_customer or not running:
        changes["update_flagged_at"] = None
    if not running:
        changes["update_due_at"] = None
    elif told_customer or not was_running or case.update_due_at is None:
        # Told now, or back with the merchant now: the next update is owed from now.
        calendar, cadence = rule()
        changes["update_due_at"] = (
            due_moment(calendar, at, cadence.hours) if cadence.hours else None
        )
    changed = {name: value for name, value in changes.items() if getattr(case, name) != value}
    for name, value in changed.items():
        setattr(case, name, value)
    return changed
