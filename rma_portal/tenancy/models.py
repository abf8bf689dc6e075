"""Tenant (a merchant using the portal) and the base every tenant-owned model inherits."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.languages import language_choices, language_codes

from .context import ALL_TENANTS, TenantNotSetError, current_scope, get_current_tenant
from .storage import tenant_logo_upload_to
from .validators import validate_upload_size

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


class Tenant(models.Model):
    """A merchant (manufacturer or wholesaler) whose customers file returns and complaints."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    brand_colour = models.CharField(
        _("brand colour"), max_length=7, default="#1f4e79", validators=[hex_colour]
    )
    logo = models.ImageField(
        _("logo"), upload_to=tenant_logo_upload_to, blank=True, validators=[validate_upload_size]
    )
    default_language = models.CharField(
        _("default language"), max_length=8, choices=language_choices, default="pl"
    )
    offered_languages = models.JSONField(
        _("languages offered to customers"),
        default=list,
        blank=True,
        help_text=_(
            "The languages of the portal, e-mails and PDFs this tenant's customers may choose; "
            "the default language must be one of them. Empty, or every language ticked, "
            "offers every language of the site, including ones added later."
        ),
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Warsaw", validators=[validate_timezone]
    )
    currency = models.CharField(_("currency"), max_length=3, default="PLN")
    support_email = models.EmailField(_("support email"), blank=True)
    staff_two_factor_required = models.BooleanField(
        _("two-factor sign-in required for staff"),
        default=False,
        help_text=_(
            "Every back-office user of this tenant signs in with a code from an authenticator "
            "app; those without one set it up at their next sign-in."
        ),
    )
    api_rate_limit_per_minute = models.PositiveIntegerField(
        _("API requests per minute"),
        default=600,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text=_(
            "How many API requests each API key and each user of this tenant may make per "
            "minute; beyond that the API answers 429 until the minute is over."
        ),
    )
    # Where customers send goods back.
    return_address_name = models.CharField(_("return address: name"), max_length=200)
    return_address_street = models.CharField(_("return address: street"), max_length=200)
    return_address_postal_code = models.CharField(_("return address: postal code"), max_length=20)
    return_address_city = models.CharField(_("return address: city"), max_length=100)
    return_address_country = models.CharField(
        _("return address: country"), max_length=2, default="PL"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        offered = self.offered_languages
        if offered in (None, ""):
            offered = self.offered_languages = []
        if not isinstance(offered, list) or not all(isinstance(code, str) for code in offered):
            raise ValidationError(
                {"offered_languages": _("Give the offered languages as a list of codes.")}
            )
        unknown = [code for code in offered if code not in language_codes()]
        if unknown:
            raise ValidationError(
                {
                    "offered_languages": _("Not a language of this site: %(codes)s.")
                    % {"codes": ", ".join(unknown)}
                }
            )
        if offered and self.default_language not in offered:
            raise ValidationError(
                {
                    "offered_languages": _(
                        "Offer the default language (%(language)s) too, or choose another "
                        "default language."
                    )
                    % {"language": dict(language_choices()).get(self.default_language, "")}
                }
            )
        # In the order of settings.LANGUAGES, once each.
        self.offered_languages = [code for code in language_codes() if code in offered]

    @property
    def return_address_lines(self) -> list[str]:
        return [
            self.return_address_name,
            self.return_address_street,
            f"{self.return_address_postal_code} {self.return_address_city}",
            self.return_address_country,
        ]


class CurrentTenantCondition(models.Expression):
    """WHERE condition "row belongs to the tenant in context", decided when the SQL is compiled.

    Querysets stay lazy (a form field's queryset can be built at import time) and are scoped
    to whichever tenant is current when they run; with none set, compiling raises.
    """

    conditional = True

    def __init__(self, column=None, model_name: str = ""):
        super().__init__(output_field=models.BooleanField())
        self.column = column
        self.model_name = model_name

    def get_source_expressions(self):
        return [self.column] if self.column is not None else []

    def set_source_expressions(self, exprs):
        if exprs:
            (self.column,) = exprs

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        if self.column is not None:
            # Already bound to its own query's tenant column. When that query becomes a
            # subquery, Django resolves its WHERE again against the *outer* query; rebinding
            # then would test the outer table's tenant instead.
            return self
        resolved = self.copy()
        resolved.model_name = query.model.__name__
        resolved.column = models.F("tenant_id").resolve_expression(
            query, allow_joins, reuse, summarize, for_save
        )
        return resolved

    def as_sql(self, compiler, connection):
        scope = current_scope()
        if scope is None:
            raise TenantNotSetError(
                f"{self.model_name or 'A tenant-owned model'}.objects queried with no tenant "
                "set; use tenant_context(), .objects.for_tenant(tenant) or .unscoped explicitly."
            )
        column_sql, params = compiler.compile(self.column)
        if scope is ALL_TENANTS:
            return f"{column_sql} IS NOT NULL", params
        return f"{column_sql} = %s", [*params, scope.pk]


class TenantScopedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> TenantScopedQuerySet:
        return self.filter(tenant=tenant)


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):
    """Default manager of tenant-owned models: filtered to the current tenant.

    It fails closed: a query that runs with no tenant in context raises TenantNotSetError.
    `for_tenant(t)` names the tenant explicitly; `Model.unscoped` is the escape hatch.
    """

    def get_queryset(self) -> TenantScopedQuerySet:
        return super().get_queryset().filter(CurrentTenantCondition())

    def for_tenant(self, tenant: Tenant) -> TenantScopedQuerySet:
        if tenant is None:
            raise TenantNotSetError("for_tenant() needs a tenant.")
        return super().get_queryset().filter(tenant_id=tenant.pk)


