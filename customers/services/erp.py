"""Writes from the merchant's ERP through the API: records upserted by the ERP's own keys.

The keys are the natural keys the CSV import already matches by, which are the ERP's ids:
category code, SKU, customer number, order number (a line: order number and line number) and
invoice number. Records go through the same checks and bulk writes as the CSV import
(customers/services/imports), all-or-nothing per request, in one transaction.

A record is JSON, and the API documents each field's JSON schema (its contract, below): text is
a JSON string, a whole number a JSON integer, a flag true or false, an amount a string of
digits. The import's checks take the text a CSV cell holds, so they would take `5` for "5" or
`"yes"` for true; a value outside its documented schema is refused here, before them. The
import's own problems come first: a field they find fault with is answered with their message,
and the contract's is added only where they had none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema
import jsonschema_rs
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from customers.models import CustomerAccount, Invoice, Order, OrderLine, Product, ProductCategory
from rma_portal.api.fields import NOT_BLANK_PATTERN
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.context import get_current_tenant
from rma_portal.tenancy.models import Tenant

from .imports import (
    CATEGORY_COLUMNS,
    CUSTOMER_COLUMNS,
    MAX_POSITIVE_INT,
    ORDER_COLUMNS,
    PRODUCT_COLUMNS,
    ImportBody,
    ImportProblem,
    ImportRejected,
    ImportReport,
    run_records,
    write_categories,
    write_customers,
    write_orders,
    write_products,
)
from .imports.cells import VAT_NUMBER_MAX_LENGTH, field_max_length
from .imports.invoices import INVOICE_COLUMNS, write_invoices
from .imports.reading import Columns
from .imports.records import records_from_json

MAX_RECORDS = 1000  # per request: a bulk request is one transaction holding the tenant's lock

# --- the contract: each field's JSON schema, and how a value outside it is refused ------------

Refusal = Callable[[str, Any], str]  # (the field's name, the value) -> the message
Problems = list[tuple[str, str]]  # (field as the answer names it, message)


def _shown(value: Any) -> str:
    """A value inside a message: text as it is, other JSON values as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)[:100]


def _required(column: str) -> str:
    return _("%(column)s is required") % {"column": column}


def _not_text(column: str, value: Any) -> str:
    return _("%(column)s must be text, got %(value)s") % {"column": column, "value": _shown(value)}


def _not_whole(minimum: int) -> Refusal:
    def refusal(column: str, value: Any) -> str:
        if minimum == 0:
            message = _("%(column)s must be a whole number, 0 or more, got '%(value)s'")
        else:
            message = _("%(column)s must be a whole number greater than 0, got '%(value)s'")
        return message % {"column": column, "value": _shown(value)}

    return refusal


def _not_amount(column: str, value: Any) -> str:
    return _("%(column)s must be an amount such as 12.50 or 12,50, got '%(value)s'") % {
        "column": column,
        "value": _shown(value),
    }


def _not_boolean(column: str, value: Any) -> str:
    return _("%(column)s must be true or false, got %(value)s") % {
        "column": column,
        "value": _shown(value),
    }


def _not_date(column: str, value: Any) -> str:
    return _("%(column)s must be a date as YYYY-MM-DD, got '%(value)s'") % {
        "column": column,
        "value": _shown(value),
    }


def _not_code(column: str, value: Any) -> str:
    return _("%(column)s may hold only letters, digits, '-' and '_', got '%(value)s'") % {
        "column": column,
        "value": _shown(value),
    }


def _not_country(column: str, value: Any) -> str:
    return _("%(column)s must be a two-letter country code such as PL, got '%(value)s'") % {
        "column": column,
        "value": _shown(value),
    }


def _not_currency(column: str, value: Any) -> str:
    return _("currency must be a three-letter code such as PLN, got '%(value)s'") % {
        "value": _shown(value)
    }


def _not_email(column: str, value: Any) -> str:
    return _("contact_email is not a valid e-mail address, got '%(value)s'") % {
        "value": _shown(value)
    }


