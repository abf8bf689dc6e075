"""Query parameters of the API's lists: what every list takes, and the one check that a request
names only parameters the list knows, each once unless it may be repeated.

A parameter the list does not know (a typo, `stauts=approved`) would otherwise be ignored and the
client would take an unfiltered list for a filtered one; a single-valued parameter given twice
would silently mean its last value. Both answer 400 instead, naming the parameters allowed.
A parameter that may be repeated (`status=submitted&status=approved`) means any of its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers

from .fields import StrictInputSerializer, id_field, multiple


class ListFilterSerializer(StrictInputSerializer):
    """Base of a list's filters: the parameters every list takes for syncing.

    A multi-valued filter is a `multiple(...)` field (a ListField): repeated, any of its values.
    """

    updated_since = serializers.DateTimeField(
        required=False,
        help_text="Changed at or after this moment (ISO 8601 with a time zone, e.g. "
        "2026-12-01T08:00:00Z; without one, the tenant's time zone). Combine with `cursor` to "
        "sync changes.",
    )
    created_from = serializers.DateField(required=False, help_text="Created on or after (date).")
    created_to = serializers.DateField(required=False, help_text="Created on or before (date).")

    def validate(self, attrs):
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"created_to": [_("The end date must not be before the start date.")]}
            )
        return attrs


def customer_filter() -> serializers.ListField:
    return multiple(id_field(), help_text="Customer company id; repeat for any of several.")


def assignee_filter(help_text: str = "") -> serializers.ListField:
    return multiple(
        id_field(),
        help_text=help_text or "User id of the assigned agent; repeat for any of several.",
    )


def validated_filters(view, serializer_class: type[serializers.Serializer]) -> dict:
    """The list's filters from the query string, or 400 naming the fields at fault."""
    filters = serializer_class(data=view.request.query_params, context={"view": view})
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


@dataclass(frozen=True)
class QueryParameter:
    """What a list accepts of one query parameter: given several times (any of the values),
    or empty (`?search=`)."""

    repeatable: bool = False
    may_be_empty: bool = False


def parameters_of(serializer_class: type[serializers.Serializer] | None) -> dict:
    """{name: QueryParameter} of a filter serializer's fields."""
    if serializer_class is None:
        return {}
    return {
        name: QueryParameter(
            repeatable=isinstance(field, serializers.ListField),
            may_be_empty=getattr(field, "allow_blank", False),
        )
        for name, field in serializer_class().fields.items()
    }


UNKNOWN_PARAMETER = gettext_lazy("Unknown query parameter. Allowed: %(allowed)s.")
REPEATED_PARAMETER = gettext_lazy("Give this parameter once.")
EMPTY_PARAMETER = gettext_lazy("Give a value, or leave the parameter out.")


def check_query_parameters(query_params, allowed: Mapping[str, QueryParameter]) -> None:
    """400 for a parameter not in `allowed`, a single-valued one given more than once, or an
    empty value where the parameter takes none; every fault is named in `fields`. (DRF would
    ignore the first, take the last of the second and treat the third as absent.)"""
    errors: dict[str, list[str]] = {}
    listed = ", ".join(sorted(allowed)) or "-"
    for name in query_params:
        values = query_params.getlist(name)
        rule = allowed.get(name)
        if rule is None:
            errors[name] = [str(UNKNOWN_PARAMETER) % {"allowed": listed}]
        elif not rule.repeatable and len(values) > 1:
            errors[name] = [str(REPEATED_PARAMETER)]
        elif not rule.may_be_empty and "" in values:
            errors[name] = [str(EMPTY_PARAMETER)]
    if errors:
        raise exceptions.ValidationError(errors)
