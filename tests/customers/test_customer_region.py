"""The billing address's region of a customer account (voivodeship, state, province): written
by the ERP's API (one by key, and in bulk) and the CSV import, answered by the API, edited in
the back-office; kept when a record leaves it out, refused when too long."""

from __future__ import annotations

import io

import pytest

from customers.models import CustomerAccount
from customers.services import ImportRejected, customers_import
from tests.api import api_as

pytestmark = pytest.mark.django_db

API = "/api/v1"


def customer(number: str, **fields) -> dict:
    return {
        "number": number,
        "name": f"Company {number}",
        "vat_number": fields.pop("vat_number", "PL 526-000-12-46"),
        "contact_email": "biuro@budmat.example",
        "billing_street": "ul. Polna 1",
        "billing_postal_code": "00-950",
        "billing_city": "Warszawa",
        **fields,
    }


@pytest.fixture
def admin(world_a):
    return api_as(world_a.tenant_admin)


def test_put_sets_answers_keeps_and_clears_the_region(world_a, admin):
    url = f"{API}/customers/by-external-id/K-1/"
    body = customer("K-1", billing_region="  mazowieckie ")

    response = admin.put(url, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["billing_region"] == "mazowieckie"
    stored = CustomerAccount.unscoped.get(tenant=world_a.tenant, number="K-1")
    assert (stored.billing_country, stored.billing_region) == ("PL", "mazowieckie")
    # Left out: the region stays.
    body.pop("billing_region")
    assert admin.put(url, body | {"name": "Budmat"}, format="json").status_code == 200
    stored.refresh_from_db()
    assert (stored.name, stored.billing_region) == ("Budmat", "mazowieckie")
    # Empty or null: no region.
    assert admin.put(url, body | {"billing_region": None}, format="json").status_code == 200
    stored.refresh_from_db()
    assert stored.billing_region == ""
    assert admin.get(url).json()["billing_region"] == ""


def test_bulk_writes_regions_of_foreign_accounts_too(world_a, admin):
    records = [
        customer("K-1", billing_region="pomorskie"),
        customer(
            "K-2",
            vat_number="DE123456789",
            billing_country="DE",
            billing_region="Bayern",
            billing_city="München",
        ),
    ]

    response = admin.post(f"{API}/customers/bulk/", {"records": records}, format="json")

    assert response.status_code == 200, response.content
    regions = dict(
        CustomerAccount.unscoped.filter(
            tenant=world_a.tenant, number__in=["K-1", "K-2"]
        ).values_list("number", "billing_region")
    )
    assert regions == {"K-1": "pomorskie", "K-2": "Bayern"}
    assert CustomerAccount.unscoped.get(number="K-2").billing_country == "DE"


def test_a_region_too_long_is_refused_and_nothing_is_written(world_a, admin):
    records = [customer("K-1"), customer("K-2", vat_number="DE123456789", billing_region="x" * 101)]

    response = admin.post(f"{API}/customers/bulk/", {"records": records}, format="json")

    assert response.status_code == 400
    assert "billing_region" in response.content.decode()
    assert not CustomerAccount.unscoped.filter(number__in=["K-1", "K-2"]).exists()


def test_the_csv_import_takes_the_region_column(world_a):
    header = "number;name;vat_number;contact_email;billing_street;billing_postal_code;"
    header += "billing_city;billing_region"
    row = "K-7;Budmat;PL5260001246;biuro@budmat.example;ul. Polna 1;00-950;Warszawa;mazowieckie"

    report = customers_import(
        tenant=world_a.tenant, rows_source=io.BytesIO(f"{header}\n{row}\n".encode())
    )

    assert report.ok, report.errors
    assert CustomerAccount.unscoped.get(number="K-7").billing_region == "mazowieckie"
    long = row.replace("mazowieckie", "y" * 101)
    with pytest.raises(ImportRejected):
        customers_import(
            tenant=world_a.tenant, rows_source=io.BytesIO(f"{header}\n{long}\n".encode())
        )
    assert CustomerAccount.unscoped.get(number="K-7").billing_region == "mazowieckie"


def test_the_back_office_edits_the_region(client, world_a):
    account = world_a.company
    client.force_login(world_a.tenant_admin)
    url = f"/backoffice/customers/customeraccount/{account.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="billing_region"' in page.content.decode()