def _not_one_of(allowed: Sequence[str]) -> Refusal:
    def refusal(column: str, value: Any) -> str:
        return _("%(column)s must be one of %(allowed)s, got '%(value)s'") % {
            "column": column,
            "allowed": ", ".join(sorted(allowed)),
            "value": _shown(value),
        }

    return refusal


def _by_schema(error: jsonschema.ValidationError, column: str, refusal: Refusal) -> str:
    """The message for a value outside its schema: the import's message for the kind of
    fault (too long, blank, too large), else the field's own."""
    value = error.instance
    if error.validator == "maxLength":
        return _("%(column)s is longer than %(max)d characters (%(length)d)") % {
            "column": column,
            "max": error.validator_value,
            "length": len(value),
        }
    if error.validator == "minLength" or (
        error.validator == "pattern" and error.validator_value == NOT_BLANK_PATTERN
    ):
        return _required(column)
    if error.validator == "maximum":
        return _("%(column)s is too large, got '%(value)s'") % {
            "column": column,
            "value": _shown(value),
        }
    return refusal(column, value)


@dataclass(frozen=True)
class Value:
    """A field of one value (text, number, flag, date)."""

    schema: dict
    refusal: Refusal = _not_text

    def problems(self, error, rest: list, value: Any, field: str, column: str) -> Problems:
        return [(field, _by_schema(error, column, self.refusal))]


@dataclass(frozen=True)
class ValueList:
    """A list of values (serial numbers, order numbers), refused as a whole."""

    schema: dict
    refusal: Refusal
    repeated: Callable[[Any], str] | None = None

    def problems(self, error, rest: list, value: Any, field: str, column: str) -> Problems:
        if error.validator == "uniqueItems" and self.repeated is not None:
            seen: list = []
            for item in value:
                if item in seen:
                    return [(field, self.repeated(item))]
                seen.append(item)
        return [(field, self.refusal(column, value))]


@dataclass(frozen=True)
class ObjectList:
    """A list of objects: an order's lines (each field checked as a record's is), or the order
    lines an invoice names (each refused as a whole, with `item_refusal`)."""

    fields: dict[str, Value | ValueList]
    required: tuple[str, ...]
    refusal: Refusal  # the list itself is not one
    item_refusal: Refusal | None = None
    min_items: int = 0
    nullable: bool = False

    @property
    def schema(self) -> dict:
        schema: dict[str, Any] = {
            "type": ["array", "null"] if self.nullable else "array",
            "items": _object_schema(self.fields, self.required),
        }
        if self.min_items:
            schema["minItems"] = self.min_items
        return schema

    def problems(self, error, rest: list, value: Any, field: str, column: str) -> Problems:
        if not rest:
            return [(field, self.refusal(column, value))]
        index, *rest = rest
        item, item_field = value[index], f"{field}[{index}]"
        if self.item_refusal is not None:
            return [(item_field, self.item_refusal(column, item))]
        if rest:
            name, *rest = rest
            return self.fields[name].problems(error, rest, item[name], f"{item_field}.{name}", name)
        return _object_problems(error, self.fields, item, prefix=f"{item_field}.") or [
            (item_field, _("A record must be a JSON object."))
        ]


Field = Value | ValueList | ObjectList


def _object_schema(fields: dict[str, Field], required: Sequence[str]) -> dict:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: field.schema for name, field in fields.items()},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _object_problems(error, fields: dict[str, Field], instance: Any, prefix: str = "") -> Problems:
    """An object's own faults: fields missing, or not its own."""
    if not isinstance(instance, dict):
        return []
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in instance]
        return [(f"{prefix}{name}", _required(name)) for name in missing]
    if error.validator == "additionalProperties":
        return [
            (f"{prefix}{name}", _("unknown field '%(field)s'") % {"field": name})
            for name in instance
            if name not in fields
        ]
    return []


