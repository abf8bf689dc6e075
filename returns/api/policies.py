"""A customer's contract return policy (its override of the tenant's policy) through the API,
for the merchant's ERP: `GET`, `PUT` and `DELETE /api/v1/customers/by-external-id/{number}/
return-policy/`.

The customer is named by its customer number, the ERP's key; categories and products by code
and SKU. `PUT` replaces the whole override, all or nothing: a field left out or null is "as in
the tenant's policy" (the policy engine merges the layers, returns.policies.effective_rules),
so what the override says is exactly what the last `PUT` sent. Input is checked strictly:
unknown fields, unknown codes and SKUs, and values the back-office's policy form would refuse
answer 400 naming the field, and nothing is written. A repeated `PUT` writes nothing.

Who: API keys with `orders:read` (GET) or `orders:write` (PUT, DELETE), like the ERP's writes of
customers; in person, the tenant's staff read and tenant admins write (customers.api.erp).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from django.core.validators import validate_slug
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from customers.api.erp import ErpWriteAccess, is_api_key
from customers.models import CustomerAccount, Product, ProductCategory
from rma_portal.api.exceptions import ErrorShapeAutoSchema
from rma_portal.api.fields import (
    BlankAsNullCharField,
    StrictBooleanField,
    StrictCharField,
    StrictDecimalField,
    StrictInputSerializer,
    StrictIntegerField,
)
from rma_portal.api.permissions import IsTenantUser, require_read_write_scopes
from rma_portal.api.views import TenantScopedViewSet
from rma_portal.errors import ApplicationError

from ..models import (
    MAX_WINDOW_DAYS,
    ApprovalLevel,
    CategoryWindow,
    CustomerListing,
    Resolution,
    ReturnPolicy,
    ReturnReason,
)
from ..policies import MAX_DECISION_HOURS, MAX_REFUND_DAYS, MAX_SHIP_DAYS

logger = logging.getLogger(__name__)

MAX_CONDITIONS_TEXT = 10_000
MAX_LISTED = 10_000  # non-returnable categories or products in one override

# What the decimal fields take: the text of an amount with a point and at most 2 decimals (the
# schema says the same; a pattern is read the same way by the server and by the schema's
# validators).
PERCENT_PATTERN = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"
MONEY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
CODE_PATTERN = r"^[-a-zA-Z0-9_]+$"  # ProductCategory.code is a slug

# --- input ----------------------------------------------------------------------------------


class PatternDecimalField(StrictDecimalField):
    """An amount as text matching `pattern` (e.g. "12.50"): no sign, no exponent."""

    def __init__(self, *, pattern: str, **kwargs):
        self.pattern = pattern
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.search(self.pattern, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class PatternDecimalFieldExtension(OpenApiSerializerFieldExtension):
    target_class = PatternDecimalField

    def map_serializer_field(self, auto_schema, direction) -> dict:
        return {"type": "string", "pattern": self.target.pattern}


class CategoryCodeField(StrictCharField):
    """A category's code: a slug, as the catalogue stores it (the schema's pattern)."""

    not_blank_pattern = CODE_PATTERN

    def __init__(self, **kwargs):
        super().__init__(max_length=60, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not re.search(CODE_PATTERN, data):
            raise serializers.ValidationError(str(validate_slug.message), code="invalid")
        return super().to_internal_value(data)


class ByCategoryCodeField(serializers.DictField):
    """An object keyed by category codes (the schema's `propertyNames`)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for key in data:
                try:
                    CategoryCodeField().run_validation(key)
                except serializers.ValidationError as error:
                    errors[str(key)] = error.detail
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class UniqueListField(serializers.ListField):
    """A list whose items are all different (the schema says `uniqueItems`)."""

    unique_items = True

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        seen = set()
        for index, value in enumerate(values):
            if value in seen:
                raise serializers.ValidationError(
                    {index: [_("'%(value)s' is listed twice.") % {"value": value}]}
                )
            seen.add(value)
        return values


class ClosedInputSerializer(StrictInputSerializer):
    # An input object that refuses properties it does not know, naming each (the schema says
    # `additionalProperties: false`): a misspelt field must not leave a rule as it was.

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = {
                str(name): [_("unknown field '%(field)s'") % {"field": name}]
                for name in data
                if name not in self.fields
            }
            if unknown:
                raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)


