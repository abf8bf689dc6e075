from django import forms
from django.contrib import admin
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rma_portal.accounts.admin import staff_choices
from rma_portal.accounts.models import ASSIGNABLE_ROLES
from rma_portal.backoffice.admin import TenantScopedAdmin, TenantScopedTabularInline

from .cases import COMPLAINT_CATEGORY, COMPLAINT_PRIORITY, RETURN_REASON, condition_choices
from .models import (
    AssignmentRule,
    CannedResponse,
    CustomerAccount,
    CustomerMembership,
    FaqArticle,
    Order,
    OrderLine,
    Product,
    ProductCategory,
)


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
    list_display = ["name", "number", "vat_number", "billing_city", "billing_region", "is_active"]
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
                    "billing_region",
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


# The rule's conditions whose values the returns and complaints apps define.
REGISTERED_CONDITIONS = {
    "complaint_category": COMPLAINT_CATEGORY,
    "complaint_priority": COMPLAINT_PRIORITY,
    "return_reason": RETURN_REASON,
}


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(TenantScopedAdmin):
    list_display = ["position", "name", "case_kind", "conditions", "target", "is_active"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "case_kind"]
    list_select_related = ["team", "agent", "customer_account", "product_category"]
    search_fields = ["name"]
    ordering = ["position", "pk"]
    raw_id_fields = ["customer_account"]
    fieldsets = [
        (None, {"fields": ["tenant", "name", "position", "is_active", "case_kind"]}),
        (
            _("Conditions (each one set must hold)"),
            {
                "fields": [
                    "complaint_category",
                    "complaint_priority",
                    "return_reason",
                    "min_requested_value",
                    "customer_account",
                    "product_category",
                    "channel",
                ]
            },
        ),
        (_("Assign to (a team or an agent)"), {"fields": ["team", "agent"]}),
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        condition = REGISTERED_CONDITIONS.get(db_field.name)
        if condition is not None:
            return forms.ChoiceField(
                choices=[("", "---------"), *condition_choices(condition)],
                required=False,
                label=capfirst(db_field.verbose_name),
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agent":
            kwargs["queryset"] = staff_choices(request, ASSIGNABLE_ROLES).order_by(
                "full_name", "email"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("conditions"))
    def conditions(self, obj) -> str:
        parts = []
        for name, condition in REGISTERED_CONDITIONS.items():
            value = getattr(obj, name)
            if value:
                labels = dict(condition_choices(condition))
                parts.append(
                    f"{obj._meta.get_field(name).verbose_name}: {labels.get(value, value)}"
                )
        if obj.min_requested_value is not None:
            label = obj._meta.get_field("min_requested_value").verbose_name
            parts.append(f"{label}: {obj.min_requested_value}")
        for name in ("customer_account", "product_category"):
            related = getattr(obj, name)
            if related is not None:
                parts.append(f"{obj._meta.get_field(name).verbose_name}: {related}")
        if obj.channel:
            parts.append(
                f"{obj._meta.get_field('channel').verbose_name}: {obj.get_channel_display()}"
            )
        return "; ".join(parts) or str(_("every case"))

    @admin.display(description=_("assign to"))
    def target(self, obj) -> str:
        if obj.team_id:
            return str(_("team %(name)s") % {"name": obj.team.name})
        return obj.agent.get_full_name() if obj.agent_id else ""


# --- canned responses ------------------------------------------------------------------------

PLACEHOLDER_HELP = _(
    "Placeholders filled in when an agent picks the response: {customer_name} (the customer "
    "company), {contact_name} (who filed the return or complaint), {case_number} (the RMA or "
    "complaint number), {agent_name} (the agent replying) and {subject} (a complaint's "
    "subject, a return's first product). Anything else in braces stays as written."
)


class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["tenant", "title", "language", "body", "is_active"]
        help_texts = {
            "body": PLACEHOLDER_HELP,
            "language": _(
                "Offered for customers who use this language; empty means every language."
            ),
            "is_active": _("Inactive responses are not offered to agents."),
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant")
        tenant_id = tenant.pk if tenant is not None else self.instance.tenant_id
        title = cleaned.get("title")
        if (
            tenant_id is not None
            and title
            and CannedResponse.unscoped.filter(tenant_id=tenant_id, title=title)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("title", _("A canned response with this title already exists."))
        return cleaned


@admin.register(CannedResponse)
class CannedResponseAdmin(TenantScopedAdmin):
    """Reusable replies agents pick in a return's or a complaint's reply box; coordinators and
    tenant admins edit."""

    form = CannedResponseForm
    list_display = ["title", "language", "is_active"]
    list_filter = ["language", "is_active"]
    search_fields = ["title", "body"]
    fields = ["tenant", "title", "language", "body", "is_active"]


@admin.register(FaqArticle)
class FaqArticleAdmin(TenantScopedAdmin):
    """Questions and answers on the tenant's public return policy page
    (docs/returns-rules.md#the-public-policy-page); coordinators and tenant admins edit."""

    list_display = ["title", "language", "position", "is_published", "updated_at"]
    list_filter = ["language", "is_published"]
    list_editable = ["position", "is_published"]
    search_fields = ["title", "body"]
    ordering = ["language", "position", "pk"]
    fields = ["tenant", "language", "title", "body", "position", "is_published"]
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 10, "cols": 80})},
    }
