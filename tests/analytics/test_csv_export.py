"""CSV exports: what a spreadsheet user receives (encoding, separators, quoting, formula
neutralisation, local times) and that rows are streamed, not loaded up front."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation

from rma_portal.csv_export import (
    csv_response,
    csv_stream,
    default_separator,
    safe_cell,
    separator_from,
)
from rma_portal.errors import ApplicationError
from rma_portal.tenancy.context import get_current_tenant
from rma_portal.tenancy.middleware import TenantMiddleware

HEADER = ["Number", "Customer", "Refund"]


def exported_text(chunks) -> str:
    return "".join(chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks)


def parse(text: str, separator: str = ",") -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=separator))


def test_the_export_starts_with_a_bom_then_the_header():
    chunks = list(csv_stream(header=HEADER, rows=[["RMA-1", "Acme", Decimal("10.00")]]))

    assert chunks[0] == "\ufeff"
    assert chunks[1] == "Number,Customer,Refund\r\n"
    assert chunks[2] == "RMA-1,Acme,10.00\r\n"


def test_the_response_body_is_utf8_with_a_bom():
    response = csv_response(filename="returns.csv", header=["Klient"], rows=[["Łódź"]])

    body = b"".join(response.streaming_content)

    assert body == "\ufeffKlient\r\nŁódź\r\n".encode()
    assert body.startswith(b"\xef\xbb\xbf")


def test_a_cell_with_the_separator_a_quote_and_a_newline_reads_back_unchanged():
    awkward = 'Box "A", damaged;\r\nsecond line\nthird'

    text = exported_text(csv_stream(header=HEADER, rows=[["RMA-1", awkward, 1]]))

    assert parse(text) == [HEADER, ["RMA-1", awkward, "1"]]


def test_with_semicolons_a_comma_inside_a_cell_needs_no_quotes():
    text = exported_text(
        csv_stream(header=HEADER, rows=[["RMA-1", "Kowalski, Jan", 2]], separator=";")
    )

    assert text == "\ufeffNumber;Customer;Refund\r\nRMA-1;Kowalski, Jan;2\r\n"
    assert parse(text, ";")[1] == ["RMA-1", "Kowalski, Jan", "2"]


@pytest.mark.parametrize("formula", ["=SUM(A1)", "+1", "-2+3", "@cmd", "\tx", "\rx"])
def test_text_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(formula):
    assert safe_cell(formula) == "'" + formula

    text = exported_text(csv_stream(header=["Note"], rows=[[formula]]))
    assert parse(text)[1] == ["'" + formula]


def test_header_cells_are_neutralised_too():
    text = exported_text(csv_stream(header=["=HYPERLINK(1)"], rows=[]))

    assert parse(text) == [["'=HYPERLINK(1)"]]


def test_negative_numbers_stay_numbers():
    assert safe_cell(Decimal("-12.50")) == "-12.50"
    assert safe_cell(-3) == "-3"
    assert safe_cell(-0.5) == "-0.5"

    text = exported_text(csv_stream(header=["Refund"], rows=[[Decimal("-12.50")]]))
    assert parse(text)[1] == ["-12.50"]


def test_numbers_are_never_written_in_scientific_notation():
    assert safe_cell(Decimal("1E+3")) == "1000"
    assert safe_cell(Decimal("0.0000001")) == "0.0000001"
    assert safe_cell(1e20) == "100000000000000000000"
    assert safe_cell(1.5e-7) == "0.00000015"


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""

    text = exported_text(csv_stream(header=HEADER, rows=[["RMA-1", None, None]]))
    assert parse(text)[1] == ["RMA-1", "", ""]


def test_datetimes_are_iso_in_the_local_time_zone_without_microseconds():
    at = datetime.datetime(2026, 10, 1, 10, 0, 5, 123456, tzinfo=datetime.UTC)

    assert safe_cell(at) == "2026-10-01T12:00:05+02:00"  # settings.TIME_ZONE: Europe/Warsaw
    with timezone.override(ZoneInfo("America/New_York")):
        assert safe_cell(at) == "2026-10-01T06:00:05-04:00"
    assert safe_cell(datetime.date(2026, 10, 1)) == "2026-10-01"


def test_the_response_is_a_csv_attachment_that_pulls_rows_lazily():
    pulled = []

    def rows():
        for number in range(1, 10):
            if number > 3:
                raise RuntimeError("the database went away")
            pulled.append(number)
            yield [f"RMA-{number}", "Acme", number]

    # when
    response = csv_response(filename="returns.csv", header=HEADER, rows=rows())

    # then
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="returns.csv"'
    assert pulled == []
    chunks = iter(response.streaming_content)
    assert [next(chunks) for _ in range(5)] == [
        "\ufeff".encode(),
        b"Number,Customer,Refund\r\n",
        b"RMA-1,Acme,1\r\n",
        b"RMA-2,Acme,2\r\n",
        b"RMA-3,Acme,3\r\n",
    ]
    assert pulled == [1, 2, 3]
    with pytest.raises(RuntimeError, match="database went away"):
        next(chunks)


def test_rows_are_read_for_the_requests_tenant_and_time_zone_after_middleware_returned():
    # given: a view whose rows look at the tenant and time zone only when they are sent
    tenant = SimpleNamespace(pk=7, timezone="America/New_York")
    request = RequestFactory().get("/exports/returns.csv")
    request.user = SimpleNamespace(is_authenticated=True, tenant_id=tenant.pk, tenant=tenant)
    at = datetime.datetime(2026, 10, 1, 10, 0, tzinfo=datetime.UTC)

    def rows():
        yield [get_current_tenant().pk, at]

    def view(request):
        return csv_response(filename="returns", header=["Tenant", "Created"], rows=rows())

    # when: the middleware has reset the tenant and time zone before the body is sent
    response = TenantMiddleware(view)(request)
    assert get_current_tenant() is None
    text = exported_text(response.streaming_content)

    # then
    assert parse(text)[1] == ["7", "2026-10-01T06:00:00-04:00"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("returns-2026.csv", "returns-2026.csv"),
        ("returns 2026", "returns_2026.csv"),
        ('a"b\r\nContent-Type: text/html', "a_b_Content-Type_text_html.csv"),
        ("../../etc/passwd", "etc_passwd.csv"),
        ("zwroty październik Łódź.CSV", "zwroty_pazdziernik_Lodz.csv"),
        ("???", "export.csv"),
    ],
)
def test_the_filename_is_sanitized(given, sent):
    response = csv_response(filename=given, header=HEADER, rows=[])

    assert response["Content-Disposition"] == f'attachment; filename="{sent}"'


def test_separator_from_the_query_value_or_the_request():
    factory = RequestFactory()

    assert separator_from("comma") == ","
    assert separator_from("semicolon") == ";"
    assert separator_from(None) == ","
    assert separator_from("") == ","
    assert separator_from(factory.get("/", {"separator": "semicolon"})) == ";"
    assert separator_from(factory.get("/")) == ","
    assert separator_from(factory.get("/"), default=";") == ";"


@pytest.mark.parametrize("value", ["tab", "Semicolon", ";", "|"])
def test_an_unknown_separator_is_the_users_error(value):
    with pytest.raises(ApplicationError) as raised:
        separator_from(value)

    assert raised.value.code == "invalid_separator"
    assert raised.value.message == "Choose a comma or a semicolon as the CSV separator."
    assert raised.value.fields == {"separator": [raised.value.message]}


def test_an_unsupported_separator_is_refused_before_anything_is_sent():
    with pytest.raises(ValueError, match="separator"):
        csv_stream(header=HEADER, rows=[], separator="|")


def test_polish_defaults_to_semicolons():
    with translation.override("pl"):
        assert default_separator() == ";"
        assert separator_from(None, default=default_separator()) == ";"
    # As does every language that writes decimals with a comma.
    with translation.override("ru"):
        assert default_separator() == ";"
    with translation.override("en"):
        assert default_separator() == ","