def _inherited(field_class: type[serializers.Field], help_text: str, **kwargs):
    """An input field of the override whose null (or absence) is "as in the tenant's policy"."""
    return field_class(
        required=False,
        allow_null=True,
        default=None,
        help_text=f"{help_text} Null or left out: as in the tenant's policy.",
        **kwargs,
    )


def _choices(choices, help_text: str) -> serializers.Field:
    return _inherited(
        UniqueListField,
        help_text,
        child=serializers.ChoiceField(choices=choices),
        min_length=1,
    )


def _keys(child: serializers.Field, help_text: str) -> UniqueListField:
    return UniqueListField(
        child=child,
        required=False,
        default=list,
        max_length=MAX_LISTED,
        help_text=help_text,
    )


class ReturnPolicyOverrideInputSerializer(ClosedInputSerializer):
    default_window_days = _inherited(
        StrictIntegerField,
        "Days after delivery to return goods, for categories without their own window.",
        min_value=0,
        max_value=MAX_WINDOW_DAYS,
    )
    restocking_fee_percent = _inherited(
        PatternDecimalField,
        'Restocking fee in % of the accepted value ("10.00"), charged on lines whose reason '
        "is not one with free return shipping.",
        pattern=PERCENT_PATTERN,
        max_digits=5,
        decimal_places=2,
    )
    free_shipping_reasons = _choices(
        ReturnReason.choices,
        "Reasons for which the merchant pays the return shipping and no restocking fee is charged.",
    )
    allowed_reasons = _choices(ReturnReason.choices, "Reasons the customer may give.")
    allowed_resolutions = _choices(Resolution.choices, "Resolutions the customer may ask for.")
    auto_approve_enabled = _inherited(
        StrictBooleanField, "Approve returns automatically when the rules below allow it."
    )
    auto_approve_reasons = _choices(
        ReturnReason.choices,
        "A return is approved automatically only if every line has one of these reasons.",
    )
    auto_approve_max_value = _inherited(
        PatternDecimalField,
        'Approved automatically only up to this requested value ("500.00").',
        pattern=MONEY_PATTERN,
        max_digits=12,
        decimal_places=2,
    )
    warranty_months = _inherited(
        StrictIntegerField,
        "Months of warranty, from delivery, of all the customer's goods (replacing the "
        "products' and categories'); 0: none.",
        min_value=0,
        max_value=120,
    )
    warranty_reasons = _choices(
        ReturnReason.choices,
        "Reasons that make a line past the return window a warranty claim.",
    )
    warranty_resolutions = _choices(Resolution.choices, "What a warranty claim may ask for.")
    approval_coordinator_from = _inherited(
        PatternDecimalField,
        'From this requested value ("300.00") a coordinator, a manager or a tenant admin '
        "approves the customer's returns.",
        pattern=MONEY_PATTERN,
        max_digits=12,
        decimal_places=2,
    )
    approval_manager_from = _inherited(
        PatternDecimalField,
        "From this requested value a manager or a tenant admin approves them; not below "
        "`approval_coordinator_from`.",
        pattern=MONEY_PATTERN,
        max_digits=12,
        decimal_places=2,
    )
    override_approval = _inherited(
        serializers.ChoiceField,
        "Who approves the customer's returns filed against the policy: `coordinator` or `manager`.",
        choices=ApprovalLevel.choices,
    )
    decision_hours = _inherited(
        StrictIntegerField,
        "Business hours of the support calendar from submission to approval or rejection; "
        "0: no clock.",
        min_value=0,
        max_value=MAX_DECISION_HOURS,
    )
    refund_days = _inherited(
        StrictIntegerField,
        "Working days of the support calendar from the goods' arrival to the resolution; "
        "0: no clock.",
        min_value=0,
        max_value=MAX_REFUND_DAYS,
    )
    ship_reminder_days = _inherited(
        StrictIntegerField,
        "Days after approval when the customer is reminded to send the goods, if they have "
        "not arrived; 0: no reminder.",
        min_value=0,
        max_value=MAX_SHIP_DAYS,
    )
    ship_within_days = _inherited(
        StrictIntegerField,
        "Days after approval within which the goods must arrive, or the return expires and "
        "its quantities can be returned again; 0: never expires.",
        min_value=0,
        max_value=MAX_SHIP_DAYS,
    )
    conditions_text = _inherited(
        StrictCharField,
        "Conditions shown to the customer's users; blank is null.",
        allow_blank=True,
        max_length=MAX_CONDITIONS_TEXT,
    )
    category_windows = ByCategoryCodeField(
        child=StrictIntegerField(min_value=0, max_value=MAX_WINDOW_DAYS),
        required=False,
        default=dict,
        help_text="Return windows in days by category code; they replace the tenant's window "
        "for those categories. Left out: none of its own.",
    )
    non_returnable_categories = _keys(
        CategoryCodeField(),
        "Codes of categories this customer cannot return, on top of the tenant's. Left out: "
        "none of its own.",
    )
    non_returnable_products = _keys(
        StrictCharField(max_length=64),
        "SKUs of products this customer cannot return, on top of the tenant's. Left out: "
        "none of its own.",
    )

    always_returnable_categories = _keys(
        CategoryCodeField(),
        "Codes of categories this customer returns whatever the windows and the non-returnable "
        "lists say, on top of the tenant's. Left out: none of its own.",
    )
    always_returnable_products = _keys(
        StrictCharField(max_length=64),
        "SKUs of products this customer returns whatever the windows and the non-returnable "
        "lists say, on top of the tenant's. Left out: none of its own.",
    )
    review_categories = _keys(
        CategoryCodeField(),
        "Codes of categories whose returns are never approved automatically for this customer, "
        "on top of the tenant's. Left out: none of its own.",
    )
    review_products = _keys(
        StrictCharField(max_length=64),
        "SKUs of products whose returns are never approved automatically for this customer, "
        "on top of the tenant's. Left out: none of its own.",
    )
    customer_listing = _inherited(
        serializers.ChoiceField,
        "The customer as a whole: `allow` (every line returnable whatever the windows and "
        "non-returnable lists), `review` (never approved automatically), `refuse` (no return "
        "through the portal or the API; staff may still file one with a reason); null: none.",
        choices=CustomerListing.choices,
    )

    def validate(self, data: dict) -> dict:
        for blocked, allowed in (
            ("non_returnable_categories", "always_returnable_categories"),
            ("non_returnable_products", "always_returnable_products"),
        ):
            both = set(data.get(blocked) or ()) & set(data.get(allowed) or ())
            if both:
                raise serializers.ValidationError(
                    {
                        allowed: _("Not returnable and always returnable at once: %(names)s.")
                        % {"names": ", ".join(sorted(both))}
                    },
                    code="invalid",
                )
        coordinator = data.get("approval_coordinator_from")
        manager = data.get("approval_manager_from")
        if coordinator is not None and manager is not None and manager < coordinator:
            raise serializers.ValidationError(
                {
                    "approval_manager_from": _(
                        "A manager's limit cannot be below a coordinator's: returns between "
                        "the two would skip the coordinator."
                    )
                },
                code="invalid",
            )
        remind, within = data.get("ship_reminder_days"), data.get("ship_within_days")
        if remind and within and remind >= within:
            raise serializers.ValidationError(
                {
                    "ship_reminder_days": _(
                        "The reminder must come before the goods are due: give fewer days "
                        "than for the goods to arrive."
                    )
                },
                code="invalid",
            )
        return data


