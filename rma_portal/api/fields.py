"""Serializer fields that make the API's input and output exactly what the OpenAPI schema says.

DRF's own fields are lenient: a CharField turns `0` into `"0"`, an IntegerField takes `"5"` and
`5.0`, a BooleanField takes `1` and `"yes"`. A client whose bug sends the wrong type would then
have its request carried out with a value it never meant (a return rejected with the reason
"0"). The strict fields here take a JSON value only of the documented type. Form data and query
strings (multipart uploads, list filters) are text by nature, so there they take the text
spelling of the type, and only the canonical one (`"true"`, `"12"`).

On output, a choice a record has not got yet (a return not resolved) is `null`, never `""`,
which no enum of the schema allows.
"""

from __future__ import annotations

import re

from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.utils import html
from rest_framework.utils.formatting import lazy_format

from rma_portal.ids import MAX_ID

# Ids are bigint columns (DEFAULT_AUTO_FIELD): anything larger cannot name a row.
ID_MAX = MAX_ID
# Quantities are integer columns: the default maximum of an integer input.
QUANTITY_MAX = 2**31 - 1
# What a required text must contain to be more than blank: a character that is whitespace
# neither to Python (which trims \x1c-\x1f and \x85 too) nor to JavaScript's regular expressions
# (which count \ufeff), so that the schema's pattern means the same to every reader.
NOT_BLANK_PATTERN = r"[^\s\x1c-\x1f\x85\ufeff]"
_NOT_BLANK = re.compile(NOT_BLANK_PATTERN)

_INTEGER_TEXT = re.compile(r"-?[0-9]+")


def from_form_data(field: serializers.Field) -> bool:
    """The field's input came as form data or a query string (a QueryDict), not as JSON."""
    return html.is_html_input(getattr(field.root, "initial_data", None))


class StrictCharField(serializers.CharField):
    """Text that must be sent as a JSON string; `max_length` counts the text as sent.

    With `allow_blank=False` the schema documents what the answer checks: at least one
    character that is not whitespace (NOT_BLANK_PATTERN), since surrounding whitespace is
    trimmed.
    """

    @property
    def not_blank_pattern(self) -> str | None:
        return NOT_BLANK_PATTERN if not self.allow_blank and self.trim_whitespace else None

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if self.not_blank_pattern and not _NOT_BLANK.search(data):
            self.fail("blank")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A whole number: a JSON integer (`5`, or `5.0`, which JSON Schema counts as one too; not
    `true`, `5.5` or `"5"`), or its decimal digits in form data and query strings."""

    def to_internal_value(self, data):
        if isinstance(data, str) and from_form_data(self):
            if not _INTEGER_TEXT.fullmatch(data) or len(data) > self.MAX_STRING_LENGTH:
                self.fail("invalid")
            return int(data)
        if isinstance(data, float) and data.is_integer():
            return int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false`: a JSON boolean, or the words `true` / `false` in form data."""

    FORM_VALUES = {"true": True, "false": False}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and from_form_data(self) and data in self.FORM_VALUES:
            return self.FORM_VALUES[data]
        self.fail("invalid")


