"""How customer companies, products and orders look in the API (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from customers.models import CustomerAccount, Order, OrderLine, Product, ProductCategory


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
            "returnable_quantity",
        ]
        read_only_fields = fields

    def get_returnable_quantity(self, line: OrderLine) -> int:
        claimed = self.context["claimed_quantities"].get(line.pk, 0)
        return max(line.quantity - claimed, 0)


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


class OrderFilterSerializer(serializers.Serializer):
    """Query parameters of the order list."""

    customer = serializers.IntegerField(
        required=False, min_value=1, help_text="Customer company id (staff)."
    )
    number = serializers.CharField(
        required=False, max_length=40, help_text="Part of the order number."
    )