def _whole_numbers(value: Any, schema: dict) -> Any:
    """`value` with a whole JSON number written with a fraction (`5.0`) as the integer it is
    where the schema says integer, as JSON Schema counts it."""
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if isinstance(value, float) and "integer" in kinds and value.is_integer():
        return int(value)
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        return {
            name: _whole_numbers(item, properties[name]) if name in properties else item
            for name, item in value.items()
        }
    if isinstance(value, list) and "items" in schema:
        return [_whole_numbers(item, schema["items"]) for item in value]
    return value


def _email_format(value: object) -> bool:
    if isinstance(value, str):
        validate_email(value)
    return True


FORMATS = jsonschema.FormatChecker(formats=("date",))
FORMATS.checks("email", raises=ValidationError)(_email_format)


def _text(max_length: int, *, required: bool = False) -> Value:
    if required:  # trimmed, it must still hold something
        schema = {
            "type": "string",
            "minLength": 1,
            "maxLength": max_length,
            "pattern": NOT_BLANK_PATTERN,
        }
        return Value(schema)
    return Value({"type": ["string", "null"], "maxLength": max_length})


def _limit(model, name: str) -> int:
    return field_max_length(model, name)


def _whole(*, minimum: int = 1, nullable: bool = False) -> Value:
    schema = {
        "type": ["integer", "null"] if nullable else "integer",
        "minimum": minimum,
        "maximum": MAX_POSITIVE_INT,
    }
    return Value(schema, _not_whole(minimum))


def _date(*, nullable: bool = False) -> Value:
    dated = {"type": "string", "format": "date"}
    if nullable:  # a dated string or null (a type list would let "" pass for its string half)
        return Value({"oneOf": [dated, {"type": "null"}]}, _not_date)
    return Value(dated, _not_date)


def _boolean(*, nullable: bool = False) -> Value:
    return Value({"type": ["boolean", "null"] if nullable else "boolean"}, _not_boolean)


_MONEY = Value(
    {
        "type": "string",
        "pattern": r"^[0-9]{1,10}([.,][0-9]{1,2})?$",
        "description": 'An amount, e.g. "12.50" or "12,50"; at most 2 decimal places.',
    },
    _not_amount,
)


def _code(max_length: int) -> Value:
    schema = {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": r"^[-a-zA-Z0-9_]+$",
    }
    return Value(schema, _not_code)


_COUNTRY = Value(
    {
        "type": ["string", "null"],
        "pattern": r"^([A-Za-z]{2})?$",
        "description": "A two-letter country code, e.g. PL; empty or null: not given.",
    },
    _not_country,
)
_LANGUAGES = [code for code, _name in settings.LANGUAGES]

