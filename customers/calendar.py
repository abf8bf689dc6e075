"""The tenant's business calendar (working days, working hours, holidays) and customer-update
cadence for every case app.

The calendar's data is kept by complaints (its support settings and holidays, edited in the
back-office next to the SLA policies); returns must not import complaints, so complaints
registers how to read it here from its AppConfig.ready() and returns asks here. The
arithmetic on a calendar is the platform's (rma_portal/sla.py). Without a registered provider
a tenant works Monday to Friday, 8:00–16:00 in its own time zone, with no holidays.
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
