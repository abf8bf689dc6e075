"""Customer companies and their users, products, and orders mirrored from the ERP."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from rma_portal.tenancy.models import TenantOwnedModel

from .validators import normalize_vat_number, validate_vat_number

MONEY = {"max_digits": 12, "decimal_places": 2}


class CustomerAccount(TenantOwnedModel):
    """A customer company of the tenant (B2B): its users file returns and complaints."""

    number = models.CharField(
        _("customer number"), max_length=40, help_text=_("The customer's key in the ERP.")
    )
    name = models.CharField(_("company name"), max_length=200)
    vat_number = models.CharField(
        _("VAT number (NIP)"), max_length=20, validators=[validate_vat_number]
    )
    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default="pl"
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Users of an inactive company cannot sign in.")
    )
    billing_street = models.CharField(_("billing street"), max_length=200)
    billing_postal_code = models.CharField(_("billing postal code"), max_length=20)
    billing_city = models.CharField(_("billing city"), max_length=100)
    billing_country = models.CharField(_("billing country"), max_length=2, default="PL")
    shipping_name = models.CharField(_("shipping name"), max_length=200, blank=True)
    shipping_street = models.CharField(_("shipping street"), max_length=200)
    shipping_postal_code = models.CharField(_("shipping postal code"), max_length=20)
    shipping_city = models.CharField(_("shipping city"), max_length=100)
    shipping_country = models.CharField(_("shipping country"), max_length=2, default="PL")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="customer_number_unique"),
            models.UniqueConstraint(fields=["tenant", "vat_number"], name="customer_vat_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "name"], name="customer_tenant_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def save(self, *args, **kwargs) -> None:
        self.vat_number = normalize_vat_number(self.vat_number)
        super().save(*args, **kwargs)

    @property
    def billing_address_lines(self) -> list[str]:
        return [
            self.name,
            self.billing_street,
            f"{self.billing_postal_code} {self.billing_city}",
            self.billing_country,
        ]

    @property
    def shipping_address_lines(self) -> list[str]:
        return [
            self.shipping_name or self.name,
            self.shipping_street,
            f"{self.shipping_postal_code} {self.shipping_city}",
            self.shipping_country,
        ]


class CustomerMembership(TenantOwnedModel):
    """Links a customer user to the one company they act for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_membership",
        verbose_name=_("user"),
    )
    customer_account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("customer account"),
    )

    class Meta:
        verbose_name = _("customer user")
        verbose_name_plural = _("customer users")
        indexes = [
            models.Index(fields=["tenant", "customer_account"], name="membership_account_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer_account.name}"


class ProductCategory(TenantOwnedModel):
    """A group of products sharing return rules (window, returnability)."""

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="category_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(TenantOwnedModel):
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    category = models.ForeignKey(
        ProductCategory,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("category"),
    )
    unit_price = models.DecimalField(
        _("unit price"), **MONEY, validators=[MinValueValidator(Decimal("0"))]
    )
    is_returnable = models.BooleanField(
        _("returnable"), default=True, help_text=_("Personalised goods, for example, are not.")
    )
    is_serial_tracked = models.BooleanField(
        _("serial-tracked"), default=False, help_text=_("Returns must name the serial numbers.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="product_sku_unique"),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="product_price_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "category"], name="product_tenant_category_idx"),
            models.Index("tenant", Lower("name"), name="product_tenant_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Order(TenantOwnedModel):
    """A delivered order as the ERP knows it; returns are filed against its lines."""

    number = models.CharField(_("order number"), max_length=40)
    customer_account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer account"),
    )
    order_date = models.DateField(_("order date"))
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=40, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    # Set by every save and by the CSV import's updates: the KPI rollups rebuild the delivery
    # day of orders changed since their last run.
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="order_number_unique"),
            models.CheckConstraint(
                condition=models.Q(delivery_date__isnull=True)
                | models.Q(delivery_date__gte=models.F("order_date")),
                name="order_delivered_after_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "delivery_date"], name="order_delivery_idx"),
            models.Index(
                fields=["tenant", "customer_account", "-order_date"],
                name="order_customer_date_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Invoice(TenantOwnedModel):
    """An invoice as the ERP issued it: what a return or a credit note refers to.

    Its number is the ERP's key. Lines point at the invoice that billed them
    (`OrderLine.invoice`); an order's `invoice_number` stays the plain reference orders carry
    without an invoice record, and is filled from the first invoice written for the order.
    """

    number = models.CharField(
        _("invoice number"), max_length=40, help_text=_("The invoice's key in the ERP.")
    )
    customer_account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("customer account"),
    )
    issue_date = models.DateField(_("issue date"))
    currency = models.CharField(_("currency"), max_length=3)
    net_amount = models.DecimalField(_("net amount"), **MONEY)
    tax_amount = models.DecimalField(_("tax amount"), **MONEY)
    gross_amount = models.DecimalField(_("gross amount"), **MONEY)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="invoice_number_unique"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "customer_account", "-issue_date"],
                name="invoice_customer_date_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(TenantOwnedModel):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order")
    )
    line_number = models.PositiveIntegerField(_("line"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        _("unit price"), **MONEY, validators=[MinValueValidator(Decimal("0"))]
    )
    lot_number = models.CharField(_("lot number"), max_length=64, blank=True)
    serial_numbers = models.JSONField(_("serial numbers"), default=list, blank=True)
    # What the ERP reports of the delivery of this line; empty: the whole quantity, delivered
    # on the order's delivery date.
    delivered_quantity = models.PositiveIntegerField(
        _("delivered quantity"),
        null=True,
        blank=True,
        help_text=_("Empty: the whole quantity, once the order is delivered."),
    )
    delivered_on = models.DateField(
        _("delivered on"),
        null=True,
        blank=True,
        help_text=_("Empty: the order's delivery date."),
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lines",
        verbose_name=_("invoice"),
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order", "line_number"], name="order_line_number_unique"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="line_quantity_pos"),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(delivered_quantity__isnull=True)
                | models.Q(delivered_quantity__lte=models.F("quantity")),
                name="line_delivered_within_quantity",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "product"], name="line_tenant_product_idx"),
            models.Index(fields=["tenant", "invoice"], name="line_tenant_invoice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.line_number}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def quantity_delivered(self) -> int:
        """Units delivered so far: what the ERP reported, else the whole line once the order
        is delivered (a line of an order not yet delivered has none)."""
        if self.delivered_quantity is not None:
            return self.delivered_quantity
        return self.quantity if self.order.delivery_date else 0

    @property
    def effective_delivery_date(self):
        """The day this line was delivered: its own, else the order's (None: not yet)."""
        return self.delivered_on or self.order.delivery_date
