"""Personal API tokens over the API: issue one for e-mail and password (and a two-factor code
when the user has a device), list one's own, revoke one, or the one in use.

`TokenEndpoint` holds the behaviour of `/auth/token/` (AuthTokenView in views.py adds the
throttles); the tokens themselves live in rma_portal.credentials.
"""

from __future__ import annotations

import django_otp
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from rma_portal.accounts import two_factor
from rma_portal.credentials.models import CredentialState, PersonalToken, RevokeReason
from rma_portal.credentials.services import (
    NAME_MAX_LENGTH,
    issue_personal_token,
    lifetime_message,
    max_lifetime_days,
    revoke_token,
    two_factor_setup_message,
    two_factor_setup_missing,
)
from rma_portal.errors import ApplicationError
from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction

from .exceptions import ERROR_DESCRIPTIONS, ErrorResponseSerializer
from .permissions import IsPerson, IsTenantUser, TenantTokenAuthentication, is_tenant_user

# --- serializers ---------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=NAME_MAX_LENGTH,
        help_text="What the token is for; shown in the list of tokens. Default: API token.",
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Days until the token expires (default API_TOKEN_DEFAULT_DAYS, 90; at most "
        "API_TOKEN_MAX_DAYS, 365).",
    )
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="A current code of the user's authenticator app, or a recovery code; "
        "required when the user has turned on two-factor sign-in.",
    )

    def validate_expires_in_days(self, value: int) -> int:
        if value > max_lifetime_days():
            raise serializers.ValidationError(lifetime_message())
        return value


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="The secret: shown only in this answer. Send it as `Authorization: Token "
        "<token>`."
    )
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="How the token starts; shown in lists.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class PersonalTokenSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(
        choices=CredentialState.choices, read_only=True, help_text="active, expired or revoked"
    )
    current = serializers.SerializerMethodField(
        help_text="True for the token that authenticates this request."
    )

    class Meta:
        model = PersonalToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "state",
            "revoked_at",
            "revoked_reason",
            "current",
        ]
        read_only_fields = fields

    def get_current(self, obj: PersonalToken) -> bool:
        request = self.context.get("request")
        auth = getattr(request, "auth", None)
        return isinstance(auth, PersonalToken) and auth.pk == obj.pk


UNAUTHENTICATED = OpenApiResponse(ErrorResponseSerializer, description=ERROR_DESCRIPTIONS["401"])


# --- /auth/token/ --------------------------------------------------------------------------


class TokenEndpoint(APIView):
    """POST: e-mail and password (and `otp` with two-factor sign-in) for a new named token.
    DELETE: revoke the token that authenticates the call.

    POST takes no credentials (the class's `authentication_classes`, empty: no session, so
    no CSRF); DELETE takes only a token.
    """

    def get_authenticators(self):
        # `self.request` is Django's request here (set before DRF wraps it), or the schema
        # generator's mock request.
        if getattr(getattr(self, "request", None), "method", "") == "DELETE":
            return [TenantTokenAuthentication()]
        return super().get_authenticators()

    def get_permissions(self):
        if getattr(getattr(self, "request", None), "method", "") == "DELETE":
            return [IsTenantUser()]
        return super().get_permissions()

    @extend_schema(
        tags=["auth"],
        operation_id="auth_token_create",
        request=TokenRequestSerializer,
        responses={
            200: IssuedTokenSerializer,
            400: ErrorResponseSerializer,
            403: ErrorResponseSerializer,
            429: ErrorResponseSerializer,
        },
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # RoleBackend refuses inactive users and users of an inactive tenant or company; the
        # answer does not say which, like the login page.
        user = authenticate(request, username=data["email"], password=data["password"])
        if user is None:
            raise ApplicationError(
                _("Unable to sign in with this e-mail and password."),
                code="invalid_credentials",
            )
        if not is_tenant_user(user):
            raise ApplicationError(str(IsTenantUser.message), code="forbidden")
        if django_otp.user_has_device(user, confirmed=True):
            _verify_second_factor(request, user, data.get("otp", ""))
        elif two_factor_setup_missing(user):
            raise exceptions.PermissionDenied(
                two_factor_setup_message(), code="two_factor_required"
            )
        issued = issue_personal_token(
            user=user,
            name=data.get("name", ""),
            expires_in_days=data.get("expires_in_days"),
            via="api",
            request=request,
        )
        token = issued.token
        answer = {
            "token": issued.key,
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
        }
        return Response(IssuedTokenSerializer(answer).data)

    @extend_schema(
        tags=["auth"],
        operation_id="auth_token_destroy",
        request=None,
        responses={
            204: None,
            401: UNAUTHENTICATED,
            429: OpenApiResponse(ErrorResponseSerializer, description=ERROR_DESCRIPTIONS["429"]),
        },
    )
    def delete(self, request):
        revoke_token(
            request.auth, reason=RevokeReason.BY_OWNER, actor=request.user, request=request
        )
        return Response(status=204)


def _verify_second_factor(request, user, otp: str) -> None:
    """A current TOTP code or an unused recovery code of the user's, else 400."""
    if not otp:
        message = _("Enter the code from your authenticator app, or a recovery code.")
        raise ApplicationError(message, code="otp_required", fields={"otp": [message]})
    # The sign-in page's own check: one code is accepted once, and django-otp's growing wait
    # after wrong codes holds here too (a throttled check counts as wrong).
    check = two_factor.check_code(user, otp)
    if not check.ok:
        record(AuditAction.TWO_FACTOR_FAILED, request=request, user=user, target=user)
        message = _("This code is wrong or has expired.")
        raise ApplicationError(message, code="invalid_otp", fields={"otp": [message]})
    if check.recovery:
        record(
            AuditAction.RECOVERY_CODE_USED,
            request=request,
            user=user,
            target=user,
            details={"codes_left": two_factor.recovery_codes_left(user)},
        )


# --- /auth/tokens/ -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(tags=["auth"], operation_id="auth_tokens_list"),
    retrieve=extend_schema(tags=["auth"], operation_id="auth_tokens_retrieve"),
    destroy=extend_schema(
        tags=["auth"],
        operation_id="auth_tokens_destroy",
        description="Revoke one of your tokens. It stays in the list, as revoked.",
        responses={204: None},
    ),
)
class PersonalTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, GenericViewSet
):
    """The caller's own tokens, newest first, never with their secret. Another user's id
    answers 404 like a missing one."""

    serializer_class = PersonalTokenSerializer
    permission_classes = [IsTenantUser, IsPerson]
    lookup_value_converter = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PersonalToken.objects.none()
        return PersonalToken.objects.filter(user=self.request.user)

    def perform_destroy(self, instance: PersonalToken) -> None:
        instance.user = self.request.user
        revoke_token(
            instance, reason=RevokeReason.BY_OWNER, actor=self.request.user, request=self.request
        )
