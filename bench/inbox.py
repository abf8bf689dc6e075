"""Benchmark of the agents' inbox ("My work", the back-office's home) with 10,000 open cases,
beside the complaints and returns lists of the admin that agents used before it.

    .venv/bin/python bench/inbox.py [--requests 30] [--reload]

Uses the bench database (postgres://postgres@127.0.0.1:5432/rma_bench unless DATABASE_URL is
set) and its tenant "inbox-bench". The first run loads the tenant (about a minute): 13 staff,
200 customer companies with their users, orders and order lines, 10,000 open cases (half
returns of 1-3 lines, half complaints, with their clocks around the moment of loading,
assignees spread over 10 agents and some unassigned) and 40,000 closed ones, so that the open
filter matters. Later runs use what is there; the clocks stay where the load put them, so a
data set a few days old is mostly breached: `--reload` loads it again around now.

Then, warm and in one process, as one agent: each inbox view below and the two admin lists,
one request of each in turn per round (A, B, C, ..., A, B, C, ...), so that the machine's
load falls on all alike. Prints per page the queries per request and the median, p90, min and
max. Target: every inbox page under 300 ms (median).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rma_bench")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")

TENANT_SLUG = "inbox-bench"
DOMAIN = "inbox-bench.demo"
AGENTS = 10
AGENT_EMAIL = f"agent1@{DOMAIN}"  # the agent who makes the timed requests
CUSTOMERS = 200
SEED = 11
BATCH = 2000
UNUSABLE_HASH = "!"  # no password: the benchmark signs in with force_login
HOUR = datetime.timedelta(hours=1)

FIRST_NAMES = ("Jan", "Ewa", "Adam", "Ola", "Marta", "Paweł", "Kasia", "Michał", "Zofia", "Igor")
LAST_NAMES = ("Kowalski", "Mazur", "Krawczyk", "Zając", "Król", "Wieczorek", "Jabłoński", "Dudek")
COMPANY_KINDS = ("Hurtownia", "Budmat", "Instal-Serwis", "Elektro", "Technika", "Dom i Ogród")
CATEGORIES = (
    ("power-tools", "Power tools", (150, 2500)),
    ("fasteners", "Fasteners", (5, 120)),
    ("lighting", "Lighting", (20, 900)),
    ("plumbing", "Plumbing", (10, 800)),
    ("workwear", "Workwear", (30, 600)),
)
PRODUCTS_PER_CATEGORY = 60
PRODUCT_WORDS = ("Pro", "Max", "Eco", "Plus", "Compact", "Heavy", "Lite", "Ultra", "Basic")

# Open returns by status (weights), and how the closed ones ended.
OPEN_RETURN_MIX = (
    ("submitted", 30),
    ("awaiting_approval", 8),
    ("needs_info", 10),
    ("approved", 22),
    ("received", 15),
    ("inspected", 15),
)
CLOSED_RETURN_MIX = (("closed", 70), ("resolved", 10), ("rejected", 12), ("cancelled", 8))
LINES_PER_RETURN = ((1, 60), (2, 25), (3, 15))
REASONS = ("damaged_in_transport", "defective", "wrong_item", "wrong_size", "ordered_by_mistake")
DECISION_HOURS = 48
REFUND_DAYS = 14
UPDATE_HOURS = 48  # the customer-update cadence

OPEN_COMPLAINT_MIX = (("new", 25), ("open", 25), ("in_progress", 35), ("awaiting_customer", 15))
CLOSED_COMPLAINT_MIX = (("closed", 70), ("resolved", 20), ("rejected", 10))
PRIORITIES = (("low", 15), ("normal", 55), ("high", 22), ("urgent", 8))
# (first response, resolution) hours; calendar hours suffice for a benchmark.
SLA_HOURS = {"urgent": (2, 8), "high": (4, 16), "normal": (8, 40), "low": (16, 80)}
AT_RISK_SHARE = 0.8  # rma_portal.sla.AT_RISK_SHARE
COMPLAINT_CATEGORIES = ("product_quality", "delivery", "service", "billing", "other")
SUBJECTS = (
    "Unit stops working",
    "Cracked housing",
    "Delivery two days late",
    "Pallet damaged",
    "Nobody called back",
    "Invoice shows the wrong discount",
    "Question about the warranty",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--open", type=int, default=10_000, help="open cases to load")
    parser.add_argument("--closed", type=int, default=40_000, help="closed cases to load")
    parser.add_argument("--reload", action="store_true", help="load the tenant again, now")
    return parser.parse_args()


def weighted(rng: random.Random, pairs) -> str:
    return rng.choices([value for value, _w in pairs], weights=[w for _v, w in pairs])[0]


@contextmanager
def given_timestamps(*models):
    """bulk_create with the timestamps the loader gives, not the moment of loading."""
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    kept = [(field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, (auto_now, auto_now_add) in zip(fields, kept, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


# --- the data set ----------------------------------------------------------------------------


class Loader:
    def __init__(self, tenant, *, open_cases: int, closed_cases: int):
        from django.utils import timezone

        self.tenant = tenant
        self.rng = random.Random(SEED)
        self.now = timezone.now().replace(microsecond=0)
        self.open_returns = open_cases // 2
        self.open_complaints = open_cases - self.open_returns
        self.closed_returns = closed_cases // 2
        self.closed_complaints = closed_cases - self.closed_returns

    def load(self) -> dict[str, int]:
        from django.db import transaction

        with transaction.atomic():
            self.people()
            self.catalogue()
            self.orders()
            self.returns()
            self.complaints()
        return self.counts

    def people(self) -> None:
        from django.contrib.auth import get_user_model

        from customers.models import CustomerAccount, CustomerMembership

        rng, tenant = self.rng, self.tenant
        staff = [(f"agent{n}@{DOMAIN}", "agent") for n in range(1, AGENTS + 1)]
        staff += [(f"coordinator{n}@{DOMAIN}", "coordinator") for n in (1, 2)]
        staff += [(f"manager@{DOMAIN}", "manager")]
        accounts = CustomerAccount.unscoped.bulk_create(
            CustomerAccount(
                tenant=tenant,
                number=f"C{n:05d}",
                name=f"{rng.choice(COMPANY_KINDS)} {rng.choice(LAST_NAMES)} {n} Sp. z o.o.",
                vat_number=f"{7770000000 + n * 7}",
                contact_email=f"office@c{n:05d}.{DOMAIN}",
                billing_street=f"ul. {rng.choice(LAST_NAMES)}a {rng.randint(1, 120)}",
                billing_postal_code="00-950",
                billing_city="Warszawa",
                shipping_street=f"ul. {rng.choice(LAST_NAMES)}a {rng.randint(1, 120)}",
                shipping_postal_code="00-950",
                shipping_city="Warszawa",
            )
            for n in range(1, CUSTOMERS + 1)
        )
        customers = [
            (f"user{k}@c{n:05d}.{DOMAIN}", "customer_admin" if k == 1 else "customer_user", a)
            for n, a in enumerate(accounts, start=1)
            for k in range(1, rng.choice((1, 1, 2)) + 1)
        ]
        user_model = get_user_model()
        users = user_model.objects.bulk_create(
            user_model(
                email=email,
                full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                role=role,
                tenant=tenant,
                is_staff=role in ("agent", "coordinator", "manager"),
                password=UNUSABLE_HASH,
            )
            for email, role in [*staff, *((email, role) for email, role, _a in customers)]
        )
        by_email = {user.email: user for user in users}
        CustomerMembership.unscoped.bulk_create(
            CustomerMembership(tenant=tenant, user=by_email[email], customer_account=account)
            for email, _role, account in customers
        )
        self.agents = [by_email[email] for email, role in staff if role == "agent"]
        self.accounts = accounts
        self.account_users: dict[int, list] = {}
        for email, _role, account in customers:
            self.account_users.setdefault(account.pk, []).append(by_email[email])
        self.counts = {"staff": len(staff), "customers": len(accounts), "users": len(users)}

    def catalogue(self) -> None:
        from complaints.models import SlaPolicy, SupportSettings
        from customers.models import Product, ProductCategory
        from returns.models import ReturnPolicy

        rng, tenant = self.rng, self.tenant
        SupportSettings.unscoped.create(tenant=tenant)
        ReturnPolicy.unscoped.create(tenant=tenant)
        SlaPolicy.unscoped.bulk_create(
            SlaPolicy(
                tenant=tenant,
                priority=priority,
                first_response_hours=first,
                resolution_hours=resolution,
            )
            for priority, (first, resolution) in SLA_HOURS.items()
        )
        categories = ProductCategory.unscoped.bulk_create(
            ProductCategory(tenant=tenant, code=code, name=name) for code, name, _r in CATEGORIES
        )
        products = []
        for category, (code, name, (low, high)) in zip(categories, CATEGORIES, strict=True):
            for n in range(PRODUCTS_PER_CATEGORY):
                products.append(
                    Product(
                        tenant=tenant,
                        sku=f"{code[:4].upper()}-{n + 1:04d}",
                        name=f"{name.split()[0]} {rng.choice(PRODUCT_WORDS)} {100 + n}",
                        category=category,
                        unit_price=Decimal(rng.randint(low, high)) + Decimal("0.99"),
                    )
                )
        self.products = Product.unscoped.bulk_create(products, batch_size=BATCH)

    def orders(self) -> None:
        """One order per return (each return claims lines of its own) and a few more for the
        complaints; an order's lines are at least as many as its return's."""
        from customers.models import Order, OrderLine

        rng, tenant = self.rng, self.tenant
        returns = self.open_returns + self.closed_returns
        count = returns + self.open_complaints // 2
        orders, lines = [], []
        for k in range(count):
            delivered = (self.now - datetime.timedelta(days=rng.uniform(3, 400))).date()
            orders.append(
                Order(
                    tenant=tenant,
                    number=f"ZS/{delivered.year}/{k + 1:06d}",
                    customer_account=rng.choice(self.accounts),
                    order_date=delivered - datetime.timedelta(days=rng.choice((1, 2, 3))),
                    delivery_date=delivered,
                    invoice_number=f"FV/{delivered.year}/{k + 1:06d}",
                )
            )
        orders = Order.unscoped.bulk_create(orders, batch_size=BATCH)
        for order in orders:
            for number in range(1, rng.choice((3, 3, 4, 5, 6)) + 1):
                product = rng.choice(self.products)
                lines.append(
                    OrderLine(
                        tenant=tenant,
                        order=order,
                        line_number=number,
                        product=product,
                        quantity=rng.choice((1, 2, 5, 10, 20)),
                        unit_price=product.unit_price,
                    )
                )
        lines = OrderLine.unscoped.bulk_create(lines, batch_size=BATCH)
        self.order_lines: dict[int, list] = {}
        for line in lines:
            self.order_lines.setdefault(line.order_id, []).append(line)
        self.order_list = orders
        self.counts |= {"orders": len(orders), "order lines": len(lines)}

    def _assignee(self, unassigned_share: float):
        return None if self.rng.random() < unassigned_share else self.rng.choice(self.agents)

    def _open_return(self, rma) -> None:
        """Status, stamps and clocks of an open return, around now."""
        rng, now = self.rng, self.now
        status = rma.status
        decision = datetime.timedelta(hours=DECISION_HOURS)
        refund = datetime.timedelta(days=REFUND_DAYS)
        if status in ("submitted", "awaiting_approval", "needs_info"):
            # Submitted up to 3 days ago: decision due from a day past to two days ahead.
            submitted = now - datetime.timedelta(hours=rng.uniform(0.2, 72))
            if status == "needs_info":
                submitted -= datetime.timedelta(hours=rng.uniform(0, 48))
        else:
            submitted = now - datetime.timedelta(days=rng.uniform(3, 20))
        rma.submitted_at = submitted
        rma.created_at = submitted - datetime.timedelta(minutes=rng.uniform(2, 40))
        rma.decision_started_at = submitted
        rma.decision_due_at = submitted + decision
        rma.decision_at_risk_at = submitted + decision * AT_RISK_SHARE
        last = submitted
        if status == "needs_info":
            rma.decision_paused_at = submitted + (now - submitted) * rng.uniform(0.1, 0.6)
            rma.info_request = "Please send photos of the packaging and of the label."
            last = rma.decision_paused_at
        if status in ("approved", "received", "inspected"):
            rma.approved_at = submitted + decision * rng.uniform(0.1, 1.2)
            rma.decided_at = rma.approved_at
            rma.ship_by = rma.approved_at + datetime.timedelta(days=14)
            last = rma.approved_at
        if status in ("received", "inspected"):
            # Received up to 16 days ago: refund due from 2 days past to 14 days ahead.
            rma.received_at = now - datetime.timedelta(days=rng.uniform(0, 16))
            rma.received_at = max(rma.received_at, rma.approved_at + HOUR)
            rma.refund_due_at = rma.received_at + refund
            rma.refund_at_risk_at = rma.received_at + refund * AT_RISK_SHARE
            last = rma.received_at
        if status == "inspected":
            rma.inspected_at = min(
                now, rma.received_at + datetime.timedelta(hours=rng.uniform(2, 48))
            )
            last = rma.inspected_at
        if status in ("submitted", "awaiting_approval", "received", "inspected"):
            rma.customer_updated_at = last
            rma.update_due_at = last + datetime.timedelta(hours=UPDATE_HOURS)
        rma.updated_at = last
        rma.assignee = self._assignee(0.4 if status == "submitted" else 0.05)

    def _closed_return(self, rma) -> None:
        rng = self.rng
        submitted = self.now - datetime.timedelta(days=rng.uniform(20, 400))
        rma.submitted_at = submitted
        rma.created_at = submitted - datetime.timedelta(minutes=rng.uniform(2, 40))
        rma.decision_started_at = submitted
        rma.decision_due_at = submitted + datetime.timedelta(hours=DECISION_HOURS)
        rma.decision_at_risk_at = submitted + datetime.timedelta(hours=DECISION_HOURS * 0.8)
        rma.decided_at = submitted + datetime.timedelta(hours=rng.uniform(1, 50))
        last = rma.decided_at
        if rma.status == "rejected":
            rma.rejection_reason = "The return window for these goods has passed."
        elif rma.status in ("closed", "resolved"):
            rma.approved_at = rma.decided_at
            rma.received_at = rma.approved_at + datetime.timedelta(days=rng.uniform(2, 8))
            rma.inspected_at = rma.received_at + datetime.timedelta(hours=rng.uniform(2, 48))
            rma.resolved_at = rma.inspected_at + datetime.timedelta(hours=rng.uniform(1, 72))
            rma.refund_due_at = rma.received_at + datetime.timedelta(days=REFUND_DAYS)
            rma.refund_at_risk_at = rma.received_at + datetime.timedelta(days=REFUND_DAYS * 0.8)
            rma.resolution = "refund"
            last = rma.resolved_at
            if rma.status == "closed":
                rma.closed_at = last = rma.resolved_at + datetime.timedelta(days=rng.uniform(1, 14))
        rma.updated_at = last
        rma.assignee = self._assignee(0.02)

    def returns(self) -> None:
        from returns.models import ReturnLine, ReturnRequest

        rng, tenant = self.rng, self.tenant
        statuses = [weighted(rng, OPEN_RETURN_MIX) for _ in range(self.open_returns)]
        statuses += [weighted(rng, CLOSED_RETURN_MIX) for _ in range(self.closed_returns)]
        requests, claimed = [], []
        for order, status in zip(self.order_list, statuses, strict=False):
            rma = ReturnRequest(
                tenant=tenant,
                customer_account=order.customer_account,
                requester=rng.choice(self.account_users[order.customer_account_id]),
                status=status,
                requested_resolution="refund",
                return_method="courier_pickup",
                shipping_paid_by="merchant",
            )
            if len(requests) < self.open_returns:
                self._open_return(rma)
            else:
                self._closed_return(rma)
            size = int(weighted(rng, LINES_PER_RETURN))
            chosen = rng.sample(self.order_lines[order.pk], size)
            rma.requested_value = sum(line.unit_price for line in chosen)
            requests.append(rma)
            claimed.append(chosen)
        # Numbered in the order they were filed, per year.
        numbers: dict[int, int] = {}
        for rma in sorted(requests, key=lambda r: r.created_at):
            year = rma.created_at.year
            numbers[year] = numbers.get(year, 0) + 1
            rma.number = f"RMA-{year}-{numbers[year]:06d}"
        self.sequences = {("RMA", year): value for year, value in numbers.items()}
        with given_timestamps(ReturnRequest):
            requests = ReturnRequest.unscoped.bulk_create(requests, batch_size=BATCH)
        lines = [
            ReturnLine(
                tenant=tenant,
                return_request=rma,
                order_line=line,
                quantity=1,
                reason=rng.choice(REASONS),
                unit_price=line.unit_price,
            )
            for rma, chosen in zip(requests, claimed, strict=True)
            for line in chosen
        ]
        ReturnLine.unscoped.bulk_create(lines, batch_size=BATCH)
        self.counts |= {"returns": len(requests), "return lines": len(lines)}

    def _complaint_clocks(self, complaint, *, open_: bool) -> None:
        """Stamps and clocks: the running one (first response until given, then the
        resolution) due from its whole allowance past to its whole allowance ahead."""
        rng, now = self.rng, self.now
        first, resolution = (datetime.timedelta(hours=h) for h in SLA_HOURS[complaint.priority])
        status = complaint.status
        responded = status in ("in_progress", "awaiting_customer") or (
            status == "open" and rng.random() < 0.5
        )
        if not open_:
            created, responded = now - datetime.timedelta(days=rng.uniform(20, 400)), True
        elif responded:
            created = now - resolution * rng.uniform(0.1, 2)
        else:
            created = now - first * rng.uniform(0, 2)
        complaint.created_at = last = created
        complaint.first_response_due_at = created + first
        complaint.first_response_at_risk_at = created + first * AT_RISK_SHARE
        complaint.resolution_due_at = created + resolution
        complaint.resolution_at_risk_at = created + resolution * AT_RISK_SHARE
        if responded:
            complaint.first_responded_at = min(now, created + first * rng.uniform(0.1, 1.3))
            complaint.resolution_started_at = last = complaint.first_responded_at
        if status == "awaiting_customer":
            complaint.sla_paused_at = last = last + (now - last) * rng.uniform(0.1, 0.9)
        if status in ("new", "open", "in_progress"):
            complaint.customer_updated_at = last
            complaint.update_due_at = last + datetime.timedelta(hours=UPDATE_HOURS)
        if not open_:
            complaint.resolved_at = last = created + resolution * rng.uniform(0.2, 1.5)
            complaint.resolution = "Replacement shipped."
            if status == "closed":
                complaint.closed_at = last = complaint.resolved_at + datetime.timedelta(days=7)
            if status == "rejected":
                complaint.rejection_reason = "Damage caused by improper use."
        complaint.updated_at = last
        share = (0.7 if status == "new" else 0.03) if open_ else 0.02
        complaint.assignee = self._assignee(share)

    def complaints(self) -> None:
        from complaints.models import Complaint
        from rma_portal.tenancy.models import TenantSequence

        rng, tenant = self.rng, self.tenant
        complaints = []
        total = self.open_complaints + self.closed_complaints
        for k in range(total):
            open_ = k < self.open_complaints
            statuses = OPEN_COMPLAINT_MIX if open_ else CLOSED_COMPLAINT_MIX
            category = rng.choice(COMPLAINT_CATEGORIES)
            order = line = None
            if category in ("product_quality", "delivery") and rng.random() < 0.9:
                order = rng.choice(self.order_list)
                line = rng.choice(self.order_lines[order.pk])
                account = order.customer_account
            else:
                account = rng.choice(self.accounts)
            complaint = Complaint(
                tenant=tenant,
                customer_account=account,
                reporter=rng.choice(self.account_users[account.pk]),
                category=category,
                priority=weighted(rng, PRIORITIES),
                order=order,
                order_line=line,
                product_id=line.product_id if line else None,
                subject=rng.choice(SUBJECTS),
                description="The customer describes what went wrong, with photos attached.",
                status=weighted(rng, statuses),
            )
            self._complaint_clocks(complaint, open_=open_)
            complaints.append(complaint)
        numbers: dict[int, int] = {}
        for complaint in sorted(complaints, key=lambda c: c.created_at):
            year = complaint.created_at.year
            numbers[year] = numbers.get(year, 0) + 1
            complaint.code = f"CMP-{year}-{numbers[year]:06d}"
        self.sequences |= {("CMP", year): value for year, value in numbers.items()}
        with given_timestamps(Complaint):
            Complaint.unscoped.bulk_create(complaints, batch_size=BATCH)
        # The counters behind the numbers, so that cases filed later do not collide.
        TenantSequence.unscoped.bulk_create(
            TenantSequence(tenant=tenant, name=name, year=year, last_value=value)
            for (name, year), value in self.sequences.items()
        )
        self.counts["complaints"] = len(complaints)


def _clear(tenant) -> None:
    """The bench tenant's rows and its users, for --reload."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from bench.kpi_dataset import _clear_tenant

    with transaction.atomic():
        _clear_tenant(tenant)
        get_user_model().objects.filter(tenant=tenant).delete()


