"""Customer companies and their users, products, and orders mirrored from the ERP; the
tenant's rules of automatic assignment (they are about customers, products and channels)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from rma_portal.languages import language_choices
from rma_portal.tenancy.models import TenantOwnedModel

from .cases import CaseChannel
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
        _("preferred language"), max_length=8, choices=language_choices, default="pl"
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Users of an inactive company cannot sign in.")
    )
    billing_street = models.CharField(_("billing street"), max_length=200)
    billing_postal_code = models.CharField(_("billing postal code"), max_length=20)
    billing_city = models.CharField(_("billing city"), max_length=100)
    billing_country = models.CharField(_("billing country"), max_length=2, default="PL")
    # The billing address's region (voivodeship, state, province): free text, the KPI
    # dashboard's "region" dimension together with the country (docs/kpis.md#region).
    billing_region = models.CharField(
        _("billing region"),
        max_length=100,
        blank=True,
        help_text=_("Voivodeship, state or province, e.g. mazowieckie. Optional."),
    )
    shipping_name = models.CharField(_("shipping name"), max_length=200, blank=True)
    shipping_street = models.CharField(_("shipping street"), max_length=200)
    shipping_postal_code = models.CharField(_("shipping postal code"), max_length=20)
    shipping_city = models.CharField(_("shipping city"), max_length=100)
    shipping_country = models.CharField(_("shipping country"), max_length=2, default="PL")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

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
        self.billing_region = " ".join(self.billing_region.split())
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


class TeamInvitation(TenantOwnedModel):
    """An invitation a company sent to an address, one row per company and address whatever
    became of it (docs/security.md#team-invitations): the team list shows it as invited until
    a colleague of that address appears in the list, so it never tells whether the address
    already had an account. Written by `customers.services.users`."""

    customer_account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.CASCADE,
        related_name="team_invitations",
        verbose_name=_("customer account"),
    )
    email = models.EmailField(_("e-mail address"), max_length=254)
    # As typed on the first invitation: the list shows what the inviter typed, never the
    # account an address may already have.
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=20)
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    first_sent_at = models.DateTimeField(_("first sent"))
    last_sent_at = models.DateTimeField(_("last sent"))
    times_sent = models.PositiveIntegerField(_("times sent"), default=1)

    class Meta:
        verbose_name = _("team invitation")
        verbose_name_plural = _("team invitations")
        ordering = ["-last_sent_at", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_account", "email"], name="team_invitation_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} @ {self.customer_account_id}"


# Ten years: the longest warranty the catalogue may give.
MAX_WARRANTY_MONTHS = 120


class ProductCategory(TenantOwnedModel):
    """A group of products sharing return rules (window, returnability)."""

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty (months)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_WARRANTY_MONTHS)],
        help_text=_(
            "From delivery; a defect past the return window can be claimed under warranty "
            "until then. Empty: the return policy's default."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

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
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty (months)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_WARRANTY_MONTHS)],
        help_text=_("Empty: the category's warranty."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

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


class RuleCaseKind(models.TextChoices):
    ANY = "any", _("Returns and complaints")
    RETURN = "return", _("Returns")
    COMPLAINT = "complaint", _("Complaints")


class AssignmentRule(TenantOwnedModel):
    """A rule of automatic assignment (customers/routing.py): a new case that meets every
    condition set here goes to the team or the agent named. The tenant's active rules are
    tried in the order of their position; the first that can give the case to someone wins.

    Complaint categories and priorities and return reasons are the complaints' and returns'
    own values (their choices come from customers.cases, where those apps register them).
    """

    position = models.PositiveIntegerField(
        _("position"), default=10, help_text=_("Rules are tried from the lowest position up.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    name = models.CharField(_("name"), max_length=120)
    case_kind = models.CharField(
        _("cases"), max_length=10, choices=RuleCaseKind.choices, default=RuleCaseKind.ANY
    )
    # Conditions: each is optional, and every one set must hold.
    complaint_category = models.CharField(_("complaint category"), max_length=30, blank=True)
    complaint_priority = models.CharField(_("complaint priority"), max_length=10, blank=True)
    return_reason = models.CharField(
        _("return reason"),
        max_length=30,
        blank=True,
        help_text=_("Matches when any line of the return gives this reason."),
    )
    customer_account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer account"),
    )
    product_category = models.ForeignKey(
        ProductCategory,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product category"),
        help_text=_(
            "Matches when a product of the case (any line of a return, the complaint's "
            "product) is of this category."
        ),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=CaseChannel.choices, blank=True)
    min_requested_value = models.DecimalField(
        _("requested value at least"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Returns whose requested value is at least this much."),
    )
    # Target: exactly one of the two.
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignment_rules",
        verbose_name=_("team"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(team__isnull=True, agent__isnull=False)
                | models.Q(team__isnull=False, agent__isnull=True),
                name="assignment_rule_one_target",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "is_active", "position"], name="assignment_rule_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        from rma_portal.accounts.models import ASSIGNABLE_ROLES, User

        errors: dict[str, list] = {}
        if (self.team_id is None) == (self.agent_id is None):
            message = _("Choose either a team or an agent.")
            errors["team"] = [message]
        if self.agent_id is not None and self.tenant_id:
            agent = User.objects.filter(pk=self.agent_id).values("tenant_id", "role").first()
            if (
                agent is None
                or agent["tenant_id"] != self.tenant_id
                or agent["role"] not in ASSIGNABLE_ROLES
            ):
                errors["agent"] = [_("Choose an agent or a coordinator of this tenant.")]
        if self.case_kind != RuleCaseKind.COMPLAINT:
            for name in ("complaint_category", "complaint_priority"):
                if getattr(self, name):
                    errors[name] = [_("Only for rules about complaints.")]
        if self.case_kind != RuleCaseKind.RETURN:
            for name in ("return_reason", "min_requested_value"):
                if getattr(self, name) not in ("", None):
                    errors[name] = [_("Only for rules about returns.")]
        if errors:
            raise ValidationError(errors)


class CannedResponse(TenantOwnedModel):
    """A reusable reply the tenant's agents pick in a return's or a complaint's reply box
    (customers/canned.py fills its placeholders)."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=8, choices=language_choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "title"], name="canned_response_title_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class FaqArticle(TenantOwnedModel):
    """A question and its answer on the tenant's public return policy page
    (customers/policy_page.py), written by the tenant's staff in one language."""

    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    title = models.CharField(_("question"), max_length=200)
    body = models.TextField(
        _("answer"),
        help_text=_(
            "Plain text. A blank line starts a new paragraph, lines starting with “- ” make a "
            "list, **text** is bold; HTML is shown as typed."
        ),
    )
    position = models.PositiveIntegerField(
        _("position"), default=100, help_text=_("Lower numbers come first.")
    )
    is_published = models.BooleanField(
        _("published"), default=True, help_text=_("Only published articles are shown.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("FAQ article")
        verbose_name_plural = _("FAQ articles")
        ordering = ["language", "position", "pk"]
        indexes = [
            models.Index(
                fields=["tenant", "language", "is_published", "position"],
                name="faq_article_listing",
            )
        ]

    def __str__(self) -> str:
        return self.title
