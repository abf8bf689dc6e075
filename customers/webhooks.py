"""The customer company, order, order line and product as the webhook payloads of returns and
complaints carry them (docs/webhooks.md): one shape for both case apps, which build their
payloads with these and never import each other. The definitions are registered in the
catalogue (rma_portal/notifications/catalogue.py) from CustomersConfig.ready().
"""

from __future__ import annotations

from rma_portal.notifications import catalogue
from rma_portal.notifications.catalogue import DATE, INTEGER, STRING, described, iso, nullable, obj


def customer_data(account, user) -> dict:
    """The customer company (its ERP customer number) and the customer user who acted for it."""
    return {
        "account": {
            "id": account.pk,
            "number": account.number,
            "name": account.name,
            "vat_number": account.vat_number,
        },
        "user": {"id": user.pk, "email": user.email, "name": user.get_full_name()},
    }


def order_data(order) -> dict:
    return {
        "id": order.pk,
        "number": order.number,
        "invoice_number": order.invoice_number,
        "order_date": iso(order.order_date),
        "delivery_date": iso(order.delivery_date),
    }


def order_line_data(order_line) -> dict:
    return {
        "id": order_line.pk,
        "line_number": order_line.line_number,
        "lot_number": order_line.lot_number,
    }


def product_data(product) -> dict:
    return {"id": product.pk, "sku": product.sku, "name": product.name}


def register_definitions() -> None:
    """The `Customer`, `Order`, `OrderLine` and `Product` objects in the catalogue's `$defs`."""
    catalogue.register_definition(
        "Customer",
        obj(
            {
                "account": obj(
                    {
                        "id": INTEGER,
                        "number": described(STRING, "The customer number (the ERP's key)."),
                        "name": STRING,
                        "vat_number": STRING,
                    }
                ),
                "user": obj(
                    {"id": INTEGER, "email": STRING, "name": STRING},
                    "The customer user who filed the case.",
                ),
            },
            "The customer company and its user.",
        ),
    )
    catalogue.register_definition(
        "Order",
        obj(
            {
                "id": INTEGER,
                "number": described(STRING, "The order number (the ERP's key)."),
                "invoice_number": STRING,
                "order_date": DATE,
                "delivery_date": nullable(DATE),
            }
        ),
    )
    catalogue.register_definition(
        "OrderLine",
        obj(
            {
                "id": INTEGER,
                "line_number": described(INTEGER, "The line's number within the order."),
                "lot_number": STRING,
            }
        ),
    )
    catalogue.register_definition(
        "Product",
        obj({"id": INTEGER, "sku": described(STRING, "The SKU (the ERP's key)."), "name": STRING}),
    )
