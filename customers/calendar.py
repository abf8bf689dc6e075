"""The tenant's business calendar (working days, working hours, holidays), customer-update
cadence and the days after which resolved cases close, for every case app.

The calendar's data is kept by complaints (its support settings and holidays, edited in the
back-office next to the SLA policies); returns must not import complaints, so complaints
registers how to read it here from its AppConfig.ready() and returns asks here. The
arithmetic on a calendar is the platform's (rma_portal/sla.py). Without a registered provider
a tenant works Monday to Friday, 8:00–16:00 in its own time zone, with no holidays, and
closes resolved cases after 14 days.
"""

from __future__ import annotations

from collections.abc import Callable

from rma_portal.cadence import Cadence
from rma_portal.sla import BusinessCalendar

_provider: Callable[[object], BusinessCalendar] | None = None


def register_calendar_provider(provider: Callable[[object], BusinessCalendar]) -> None:
    """`provider(tenant)` answers the tenant's BusinessCalendar; the last one registered
    wins (one app owns the calendar's data)."""
    global _provider
    _provider = provider


def business_calendar(tenant) -> BusinessCalendar:
    if _provider is not None:
        return _provider(tenant)
    return BusinessCalendar(timezone=tenant.timezone)


_cadence_provider: Callable[[object], Cadence] | None = None


def register_update_cadence_provider(provider: Callable[[object], Cadence]) -> None:
    """`provider(tenant)` answers the tenant's customer-update cadence (rma_portal/cadence.py);
    its data is kept with the calendar's."""
    global _cadence_provider
    _cadence_provider = provider


def update_cadence(tenant) -> Cadence:
    if _cadence_provider is not None:
        return _cadence_provider(tenant)
    return Cadence()


# The support settings' default "resolved cases close after (days)".
DEFAULT_AUTO_CLOSE_DAYS = 14
_auto_close_days_provider: Callable[[object], int] | None = None


def register_auto_close_days_provider(provider: Callable[[object], int]) -> None:
    """`provider(tenant)` answers after how many days the tenant's resolved cases close (one
    setting for complaints and returns alike); its data is kept with the calendar's."""
    global _auto_close_days_provider
    _auto_close_days_provider = provider


def auto_close_days(tenant) -> int:
    if _auto_close_days_provider is not None:
        return _auto_close_days_provider(tenant)
    return DEFAULT_AUTO_CLOSE_DAYS
