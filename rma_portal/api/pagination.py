"""How every list is paged: by page number, or, for syncing, by cursor.

- `?page=2&page_size=100`: pages of the list in its usual order (default 50, at most 200), with
  `count`. Rows added or changed between two requests shift the pages: fine for people, not
  for a program that must see every row.
- `?cursor=` (empty: from the start): the list in the order of its last change, oldest first,
  `(updated_at, id)`, and `next_cursor`, the position after the last row answered. A position
  is a place in that order, not an offset: rows inserted or changed while a client pages are
  neither skipped nor repeated before it; a changed row moves to the end and comes again. A
  client stores the last `next_cursor` and asks with it later to get what changed since
  (docs/api.md#syncing). Only lists of objects with an `updated_at` offer it (`cursor_field`
  on the view).

Parameters are checked strictly: a page or page size that is not a whole number in range is 400
(not silently the default), and so is any query parameter the list does not know
(rma_portal.api.filters).
"""

from __future__ import annotations

import datetime
import re
from collections import OrderedDict

from django.db.models import Q
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .fields import StrictIntegerField
from .filters import QueryParameter, check_query_parameters, parameters_of

MAX_PAGE_SIZE = 200


class PaginationParametersSerializer(serializers.Serializer):
    page = StrictIntegerField(required=False, min_value=1)
    page_size = StrictIntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
    cursor = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


# A cursor is "<microseconds since 1970 (UTC)>_<id>" of the last row answered: any text of this
# form is a position (the schema's pattern says exactly which texts are cursors).
CURSOR_PATTERN = r"^([0-9]{1,17}_[0-9]{1,18})?$"
_CURSOR = re.compile(CURSOR_PATTERN)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def encode_cursor(moment: datetime.datetime, pk: int) -> str:
    return f"{(moment - EPOCH) // MICROSECOND}_{pk}"


def decode_cursor(cursor: str) -> tuple[datetime.datetime, int]:
    """The position a non-empty cursor names; ValueError for a text that is not a cursor."""
    # match(), like the schema's pattern read by Python: `$` also before a final newline.
    if not cursor or not _CURSOR.match(cursor):
        raise ValueError(cursor)
    microseconds, pk = cursor.strip().split("_")
    return EPOCH + int(microseconds) * MICROSECOND, int(pk)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"

    # --- which parameters -----------------------------------------------------------------

    @staticmethod
    def cursor_field(view) -> str | None:
        """The timestamp a list is synced by, when the list offers cursors."""
        if getattr(view, "action", None) != "list":
            return None
        return getattr(view, "cursor_field", None)

    def allowed_parameters(self, view) -> dict[str, QueryParameter]:
        """The query parameters of the list `view` answers: paging and its filters."""
        allowed = {
            self.page_query_param: QueryParameter(),
            self.page_size_query_param: QueryParameter(),
        }
        if self.cursor_field(view):
            allowed[self.cursor_query_param] = QueryParameter(may_be_empty=True)
        if getattr(view, "action", None) == "list":
            allowed.update(parameters_of(getattr(view, "filter_serializer_class", None)))
        return allowed

    def _parameters(self, request, view) -> dict:
        check_query_parameters(request.query_params, self.allowed_parameters(view))
        form = PaginationParametersSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "page" in data and "cursor" in data:
            message = _("Page either by page number or by cursor, not both.")
            raise exceptions.ValidationError({self.cursor_query_param: [message]})
        return data

    # --- paging ---------------------------------------------------------------------------

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        parameters = self._parameters(request, view)
        self.validated_page_size = parameters.get("page_size", self.page_size)
        self.cursor_mode = "cursor" in parameters
        self.next_cursor = None
        if self.cursor_mode:
            return self._paginate_by_cursor(queryset, parameters["cursor"], view)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        return self.validated_page_size

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param) or 1

    def _paginate_by_cursor(self, queryset, cursor: str, view) -> list:
        field = self.cursor_field(view)
        if cursor:
            try:
                moment, pk = decode_cursor(cursor)
            except ValueError:
                message = _("This cursor is not valid: use a `next_cursor` of this list.")
                raise exceptions.ValidationError({self.cursor_query_param: [message]}) from None
            after = Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": pk})
            queryset = queryset.filter(after)
        rows = list(queryset.order_by(field, "pk")[: self.validated_page_size + 1])
        self.has_next = len(rows) > self.validated_page_size
        rows = rows[: self.validated_page_size]
        self.next_cursor = encode_cursor(getattr(rows[-1], field), rows[-1].pk) if rows else cursor
        return rows

    def get_next_link(self):
        if not self.cursor_mode:
            return super().get_next_link()
        if not self.has_next:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, self.next_cursor)

    def get_previous_link(self):
        return None if self.cursor_mode else super().get_previous_link()

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("count", None if self.cursor_mode else self.page.paginator.count),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("next_cursor", self.next_cursor),
                    ("results", data),
                ]
            )
        )

    # --- schema ---------------------------------------------------------------------------

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "next", "previous", "next_cursor", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": "Rows in the whole list; null when paging by cursor.",
                    "example": 123,
                },
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page; null on the last one.",
                    "example": "https://rma.example/api/v1/returns/?page=4",
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The previous page; always null when paging by cursor.",
                    "example": "https://rma.example/api/v1/returns/?page=2",
                },
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "When paging by cursor: the position after the last row "
                    "answered, also on the last page. Keep it and ask with `cursor=` it later "
                    "to get what changed since. Null when paging by page number.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        parameters = [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number (from 1). A page past the end answers 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
        if self.cursor_field(view):
            parameters.append(
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Page by cursor instead of page number: empty for the "
                    "start, then a `next_cursor` of this list. Rows come oldest change first, "
                    "by `updated_at` and `id`; not together with `page`.",
                    "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                }
            )
        return parameters
