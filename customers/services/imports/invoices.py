"""Invoices from the ERP (API only): one record per invoice, upserted by invoice number, with
the order lines it billed.

A record names what it billed by whole orders (`order_numbers`) and/or single lines (`lines`,
each `{"order_number", "line_number"}`); together they are the invoice's lines, and lines
linked to it before and not named any more are unlinked. Without either field the links stay
as they are. An order without an invoice number gets the invoice's.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from customers.models import CustomerAccount, Invoice, Order, OrderLine
from rma_portal.tenancy.models import Tenant

from .cells import (
    INVALID,
    MAX_POSITIVE_INT,
    SERIAL_SEPARATOR,
    RowCheck,
    field_max_length,
    valid,
)
from .pipeline import Progress, stop_if_rejected
from .reading import Columns, Record
from .report import ImportReport
from .writing import LOOKUP_CHUNK, Wanted, batches, key_values, load_by_key, upsert

INVOICE_COLUMNS = Columns(
    required=(
        "number",
        "customer_number",
        "issue_date",
        "net_amount",
        "tax_amount",
        "gross_amount",
    ),
    optional=("currency", "order_numbers", "lines"),
)
_CURRENCY_RE = re.compile(r"[A-Z]{3}")


def _order_numbers(check: RowCheck) -> Any:
    """`order_numbers`: a JSON list of texts or a cell separated by '|'; None when absent."""
    if "order_numbers" not in check.record.present:
        return None
    raw = check.cells.get("order_numbers")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.split(SERIAL_SEPARATOR)
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        return check.fail(_("order_numbers must be a list of order numbers"), "order_numbers")
    return [number.strip() for number in raw if number.strip()]


def _line_refs(check: RowCheck) -> Any:
    """`lines`: a JSON list of {"order_number", "line_number"}; None when absent."""
    if "lines" not in check.record.present:
        return None
    raw = check.cells.get("lines")
    if raw is None:
        return []
    refs = []
    if isinstance(raw, list):
        for position, ref in enumerate(raw):
            number = ref.get("order_number") if isinstance(ref, dict) else None
            line = ref.get("line_number") if isinstance(ref, dict) else None
            if (
                not isinstance(number, str)
                or not number.strip()
                or type(line) is not int
                or not 1 <= line <= MAX_POSITIVE_INT
                or set(ref) - {"order_number", "line_number"}
            ):
                check.fail(
                    _('each line must be {"order_number": "…", "line_number": 1}'),
                    f"lines[{position}]",
                )
                continue
            refs.append((number.strip(), line))
        return refs if check.ok else INVALID
    return check.fail(_("lines must be a list of order lines"), "lines")


def write_invoices(
    *, tenant: Tenant, records: list[Record], report: ImportReport, progress: Progress
) -> None:
    """Check every invoice record, then create or update the invoices and link their lines
    (or raise ImportRejected)."""
    existing = load_by_key(
        Invoice.unscoped.filter(tenant=tenant).select_related("customer_account"),
        "number",
        key_values(records, "number"),
    )
    customer_ids = {
        number: pk
        for chunk in batches(sorted(set(key_values(records, "customer_number"))), LOOKUP_CHUNK)
        for number, pk in CustomerAccount.unscoped.filter(
            tenant=tenant, number__in=chunk
        ).values_list("number", "pk")
    }
    limits = {
        "number": field_max_length(Invoice, "number"),
        "customer_number": field_max_length(CustomerAccount, "number"),
    }
    number_lines: dict[str, int] = {}
    planned: list[tuple[RowCheck, str, Wanted, Any, Any]] = []
    total = len(records)
    for done, row in enumerate(records, 1):
        progress("validate", done, total)
        check = RowCheck(report, row)
        number = check.text("number", max_length=limits["number"], required=True)
        customer_number = check.text(
            "customer_number", max_length=limits["customer_number"], required=True
        )
        issue_date = check.date("issue_date", required=True)
        currency = _currency(check)
        net = check.money("net_amount")
        tax = check.money("tax_amount")
        gross = check.money("gross_amount")
        orders = _order_numbers(check)
        refs = _line_refs(check)
        if valid(net, tax, gross) and net + tax != gross:
            check.fail(
                _("gross_amount %(gross)s is not net_amount %(net)s plus tax_amount %(tax)s")
                % {"gross": gross, "net": net, "tax": tax},
                "gross_amount",
            )
        if number is not INVALID:
            if number in number_lines:
                check.fail(
                    _("invoice number '%(number)s' appears again (first on %(where)s)")
                    % {"number": number, "where": report.where(number_lines[number])},
                    "number",
                )
            else:
                number_lines[number] = row.line
        customer_id = None
        if customer_number is not INVALID:
            customer_id = customer_ids.get(customer_number)
            if customer_id is None:
                check.fail(
                    _("unknown customer number '%(number)s' (invoice '%(invoice)s')")
                    % {"number": customer_number, "invoice": number},
                    "customer_number",
                )
        current = existing.get(number) if number is not INVALID else None
        if current is not None and customer_id and current.customer_account_id != customer_id:
            check.fail(
                _(
                    "invoice '%(invoice)s' already exists for customer '%(current)s'; it cannot "
                    "move to customer '%(new)s'"
                )
                % {
                    "invoice": number,
                    "current": current.customer_account.number,
                    "new": customer_number,
                },
                "customer_number",
            )
        if not check.ok:
            continue
        values = {
            "customer_account_id": customer_id,
            "issue_date": issue_date,
            "net_amount": net,
            "tax_amount": tax,
            "gross_amount": gross,
        }
        new_only: dict[str, Any] = {"number": number}
        if currency:
            values["currency"] = currency
        else:
            new_only["currency"] = tenant.currency
        planned.append((check, number, (values, new_only), orders, refs))

    lines_of = _check_billed_lines(tenant, planned, report)
    stop_if_rejected(report)

    invoices = upsert(
        model=Invoice,
        label="invoices",
        tenant=tenant,
        wanted={number: wanted for _check, number, wanted, _o, _r in planned},
        existing=existing,
        report=report,
        progress=progress,
    )
    _link_lines(tenant, invoices, lines_of, report)


def _currency(check: RowCheck) -> Any:
    value = check.text("currency", max_length=3)
    if value in (INVALID, ""):
        return value or None
    value = value.upper()
    if not _CURRENCY_RE.fullmatch(value):
        return check.fail(
            _("currency must be a three-letter code such as PLN, got '%(value)s'")
            % {"value": value},
            "currency",
        )
    return value


def _check_billed_lines(
    tenant: Tenant, planned: list, report: ImportReport
) -> dict[str, list[OrderLine]]:
    """{invoice number: its lines} for the records that name lines; problems go to the
    report (unknown orders or lines, another customer's, a line named by two invoices)."""
    wanted_orders = {n for *_rest, orders, _refs in planned for n in (orders or [])}
    wanted_orders |= {n for *_rest, refs in planned for n, _line in (refs or [])}
    orders = {
        order.number: order
        for chunk in batches(sorted(wanted_orders), LOOKUP_CHUNK)
        for order in Order.unscoped.filter(tenant=tenant, number__in=chunk).only(
            "pk", "number", "customer_account_id", "invoice_number"
        )
    }
    lines_by_order: dict[int, dict[int, OrderLine]] = {}
    for chunk in batches(sorted(order.pk for order in orders.values()), LOOKUP_CHUNK):
        for line in OrderLine.unscoped.filter(tenant=tenant, order_id__in=chunk).only(
            "pk", "order_id", "line_number", "invoice_id"
        ):
            lines_by_order.setdefault(line.order_id, {})[line.line_number] = line
    order_of_pk = {order.pk: order for order in orders.values()}
    result: dict[str, list[OrderLine]] = {}
    billed_by: dict[int, str] = {}
    for check, number, (values, _new), order_numbers, refs in planned:
        if order_numbers is None and refs is None:
            continue
        chosen: dict[int, OrderLine] = {}
        for order_number in order_numbers or []:
            order = _order_of(check, orders, order_number, values, "order_numbers")
            if order is not None:
                for line in lines_by_order.get(order.pk, {}).values():
                    chosen[line.pk] = line
        for order_number, line_number in refs or []:
            order = _order_of(check, orders, order_number, values, "lines")
            if order is None:
                continue
            line = lines_by_order.get(order.pk, {}).get(line_number)
            if line is None:
                check.fail(
                    _("order '%(order)s' has no line %(number)d")
                    % {"order": order_number, "number": line_number},
                    "lines",
                )
                continue
            chosen[line.pk] = line
        for line in chosen.values():
            other = billed_by.setdefault(line.pk, number)
            if other != number:
                check.fail(
                    _("an order line is on invoice '%(other)s' too (line %(number)d)")
                    % {"other": other, "number": line.line_number},
                    "lines",
                )
        result[number] = list(chosen.values())
        for line in chosen.values():
            line.order_ref = order_of_pk[line.order_id]
    return result


def _order_of(check, orders, order_number, values, field) -> Order | None:
    order = orders.get(order_number)
    if order is None:
        check.fail(_("unknown order number '%(order)s'") % {"order": order_number}, field)
        return None
    if order.customer_account_id != values["customer_account_id"]:
        check.fail(_("order '%(order)s' is another customer's") % {"order": order_number}, field)
        return None
    return order


def _link_lines(
    tenant: Tenant,
    invoices: dict[str, Invoice],
    lines_of: dict[str, list[OrderLine]],
    report: ImportReport,
) -> None:
    """Point the named lines at their invoice, unlink lines no longer named, and give orders
    without an invoice number the invoice's; bulk updates only."""
    counts = report.counts_for("invoiced order lines")
    named_ids = {invoices[number].pk for number in lines_of}
    keep = {line.pk for lines in lines_of.values() for line in lines}
    changed: list[OrderLine] = []
    for chunk in batches(sorted(named_ids), LOOKUP_CHUNK):
        for line in OrderLine.unscoped.filter(tenant=tenant, invoice_id__in=chunk).only(
            "pk", "invoice_id"
        ):
            if line.pk not in keep:
                line.invoice_id = None
                changed.append(line)
    orders: dict[int, Order] = {}
    for number, lines in lines_of.items():
        invoice = invoices[number]
        for line in lines:
            if line.invoice_id != invoice.pk:
                line.invoice_id = invoice.pk
                changed.append(line)
            else:
                counts.unchanged += 1
            order = line.order_ref
            if not order.invoice_number:
                order.invoice_number = invoice.number
                orders[order.pk] = order
    for batch in batches(changed):
        OrderLine.unscoped.bulk_update(batch, ["invoice"])
    for batch in batches(list(orders.values())):
        Order.unscoped.bulk_update(batch, ["invoice_number"])
    counts.updated += len(changed)