# --- output ---------------------------------------------------------------------------------


def _inherited_output(field_class: type[serializers.Field], **kwargs) -> serializers.Field:
    return field_class(read_only=True, allow_null=True, **kwargs)


def _choices_output(choices) -> serializers.Field:
    return _inherited_output(serializers.ListField, child=serializers.ChoiceField(choices=choices))


class ReturnPolicyOverrideSerializer(serializers.Serializer):
    """A customer's override: null is "as in the tenant's policy"."""

    customer_number = serializers.CharField(read_only=True)
    default_window_days = _inherited_output(serializers.IntegerField)
    restocking_fee_percent = _inherited_output(
        serializers.DecimalField, max_digits=5, decimal_places=2
    )
    free_shipping_reasons = _choices_output(ReturnReason.choices)
    allowed_reasons = _choices_output(ReturnReason.choices)
    allowed_resolutions = _choices_output(Resolution.choices)
    auto_approve_enabled = _inherited_output(serializers.BooleanField)
    auto_approve_reasons = _choices_output(ReturnReason.choices)
    auto_approve_max_value = _inherited_output(
        serializers.DecimalField, max_digits=12, decimal_places=2
    )
    warranty_months = _inherited_output(serializers.IntegerField)
    warranty_reasons = _choices_output(ReturnReason.choices)
    warranty_resolutions = _choices_output(Resolution.choices)
    approval_coordinator_from = _inherited_output(
        serializers.DecimalField, max_digits=12, decimal_places=2
    )
    approval_manager_from = _inherited_output(
        serializers.DecimalField, max_digits=12, decimal_places=2
    )
    override_approval = _inherited_output(serializers.ChoiceField, choices=ApprovalLevel.choices)
    decision_hours = _inherited_output(serializers.IntegerField)
    refund_days = _inherited_output(serializers.IntegerField)
    ship_reminder_days = _inherited_output(serializers.IntegerField)
    ship_within_days = _inherited_output(serializers.IntegerField)
    conditions_text = BlankAsNullCharField()
    category_windows = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    non_returnable_categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    non_returnable_products = serializers.ListField(child=serializers.CharField(), read_only=True)
    always_returnable_categories = serializers.ListField(
        child=serializers.CharField(), read_only=True
    )
    always_returnable_products = serializers.ListField(
        child=serializers.CharField(), read_only=True
    )
    review_categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    review_products = serializers.ListField(child=serializers.CharField(), read_only=True)
    customer_listing = _inherited_output(serializers.ChoiceField, choices=CustomerListing.choices)
    updated_at = serializers.DateTimeField(read_only=True)


