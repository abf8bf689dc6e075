"""The API's one error shape, `{"error": {"code", "message", "fields"}}`, for every 4xx answer,
with its codes (ERROR_CODES); and the API's schema class, which documents those answers on every
operation and makes the OpenAPI schema say exactly what the server accepts and answers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
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

# Every `error.code` an answer can carry: the schema's enum, docs/api.md's table. A new code is
# added here first (tests/api/test_contract.py finds codes raised anywhere that are not).
ERROR_CODES = {
    "invalid": "A field is missing, malformed or not allowed; `fields` names it.",
    "parse_error": "The body is not valid JSON (or form data).",
    "policy_refused": "The return policy refuses the submission (reasons per line in `fields`).",
    "invalid_upload": "The file is not a JPEG, PNG, WebP or PDF by content, too large, or damaged.",
    "invalid_credentials": "Token request with wrong or refused credentials.",
    "otp_required": "Token request without the two-factor code the user needs.",
    "invalid_otp": "Token request with a wrong or used two-factor code.",
    "too_many_tokens": "The user holds the most usable tokens allowed; revoke one first.",
    "invalid_role": "A role that cannot be given here.",
    "already_colleague": "The person already belongs to the company.",
    "self_lockout": "Users cannot deactivate their own account.",
    "import_rejected": "The import file cannot be read; nothing was imported.",
    "invalid_separator": "An export separator that is not allowed.",
    "not_authenticated": "No credentials were sent.",
    "authentication_failed": "The credentials are unknown, or their user can no longer sign in.",
    "token_expired": "The token has expired.",
    "token_revoked": "The token was revoked.",
    "api_key_revoked": "The API key was revoked.",
    "api_key_expired": "The API key has expired (or its grace period after a rotation ended).",
    "insufficient_scope": "The API key lacks the scope this request needs.",
    "too_many_api_keys": "The tenant holds the most usable API keys allowed; revoke one first.",
    "forbidden": "Authenticated, but this role may not do this.",
    "two_factor_required": "Two-factor sign-in must be set up first.",
    "not_found": "No such object for this user (or no such path).",
    "method_not_allowed": "The method is not allowed here; `Allow` lists the ones that are.",
    "not_acceptable": "The answer cannot be given in a type the `Accept` header allows.",
    "conflict": "The object's state (or version) does not allow this.",
    "idempotency_key_in_progress": "A request with this Idempotency-Key is still being served.",
    "idempotency_key_reused": "This Idempotency-Key was used for a different request.",
    "precondition_required": "The change must say which version it is based on (If-Match).",
    "unsupported_media_type": "The body's Content-Type is not one this operation reads.",
    "throttled": "Too many requests; retry after `Retry-After` seconds.",
    "locked_out": "Too many failed sign-ins; retry after `Retry-After` seconds.",
}


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


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer JSON in the error shape, not the HTML 404 page, for
    every method. Exempt from the CSRF check: it changes nothing, and an API client sending a
    token (no session cookie) would otherwise get Django's HTML "CSRF failed" page instead."""
    return JsonResponse(not_found_body(), status=404)


# --- OpenAPI --------------------------------------------------------------------------------


class ErrorCodeField(serializers.CharField):
    """`error.code`: documented as the enum ErrorCodeEnum of ERROR_CODES."""


class ErrorCodeFieldExtension(OpenApiSerializerFieldExtension):
    target_class = ErrorCodeField

    def get_name(self) -> str:
        return "ErrorCodeEnum"

    def map_serializer_field(self, auto_schema, direction) -> dict:
        return {
            "type": "string",
            "enum": list(ERROR_CODES),
            "description": "Stable machine-readable code:\n\n"
            + "\n".join(f"* `{code}` - {meaning}" for code, meaning in ERROR_CODES.items()),
        }


class ErrorSerializer(serializers.Serializer):
    code = ErrorCodeField()
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
    "405": "This method is not allowed on this path; the `Allow` header lists the ones that are.",
    "406": "The `Accept` header allows no type this operation answers with (JSON).",
    "409": "The object is not in a state that allows this (e.g. already approved), or it changed "
    "since the version sent in `If-Match`.",
    "415": "The body's `Content-Type` is not one this operation reads.",
    "428": "This change must carry `If-Match` with the ETag you read.",
    "429": "Too many requests (`throttled`), or too many failed sign-ins (`locked_out`); "
    "retry after the `Retry-After` seconds.",
}


def _error_example(code: str, message: str, fields: dict | None = None) -> dict:
    return {"summary": code, "value": error_body(code, message, fields)}


