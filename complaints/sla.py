"""The business-hours arithmetic of the SLA clocks lives in the platform (rma_portal/sla.py),
where returns' clocks use it too; this module keeps the names complaints code imports."""

from rma_portal.sla import (
    AT_RISK_SHARE,
    BusinessCalendar,
    Clock,
    SlaState,
    add_business_time,
    at_risk_moment,
    business_seconds_between,
    clock_state,
    resumed_due_at,
    state_at,
    working_days_due_at,
    working_days_seconds,
)

__all__ = [
    "AT_RISK_SHARE",
    "BusinessCalendar",
    "Clock",
    "SlaState",
    "add_business_time",
    "at_risk_moment",
    "business_seconds_between",
    "clock_state",
    "resumed_due_at",
    "state_at",
    "working_days_due_at",
    "working_days_seconds",
]
