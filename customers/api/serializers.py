"""How customer companies, products, orders and invoices look in the API (read-only: the ERP
writes them through customers.api.erp and customers.services.erp)."""

from __future__ import annotations

from rest_framework import serializers

from customers.models import (
    CustomerAccount,
    Invoice,
    Order,
    OrderLine,
    Product,
    ProductCategory,
)
from rma_portal.api.filters import ListFilterSerializer, customer_filter


class CustomerAccountSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerAccount
        fields = ["id", "number", "name"]
        read_only_fields = fields


class ProductCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductCategory
        fields = ["code", "name"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    category = ProductCategorySerializer(read_only=True)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "is_serial_tracked", "is_returnable"]
        read_only_fields = fields


class InvoiceSummarySerializer(serializers.ModelSerializer):
    """The invoice of an order line, inside the order's answer."""

    class Meta:
        model = Invoice
        fields = ["id", "number", "issue_date", "currency", "gross_amount"]
        read_only_fields = fields


class OrderLineSerializer(serializers.ModelSerializer):
    """An order line with what can still be returned of it.

    `returnable_quantity` needs `context["claimed_quantities"]` ({order line id: quantity
    held by returns}): the claims are the returns app's business and are computed by the view
    for a whole page at once (customers must not depend on returns: docs/architecture.md#apps).
    """

    product = ProductSerializer(read_only=True)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    serial_numbers = serializers.ListField(child=serializers.CharField(), read_only=True)
    returnable_quantity = serializers.SerializerMethodField(
        help_text="Delivered quantity not yet held by open or accepted returns. The return "
        "policy (window, non-returnable products) is checked when a return is submitted."
    )
    delivered_quantity = serializers.IntegerField(
        source="quantity_delivered",
        read_only=True,
        help_text="Units delivered: as the ERP reported, else the whole line once the order "
        "is delivered, else 0.",
    )
    delivered_on = serializers.DateField(
        source="effective_delivery_date",
        read_only=True,
        allow_null=True,
        help_text="The line's delivery date, else the order's; null: not delivered yet.",
    )
    invoice = InvoiceSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "line_number",
            "product",
            "quantity",
            "unit_price",
            "line_total",
            "lot_number",
            "serial_numbers",
            "delivered_quantity",
            "delivered_on",
            "invoice",
            "returnable_quantity",
        ]
        read_only_fields = fields

    def get_returnable_quantity(self, line: OrderLine) -> int:
        claimed = self.context["claimed_quantities"].get(line.pk, 0)
        return max(line.quantity_delivered - claimed, 0)


class OrderSerializer(serializers.ModelSerializer):
    customer = CustomerAccountSummarySerializer(source="customer_account", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "customer",
            "order_date",
            "delivery_date",
            "invoice_number",
            "lines",
        ]
        read_only_fields = fields


class OrderFilterSerializer(ListFilterSerializer):
    """Query parameters of the order list (with `updated_since`). An order is "created" on its
    order date."""

    created_from = serializers.DateField(required=False, help_text="Ordered on or after (date).")
    created_to = serializers.DateField(required=False, help_text="Ordered on or before (date).")
    customer = customer_filter()
    number = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Part of the order number."
    )


# --- the ERP's data (read; written through customers.services.erp) ---------------------------


class ProductCategoryDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductCategory
        fields = ["id", "code", "name"]
        read_only_fields = fields


class ProductDetailSerializer(serializers.ModelSerializer):
    """A product as staff see it (customers see products only inside their orders)."""

    category = ProductCategorySerializer(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "category",
            "unit_price",
            "is_returnable",
            "is_serial_tracked",
            "is_active",
        ]
        read_only_fields = fields


class CustomerAccountDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerAccount
        fields = [
            "id",
            "number",
            "name",
            "vat_number",
            "contact_email",
            "contact_phone",
            "preferred_language",
            "is_active",
            "billing_street",
            "billing_postal_code",
            "billing_city",
            "billing_region",
            "billing_country",
            "shipping_name",
            "shipping_street",
            "shipping_postal_code",
            "shipping_city",
            "shipping_country",
        ]
        read_only_fields = fields


class InvoicedLineSerializer(serializers.ModelSerializer):
    order = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = ["id", "order", "line_number"]
        read_only_fields = fields

    def get_order(self, line: OrderLine) -> dict:
        return {"id": line.order_id, "number": line.order.number}


class InvoiceSerializer(serializers.ModelSerializer):
    customer = CustomerAccountSummarySerializer(source="customer_account", read_only=True)
    lines = InvoicedLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "customer",
            "issue_date",
            "currency",
            "net_amount",
            "tax_amount",
            "gross_amount",
            "lines",
        ]
        read_only_fields = fields