# The override's lists of goods (many-to-many), by category code and by SKU.
CATEGORY_LISTS = (
    "non_returnable_categories",
    "always_returnable_categories",
    "review_categories",
)
PRODUCT_LISTS = ("non_returnable_products", "always_returnable_products", "review_products")

# The override's own fields, as the model and the input call them.
SCALAR_FIELDS = (
    "default_window_days",
    "restocking_fee_percent",
    "free_shipping_reasons",
    "allowed_reasons",
    "allowed_resolutions",
    "auto_approve_enabled",
    "auto_approve_reasons",
    "auto_approve_max_value",
    "approval_coordinator_from",
    "approval_manager_from",
    "warranty_months",
    "warranty_reasons",
    "warranty_resolutions",
    "decision_hours",
    "refund_days",
    "ship_reminder_days",
    "ship_within_days",
    "conditions_text",
)


def override_data(policy: ReturnPolicy) -> dict:
    """The override as the API answers it (ReturnPolicyOverrideSerializer)."""
    windows = CategoryWindow.objects.filter(policy=policy).select_related("category")
    return {
        "customer_number": policy.customer_account.number,
        **{name: getattr(policy, name) for name in SCALAR_FIELDS},
        "category_windows": {w.category.code: w.days for w in windows.order_by("category__code")},
        **{name: sorted(c.code for c in getattr(policy, name).all()) for name in CATEGORY_LISTS},
        **{name: sorted(p.sku for p in getattr(policy, name).all()) for name in PRODUCT_LISTS},
        "customer_listing": policy.customer_listing or None,
        "override_approval": policy.override_approval or None,
        "updated_at": policy.updated_at,
    }


# --- the write ------------------------------------------------------------------------------


def _canonical(values: list[str] | None, choices) -> list[str] | None:
    """A list of choices in the order the back-office's policy form stores it."""
    if values is None:
        return None
    return [value for value in choices.values if value in values]


def _resolve_keys(data: dict) -> tuple[dict, dict[str, list]]:
    """The categories and products the input names, by code and SKU: (windows, {list field:
    objects}); 400 naming every field with a code or SKU of none of the tenant's."""
    windows: dict[str, int] = data["category_windows"]
    codes = [*windows, *(code for name in CATEGORY_LISTS for code in data[name])]
    skus = [sku for name in PRODUCT_LISTS for sku in data[name]]
    categories = {c.code: c for c in ProductCategory.objects.filter(code__in=codes)}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    errors: dict[str, list[str]] = {}

    def unknown_category(code: str) -> list[str]:
        return [_("unknown category '%(code)s'") % {"code": code}]

    for code in windows:
        if code not in categories:
            errors[f"category_windows.{code}"] = unknown_category(code)
    for name in CATEGORY_LISTS:
        for index, code in enumerate(data[name]):
            if code not in categories:
                errors[f"{name}[{index}]"] = unknown_category(code)
    for name in PRODUCT_LISTS:
        for index, sku in enumerate(data[name]):
            if sku not in products:
                errors[f"{name}[{index}]"] = [
                    _("unknown SKU '%(sku)s' (not in the catalogue)") % {"sku": sku}
                ]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], code="invalid", fields=errors)
    lists = {name: [categories[code] for code in data[name]] for name in CATEGORY_LISTS}
    lists.update({name: [products[sku] for sku in data[name]] for name in PRODUCT_LISTS})
    return {categories[code]: days for code, days in windows.items()}, lists


