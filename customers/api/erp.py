"""The API through which the merchant's ERP pushes its data in, and reads it back.

Every kind (product categories, products, customers, orders, invoices) has
`PUT …/by-external-id/{id}/` (create or update one record by the ERP's key: 201 with
Location, or 200), `GET …/by-external-id/{id}/` and `POST …/bulk/` (1 to MAX_RECORDS
records, all or nothing). The records are those of the CSV import, checked and written by the
same code (customers.services.erp), and held to the JSON schema documented here (the
service's contract of each kind); a refused request answers the import's problems (record
index, field, message) in the API's error shape and writes nothing.

Who may write: tenant admins, and API keys with the kind's scope (`catalog:write`,
`orders:write`). Coordinators, agents and managers handle cases; the ERP's data is the tenant
admin's. Reads: staff and API keys see the tenant's; customer users see their own company
and its invoices, and neither products nor categories (they meet products in their orders).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Model, Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from customers.models import (
    CustomerAccount,
    CustomerMembership,
    Invoice,
    OrderLine,
    Product,
    ProductCategory,
)
from customers.selectors import colleagues_of, customer_account_for_user
from customers.services.erp import ERP_KINDS, MAX_RECORDS, erp_upsert, erp_upsert_one
from customers.services.imports import ImportRejected, ImportReport
from customers.services.users import customer_user_invite
from rma_portal.accounts.models import Role
from rma_portal.api.exceptions import ErrorShapeAutoSchema
from rma_portal.api.fields import StrictInputSerializer
from rma_portal.api.filters import ListFilterSerializer, customer_filter, validated_filters
from rma_portal.api.permissions import IsTenantUser, require_scopes
from rma_portal.api.views import TenantScopedViewSet
from rma_portal.errors import ApplicationError

from .serializers import (
    CustomerAccountDetailSerializer,
    InvoiceSerializer,
    ProductCategoryDetailSerializer,
    ProductDetailSerializer,
)

# --- the records' OpenAPI schemas: the contract the service checks them against --------------


def bulk_body(kind: str) -> dict:
    return {
        "application/json": {
            "type": "object",
            "properties": {
                "records": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_RECORDS,
                    "items": ERP_KINDS[kind].record.schema,
                }
            },
            "required": ["records"],
            "additionalProperties": False,
        }
    }


def put_body(kind: str) -> dict:
    return {"application/json": ERP_KINDS[kind].record_by_key.schema}


def external_id_parameter(kind: str) -> OpenApiParameter:
    key = ERP_KINDS[kind].key
    return OpenApiParameter(
        "external_id",
        ERP_KINDS[kind].key_schema,
        OpenApiParameter.PATH,
        description=f"The ERP's key (`{key}`). A '/' in it is sent as it is "
        "(`/orders/by-external-id/ZAM/2026/7/`). Given in the record too, it must be the same.",
    )


def erp_schema(kind: str):
    """The OpenAPI description of a viewset's `by-external-id` and `bulk` for `kind`."""

    def decorate(viewset):
        answer = viewset.serializer_class
        external_id = external_id_parameter(kind)
        return extend_schema_view(
            by_external_id=[
                extend_schema(
                    methods=["GET"],
                    summary="Read one record by the ERP's key",
                    parameters=[external_id],
                    responses={200: answer},
                ),
                extend_schema(
                    methods=["PUT"],
                    summary="Create (201) or update (200) one record by the ERP's key",
                    parameters=[external_id],
                    request=put_body(kind),
                    responses={200: answer, 201: answer},
                ),
            ],
            bulk=extend_schema(
                summary=f"Create or update up to {MAX_RECORDS} records, all or nothing",
                request=bulk_body(kind),
                responses={200: BULK_ANSWER},
            ),
        )(viewset)

    return decorate


BULK_ANSWER = {
    "type": "object",
    "properties": {
        "records": {"type": "integer"},
        "counts": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    name: {"type": "integer"} for name in ("created", "updated", "unchanged")
                },
            },
        },
    },
}


def is_api_key(request) -> bool:
    """A request authenticated by a tenant API key (its scopes decide what it may do)."""
    return getattr(request.auth, "scopes", None) is not None


def acts_for_tenant(request) -> bool:
    """Staff and API keys read the whole tenant's data; customer users their company's."""
    return request.user.is_tenant_staff or is_api_key(request)


class ErpWriteAccess(BasePermission):
    """Writes: tenant admins, or an API key (whose scopes `require_scopes` checks)."""

    message = _("Only the tenant's administrators may write the ERP's data.")

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return is_api_key(request) or request.user.role == Role.TENANT_ADMIN


