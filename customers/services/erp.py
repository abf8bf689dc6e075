"""Writes from the merchant's ERP through the API: records upserted by the ERP's own keys.

The keys are the natural keys the CSV import already matches by, which are the ERP's ids:
category code, SKU, customer number, order number (a line: order number and line number) and
invoice number. Records go through the same checks and bulk writes as the CSV import
(customers/services/imports), all-or-nothing per request, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from rma_portal.errors import ApplicationError
from rma_portal.tenancy.context import get_current_tenant
from rma_portal.tenancy.models import Tenant

from .imports import (
    CATEGORY_COLUMNS,
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    PRODUCT_COLUMNS,
    ImportBody,
    ImportRejected,
    ImportReport,
    run_records,
    write_categories,
    write_customers,
    write_orders,
    write_products,
)
from .imports.invoices import INVOICE_COLUMNS, write_invoices
from .imports.reading import Columns
from .imports.records import records_from_json

MAX_RECORDS = 1000  # per request: a bulk request is one transaction holding the tenant's lock


@dataclass(frozen=True)
class ErpKind:
    """One kind of ERP data: its key column (the external id), the label its counts carry,
    its columns and the function that checks and writes its records."""

    key: str
    label: str
    columns: Columns
    body: ImportBody
    nested_lines: bool = False


ERP_KINDS: dict[str, ErpKind] = {
    "product-categories": ErpKind("code", "product categories", CATEGORY_COLUMNS, write_categories),
    "products": ErpKind("sku", "products", PRODUCT_COLUMNS, write_products),
    "customers": ErpKind("number", "customers", CUSTOMER_COLUMNS, write_customers),
    "orders": ErpKind("order_number", "orders", ORDER_COLUMNS, write_orders, nested_lines=True),
    "invoices": ErpKind("number", "invoices", INVOICE_COLUMNS, write_invoices),
}


def _check_tenant(tenant: Tenant) -> None:
    current = get_current_tenant()
    if current is not None and current.pk != tenant.pk:
        raise ApplicationError(_("You can write only your own tenant's data."), code="forbidden")


def erp_upsert(*, kind: str, tenant: Tenant, records: Sequence[Any]) -> ImportReport:
    """Create or update up to MAX_RECORDS records of `kind` by their keys, all or nothing.

    Raises ImportRejected (its report lists every problem: record index, field, message) when
    any record is bad; then nothing is written.
    """
    _check_tenant(tenant)
    spec = ERP_KINDS[kind]
    if len(records) > MAX_RECORDS:
        message = _("At most %(max)d records per request, got %(count)d.") % {
            "max": MAX_RECORDS,
            "count": len(records),
        }
        raise ApplicationError(message, code="invalid", fields={"records": [message]})
    report = ImportReport(kind=kind, unit="record", rows=len(records))
    parsed = records_from_json(
        records, columns=spec.columns, report=report, nested_lines=spec.nested_lines
    )
    return run_records(body=spec.body, tenant=tenant, records=parsed, report=report, source="api")


def erp_upsert_one(
    *, kind: str, tenant: Tenant, external_id: str, record: Any
) -> tuple[ImportReport, bool]:
    """Create or update the one record whose key is `external_id`; (report, created).

    The key may be left out of the record; given, it must be the same as `external_id`.
    """
    spec = ERP_KINDS[kind]
    if isinstance(record, dict):
        given = record.get(spec.key)
        if given is not None and str(given).strip() != external_id:
            report = ImportReport(kind=kind, unit="record", rows=1)
            report.add_error(
                0,
                _("%(field)s '%(value)s' is not the id in the URL, '%(id)s'")
                % {"field": spec.key, "value": given, "id": external_id},
                spec.key,
            )
            raise ImportRejected(report)
        record = {**record, spec.key: external_id}
    report = erp_upsert(kind=kind, tenant=tenant, records=[record])
    return report, report.counts_for(spec.label).created == 1