class TenantOwnedModel(models.Model):
    """Abstract base of every tenant-owned table: non-null tenant, scoped default manager."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", verbose_name=_("tenant")
    )

    objects = TenantScopedManager()
    unscoped = models.Manager()  # noqa: DJ012 - a manager, not a field

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def save(self, *args, **kwargs) -> None:
        current = get_current_tenant()
        if not self.tenant_id:
            if current is None:
                raise TenantNotSetError(
                    f"Cannot save {type(self).__name__}: no tenant given and none in context."
                )
            self.tenant = current
        elif current is not None and current.pk != self.tenant_id:
            raise TenantNotSetError(
                f"Refusing to save {type(self).__name__} of tenant {self.tenant_id} "
                f"while tenant {current.pk} is in context."
            )
        # Related objects already loaded are checked for free; clean() checks the rest.
        for field in self._tenant_owned_relations():
            related = field.get_cached_value(self, default=None)
            if related is not None and related.tenant_id != self.tenant_id:
                raise ValueError(f"{type(self).__name__}.{field.name} belongs to another tenant.")
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if not self.tenant_id:
            return
        errors = {}
        for field in self._tenant_owned_relations():
            related_id = getattr(self, field.attname)
            if related_id is None:
                continue
            related = field.related_model.unscoped.filter(pk=related_id).values("tenant_id")
            if related.get()["tenant_id"] != self.tenant_id:
                errors[field.name] = _("Choose an object of the same tenant.")
        if errors:
            raise ValidationError(errors)

    def _tenant_owned_relations(self):
        for field in self._meta.concrete_fields:
            if (
                field.is_relation
                and field.many_to_one
                and field.name != "tenant"
                and issubclass(field.related_model, TenantOwnedModel)
            ):
                yield field


class TenantSequence(TenantOwnedModel):
    """Per-tenant, per-year counters behind human numbers such as RMA-2026-000123."""

    name = models.CharField(_("name"), max_length=20)
    year = models.PositiveIntegerField(_("year"))
    last_value = models.PositiveBigIntegerField(_("last value"), default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "year"], name="tenant_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}-{self.year}: {self.last_value}"