_LINE_FIELDS: dict[str, Field] = {
    "line_number": _whole(),
    "sku": _text(_limit(Product, "sku"), required=True),
    "quantity": _whole(),
    "unit_price": _MONEY,
    "lot_number": _text(_limit(OrderLine, "lot_number")),
    "serial_numbers": ValueList(
        {"type": ["array", "null"], "items": {"type": "string"}, "uniqueItems": True},
        lambda column, value: (
            _("%(column)s must be a list of texts, got %(value)s")
            % {"column": column, "value": _shown(value)}
        ),
        lambda serial: _("serial number '%(serial)s' is listed twice") % {"serial": serial},
    ),
    "delivered_quantity": _whole(minimum=0, nullable=True),
    "delivered_on": _date(nullable=True),
}
_NUMBER = _limit(Order, "number")
_FIELDS: dict[str, tuple[dict[str, Field], tuple[str, ...]]] = {
    # kind -> (its fields, those required besides the key)
    "product-categories": (
        {
            "code": _code(_limit(ProductCategory, "code")),
            "name": _text(_limit(ProductCategory, "name"), required=True),
        },
        ("name",),
    ),
    "products": (
        {
            "sku": _text(_limit(Product, "sku"), required=True),
            "name": _text(_limit(Product, "name"), required=True),
            "category": _code(_limit(ProductCategory, "code")),
            "category_name": _text(_limit(ProductCategory, "name")),
            "unit_price": _MONEY,
            "returnable": _boolean(),
            "serial_tracked": _boolean(),
            "active": _boolean(nullable=True),
        },
        ("name", "category", "unit_price", "returnable", "serial_tracked"),
    ),
    "customers": (
        {
            "number": _text(_limit(CustomerAccount, "number"), required=True),
            "name": _text(_limit(CustomerAccount, "name"), required=True),
            "vat_number": Value(
                {
                    **_text(VAT_NUMBER_MAX_LENGTH, required=True).schema,
                    "description": "Polish NIP (check digit verified) or an EU VAT number.",
                }
            ),
            "contact_email": Value(
                {
                    "type": "string",
                    "format": "email",
                    "maxLength": _limit(CustomerAccount, "contact_email"),
                },
                _not_email,
            ),
            "contact_phone": _text(_limit(CustomerAccount, "contact_phone")),
            "preferred_language": Value(
                {
                    "type": ["string", "null"],
                    "enum": [*_LANGUAGES, "", None],
                    "description": "Empty or null: the tenant's default for a new customer.",
                },
                _not_one_of(_LANGUAGES),
            ),
            **{
                name: _text(_limit(CustomerAccount, name), required=True)
                for name in ("billing_street", "billing_postal_code", "billing_city")
            },
            "billing_region": Value(
                {
                    **_text(_limit(CustomerAccount, "billing_region")).schema,
                    "description": "The billing address's voivodeship, state or province "
                    "(free text, e.g. `mazowieckie`); empty or null: none. Left out: an "
                    "existing customer keeps its region.",
                }
            ),
            "billing_country": _COUNTRY,
            **{
                name: _text(_limit(CustomerAccount, name))
                for name in (
                    "shipping_name",
                    "shipping_street",
                    "shipping_postal_code",
                    "shipping_city",
                )
            },
            "shipping_country": _COUNTRY,
            "active": _boolean(nullable=True),
        },
        (
            "name",
            "vat_number",
            "contact_email",
            "billing_street",
            "billing_postal_code",
            "billing_city",
        ),
    ),
    "orders": (
        {
            "order_number": _text(_NUMBER, required=True),
            "customer_number": _text(_limit(CustomerAccount, "number"), required=True),
            "order_date": _date(),
            "delivery_date": _date(nullable=True),
            "invoice_number": _text(_limit(Order, "invoice_number")),
            "lines": ObjectList(
                _LINE_FIELDS,
                ("line_number", "sku", "quantity", "unit_price"),
                lambda column, value: _("lines: give the order's lines, at least one."),
                min_items=1,
            ),
        },
        ("customer_number", "order_date", "lines"),
    ),
    "invoices": (
        {
            "number": _text(_limit(Invoice, "number"), required=True),
            "customer_number": _text(_limit(CustomerAccount, "number"), required=True),
            "issue_date": _date(),
            "currency": Value(
                {"type": ["string", "null"], "pattern": r"^([A-Za-z]{3})?$"}, _not_currency
            ),
            "net_amount": _MONEY,
            "tax_amount": _MONEY,
            "gross_amount": Value(
                {**_MONEY.schema, "description": "net_amount + tax_amount"}, _not_amount
            ),
            "order_numbers": ValueList(
                {"type": ["array", "null"], "items": _text(_NUMBER, required=True).schema},
                lambda column, value: _("order_numbers must be a list of order numbers"),
            ),
            "lines": ObjectList(
                {"order_number": _text(_NUMBER, required=True), "line_number": _whole()},
                ("order_number", "line_number"),
                lambda column, value: _("lines must be a list of order lines"),
                item_refusal=lambda column, value: _(
                    'each line must be {"order_number": "…", "line_number": 1}'
                ),
                nullable=True,
            ),
        },
        ("customer_number", "issue_date", "net_amount", "tax_amount", "gross_amount"),
    ),
}


