"""Beat task of automatic assignment: re-assignment on absence (customers/routing.py).

Runs the service once per active tenant, in that tenant's context; one tenant's failure is
logged and does not stop the others. Each tenant's staff away on the tenant's today have
their cases not yet started re-routed through the rules; with nobody away a tenant costs
one query.
"""

from __future__ import annotations

from celery import shared_task

from rma_portal.tenancy.scheduling import for_each_active_tenant

from .routing import reassign_away


@shared_task(name="customers.reassign_absent_task", soft_time_limit=240, time_limit=280)
def reassign_absent_task() -> int:
    """Hand on the cases not yet started of staff away today; returns how many moved."""
    return for_each_active_tenant(reassign_away, "re-assignment on absence")
