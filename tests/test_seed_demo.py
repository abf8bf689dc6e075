"""`manage.py seed_demo`: demo data a newcomer can sign in with, identical on every rerun."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from complaints.models import Complaint
from complaints.services import complaint_file
from customers.models import (
    AssignmentRule,
    CustomerAccount,
    CustomerMembership,
    Order,
    OrderLine,
    Product,
    ProductCategory,
)
from customers.validators import validate_vat_number
from returns.models import UPDATE_CADENCE_STATUSES, ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Role, Team, User
from rma_portal.inbound.models import Mailbox
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.management.commands.seed_demo import DEMO_TENANTS, demo_logins
from rma_portal.tenancy.models import Tenant
from tests.conftest import run_seed_demo

pytestmark = pytest.mark.django_db

COUNTED = (
    Tenant,
    User,
    CustomerAccount,
    CustomerMembership,
    ProductCategory,
    Product,
    Order,
    OrderLine,
    Team,
    AssignmentRule,
    Mailbox,
)


def row_counts() -> dict[str, int]:
    return {
        model.__name__: getattr(model, "unscoped", model._default_manager).count()
        for model in COUNTED
    }


def sign_in(client, email: str) -> None:
    response = client.post(
        "/accounts/login/", {"username": email, "password": settings.DEMO_PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]


@pytest.fixture
def printed(demo) -> str:
    """The demo data (seeded once for this module); the command's output."""
    return demo


def test_running_seed_demo_again_creates_nothing(demo, monkeypatch):
    counts = row_counts()
    assert all(counts.values()), counts

    # when: run again, the same day and later
    output = run_seed_demo(quiet=True)
    assert row_counts() == counts
    # Orders move with today, some into another year than their number says: still found.
    later = timezone.now() + datetime.timedelta(days=200)
    monkeypatch.setattr(timezone, "now", lambda: later)
    run_seed_demo(quiet=True)

    # then
    assert row_counts() == counts
    assert output.count("up to date, nothing created") == 2
    assert "E-MAIL" not in output  # --quiet leaves out the logins table


def test_two_tenants_with_their_own_branding_staff_and_companies(printed):
    tenants = {tenant.slug: tenant for tenant in Tenant.objects.all()}
    assert set(tenants) == {"nordtech", "baltic"}
    nordtech, baltic = tenants["nordtech"], tenants["baltic"]
    assert nordtech.brand_colour.lower() != baltic.brand_colour.lower()
    assert (nordtech.default_language, nordtech.currency) == ("pl", "PLN")
    assert (baltic.default_language, baltic.currency) == ("en", "EUR")
    assert nordtech.return_address_lines != baltic.return_address_lines

    for tenant in tenants.values():
        staff = User.objects.filter(tenant=tenant).exclude(
            role__in=[Role.CUSTOMER_ADMIN, Role.CUSTOMER_USER]
        )
        assert sorted(staff.values_list("role", flat=True)) == sorted(
            [Role.AGENT, Role.COORDINATOR, Role.MANAGER, Role.TENANT_ADMIN]
        )
        companies = CustomerAccount.unscoped.filter(tenant=tenant)
        assert companies.count() == 3
        for company in companies:
            validate_vat_number(company.vat_number)
            members = CustomerMembership.unscoped.filter(customer_account=company)
            assert sorted(members.values_list("user__role", flat=True)) == [
                Role.CUSTOMER_ADMIN,
                Role.CUSTOMER_USER,
            ]
            assert set(members.values_list("user__tenant", "tenant")) == {(tenant.pk, tenant.pk)}

    root = User.objects.get(email="root@platform.demo")
    assert root.is_superuser and root.tenant is None


