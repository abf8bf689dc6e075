"""The KPI layer's figures about one customer, beside their cases in the back-office
(customers/case_context.py): the customer's return rate over the last 365 days, in units
returned of units delivered."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from customers.case_context import CustomerFact, register_customer_fact

from .kpis import KpiFilters, return_rate

PERIOD_DAYS = 365


def customer_return_rate(account, now: datetime.datetime) -> CustomerFact:
    tenant = account.tenant
    end = now.astimezone(ZoneInfo(tenant.timezone)).date()
    rate = return_rate(
        tenant=tenant,
        start=end - datetime.timedelta(days=PERIOD_DAYS - 1),
        end=end,
        filters=KpiFilters(customer_account_id=account.pk),
    )
    share = rate.by_quantity
    return CustomerFact(
        label=_("Return rate, last 365 days"),
        value=_("nothing delivered") if share is None else f"{number_format(share * 100, 1)} %",
        detail=_("%(returned)s of %(delivered)s units delivered")
        % {
            "returned": number_format(rate.returned_quantity),
            "delivered": number_format(rate.delivered_quantity),
        },
    )


def register() -> None:
    register_customer_fact(customer_return_rate)