def return_policy_override_replace(
    *, customer_account: CustomerAccount, data: dict
) -> tuple[ReturnPolicy, bool]:
    """Replace the customer's override with `data` (ReturnPolicyOverrideInputSerializer's
    validated data), or create it; (policy, created). All or nothing; nothing is written when
    the override already says exactly this."""
    windows, lists = _resolve_keys(data)
    values = {
        **{name: data[name] for name in SCALAR_FIELDS},
        "conditions_text": data["conditions_text"] or "",
        "customer_listing": data["customer_listing"] or "",
        "override_approval": data["override_approval"] or "",
        "free_shipping_reasons": _canonical(data["free_shipping_reasons"], ReturnReason),
        "allowed_reasons": _canonical(data["allowed_reasons"], ReturnReason),
        "allowed_resolutions": _canonical(data["allowed_resolutions"], Resolution),
        "auto_approve_reasons": _canonical(data["auto_approve_reasons"], ReturnReason),
        "warranty_reasons": _canonical(data["warranty_reasons"], ReturnReason),
        "warranty_resolutions": _canonical(data["warranty_resolutions"], Resolution),
    }
    with transaction.atomic():
        # One writer per customer at a time: two first PUTs must not both create an override.
        locked = CustomerAccount.objects.select_for_update().filter(pk=customer_account.pk)
        if not list(locked.values_list("pk", flat=True)):
            raise exceptions.NotFound()  # deleted meanwhile
        policy = ReturnPolicy.objects.filter(customer_account=customer_account).first()
        created = policy is None
        if created:
            policy = ReturnPolicy(tenant=customer_account.tenant, customer_account=customer_account)
        changed = created or any(getattr(policy, name) != value for name, value in values.items())
        for name, value in values.items():
            setattr(policy, name, value)
        if changed:
            policy.save()
        changed_relations = _replace_relations(policy, windows, lists)
        if changed_relations and not changed:
            policy.save(update_fields=["updated_at"])
    if changed or changed_relations:
        logger.info(
            "return policy override %s",
            "created" if created else "replaced",
            extra={"tenant": customer_account.tenant.slug, "customer": customer_account.number},
        )
    return policy, created


def _replace_relations(
    policy: ReturnPolicy, windows: dict[ProductCategory, int], lists: dict[str, list]
) -> bool:
    """The override's category windows and lists of goods made exactly these; whether
    anything changed."""
    changed = False
    stored = {w.category_id: w for w in CategoryWindow.objects.filter(policy=policy)}
    wanted = {category.pk: days for category, days in windows.items()}
    gone = [w.pk for category_id, w in stored.items() if category_id not in wanted]
    if gone:
        CategoryWindow.objects.filter(pk__in=gone).delete()
        changed = True
    for category, days in windows.items():
        window = stored.get(category.pk)
        if window is None:
            CategoryWindow.objects.create(
                tenant=policy.tenant, policy=policy, category=category, days=days
            )
            changed = True
        elif window.days != days:
            window.days = days
            window.save(update_fields=["days"])
            changed = True
    for name, objects in lists.items():
        relation = getattr(policy, name)
        if set(relation.values_list("pk", flat=True)) != {obj.pk for obj in objects}:
            relation.set(objects)
            changed = True
    return changed


# --- the endpoint ---------------------------------------------------------------------------


class TenantStaffReads(BasePermission):
    """Reads: the tenant's staff and API keys; a customer's users do not read its contract
    here (the portal shows them the rules that apply)."""

    def has_permission(self, request, view) -> bool:
        return (
            request.method not in SAFE_METHODS
            or is_api_key(request)
            or request.user.is_tenant_staff
        )


