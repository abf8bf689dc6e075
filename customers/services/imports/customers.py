"""Import of customer companies: one record per company, upserted by customer number.

Checks VAT numbers (unique per tenant) and addresses; empty shipping means the billing address.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from customers.models import CustomerAccount
from customers.validators import normalize_vat_number
from rma_portal.tenancy.models import Tenant

from .cells import INVALID, RowCheck, field_max_length, valid
from .pipeline import Progress, ProgressCallback, run_import, stop_if_rejected
from .reading import Columns, Record, RowsSource
from .report import ImportReport
from .writing import Wanted, key_values, load_by_key, upsert

CUSTOMER_COLUMNS = Columns(
    required=(
        "number",
        "name",
        "vat_number",
        "contact_email",
        "billing_street",
        "billing_postal_code",
        "billing_city",
    ),
    optional=(
        "contact_phone",
        "preferred_language",
        "billing_region",
        "billing_country",
        "shipping_name",
        "shipping_street",
        "shipping_postal_code",
        "shipping_city",
        "shipping_country",
        "active",
    ),
)
_SHIPPING_ADDRESS = ("shipping_street", "shipping_postal_code", "shipping_city")
_BILLING_ADDRESS = ("billing_street", "billing_postal_code", "billing_city")
_CUSTOMER_TEXT = {
    "name": True,
    "contact_email": True,
    "contact_phone": False,
    "billing_street": True,
    "billing_postal_code": True,
    "billing_city": True,
    "billing_region": False,
    "shipping_name": False,
    "shipping_street": False,
    "shipping_postal_code": False,
    "shipping_city": False,
}  # column -> required
_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def customers_import(
    *, tenant: Tenant, rows_source: RowsSource, progress: ProgressCallback | None = None
) -> ImportReport:
    """Create or update the tenant's customer companies by customer number."""
    return run_import(
        kind="customers",
        columns=CUSTOMER_COLUMNS,
        body=write_customers,
        tenant=tenant,
        rows_source=rows_source,
        progress=progress,
    )


def write_customers(
    *, tenant: Tenant, records: list[Record], report: ImportReport, progress: Progress
) -> None:
    """Check every customer record, then create or update them all (or raise ImportRejected)."""
    existing = load_by_key(
        CustomerAccount.unscoped.filter(tenant=tenant), "number", key_values(records, "number")
    )
    owners_of_vat = load_by_key(
        CustomerAccount.unscoped.filter(tenant=tenant),
        "vat_number",
        key_values(records, "vat_number", normalize_vat_number),
    )
    number_lines: dict[str, int] = {}
    vat_lines: dict[str, int] = {}
    vat_of_number: dict[str, tuple[int, str]] = {}
    wanted: dict[str, Wanted] = {}
    limits = {
        column: field_max_length(CustomerAccount, column) for column in ("number", *_CUSTOMER_TEXT)
    }
    total = len(records)
    for done, row in enumerate(records, 1):
        progress("validate", done, total)
        check = RowCheck(report, row)
        present = row.present
        shipping_given = any(column in present for column in _SHIPPING_ADDRESS)
        number = check.text("number", max_length=limits["number"], required=True)
        text = {
            column: check.text(column, max_length=limits[column], required=required)
            for column, required in _CUSTOMER_TEXT.items()
        }
        vat_number = check.vat_number()
        if text["contact_email"] not in (INVALID, ""):
            try:
                validate_email(text["contact_email"])
            except ValidationError:
                check.fail(
                    _("contact_email is not a valid e-mail address, got '%(value)s'")
                    % {"value": text["contact_email"]},
                    "contact_email",
                )
        language = check.choice("preferred_language", _LANGUAGES)
        billing_country = check.country("billing_country")
        shipping_country = check.country("shipping_country")
        active = check.boolean("active")
        shipping = [text[column] for column in _SHIPPING_ADDRESS]
        if valid(*shipping) and any(shipping) and not all(shipping):
            check.fail(
                _(
                    "the shipping address is incomplete: fill shipping_street, "
                    "shipping_postal_code and shipping_city, or leave all three empty to ship "
                    "to the billing address"
                ),
                "shipping_street",
            )
        if number is not INVALID:
            if number in number_lines:
                check.fail(
                    _("customer number '%(number)s' appears again (first on %(where)s)")
                    % {"number": number, "where": report.where(number_lines[number])},
                    "number",
                )
            else:
                number_lines[number] = row.line
        if vat_number is not INVALID:
            if vat_number in vat_lines:
                check.fail(
                    _("VAT number '%(vat)s' appears again (first on %(where)s)")
                    % {"vat": vat_number, "where": report.where(vat_lines[vat_number])},
                    "vat_number",
                )
            else:
                vat_lines[vat_number] = row.line
                if number is not INVALID:
                    vat_of_number[number] = (row, vat_number)
        if not check.ok:
            continue

        current = existing.get(number)
        values: dict[str, Any] = {
            "name": text["name"],
            "vat_number": vat_number,
            "contact_email": text["contact_email"],
            **{column: text[column] for column in _BILLING_ADDRESS},
        }
        # A column the file does not have leaves the field of an existing customer alone.
        for column in ("contact_phone", "shipping_name"):
            if column in present:
                values[column] = text[column]
        if "billing_region" in present and text["billing_region"] is not INVALID:
            # Spaces collapsed as CustomerAccount.save() does (bulk writes skip it).
            values["billing_region"] = " ".join(text["billing_region"].split())
        new_only: dict[str, Any] = {"number": number}
        if language:
            values["preferred_language"] = language
        else:
            new_only["preferred_language"] = tenant.default_language
        if active is not None:
            values["is_active"] = active
        if billing_country:
            values["billing_country"] = billing_country
        effective_billing_country = billing_country or (
            current.billing_country if current else "PL"
        )
        if any(shipping):
            values.update(zip(_SHIPPING_ADDRESS, shipping, strict=True))
        elif shipping_given or current is None:
            # Empty shipping address: ship to the billing address.
            values.update(zip(_SHIPPING_ADDRESS, (text[c] for c in _BILLING_ADDRESS), strict=True))
            values.setdefault("shipping_country", effective_billing_country)
        if shipping_country:
            values["shipping_country"] = shipping_country
        elif current is None:
            values.setdefault("shipping_country", effective_billing_country)
        wanted[number] = (values, new_only)

    # The VAT number is unique per tenant and the constraint is checked row by row, so a number
    # may not move from one existing customer to another in the same import, even when the
    # file gives the first one a new number: a swap would fail half-way through the UPDATE.
    for number, (row, vat_number) in vat_of_number.items():
        owner = owners_of_vat.get(vat_number)
        if owner is not None and owner.number != number:
            report.add_error(
                row.line,
                _("VAT number '%(vat)s' already belongs to customer '%(owner)s'")
                % {"vat": vat_number, "owner": owner.number},
                row.field("vat_number"),
            )
    stop_if_rejected(report)
    upsert(
        model=CustomerAccount,
        label="customers",
        tenant=tenant,
        wanted=wanted,
        existing=existing,
        report=report,
        progress=progress,
    )
