"""The order endpoints' base: which orders a user sees, filters, and their representation.

Why a base and not the endpoint: each order line answers `returnable_quantity`, which needs the
quantities held by returns. `customers` must not import `returns` (dependencies point from
returns to customers: docs/architecture.md#apps), so the concrete viewset lives in
`returns.api.views` and contributes only `claimed_quantities()`; everything about orders
stays here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from customers.models import Order, OrderLine
from customers.selectors import customer_account_for_user, orders_for_customer
from rma_portal.api.filters import validated_filters
from rma_portal.api.views import TenantScopedViewSet

from .erp import ErpWritableMixin, acts_for_tenant, erp_schema
from .serializers import OrderFilterSerializer, OrderSerializer


def tenant_orders() -> QuerySet[Order]:
    """All the tenant's orders with their lines, products and invoices loaded."""
    lines = OrderLine.objects.select_related("product__category", "invoice").order_by("line_number")
    return Order.objects.prefetch_related(Prefetch("lines", queryset=lines))


def orders_visible_to(*, user) -> QuerySet[Order]:
    """Customer users: their company's orders; tenant staff: all the tenant's orders."""
    if user.is_tenant_staff:
        orders = tenant_orders()
    else:
        account = customer_account_for_user(user=user)
        if account is None:
            return Order.objects.none()
        orders = orders_for_customer(customer_account=account)
    return orders.select_related("customer_account").order_by("-order_date", "-number", "-pk")


@erp_schema("orders")
@extend_schema(tags=["orders"])
class OrderViewSetBase(ErpWritableMixin, TenantScopedViewSet):
    """Orders from the ERP: customer users see their company's, staff the tenant's; the ERP
    writes them by order number (customers.api.erp)."""

    model = Order
    serializer_class = OrderSerializer
    erp_kind = "orders"
    read_scope = "orders:read"
    write_scope = "orders:write"

    def claimed_quantities(self, order_line_ids: Iterable[int]) -> dict[int, int]:
        """{order line id: quantity held by returns}, for a whole page in one go."""
        raise NotImplementedError(f"{type(self).__name__} must implement claimed_quantities().")

    # The list's query parameters, and the timestamp its cursor pages by (pagination.py).
    filter_serializer_class = OrderFilterSerializer
    cursor_field = "updated_at"

    def scoped_queryset(self, *, user) -> QuerySet[Order]:
        orders = orders_visible_to(user=user)
        if self.action == "list":
            data = validated_filters(self, OrderFilterSerializer)
            if customers := data.get("customer"):  # repeated: any of them
                orders = orders.filter(customer_account_id__in=customers)
            if number := data.get("number", "").strip():
                orders = orders.filter(number__icontains=number)
            if (since := data.get("updated_since")) is not None:
                orders = orders.filter(updated_at__gte=since)
            if (start := data.get("created_from")) is not None:
                orders = orders.filter(order_date__gte=start)
            if (end := data.get("created_to")) is not None:
                orders = orders.filter(order_date__lte=end)
        return orders

    @extend_schema(parameters=[OrderFilterSerializer])
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self._represent(page))

    def retrieve(self, request, *args, **kwargs):
        """An order with its lines, products and each line's returnable quantity."""
        return Response(self._represent([self.get_object()])[0])

    def erp_queryset(self) -> QuerySet[Order]:
        if acts_for_tenant(self.request):
            return tenant_orders().select_related("customer_account")
        return self.get_queryset()

    def represent(self, obj: Order) -> dict:
        return self._represent([obj])[0]

    def _represent(self, orders: Sequence[Order]) -> list[dict]:
        line_ids = [line.pk for order in orders for line in order.lines.all()]
        context = self.get_serializer_context()
        context["claimed_quantities"] = self.claimed_quantities(line_ids) if line_ids else {}
        return OrderSerializer(orders, many=True, context=context).data