class StrictDecimalField(serializers.DecimalField):
    """An amount as the schema documents it: a string of digits ("12.50"), never a JSON number
    (a float would have lost cents before the server saw it)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


STRICT_FIELDS: dict[type[serializers.Field], type[serializers.Field]] = {
    serializers.CharField: StrictCharField,
    serializers.IntegerField: StrictIntegerField,
    serializers.BooleanField: StrictBooleanField,
    serializers.DecimalField: StrictDecimalField,
}


def make_strict(field: serializers.Field) -> serializers.Field:
    """The field, made strict in place (a copy owned by one serializer instance): DRF's plain
    text, integer, boolean and decimal fields become the strict ones; an integer without a
    maximum gets the largest value an integer column holds, so that no number reaches the
    database that it would refuse with an error."""
    strict = STRICT_FIELDS.get(type(field))
    if strict is not None:
        field.__class__ = strict
    if isinstance(field, serializers.IntegerField) and field.max_value is None:
        field.max_value = QUANTITY_MAX
        message = lazy_format(field.error_messages["max_value"], max_value=QUANTITY_MAX)
        field.validators.append(MaxValueValidator(QUANTITY_MAX, message=message))
    if isinstance(field, serializers.ListField):
        make_strict(field.child)
    return field


class StrictInputSerializer(serializers.Serializer):
    # Base of every input serializer of the API (bodies and list filters): its fields take only
    # values of their documented JSON type (see the module's docstring). Fields of DRF's own
    # classes are made strict when the serializer is built, so a field added later is strict
    # too; nested input serializers inherit from this as well. (A comment, not a docstring:
    # drf-spectacular would show a base class's docstring as every subclass's description.)

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            make_strict(field)
        return fields


class FormDataInput:
    # Mixed into an input serializer read from multipart form data. There a value cannot be
    # null, nor an empty choice: an optional field is left out instead (the schema documents
    # neither). A field may come several times: a single-valued one given twice is refused,
    # never "the last one wins".
    form_data = True

    def to_internal_value(self, data):
        if html.is_html_input(data):
            errors = {}
            for name, field in self.fields.items():
                values = data.getlist(name)
                if not isinstance(field, serializers.ListField) and len(values) > 1:
                    errors[name] = [str(REPEATED_FIELD)]
                elif isinstance(field, serializers.ChoiceField) and values == [""]:
                    errors[name] = [str(EMPTY_FIELD)]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


REPEATED_FIELD = gettext_lazy("Give this field once.")
EMPTY_FIELD = gettext_lazy("Give a value, or leave the field out.")


def id_field(**kwargs) -> StrictIntegerField:
    """The id of a row: a whole number from 1 to the largest id a row can have."""
    return StrictIntegerField(min_value=1, max_value=ID_MAX, **kwargs)


class RepeatedParameterField(serializers.ListField):
    """A query parameter that may be repeated; its errors are named after the parameter, not
    after a position (`status`, not `status[1]`), since the query string has no list."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {0: exc.detail}
            raise serializers.ValidationError(
                [message for messages in detail.values() for message in messages]
            ) from None


def multiple(child: serializers.Field, **kwargs) -> serializers.ListField:
    """A query parameter that may be repeated (`status=a&status=b`): any of the values."""
    return RepeatedParameterField(child=child, required=False, min_length=1, **kwargs)


# --- output ---------------------------------------------------------------------------------


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A model's optional choice (`blank=True`) as the API answers it: the value, or null."""

    def to_representation(self, value):
        if value in ("", None):
            return None
        return super().to_representation(value)


class BlankAsNullCharField(serializers.CharField):
    """Read-only text that is null rather than "" when there is none (e.g. the label of a
    choice not made yet)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return str(value) if value else None


class BlankChoicesAsNullMixin:
    # For a ModelSerializer: every optional choice of the model (`blank=True`) is answered as
    # null when empty, and documented so (DRF would answer "" and document an enum without it).
    # A comment, not a docstring, for the reason given in StrictInputSerializer.

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if getattr(model_field, "choices", None) and model_field.blank:
            field_class = BlankAsNullChoiceField
            kwargs["allow_null"] = True
            kwargs.pop("allow_blank", None)
        return field_class, kwargs


def may_be_absent(field: serializers.Field) -> serializers.Field:
    """Marks an answer's field that some users' answers leave out (documented as optional).

    The mark is the field's class (a subclass with `may_be_absent`): serializers copy their
    declared fields by building them anew from the class and arguments."""
    field.__class__ = _absent_class(type(field))
    return field


_ABSENT_CLASSES: dict[type, type] = {}


def _absent_class(cls: type) -> type:
    if cls not in _ABSENT_CLASSES:
        _ABSENT_CLASSES[cls] = type(cls.__name__, (cls,), {"may_be_absent": True})
    return _ABSENT_CLASSES[cls]
