"""Tenant API keys over the API: `/api/v1/api-keys/` for the tenant's admins (signed in, or
with their personal token; never with an API key). The secret of a new or rotated key is in
that one answer only."""

from __future__ import annotations

import datetime

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from rma_portal.api.fields import StrictInputSerializer
from rma_portal.api.permissions import IsTenantAdmin
from rma_portal.api.views import TenantScopedViewSet

from .models import ApiKey, ApiScope, CredentialState, RevokeReason
from .services import (
    API_KEY_NAME_MAX_LENGTH,
    DEFAULT_ROTATION_GRACE,
    MAX_ROTATION_GRACE,
    issue_api_key,
    revoke_api_key,
    rotate_api_key,
)

_HOUR = datetime.timedelta(hours=1)

# --- serializers ---------------------------------------------------------------------------


class ApiKeySerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(
        choices=CredentialState.choices, read_only=True, help_text="active, expired or revoked"
    )
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiScope.choices))
    created_by = serializers.SerializerMethodField(help_text="E-mail of who created the key.")
    rotated_to = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The key that replaced this one (after a rotation).",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "state",
            "revoked_at",
            "revoked_reason",
            "rotated_to",
            "rotated_at",
        ]
        read_only_fields = fields

    def get_created_by(self, api_key: ApiKey) -> str | None:
        return api_key.created_by.email if api_key.created_by_id else None


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True,
        help_text="The secret: shown only in this answer. Send it as `Authorization: Api-Key "
        "<key>`.",
    )

    class Meta(ApiKeySerializer.Meta):
        fields = ["key", *ApiKeySerializer.Meta.fields]
        read_only_fields = fields


class ApiKeyCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(
        max_length=API_KEY_NAME_MAX_LENGTH,
        help_text="The system that uses the key, e.g. ERP.",
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiScope.choices),
        allow_empty=False,
        min_length=1,
        help_text="What the key may do; see docs/api.md for each scope.",
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="A time in the future; null or left out: until revoked or rotated.",
    )


class ApiKeyRotateSerializer(StrictInputSerializer):
    grace_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ROTATION_GRACE // _HOUR,
        help_text=f"How long the old key keeps working (default {DEFAULT_ROTATION_GRACE // _HOUR}"
        f", at most {MAX_ROTATION_GRACE // _HOUR}; 0: it stops at once).",
    )


# --- /api-keys/ ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="The tenant's API keys, newest first (never their secret)"),
    retrieve=extend_schema(summary="One API key"),
    create=extend_schema(
        summary="Create an API key",
        request=ApiKeyCreateSerializer,
        responses={201: IssuedApiKeySerializer},
    ),
    destroy=extend_schema(
        summary="Revoke an API key",
        description="It stops working at once and stays in the list, as revoked.",
        responses={204: None},
    ),
)
@extend_schema(tags=["api-keys"])
class ApiKeyViewSet(TenantScopedViewSet):
    """The tenant's API keys, for its tenant admins. Another tenant's id answers 404."""

    model = ApiKey
    serializer_class = ApiKeySerializer
    permission_classes = [IsTenantAdmin]
    parser_classes = [JSONParser]
    # A replay would have to keep the new secret: retries create another key (revoke it).
    idempotent_posts = False

    def scoped_queryset(self, *, user):
        return ApiKey.objects.filter(tenant_id=user.tenant_id).select_related("created_by")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(ApiKeySerializer(self.get_object()).data)

    def create(self, request, *args, **kwargs):
        form = ApiKeyCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        issued = issue_api_key(
            tenant=request.user.tenant,
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
            actor=request.user,
            via="api",
            request=request,
        )
        return self._issued(issued)

    def destroy(self, request, *args, **kwargs):
        revoke_api_key(
            self.get_object(),
            actor=request.user,
            reason=RevokeReason.BY_API,
            via="api",
            request=request,
        )
        return Response(status=204)

    @extend_schema(
        summary="Rotate an API key",
        description="A new key with the same name, scopes and expiry; the old one keeps working "
        "for `grace_hours` (default 24), then answers 401 `api_key_expired`. A key already "
        "rotated, revoked or expired answers 409.",
        request=ApiKeyRotateSerializer,
        responses={201: IssuedApiKeySerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        api_key = self.get_object()
        form = ApiKeyRotateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        hours = form.validated_data.get("grace_hours")
        issued = rotate_api_key(
            api_key,
            actor=request.user,
            grace=None if hours is None else datetime.timedelta(hours=hours),
            via="api",
            request=request,
        )
        return self._issued(issued)

    def _issued(self, issued) -> Response:
        api_key = issued.api_key
        api_key.key = issued.key
        return Response(IssuedApiKeySerializer(api_key).data, status=201)

    def created_location(self, request, data) -> str | None:
        # A rotation creates a key too: its own detail URL, not the old key's rotate URL.
        path = self.reverse_action("detail", kwargs={"pk": data["id"]})
        return request.build_absolute_uri(path)