def rejected_as_api_error(report: ImportReport, *, bulk: bool) -> ApplicationError:
    """The import's problems in the API's error shape: `fields` keyed by the record and its
    field (`records[3].lines[0].quantity`; for one record, `lines[0].quantity`)."""
    fields: dict[str, list[str]] = {}
    for problem in report.errors:
        if problem.line is None:
            key = api_settings.NON_FIELD_ERRORS_KEY
        elif bulk:
            key = f"records[{problem.line}]" + (f".{problem.field}" if problem.field else "")
        else:
            key = problem.field or api_settings.NON_FIELD_ERRORS_KEY
        messages = fields.setdefault(key, [])
        if problem.message not in messages:  # an order's field, checked on each of its lines
            messages.append(problem.message)
    return ApplicationError(ImportRejected(report).message, code="invalid", fields=fields)


def counts_of(report: ImportReport) -> dict[str, dict[str, int]]:
    return {
        label: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}
        for label, c in report.counts.items()
    }


class ErpAutoSchema(ErrorShapeAutoSchema):
    """Bodies given as JSON schemas (the records') are required when they require a field, as
    a serializer's are."""

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(serializer, dict) and serializer.get("required"):
            required = True
        return schema, required


class ErpWritableMixin:
    """`by-external-id` (GET, PUT) and `bulk` (POST) for the viewset's `erp_kind`."""

    erp_kind: str
    read_scope: str  # an API key's scope for reads (people: their role)
    write_scope: str
    parser_classes = [JSONParser]
    schema = ErpAutoSchema()

    def get_permissions(self):
        """The viewset's own, plus: reads need the kind's read scope from an API key; the
        ERP's writes need a tenant admin, or an API key with the kind's write scope (other
        unsafe methods of the viewset answer 405 as before)."""
        permissions = list(super().get_permissions())
        if self.request is None:
            return permissions
        if self.request.method in SAFE_METHODS:
            permissions.append(require_scopes(self.read_scope)())
        elif getattr(self, "action", None) in ("by_external_id", "bulk"):
            permissions += [ErpWriteAccess(), require_scopes(self.write_scope)()]
        return permissions

    def erp_queryset(self) -> QuerySet:
        """The rows the ERP's keys are looked up in, with what the answer shows."""
        return self.get_queryset()

    def represent(self, obj: Model) -> dict:
        return self.get_serializer(obj).data

    def _by_key(self, external_id: str) -> Model:
        key = ERP_KINDS[self.erp_kind].key
        lookup = "number" if key == "order_number" else key
        obj = self.erp_queryset().filter(**{lookup: external_id}).first()
        if obj is None:
            raise exceptions.NotFound()
        return obj

    @action(
        detail=False,
        methods=["get", "put"],
        url_path="by-external-id/<path:external_id>",
        url_name="by-external-id",
    )
    def by_external_id(self, request, external_id: str):
        if request.method == "GET":
            if ERP_KINDS[self.erp_kind].key_problems(external_id):
                raise exceptions.NotFound()  # no record can have it
            return Response(self.represent(self._by_key(external_id.strip())))
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(_("Send the record as a JSON object."))
        try:
            _report, created = erp_upsert_one(
                kind=self.erp_kind,
                tenant=request.tenant,
                external_id=external_id,
                record=request.data,
            )
        except ImportRejected as rejected:
            raise rejected_as_api_error(rejected.report, bulk=False) from None
        obj = self._by_key(external_id.strip())
        if not created:
            return Response(self.represent(obj))
        location = request.build_absolute_uri(
            reverse(f"api:{self.basename}-detail", kwargs={"pk": obj.pk})
        )
        return Response(self.represent(obj), status=201, headers={"Location": location})

    @action(detail=False, methods=["post"], url_path="bulk", url_name="bulk")
    def bulk(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        unknown = {
            str(name): [_("unknown field '%(field)s'") % {"field": name}]
            for name in body
            if name != "records"
        }
        if unknown:
            raise exceptions.ValidationError(unknown)
        records = body.get("records")
        if not isinstance(records, list):
            raise exceptions.ValidationError({"records": [_("Send the records as a list.")]})
        try:
            report = erp_upsert(kind=self.erp_kind, tenant=request.tenant, records=records)
        except ImportRejected as rejected:
            raise rejected_as_api_error(rejected.report, bulk=True) from None
        return Response({"records": len(records), "counts": counts_of(report)})


class ErpViewSet(ErpWritableMixin, TenantScopedViewSet):
    """List and detail of one kind, plus the ERP's writes. The lists sync like every other:
    `updated_since`, `created_from` / `created_to` and a cursor by the time of the last
    change (docs/api.md#syncing)."""

    filter_serializer_class = ListFilterSerializer
    cursor_field = "updated_at"
    created_field = "created_at"  # when the row was first written here

    @extend_schema(parameters=[ListFilterSerializer])
    def list(self, request, *args, **kwargs):
        rows = self.get_queryset()
        data = validated_filters(self, ListFilterSerializer)
        if (since := data.get("updated_since")) is not None:
            rows = rows.filter(updated_at__gte=since)
        if (start := data.get("created_from")) is not None:
            rows = rows.filter(**{f"{self.created_field}__date__gte": start})
        if (end := data.get("created_to")) is not None:
            rows = rows.filter(**{f"{self.created_field}__date__lte": end})
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.represent(self.get_object()))