def ensure_data_set(args) -> None:
    from django.db import connection

    from complaints.models import Complaint
    from customers.models import CustomerAccount, Order, OrderLine
    from returns.models import ReturnLine, ReturnRequest
    from rma_portal.tenancy.models import Tenant

    tenant, _created = Tenant.objects.get_or_create(
        slug=TENANT_SLUG,
        defaults={
            "name": "Inbox bench",
            "support_email": f"support@{DOMAIN}",
            "return_address_name": "Returns centre",
            "return_address_street": "ul. Magazynowa 7",
            "return_address_postal_code": "05-800",
            "return_address_city": "Pruszków",
        },
    )
    have = ReturnRequest.unscoped.filter(tenant=tenant).exists()
    if have and not args.reload:
        loaded = ReturnRequest.unscoped.filter(tenant=tenant).latest("created_at").created_at
        age = time.time() - loaded.timestamp()
        print(f"tenant {TENANT_SLUG} already loaded (newest case {age / 3600:.1f} h old)")
        if age > 12 * 3600:
            print("  its clocks have moved on since: --reload loads it again around now")
        return
    if have:
        started = time.perf_counter()
        _clear(tenant)
        print(f"cleared the tenant in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    counts = Loader(tenant, open_cases=args.open, closed_cases=args.closed).load()
    print(
        f"loaded in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{value:,} {name}" for name, value in counts.items())
    )
    started = time.perf_counter()
    tables = [CustomerAccount, Order, OrderLine, ReturnRequest, ReturnLine, Complaint]
    with connection.cursor() as cursor:
        for model in tables:
            # What autovacuum does after a bulk insert: statistics and the visibility map.
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    print(f"vacuum and analyze: {time.perf_counter() - started:.1f} s")