@dataclass(frozen=True)
class RecordContract:
    """The JSON schema of one kind's record, and the check of records against it."""

    fields: dict[str, Field]
    required: tuple[str, ...]

    @cached_property
    def schema(self) -> dict:
        return _object_schema(self.fields, self.required)

    @cached_property
    def validator(self) -> jsonschema.protocols.Validator:
        return jsonschema.Draft202012Validator(self.schema, format_checker=FORMATS)

    @cached_property
    def fast_validator(self):
        """The same schema compiled by jsonschema-rs: it tells a valid record about 20 times
        faster, which is what a bulk request of 1,000 good records spends its time on. Only
        its "valid" is taken; a record it calls invalid is judged again, and its problems
        worded, by `validator` (the reference), so its stricter checks (formats the reference
        does not check) never refuse anything."""
        return jsonschema_rs.Draft202012Validator(self.schema, validate_formats=True)

    def check(self, payloads: Sequence[Any]) -> tuple[list[Any], list[ImportProblem]]:
        """The payloads (whole numbers as integers) and every value outside the schema, by
        record index and field. Records that are no object, or have fields not in it, are
        left to records_from_json, which reports them."""
        checked, problems = [], []
        for index, payload in enumerate(payloads):
            payload = _whole_numbers(payload, self.schema)
            checked.append(payload)
            if self.fast_validator.is_valid(payload) or self.validator.is_valid(payload):
                continue
            found: dict[str, str] = {}
            for error in self.validator.iter_errors(payload):
                for field, message in self._problems(error, payload):
                    found.setdefault(field, message)
            problems += [ImportProblem(index, message, field) for field, message in found.items()]
        return checked, problems

    def _problems(self, error, payload: Any) -> Problems:
        path = list(error.absolute_path)
        if not path:
            return _object_problems(error, self.fields, payload)
        name, *rest = path
        return self.fields[name].problems(error, rest, payload[name], name, name)


@dataclass(frozen=True)
class ErpKind:
    """One kind of ERP data: its key column (the external id), the label its counts carry,
    its columns and the function that checks and writes its records, and the contract of its
    records (`fields`, of which `required` must be given besides the key)."""

    key: str
    label: str
    columns: Columns
    body: ImportBody
    fields: dict[str, Field]
    required: tuple[str, ...]
    nested_lines: bool = False

    @cached_property
    def record(self) -> RecordContract:
        """A record of a bulk request: its key included."""
        return RecordContract(self.fields, (self.key, *self.required))

    @cached_property
    def record_by_key(self) -> RecordContract:
        """The record of `PUT …/by-external-id/{id}/`: the key is the URL's (given in the
        record too, it must be the same)."""
        return RecordContract(self.fields, self.required)

    @property
    def key_schema(self) -> dict:
        return self.fields[self.key].schema

    def key_problems(self, external_id: str) -> Problems:
        """Why `external_id` cannot be a key of this kind (nothing: it can)."""
        key = self.fields[self.key]
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(key.schema).iter_errors(external_id)
        )
        return [] if error is None else key.problems(error, [], external_id, self.key, self.key)


def _kind(kind: str, key: str, label: str, columns: Columns, body: ImportBody, **options):
    fields, required = _FIELDS[kind]
    return ErpKind(key, label, columns, body, fields, required, **options)


ERP_KINDS: dict[str, ErpKind] = {
    "product-categories": _kind(
        "product-categories", "code", "product categories", CATEGORY_COLUMNS, write_categories
    ),
    "products": _kind("products", "sku", "products", PRODUCT_COLUMNS, write_products),
    "customers": _kind("customers", "number", "customers", CUSTOMER_COLUMNS, write_customers),
    "orders": _kind(
        "orders", "order_number", "orders", ORDER_COLUMNS, write_orders, nested_lines=True
    ),
    "invoices": _kind("invoices", "number", "invoices", INVOICE_COLUMNS, write_invoices),
}