def _staff_only(request) -> None:
    if not acts_for_tenant(request):
        raise exceptions.PermissionDenied(_("Only the tenant's staff may read the catalogue."))


@erp_schema("product-categories")
@extend_schema(tags=["catalogue"])
class ProductCategoryViewSet(ErpViewSet):
    """Product categories by code (staff and API keys)."""

    model = ProductCategory
    serializer_class = ProductCategoryDetailSerializer
    erp_kind = "product-categories"
    read_scope = "catalog:write"
    write_scope = "catalog:write"

    def scoped_queryset(self, *, user) -> QuerySet:
        _staff_only(self.request)
        return ProductCategory.objects.order_by("code", "pk")


@erp_schema("products")
@extend_schema(tags=["catalogue"])
class ProductViewSet(ErpViewSet):
    """Products by SKU (staff and API keys)."""

    model = Product
    serializer_class = ProductDetailSerializer
    erp_kind = "products"
    read_scope = "catalog:write"
    write_scope = "catalog:write"

    def scoped_queryset(self, *, user) -> QuerySet:
        _staff_only(self.request)
        return Product.objects.select_related("category").order_by("sku", "pk")


@erp_schema("customers")
@extend_schema(tags=["customers"])
class CustomerAccountViewSet(ErpViewSet):
    """Customer companies by customer number: staff and API keys see the tenant's, a
    customer user their own company."""

    model = CustomerAccount
    serializer_class = CustomerAccountDetailSerializer
    erp_kind = "customers"
    read_scope = "orders:read"
    write_scope = "orders:write"

    def scoped_queryset(self, *, user) -> QuerySet:
        accounts = CustomerAccount.objects.order_by("number", "pk")
        if acts_for_tenant(self.request):
            return accounts
        account = customer_account_for_user(user=user)
        return accounts.filter(pk=account.pk) if account else accounts.none()


@erp_schema("invoices")
@extend_schema(tags=["invoices"])
class InvoiceViewSet(ErpViewSet):
    """Invoices by number with the order lines they billed: staff and API keys see the
    tenant's, a customer user their company's."""

    model = Invoice
    serializer_class = InvoiceSerializer
    erp_kind = "invoices"
    created_field = "imported_at"
    read_scope = "orders:read"
    write_scope = "orders:write"

    def scoped_queryset(self, *, user) -> QuerySet:
        lines = OrderLine.objects.select_related("order").order_by("order__number", "line_number")
        invoices = (
            Invoice.objects.select_related("customer_account")
            .prefetch_related(Prefetch("lines", queryset=lines))
            .order_by("-issue_date", "-number", "-pk")
        )
        if acts_for_tenant(self.request):
            return invoices
        account = customer_account_for_user(user=user)
        return invoices.filter(customer_account=account) if account else invoices.none()


class CustomerUserInviteSerializer(serializers.Serializer):
    customer_number = serializers.CharField(max_length=40)
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=150, allow_blank=True, default="")
    role = serializers.ChoiceField(
        choices=[Role.CUSTOMER_USER, Role.CUSTOMER_ADMIN], default=Role.CUSTOMER_USER
    )
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        required=False,
        help_text="Default: the company's preferred language.",
    )


