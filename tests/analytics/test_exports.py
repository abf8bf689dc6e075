"""CSV exports of the dashboard over HTTP: headers, BOM, separators, quoting of separators,
quotes and newlines, formula-injection protection, streaming, and who may export."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from analytics.rollups import kpi_rollups_rebuild
from customers.models import CustomerAccount
from returns.models import ReturnLine

from .dataset import END, START

pytestmark = pytest.mark.django_db

PERIOD = "period=custom&from=2026-10-01&to=2026-11-30"


def rows_of(response, separator=","):
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "no byte-order mark"
    return list(csv.reader(io.StringIO(body[1:]), delimiter=separator))


@pytest.fixture
def exporting(client, dataset):
    kpi_rollups_rebuild(tenant=dataset.ta, start=START, end=END)
    client.force_login(dataset.a.manager)
    return dataset


def test_returns_export_has_one_row_per_line_with_its_header(client, exporting):
    response = client.get("/dashboard/export/returns.csv?" + PERIOD)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="returns-2026-10-01-2026-11-30.csv"'
    )
    rows = rows_of(response)
    assert rows[0][:4] == ["RMA", "status", "customer_number", "customer"]
    assert "reason" in rows[0] and "line_value" in rows[0]
    # R1 (2 lines), R2, R3: four return lines of returns counted in the period.
    assert sorted(row[0] for row in rows[1:]) == ["R1", "R1", "R2", "R3"]
    r1 = next(row for row in rows[1:] if row[0] == "R1" and row[rows[0].index("sku")])
    assert r1[rows[0].index("resolution")] == "refund"


def test_cells_with_separators_quotes_newlines_and_formulas(client, exporting):
    d = exporting
    # given: hostile text where a spreadsheet would see structure or a formula
    CustomerAccount.unscoped.filter(pk=d.c1.pk).update(name='=HYPERLINK("http://x";"y")')
    line = ReturnLine.unscoped.get(return_request__number="R3")
    ReturnLine.unscoped.filter(pk=line.pk).update(reason_text='a,b;c "quoted"\nsecond line')
    # when
    rows = rows_of(client.get("/dashboard/export/returns.csv?" + PERIOD))
    header = rows[0]
    r3 = next(row for row in rows[1:] if row[0] == "R3")
    # then: the text round-trips exactly, and the formula is neutralised
    assert r3[header.index("reason_text")] == 'a,b;c "quoted"\nsecond line'
    assert r3[header.index("customer")] == '\'=HYPERLINK("http://x";"y")'
    for value in ("+48 600", "-1+1", "@SUM(A1)"):
        CustomerAccount.unscoped.filter(pk=d.c1.pk).update(name=value)
        rows = rows_of(client.get("/dashboard/export/returns.csv?" + PERIOD))
        names = {row[header.index("customer")] for row in rows[1:] if row[0] == "R3"}
        assert names == {"'" + value}


def test_semicolon_separator_for_polish_spreadsheets(client, exporting):
    rows = rows_of(
        client.get("/dashboard/export/returns.csv?" + PERIOD + "&separator=semicolon"), ";"
    )
    assert rows[0][0] == "RMA" and len(rows[0]) > 10
    # Decimal numbers stay numbers (not neutralised) with a dot.
    assert "100.00" in {cell for row in rows[1:] for cell in row}


def test_polish_pages_default_to_semicolons(client, exporting):
    client.post("/accounts/language/", {"language": "pl", "next": "/dashboard/"})
    response = client.get("/dashboard/export/reasons.csv?" + PERIOD)
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].count(";") == 3


def test_dashboard_tables_export_as_csv(client, exporting):
    rows = rows_of(client.get("/dashboard/export/reasons.csv?" + PERIOD))
    assert rows[0] == ["Reason", "Lines", "Quantity", "Share"]
    assert {row[0] for row in rows[1:]} == {
        "Defective / quality issue",
        "Wrong size or dimensions",
        "Damaged in transport",
    }
    top = rows_of(client.get("/dashboard/export/top_customers.csv?" + PERIOD))
    assert top[0][0] == "Customer" and len(top) == 3  # header + two customers
    complaints = rows_of(client.get("/dashboard/export/complaints.csv?" + PERIOD))
    assert complaints[0][:2] == ["complaint", "status"]
    assert sorted(row[0] for row in complaints[1:]) == ["K1", "K2", "K3", "K4", "K5"]


def test_bad_export_requests_are_refused(client, exporting):
    assert client.get("/dashboard/export/nothing.csv?" + PERIOD).status_code == 404
    bad = client.get("/dashboard/export/returns.csv?" + PERIOD + "&separator=tab")
    assert bad.status_code == 400
    assert b"comma or a semicolon" in bad.content
    assert client.get("/dashboard/export/returns.csv?period=custom&from=x").status_code == 400


def test_agents_and_customers_cannot_export(client, exporting):
    d = exporting
    for user in (d.a.agent, d.a.coordinator, d.a.customer, d.a.customer_admin):
        client.force_login(user)
        for name in ("returns", "complaints", "reasons"):
            assert client.get(f"/dashboard/export/{name}.csv?{PERIOD}").status_code == 403


def test_another_tenants_rows_are_not_exported(client, exporting):
    d = exporting
    client.force_login(d.b.manager)
    rows = rows_of(client.get("/dashboard/export/returns.csv?" + PERIOD))
    assert [row[0] for row in rows[1:]] == ["RB1"]


def test_every_export_is_in_the_audit_log(client, exporting):
    from rma_portal.security.models import AuditAction, AuditEvent

    d = exporting
    client.get("/dashboard/export/returns.csv?" + PERIOD)
    client.get("/dashboard/export/complaints.csv?" + PERIOD)
    client.get("/dashboard/export/reasons.csv?" + PERIOD)
    client.get("/dashboard/export/nothing.csv?" + PERIOD)  # refused: not an export
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("pk")
    assert [event.details["export"] for event in events] == [
        "return lines",
        "complaints",
        "dashboard table reasons",
    ]
    assert {(event.tenant, event.actor) for event in events} == {(d.ta, d.a.manager)}
    assert events[0].details["filters"]["from"] == "2026-10-01"