# --- writes ---------------------------------------------------------------------------------


def _check_tenant(tenant: Tenant) -> None:
    current = get_current_tenant()
    if current is not None and current.pk != tenant.pk:
        raise ApplicationError(_("You can write only your own tenant's data."), code="forbidden")


def erp_upsert(*, kind: str, tenant: Tenant, records: Sequence[Any]) -> ImportReport:
    """Create or update 1 to MAX_RECORDS records of `kind` by their keys, all or nothing.

    Raises ImportRejected (its report lists every problem: record index, field, message) when
    any record is bad; then nothing is written.
    """
    _check_tenant(tenant)
    spec = ERP_KINDS[kind]
    if not records or len(records) > MAX_RECORDS:
        if records:
            message = _("At most %(max)d records per request, got %(count)d.") % {
                "max": MAX_RECORDS,
                "count": len(records),
            }
        else:
            message = _("Send at least one record.")
        raise ApplicationError(message, code="invalid", fields={"records": [message]})
    report = ImportReport(kind=kind, unit="record", rows=len(records))
    payloads, problems = spec.record.check(records)
    return _write(spec, tenant, report, payloads, problems)


def erp_upsert_one(
    *, kind: str, tenant: Tenant, external_id: str, record: Any
) -> tuple[ImportReport, bool]:
    """Create or update the one record whose key is `external_id`; (report, created).

    The key may be left out of the record; given, it must be the same as `external_id`.
    """
    _check_tenant(tenant)
    spec = ERP_KINDS[kind]
    key = external_id.strip()
    report = ImportReport(kind=kind, unit="record", rows=1)
    if isinstance(record, dict):
        given = record.get(spec.key)
        if given is not None and str(given).strip() != key:
            report.add_error(
                0,
                _("%(field)s '%(value)s' is not the id in the URL, '%(id)s'")
                % {"field": spec.key, "value": given, "id": key},
                spec.key,
            )
            raise ImportRejected(report)
    [payload], problems = spec.record_by_key.check([record])
    problems += [
        ImportProblem(0, message, field) for field, message in spec.key_problems(external_id)
    ]
    if isinstance(payload, dict):
        payload = {**payload, spec.key: key}
    report = _write(spec, tenant, report, [payload], problems)
    return report, report.counts_for(spec.label).created == 1


def _write(
    spec: ErpKind,
    tenant: Tenant,
    report: ImportReport,
    payloads: list[Any],
    contract_problems: list[ImportProblem],
) -> ImportReport:
    """Check and write the records as the CSV import does, refusing them also for the values
    outside the contract. A field the import's checks refuse is named with their message
    only."""
    records = records_from_json(
        payloads, columns=spec.columns, report=report, nested_lines=spec.nested_lines
    )
    refused = {problem.line for problem in report.errors}  # no object, or unknown fields
    contract_problems = [problem for problem in contract_problems if problem.line not in refused]
    report.errors.extend(contract_problems)
    try:
        return run_records(
            body=spec.body, tenant=tenant, records=records, report=report, source="api"
        )
    except ImportRejected:
        _name_each_field_once(report, contract_problems)
        raise


def _name_each_field_once(report: ImportReport, contract_problems: list[ImportProblem]) -> None:
    """Drops the contract's problems of fields (or their parts) the import's checks refused."""
    ours = {id(problem) for problem in contract_problems}
    named = {
        (problem.line, problem.field)
        for problem in report.errors
        if id(problem) not in ours and problem.field is not None
    }

    def repeated(problem: ImportProblem) -> bool:
        field = problem.field or ""
        return any(
            (problem.line, field[:end]) in named
            for end in range(1, len(field) + 1)
            if end == len(field) or field[end] in ".["
        )

    report.errors[:] = [
        problem for problem in report.errors if id(problem) not in ours or not repeated(problem)
    ]