def test_each_tenant_has_a_catalogue_and_a_year_of_orders(printed):
    for tenant in Tenant.objects.all():
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.timezone))
        products = Product.unscoped.filter(tenant=tenant)
        assert 180 <= products.count() <= 220
        personalised = products.filter(category__code="personalised")
        assert personalised.exists()
        assert set(products.filter(is_returnable=False)) == set(personalised)
        assert products.filter(
            is_serial_tracked=True, category__code__in=["electronics", "machine-parts"]
        ).exists()

        orders = Order.unscoped.filter(tenant=tenant)
        assert 300 <= orders.count() <= 400
        span = orders.aggregate(first=Min("order_date"), last=Max("order_date"))
        assert span["first"] > today - datetime.timedelta(days=366)
        assert span["last"] <= today
        assert (span["last"] - span["first"]).days > 300
        week_ago = today - datetime.timedelta(days=7)
        assert not orders.filter(delivery_date__isnull=True, order_date__lt=week_ago).exists()
        assert orders.filter(delivery_date__isnull=False).count() > 0.9 * orders.count()
        line_counts = orders.annotate(n=Count("lines")).aggregate(least=Min("n"), most=Max("n"))
        assert (line_counts["least"], line_counts["most"]) == (1, 6)

        lines = OrderLine.unscoped.filter(tenant=tenant)
        assert not lines.filter(~Q(order__tenant=tenant) | ~Q(product__tenant=tenant)).exists()
        assert not lines.filter(
            Q(unit_price__lt=F("product__unit_price") * Decimal("0.8"))
            | Q(unit_price__gt=F("product__unit_price") * Decimal("1.1"))
        ).exists()
        assert lines.exclude(lot_number="").exists()
        serials = []
        for line in lines.filter(product__is_serial_tracked=True):
            assert len(line.serial_numbers) == line.quantity
            serials += line.serial_numbers
        assert serials
        assert len(serials) == len(set(serials))


def test_printed_customers_sign_in_and_see_their_company_and_orders(printed, client):
    rows = demo_logins()
    for row in rows:
        assert row.email in printed
    assert settings.DEMO_PASSWORD in printed
    customer_rows = [row for row in rows if row.where == "/portal/"]
    assert len(customer_rows) == 12
    assert {row.tenant for row in customer_rows} == {"Nordtech Industrial", "Baltic Workwear"}

    # One customer admin of the first tenant, one customer user of the second.
    for row in (customer_rows[0], customer_rows[-1]):
        client.logout()
        sign_in(client, row.email)
        company = CustomerMembership.unscoped.get(user__email=row.email).customer_account
        newest = (
            Order.unscoped.filter(customer_account=company)
            .order_by("-order_date", "-number")
            .first()
        )

        page = client.get("/portal/")

        assert page.status_code == 200
        assert company.name in page.content.decode()
        assert newest.number in page.content.decode()


def test_printed_agent_and_superuser_reach_the_backoffice(printed, client):
    agent = next(row for row in demo_logins() if row.role == Role.AGENT.label)
    superuser = next(row for row in demo_logins() if row.email == "root@platform.demo")
    for row in (agent, superuser):
        client.logout()
        sign_in(client, row.email)
        assert row.where == "/backoffice/"
        assert client.get(row.where).status_code == 200


def test_the_readme_cites_only_logins_the_command_creates():
    readme = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"[\w.+-]+@[\w-]+\.demo\b", readme))
    assert cited
    mailboxes = {spec.support_email for spec in DEMO_TENANTS}
    assert cited <= {row.email for row in demo_logins()} | mailboxes


def test_complaints_filed_after_the_demo_are_routed_by_its_rules(printed):
    tenant = Tenant.objects.get(slug="nordtech")
    with tenant_context(tenant):
        reporter = User.objects.get(email="piotr.user@stalmet.demo")
        account = reporter.customer_membership.customer_account

        def file(priority: str):
            return complaint_file(
                customer_account=account,
                reporter=reporter,
                category="product_quality",
                priority=priority,
                subject="Pump housing cracked",
                description="It leaks at the housing.",
            )

        urgent, normal = file("urgent"), file("normal")
        # The demo's history was made before the rules: it kept its unassigned complaints.
        history_unassigned = Complaint.objects.filter(assignee=None).exists()

    assert urgent.assignee.email == "coordinator@nordtech.demo"
    assert normal.assignee.email in {"agent@nordtech.demo", "coordinator@nordtech.demo"}
    assert normal.status == "open"
    assert history_unassigned


def test_the_demo_shows_approval_a_warranty_claim_and_the_update_cadence(printed):
    tenant = Tenant.objects.get(slug="nordtech")
    with tenant_context(tenant):
        waiting = ReturnRequest.objects.get(status=ReturnStatus.AWAITING_APPROVAL)
        warranty_claims = ReturnRequest.objects.filter(is_warranty_claim=True).count()
        open_returns = ReturnRequest.objects.filter(status__in=UPDATE_CADENCE_STATUSES)
        owed = list(open_returns.values_list("update_due_at", flat=True))
    assert waiting.approval_level == "coordinator"
    assert waiting.requested_value >= Decimal("3000")
    assert warranty_claims >= 1
    # every return with the merchant owes its customer an update at some moment
    assert owed and all(due is not None for due in owed)
