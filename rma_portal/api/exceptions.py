"""The API's one error shape, `{"error": {"code", "message", "fields"}}`, for every 4xx answer,
and its documentation as a shared component of the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from rma_portal.errors import ApplicationError, error_body
from rma_portal.security.lockout import API_LOCKED_OUT_MESSAGE, locked_until, retry_after_seconds

# ApplicationError codes with their own HTTP status; every other code is bad input (400).
STATUS_BY_ERROR_CODE = {"conflict": 409, "forbidden": 403, "not_found": 404}
# DRF's code for a refused permission, renamed to the code services use for the same thing.
RENAMED_CODES = {"permission_denied": "forbidden"}


class PreconditionRequired(exceptions.APIException):
    """428: a change that must say which version of the object it is based on (If-Match)."""

    status_code = 428
    default_detail = "Send If-Match with the ETag you read."
    default_code = "precondition_required"


def not_found_body() -> dict:
    # A foreign id and a missing one look the same: never more than this
    # (docs/architecture.md#tenancy).
    return error_body("not_found", str(exceptions.NotFound.default_detail))


def _flatten(detail: Any, prefix: str, into: dict[str, list[str]]) -> None:
    """DRF's nested validation errors as `{"lines[0].quantity": [...]}`, the keys services use."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # ListField / DictField children are keyed by index
                path = f"{prefix}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                path = prefix  # a nested object's own error belongs to the field holding it
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            _flatten(value, path, into)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, value in enumerate(detail):  # a nested many=True serializer
            if value:
                _flatten(value, f"{prefix}[{index}]", into)
    elif isinstance(detail, list):
        into.setdefault(prefix or api_settings.NON_FIELD_ERRORS_KEY, []).extend(
            str(item) for item in detail
        )
    else:
        into.setdefault(prefix or api_settings.NON_FIELD_ERRORS_KEY, []).append(str(detail))


def _validation_error_body(exc: exceptions.ValidationError) -> dict:
    fields: dict[str, list[str]] = {}
    _flatten(exc.detail, "", fields)
    first = next((messages[0] for messages in fields.values() if messages), "")
    if list(fields) == [api_settings.NON_FIELD_ERRORS_KEY]:
        fields = {}  # a message about the request as a whole, not about one field
    return error_body("invalid", first or str(exceptions.ValidationError.default_detail), fields)


def locked_out_response(request) -> Response:
    """429 for a sign-in the lockout refused (rma_portal/security/lockout.py), with the seconds
    until it ends in Retry-After."""
    until = locked_until(request, getattr(request, "axes_credentials", None))
    return Response(
        error_body("locked_out", str(API_LOCKED_OUT_MESSAGE)),
        status=429,
        headers={"Retry-After": str(retry_after_seconds(until))},
    )


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every 4xx in one shape; anything else stays a 500."""
    request = context.get("request")
    if request is not None and getattr(request, "axes_locked_out", False):
        # The lockout refused the credentials without checking them: whatever the view made
        # of the refusal, the client learns that it is locked out, and for how long.
        return locked_out_response(request)
    if isinstance(exc, ApplicationError):
        set_rollback()  # services roll back their own work; this covers ATOMIC_REQUESTS too
        status = STATUS_BY_ERROR_CODE.get(exc.code, 400)
        if status == 404:
            return Response(not_found_body(), status=404)
        return Response(error_body(exc.code, str(exc.message), exc.fields), status=status)
    if isinstance(exc, DjangoPermissionDenied):
        # Django's exception carries no user-facing text of ours: use DRF's generic one.
        exc = exceptions.PermissionDenied(*(exc.args or (None,)))
    response = drf_exception_handler(exc, context)  # headers (WWW-Authenticate, Retry-After)
    if response is None:
        return None
    if isinstance(exc, Http404 | exceptions.NotFound):
        response.data = not_found_body()
    elif isinstance(exc, exceptions.ValidationError):
        response.data = _validation_error_body(exc)
    else:
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = error_body(RENAMED_CODES.get(code, code), str(exc.detail))
    return response


def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer JSON in the error shape, not the HTML 404 page."""
    return JsonResponse(not_found_body(), status=404)


# --- OpenAPI --------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable machine-readable code, e.g. invalid, not_authenticated, forbidden, "
        "not_found, conflict, policy_refused, invalid_upload, throttled, locked_out."
    )
    message = serializers.CharField(help_text="A sentence for people, in the user's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages per input field; nested fields are named like "lines[0].quantity".',
    )


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Bad input; nothing was changed. `fields` names the fields at fault.",
    "401": "Not authenticated: send `Authorization: Token <key>`.",
    "403": "Authenticated, but this role may not do this.",
    "404": "Not found (also for another tenant's or company's objects): \"Not found.\" only.",
    "409": "The object is not in a state that allows this (e.g. already approved).",
    "429": "Too many requests (`throttled`), or too many failed sign-ins (`locked_out`); "
    "retry after the `Retry-After` seconds.",
}


class ErrorShapeAutoSchema(AutoSchema):
    """Adds the shared error responses to every operation, so clients can rely on them."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = []
        if getattr(self.view, "authentication_classes", None):
            codes += ["401", "403"]
        if self.method != "GET" or "{" not in self.path:  # input or query filters
            codes.append("400")
        if "{" in self.path or self.method == "GET":  # a lookup, or a page that does not exist
            codes.append("404")
        if self.method == "POST" and "{" in self.path:  # transitions on an existing object
            codes.append("409")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorResponseSerializer, code)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return dict(sorted(responses.items()))
