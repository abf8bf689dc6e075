"""Import of orders mirrored from the ERP: one record per order line, upserted by order number.

Every line of an order repeats its header (the API's order records are split into such line
records: records.py); customers and products must already be imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import F
from django.utils.translation import gettext as _

from customers.models import CustomerAccount, Order, OrderLine, Product
from rma_portal.tenancy.models import Tenant

from .cells import INVALID, RowCheck, field_max_length, valid
from .pipeline import Progress, ProgressCallback, run_import, stop_if_rejected
from .reading import Columns, Record, RowsSource
from .report import ImportReport
from .writing import LOOKUP_CHUNK, Wanted, batches, key_values, load_by_key, upsert

ORDER_COLUMNS = Columns(
    required=(
        "order_number",
        "customer_number",
        "order_date",
        "line_number",
        "sku",
        "quantity",
        "unit_price",
    ),
    optional=(
        "delivery_date",
        "invoice_number",
        "lot_number",
        "serial_numbers",
        "delivered_quantity",
        "delivered_on",
    ),
)
# The columns of an order line; the others are the order's, repeated on each of its lines.
LINE_COLUMNS = (
    "line_number",
    "sku",
    "quantity",
    "unit_price",
    "lot_number",
    "serial_numbers",
    "delivered_quantity",
    "delivered_on",
)


@dataclass
class _OrderHeader:
    line: int
    customer_number: Any
    order_date: Any
    delivery_date: Any
    invoice_number: Any


def orders_import(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update orders and their lines (one CSV row per order line) by order number."""
    return run_import(
        kind="orders",
        columns=ORDER_COLUMNS,
        body=write_orders,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def write_orders(
    *, tenant: Tenant, records: list[Record], report: ImportReport, progress: Progress
) -> None:
    """Check every order line record, then create or update the orders and lines (or raise
    ImportRejected). Each record is one line and repeats its order's fields."""
    rows = records
    customer_ids = {
        number: pk
        for chunk in batches(sorted(set(key_values(rows, "customer_number"))), LOOKUP_CHUNK)
        for number, pk in CustomerAccount.unscoped.filter(
            tenant=tenant, number__in=chunk
        ).values_list("number", "pk")
    }
    products = {
        sku: (pk, serial_tracked)
        for chunk in batches(sorted(set(key_values(rows, "sku"))), LOOKUP_CHUNK)
        for sku, pk, serial_tracked in Product.unscoped.filter(
            tenant=tenant, sku__in=chunk
        ).values_list("sku", "pk", "is_serial_tracked")
    }
    existing_orders = load_by_key(
        Order.unscoped.filter(tenant=tenant).annotate(
            current_customer_number=F("customer_account__number")
        ),
        "number",
        key_values(rows, "order_number"),
    )
    existing_lines: dict[tuple[int, int], OrderLine] = {}
    for chunk in batches(sorted(order.pk for order in existing_orders.values()), LOOKUP_CHUNK):
        for order_line in OrderLine.unscoped.filter(tenant=tenant, order_id__in=chunk):
            existing_lines[order_line.order_id, order_line.line_number] = order_line

    headers: dict[str, _OrderHeader] = {}
    line_rows: dict[tuple[str, int], Record] = {}
    wanted_orders: dict[str, Wanted] = {}
    wanted_lines: dict[tuple[str, int], Wanted] = {}
    limits = {
        name: field_max_length(model, name)
        for model, name in (
            (Order, "number"),
            (Order, "invoice_number"),
            (CustomerAccount, "number"),
            (Product, "sku"),
            (OrderLine, "lot_number"),
        )
    }
    total = len(rows)
    for done, row in enumerate(rows, 1):
        progress("validate", done, total)
        check = RowCheck(report, row)
        present = row.present
        order_number = check.text("order_number", max_length=limits["number"], required=True)
        customer_number = check.text("customer_number", max_length=limits["number"], required=True)
        order_date = check.date("order_date", required=True)
        delivery_date = check.date("delivery_date")
        invoice_number = check.text("invoice_number", max_length=limits["invoice_number"])
        line_number = check.whole_number("line_number")
        sku = check.text("sku", max_length=limits["sku"], required=True)
        quantity = check.whole_number("quantity")
        unit_price = check.money("unit_price")
        lot_number = check.text("lot_number", max_length=limits["lot_number"])
        serials = check.serial_numbers("serial_numbers")
        delivered_quantity = check.whole_number("delivered_quantity", required=False, minimum=0)
        delivered_on = check.date("delivered_on")

        if valid(order_date, delivery_date) and delivery_date and delivery_date < order_date:
            check.fail(
                _("delivery_date %(delivery)s is before order_date %(ordered)s")
                % {"delivery": delivery_date.isoformat(), "ordered": order_date.isoformat()},
                "delivery_date",
            )
        if valid(order_date, delivered_on) and delivered_on and delivered_on < order_date:
            check.fail(
                _("delivered_on %(delivery)s is before order_date %(ordered)s")
                % {"delivery": delivered_on.isoformat(), "ordered": order_date.isoformat()},
                "delivered_on",
            )
        if (
            valid(quantity, delivered_quantity)
            and delivered_quantity is not None
            and delivered_quantity > quantity
        ):
            check.fail(
                _("delivered_quantity %(delivered)d is more than quantity %(quantity)d")
                % {"delivered": delivered_quantity, "quantity": quantity},
                "delivered_quantity",
            )
        product = None
        if sku is not INVALID:
            product = products.get(sku)
            if product is None:
                check.fail(_("unknown SKU '%(sku)s' (not in the catalogue)") % {"sku": sku}, "sku")
        if product is not None and serials and serials is not INVALID:
            # Serials name the units delivered: all of the line's, or the delivered part.
            units = delivered_quantity if delivered_quantity not in (None, INVALID) else quantity
            if not product[1]:
                check.fail(
                    _("serial_numbers given, but product '%(sku)s' is not serial-tracked")
                    % {"sku": sku},
                    "serial_numbers",
                )
            elif valid(quantity, delivered_quantity) and len(serials) != units:
                check.fail(
                    _(
                        "%(count)d serial numbers given for quantity %(quantity)d of "
                        "serial-tracked product '%(sku)s'"
                    )
                    % {"count": len(serials), "quantity": units, "sku": sku},
                    "serial_numbers",
                )
        if order_number is not INVALID:
            header = _OrderHeader(
                row.line, customer_number, order_date, delivery_date, invoice_number
            )
            first = headers.setdefault(order_number, header)
            if first is header:
                _check_new_order_header(
                    check, order_number, header, customer_ids, existing_orders, present
                )
            else:
                _check_same_order_header(check, order_number, header, first)
            if line_number is not INVALID:
                first_row = line_rows.setdefault((order_number, line_number), row)
                if first_row is not row:
                    check.fail(
                        _("order '%(order)s' line %(number)d appears again (first on %(where)s)")
                        % {
                            "order": order_number,
                            "number": line_number,
                            "where": report.where(first_row.line),
                        },
                        "line_number",
                    )
                elif "delivered_quantity" not in present and quantity is not INVALID:
                    _check_stored_delivery(
                        check, order_number, line_number, quantity, existing_orders, existing_lines
                    )
        customer_id = customer_ids.get(customer_number)
        if not check.ok or customer_id is None:  # an unknown customer is reported once per order
            continue

        if order_number not in wanted_orders:
            order_values = {
                "customer_account_id": customer_id,
                "order_date": order_date,
            }
            if "delivery_date" in present:
                order_values["delivery_date"] = delivery_date
            if "invoice_number" in present:
                order_values["invoice_number"] = invoice_number
            wanted_orders[order_number] = (order_values, {"number": order_number})
        line_values = {"product_id": product[0], "quantity": quantity, "unit_price": unit_price}
        if "lot_number" in present:
            line_values["lot_number"] = lot_number
        if "serial_numbers" in present:
            line_values["serial_numbers"] = serials
        if "delivered_quantity" in present:
            line_values["delivered_quantity"] = delivered_quantity
        if "delivered_on" in present:
            line_values["delivered_on"] = delivered_on
        wanted_lines[order_number, line_number] = (line_values, {"line_number": line_number})
    stop_if_rejected(report)

    orders = upsert(
        model=Order,
        label="orders",
        tenant=tenant,
        wanted=wanted_orders,
        existing=existing_orders,
        report=report,
        progress=progress,
    )
    lines_by_order_id: dict[tuple[int, int], Wanted] = {}
    for (order_number, line_number), (values, new_only) in wanted_lines.items():
        order_id = orders[order_number].pk
        lines_by_order_id[order_id, line_number] = (values, {**new_only, "order_id": order_id})
    upsert(
        model=OrderLine,
        label="order lines",
        tenant=tenant,
        wanted=lines_by_order_id,
        existing=existing_lines,
        report=report,
        progress=progress,
    )


def _check_new_order_header(
    check: RowCheck,
    order_number: str,
    header: _OrderHeader,
    customer_ids: dict[str, int],
    existing_orders: dict[str, Order],
    present: frozenset[str],
) -> None:
    """Order-level checks, made once on the first line of each order."""
    if header.customer_number is INVALID:
        return
    customer_id = customer_ids.get(header.customer_number)
    if customer_id is None:
        check.fail(
            _("unknown customer number '%(number)s' (order '%(order)s')")
            % {"number": header.customer_number, "order": order_number},
            "customer_number",
        )
        return
    current = existing_orders.get(order_number)
    if current is None:
        return
    if current.customer_account_id != customer_id:
        check.fail(
            _(
                "order '%(order)s' already exists for customer '%(current)s'; an import cannot "
                "move it to customer '%(new)s'"
            )
            % {
                "order": order_number,
                "current": current.current_customer_number,
                "new": header.customer_number,
            },
            "customer_number",
        )
    if (
        "delivery_date" not in present
        and header.order_date is not INVALID
        and current.delivery_date
        and current.delivery_date < header.order_date
    ):
        check.fail(
            _(
                "order_date %(ordered)s is after the delivery date %(delivery)s already stored "
                "for order '%(order)s'"
            )
            % {
                "ordered": header.order_date.isoformat(),
                "delivery": current.delivery_date.isoformat(),
                "order": order_number,
            },
            "order_date",
        )


def _check_stored_delivery(
    check: RowCheck,
    order_number: str,
    line_number: int,
    quantity: int,
    existing_orders: dict[str, Order],
    existing_lines: dict[tuple[int, int], OrderLine],
) -> None:
    """A record without delivered_quantity keeps the stored one, which must still fit."""
    order = existing_orders.get(order_number)
    stored = existing_lines.get((order.pk, line_number)) if order is not None else None
    if stored is not None and (stored.delivered_quantity or 0) > quantity:
        check.fail(
            _(
                "quantity %(quantity)d is less than the %(delivered)d units already delivered "
                "of order '%(order)s' line %(number)d"
            )
            % {
                "quantity": quantity,
                "delivered": stored.delivered_quantity,
                "order": order_number,
                "number": line_number,
            },
            "quantity",
        )


def _check_same_order_header(
    check: RowCheck,
    order_number: str,
    header: _OrderHeader,
    first: _OrderHeader,
) -> None:
    """Every line of an order must repeat the order's customer, dates and invoice."""
    for column in ("customer_number", "order_date", "delivery_date", "invoice_number"):
        here, there = getattr(header, column), getattr(first, column)
        if valid(here, there) and here != there:
            check.fail(
                _("order '%(order)s' has %(column)s '%(here)s' here but '%(there)s' on %(where)s")
                % {
                    "order": order_number,
                    "column": column,
                    "here": _shown(here),
                    "there": _shown(there),
                    "where": check.report.where(first.line),
                },
                column,
            )


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