# --- the timings -----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main() -> None:
    args = parse_args()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_database.py")], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Production settings serve hashed static file names from the collected manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    ensure_data_set(args)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from complaints.models import OPEN_COMPLAINT_STATUSES, Complaint
    from returns.models import OPEN_STATUSES, ReturnRequest
    from rma_portal.accounts.models import User
    from rma_portal.backoffice.inbox import VIEWS, Filters, view_counts
    from rma_portal.tenancy.context import tenant_context

    agent = User.objects.get(email=AGENT_EMAIL)
    tenant = agent.tenant
    open_returns = ReturnRequest.unscoped.filter(tenant=tenant, status__in=OPEN_STATUSES).count()
    open_complaints = Complaint.unscoped.filter(
        tenant=tenant, status__in=OPEN_COMPLAINT_STATUSES
    ).count()
    total = (
        ReturnRequest.unscoped.filter(tenant=tenant).count()
        + Complaint.unscoped.filter(tenant=tenant).count()
    )
    print(
        f"tenant {tenant.slug}: {open_returns:,} open returns and {open_complaints:,} open "
        f"complaints ({open_returns + open_complaints:,} open, {total:,} in all); as {agent.email}"
    )
    with tenant_context(tenant):
        counts = view_counts(Filters(view="all"), agent, timezone.now())
    print("  views: " + ", ".join(f"{view.key} {counts[view.key]:,}" for view in VIEWS))
    search = "Mazur"  # in customers' names: about one company in eight
    home = "/backoffice/"
    pages = [
        ("inbox: all open", f"{home}?view=all"),
        ("inbox: mine", f"{home}?view=mine"),
        ("inbox: at risk", f"{home}?view=at_risk"),
        ("inbox: breached", f"{home}?view=breached"),
        (f"inbox: search q={search}", f"{home}?view=all&q={search}"),
        ("inbox: complaints only", f"{home}?view=all&kind=complaint"),
        ("inbox: all, newest first", f"{home}?view=all&sort=newest"),
        ("inbox: all, page 50", f"{home}?view=all&page=50"),
        ("admin: complaints list", f"{home}complaints/complaint/"),
        ("admin: returns list", f"{home}returns/returnrequest/"),
    ]
    client = Client()
    client.force_login(agent)
    queries = {}
    for _name, url in pages:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, secure=True)  # https: production settings redirect http
        assert response.status_code == 200, (url, response.status_code, response.get("Location"))
        queries[url] = len(captured)
    for _ in range(args.warmup):
        for _name, url in pages:
            client.get(url, secure=True)
    timings: dict[str, list[float]] = {url: [] for _name, url in pages}
    for _ in range(args.requests):
        for _name, url in pages:  # one of each in turn: the machine's load falls on all alike
            started = time.perf_counter()
            response = client.get(url, secure=True)
            timings[url].append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
    print(f"\n{args.requests} warm requests per page, in turn; times in ms")
    header = f"{'page':<34} {'queries':>7} {'median':>7} {'p90':>6} {'min':>6} {'max':>6}"
    print(header)
    print("-" * len(header))
    slow = []
    for name, url in pages:
        ordered = sorted(timings[url])
        p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
        median = statistics.median(ordered)
        print(
            f"{name:<34} {queries[url]:>7} {ms(median):>7} {ms(p90):>6} "
            f"{ms(ordered[0]):>6} {ms(ordered[-1]):>6}"
        )
        if name.startswith("inbox") and median >= 0.3:
            slow.append(name)
    print(f"\nload average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        "target, every inbox page under 300 ms median: "
        + ("missed: " + ", ".join(slow) if slow else "met")
    )


if __name__ == "__main__":
    main()