class ClosedObjectsAutoSchema(ErrorShapeAutoSchema):
    """The schema of these operations says what their input refuses: properties not listed
    (`additionalProperties: false`), items listed twice (`uniqueItems`) and category codes
    that are not slugs (`propertyNames`)."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(force_instance(serializer), ClosedInputSerializer):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and getattr(field, "unique_items", False):
            schema["uniqueItems"] = True
        if direction == "request" and isinstance(field, ByCategoryCodeField):
            schema["propertyNames"] = {"maxLength": 60, "pattern": CODE_PATTERN}
        return schema


CUSTOMER_NUMBER = OpenApiParameter(
    "external_id",
    {"type": "string", "minLength": 1, "maxLength": 40, "pattern": r"\S"},
    OpenApiParameter.PATH,
    description="The customer number (the ERP's key of the customer company). A '/' in it is "
    "sent as it is.",
)

EXAMPLE_INPUT = {
    "default_window_days": 30,
    "restocking_fee_percent": "5.00",
    "free_shipping_reasons": None,
    "allowed_reasons": ["damaged_in_transport", "defective", "wrong_item", "wrong_size"],
    "allowed_resolutions": ["credit_note", "replacement"],
    "auto_approve_enabled": True,
    "auto_approve_reasons": ["damaged_in_transport", "defective"],
    "auto_approve_max_value": "500.00",
    "approval_coordinator_from": "2000.00",
    "approval_manager_from": None,
    "override_approval": "manager",
    "warranty_months": 36,
    "warranty_reasons": None,
    "warranty_resolutions": ["replacement"],
    "decision_hours": 8,
    "refund_days": 5,
    "ship_reminder_days": 10,
    "ship_within_days": 45,
    "conditions_text": "Framework contract 2026/14: returns within 30 days.",
    "category_windows": {"workwear": 60},
    "non_returnable_categories": ["custom-made"],
    "non_returnable_products": ["SAW-9"],
    "always_returnable_categories": [],
    "always_returnable_products": ["DRL-1"],
    "review_categories": ["electronics"],
    "review_products": [],
    "customer_listing": None,
}
EXAMPLES = [
    OpenApiExample("A contract's return policy", request_only=True, value=EXAMPLE_INPUT),
    OpenApiExample(
        "A contract's return policy",
        response_only=True,
        value={
            "customer_number": "K-1001",
            **EXAMPLE_INPUT,
            "updated_at": "2026-11-20T09:14:03.512000+01:00",
        },
    ),
]


@extend_schema(tags=["customers"], parameters=[CUSTOMER_NUMBER])
class ReturnPolicyOverrideViewSet(TenantScopedViewSet):
    """A customer's contract return policy: its override of the tenant's policy."""

    model = ReturnPolicy
    serializer_class = ReturnPolicyOverrideSerializer
    parser_classes = [JSONParser]
    permission_classes = [
        IsTenantUser,
        TenantStaffReads,
        ErpWriteAccess,
        require_read_write_scopes(read="orders:read", write="orders:write"),
    ]
    schema = ClosedObjectsAutoSchema()

    def scoped_queryset(self, *, user):
        return ReturnPolicy.objects.filter(customer_account__isnull=False)

    def _customer(self, external_id: str) -> CustomerAccount:
        account = CustomerAccount.objects.filter(number=external_id.strip()).first()
        if account is None:
            raise exceptions.NotFound()
        return account

    def _override(self, account: CustomerAccount) -> ReturnPolicy:
        policy = (
            self.get_queryset()
            .select_related("customer_account")
            .filter(customer_account=account)
            .first()
        )
        if policy is None:
            raise exceptions.NotFound()
        return policy

    def _answer(self, policy: ReturnPolicy, *, status: int = 200) -> Response:
        data = self.get_serializer(override_data(policy)).data
        return Response(data, status=status)

    @extend_schema(
        summary="Read a customer's contract return policy (404: it has none)",
        responses={200: ReturnPolicyOverrideSerializer},
        examples=EXAMPLES,
    )
    def retrieve(self, request, external_id: str):
        return self._answer(self._override(self._customer(external_id)))

    @extend_schema(
        summary="Replace (200) or create (201) a customer's contract return policy",
        request=ReturnPolicyOverrideInputSerializer,
        responses={200: ReturnPolicyOverrideSerializer, 201: ReturnPolicyOverrideSerializer},
        examples=EXAMPLES,
    )
    def update(self, request, external_id: str):
        account = self._customer(external_id)
        serializer = ReturnPolicyOverrideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy, created = return_policy_override_replace(
            customer_account=account, data=serializer.validated_data
        )
        return self._answer(policy, status=201 if created else 200)

    @extend_schema(
        summary="Remove a customer's contract return policy: the tenant's applies (404: it "
        "has none)",
        responses={204: None},
    )
    def destroy(self, request, external_id: str):
        account = self._customer(external_id)
        with transaction.atomic():
            policy = self._override(account)
            policy.delete()
        logger.info(
            "return policy override deleted",
            extra={"tenant": account.tenant.slug, "customer": account.number},
        )
        return Response(status=204)