class CustomerUserSerializer(serializers.Serializer):
    """A user of a customer company. `id` is the user's id: the `on_behalf_of` of a case filed
    for them, the `requester`/`reporter` of their cases."""

    id = serializers.IntegerField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    role = serializers.ChoiceField(
        source="user.role", choices=[Role.CUSTOMER_USER, Role.CUSTOMER_ADMIN], read_only=True
    )
    language = serializers.CharField(source="user.language", read_only=True)
    is_active = serializers.BooleanField(source="user.is_active", read_only=True)
    customer = serializers.IntegerField(source="customer_account_id", read_only=True)
    customer_number = serializers.CharField(source="customer_account.number", read_only=True)
    invitation_pending = serializers.SerializerMethodField(
        help_text="Invited, and no password chosen yet: cases may already be filed for them."
    )
    last_login = serializers.DateTimeField(
        source="user.last_login", read_only=True, allow_null=True
    )

    def get_invitation_pending(self, membership: CustomerMembership) -> bool:
        return membership.user.last_login is None and not membership.user.has_usable_password()


class CustomerUserFilterSerializer(StrictInputSerializer):
    """Query parameters of the customer-user list."""

    customer = customer_filter()
    customer_number = serializers.CharField(
        required=False, max_length=40, help_text="The company's customer number (exact)."
    )
    email = serializers.CharField(
        required=False, max_length=254, help_text="The user's e-mail address (exact, any case)."
    )


@extend_schema_view(
    list=extend_schema(parameters=[CustomerUserFilterSerializer]),
)
@extend_schema(tags=["customers"])
class CustomerUserInviteViewSet(TenantScopedViewSet):
    """Users of customer companies: listed and read, and invited.

    Reads: staff and API keys (`orders:read`) see every customer user of the tenant, invited
    ones included; a customer user sees the colleagues of their company who took up their
    invitation (as the portal's team page shows them).

    One answer, 202, whatever the address: a new address gets an account and an e-mail to
    choose a password; an address with an account anywhere else (another company, another
    tenant, staff) gets an e-mail saying someone tried to invite it, and nothing changes
    (docs/security.md#team-invitations). Only an address already in that company's team is
    answered as such (400 `already_colleague`).
    """

    model = CustomerMembership
    serializer_class = CustomerUserInviteSerializer
    parser_classes = [JSONParser]
    read_scope = "orders:read"
    write_scope = "orders:write"
    filter_serializer_class = CustomerUserFilterSerializer
    # The user's id names a customer user (the membership is one per user).
    lookup_field = "user_id"
    lookup_url_kwarg = "id"

    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsTenantUser(), require_scopes(self.read_scope)()]
        return [IsTenantUser(), ErpWriteAccess(), require_scopes(self.write_scope)()]

    def get_serializer_class(self):
        if self.action in {"list", "retrieve"}:
            return CustomerUserSerializer
        return CustomerUserInviteSerializer

    def scoped_queryset(self, *, user) -> QuerySet:
        memberships = CustomerMembership.objects.select_related("user", "customer_account")
        if acts_for_tenant(self.request):
            memberships = memberships.order_by("customer_account__number", "user__email", "pk")
        else:
            account = customer_account_for_user(user=user)
            if account is None:
                return memberships.none()
            memberships = colleagues_of(customer_account=account).select_related("customer_account")
        if self.action != "list":
            return memberships
        data = validated_filters(self, CustomerUserFilterSerializer)
        if customers := data.get("customer"):
            memberships = memberships.filter(customer_account_id__in=customers)
        if number := data.get("customer_number"):
            memberships = memberships.filter(customer_account__number=number)
        if email := data.get("email"):
            memberships = memberships.filter(user__email__iexact=email)
        return memberships

    @extend_schema(responses=CustomerUserSerializer(many=True))
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CustomerUserSerializer(page, many=True).data)

    @extend_schema(responses=CustomerUserSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(CustomerUserSerializer(self.get_object()).data)

    @extend_schema(
        responses={
            202: {
                "type": "object",
                "properties": {
                    "email": {"type": "string"},
                    "customer_number": {"type": "string"},
                    "detail": {"type": "string"},
                },
            }
        }
    )
    def create(self, request):
        data = self._valid_input(request)
        account = CustomerAccount.objects.filter(number=data["customer_number"]).first()
        if account is None:
            message = _("unknown customer number '%(number)s'") % {
                "number": data["customer_number"]
            }
            raise exceptions.ValidationError({"customer_number": [message]})
        customer_user_invite(
            customer_account=account,
            email=data["email"],
            full_name=data["full_name"],
            role=data["role"],
            language=data.get("language") or account.preferred_language,
            actor=request.user,
            base_url=request.build_absolute_uri("/"),
            by_api_key=is_api_key(request),
        )
        message = _(
            "We sent an e-mail to %(email)s. The user appears in the company's team once they "
            "have chosen a password."
        ) % {"email": data["email"]}
        return Response(
            {"email": data["email"], "customer_number": account.number, "detail": message},
            status=202,
        )

    def _valid_input(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
