from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from rma_portal.backoffice.admin import TenantScopedAdmin, TenantScopedTabularInline

from .models import CustomerAccount, CustomerMembership, Order, OrderLine, Product, ProductCategory


class CustomerMembershipInline(TenantScopedTabularInline):
    model = CustomerMembership
    fields = ["user"]
    readonly_fields = ["user"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("users (manage them under Users)")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CustomerAccount)
class CustomerAccountAdmin(TenantScopedAdmin):
    list_display = ["name", "number", "vat_number", "billing_city", "is_active"]
    list_filter = ["is_active", "preferred_language"]
    search_fields = ["name", "number", "vat_number", "contact_email"]
    inlines = [CustomerMembershipInline]
    fieldsets = [
        (None, {"fields": ["tenant", "number", "name", "vat_number", "is_active"]}),
        (_("Contact"), {"fields": ["contact_email", "contact_phone", "preferred_language"]}),
        (
            _("Billing address"),
            {
                "fields": [
                    "billing_street",
                    "billing_postal_code",
                    "billing_city",
                    "billing_country",
                ]
            },
        ),
        (
            _("Shipping address"),
            {
                "fields": [
                    "shipping_name",
                    "shipping_street",
                    "shipping_postal_code",
                    "shipping_city",
                    "shipping_country",
                ]
            },
        ),
    ]


@admin.register(ProductCategory)
class ProductCategoryAdmin(TenantScopedAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    fields = ["tenant", "code", "name"]


@admin.register(Product)
class ProductAdmin(TenantScopedAdmin):
    list_display = [
        "sku",
        "name",
        "category",
        "unit_price",
        "is_returnable",
        "is_serial_tracked",
        "is_active",
    ]
    list_filter = ["category", "is_returnable", "is_serial_tracked", "is_active"]
    list_select_related = ["category"]
    search_fields = ["sku", "name"]
    fields = [
        "tenant",
        "sku",
        "name",
        "category",
        "unit_price",
        "is_returnable",
        "is_serial_tracked",
        "is_active",
    ]


class OrderLineInline(TenantScopedTabularInline):
    model = OrderLine
    fields = [
        "tenant",
        "line_number",
        "product",
        "quantity",
        "unit_price",
        "lot_number",
        "serial_numbers",
        "delivered_quantity",
        "delivered_on",
        "invoice",
    ]
    raw_id_fields = ["product"]
    # Invoices come from the ERP (API), which links their lines.
    readonly_fields = ["invoice"]
    extra = 0


@admin.register(Order)
class OrderAdmin(TenantScopedAdmin):
    list_display = ["number", "customer_account", "order_date", "delivery_date", "invoice_number"]
    list_filter = ["order_date", "delivery_date"]
    list_select_related = ["customer_account"]
    search_fields = [
        "number",
        "invoice_number",
        "customer_account__name",
        "customer_account__number",
    ]
    date_hierarchy = "order_date"
    raw_id_fields = ["customer_account"]
    fields = [
        "tenant",
        "number",
        "customer_account",
        "order_date",
        "delivery_date",
        "invoice_number",
    ]
    inlines = [OrderLineInline]