# One example answer per status: every operation shows what its errors look like.
ERROR_EXAMPLES = {
    "400": _error_example(
        "invalid", "This field is required.", {"lines[0].quantity": ["This field is required."]}
    ),
    "401": _error_example("not_authenticated", "Authentication credentials were not provided."),
    "403": _error_example("forbidden", "You do not have permission to perform this action."),
    "404": _error_example("not_found", "Not found."),
    "405": _error_example("method_not_allowed", 'Method "PUT" not allowed.'),
    "406": _error_example("not_acceptable", "Could not satisfy the request Accept header."),
    "409": _error_example(
        "conflict", "Return RMA-2026-000012 is approved; it cannot be approved now."
    ),
    "415": _error_example(
        "unsupported_media_type", 'Unsupported media type "text/plain" in request.'
    ),
    "428": _error_example("precondition_required", "Send If-Match with the ETag you read."),
    "429": _error_example("throttled", "Request was throttled. Expected available in 42 seconds."),
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


class ErrorShapeAutoSchema(AutoSchema):
    """The API's schema class (DEFAULT_SCHEMA_CLASS): it documents what the server really
    answers, so that generated clients and contract tests can rely on the schema.

    - every operation lists the shared error answers it can give, with an example of each;
    - required texts say they need a character that is not whitespace (the answer trims it);
    - fields some users' answers leave out (`may_be_absent`) are not marked required;
    - a model's optional choice that a serializer still answers as "" is documented with "".
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorResponseSerializer, code)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        for code, response in responses.items():
            media = (response.get("content") or {}).get("application/json")
            if media and media.get("schema") == ERROR_REF and code in ERROR_EXAMPLES:
                media.setdefault("examples", {code: ERROR_EXAMPLES[code]})
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        codes = []
        if getattr(self.view, "authentication_classes", None):
            codes += ["401", "403"]
        if self.method != "GET" or self._is_list_view():  # input, or query parameters
            codes.append("400")
        if "{" in self.path or self.method == "GET":  # a lookup, or a page that does not exist
            codes.append("404")
        codes.append("405")
        if isinstance(self.view.get_content_negotiator(), DefaultContentNegotiation):
            codes.append("406")
        if self.method == "POST" and "{" in self.path:  # transitions on an existing object
            codes.append("409")
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            codes.append("415")
        codes.append("429")
        return codes

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and getattr(field, "not_blank_pattern", None):
            schema["pattern"] = field.not_blank_pattern
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            # drf-spectacular leaves out the limits of a nested `many=True` serializer.
            minimum = field.min_length if field.allow_empty else max(field.min_length or 1, 1)
            if minimum:
                schema["minItems"] = minimum
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        if direction == "response" and _answers_blank_choice(field):
            schema["enum"] = [*schema["enum"], ""]
        if "oneOf" in schema:
            # A nullable field whose own schema is nullable too gets "null" twice, and then
            # null matches two branches of the oneOf: no value would be valid.
            branches = []
            for branch in schema["oneOf"]:
                if branch not in branches:
                    branches.append(branch)
            schema["oneOf"] = branches
        if direction == "request" and getattr(field.parent, "form_data", False):
            schema = _without_null(schema)
        elif direction == "request":
            schema = _nullable_format_as_one_of(schema)
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        fields = force_instance(serializer).fields
        absent = {name for name, field in fields.items() if getattr(field, "may_be_absent", False)}
        if absent and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in absent]
            if not schema["required"]:
                del schema["required"]
        return schema


def _nullable_format_as_one_of(schema: dict) -> dict:
    """`{"type": ["string", "null"], "format": "date"}` as `oneOf` a dated string or null.

    The same meaning in OpenAPI 3.1; spelled so because test generators that read a type list
    take any string for its string half (an empty one, for a date) and expect it accepted."""
    types = schema.get("type")
    if not (isinstance(types, list) and "null" in types and "format" in schema):
        return schema
    others = [kind for kind in types if kind != "null"]
    value = {key: item for key, item in schema.items() if key not in OUTER_KEYWORDS}
    value["type"] = others[0] if len(others) == 1 else others
    outer = {key: item for key, item in schema.items() if key in OUTER_KEYWORDS}
    return {"oneOf": [value, {"type": "null"}], **outer}


def _without_null(schema: dict) -> dict:
    """A form field's schema: form data has no null and no empty choice (an optional field is
    left out)."""
    if "" in schema.get("enum", ()):
        schema = {**schema, "enum": [value for value in schema["enum"] if value != ""]}
        if schema.get("default") == "":
            del schema["default"]
    types = schema.get("type")
    if isinstance(types, list) and "null" in types:
        others = [kind for kind in types if kind != "null"]
        schema = {**schema, "type": others[0] if len(others) == 1 else others}
    if "oneOf" in schema:
        schema = {**schema, "oneOf": [b for b in schema["oneOf"] if b != {"type": "null"}]}
    if schema.get("default", "") is None:
        schema = {key: item for key, item in schema.items() if key != "default"}
    return schema


# Keywords that describe a property rather than constrain its value.
OUTER_KEYWORDS = {"title", "description", "readOnly", "writeOnly", "default", "deprecated"}


def _answers_blank_choice(field) -> bool:
    """A ModelSerializer's choice field for a `blank=True` model field, which DRF answers as ""
    when empty (rma_portal.api.fields.BlankChoicesAsNullMixin answers null instead)."""
    if type(field) is not serializers.ChoiceField or "" in field.choices:
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in field.source or field.source == "*":
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False
