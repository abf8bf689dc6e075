"""A large synthetic year of one tenant's orders, returns and complaints in PostgreSQL,
for benchmarking the KPI dashboards (`--return-lines`/`--complaints` set the size)."""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import math
import os
import queue
import random
import sys
import threading
import time
from array import array
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rma_bench"
TENANT_SLUG = "bench"
MANAGER_EMAIL = "manager@bench.demo"
MANAGER_PASSWORD = "bench-pass"  # noqa: S105 - the documented login of the bench database
UNUSABLE_HASH = "!"  # Django treats a hash starting with "!" as "no password"
CHUNK_ROWS = 100_000
# Each return line claims an order line of its own, so the ledger holds by construction;
# with ~20 units per order line the returned share of delivered quantity stays near 5-10 %.
ORDER_LINES_PER_RETURN_LINE = 1.3
CUSTOMERS = 400
UTC = datetime.UTC
MINUTE, HOUR, DAY = 60, 3600, 86400

REASONS = (
    "damaged_in_transport",
    "defective",
    "wrong_item",
    "not_as_described",
    "wrong_size",
    "ordered_by_mistake",
    "late_delivery",
    "other",
)
BASE_REASON_WEIGHTS = dict(zip(REASONS, (10, 18, 10, 10, 8, 22, 8, 14), strict=True))
# Reasons whose return shipping the merchant pays and that carry no restocking fee
# (returns.policies.DEFAULT_FREE_SHIPPING_REASONS).
FREE_SHIPPING_REASONS = frozenset({"damaged_in_transport", "defective", "wrong_item"})
RESTOCKING_FEE_PERCENT = 10

# (code, name, products, price range in PLN, serial-tracked share, return propensity,
#  reason weights that differ from BASE_REASON_WEIGHTS)
CATEGORIES = (
    ("power-tools", "Power tools", 120, (150, 2500), 0.8, 1.3, {"defective": 45}),
    ("hand-tools", "Hand tools", 110, (15, 300), 0.0, 0.8, {"wrong_item": 16}),
    (
        "fasteners",
        "Fasteners",
        150,
        (5, 120),
        0.0,
        0.6,
        {"wrong_item": 25, "wrong_size": 25, "ordered_by_mistake": 35},
    ),
    ("electrical", "Electrical", 110, (10, 600), 0.1, 1.0, {"defective": 35}),
    ("lighting", "Lighting", 100, (20, 900), 0.0, 1.2, {"damaged_in_transport": 30}),
    ("plumbing", "Plumbing", 100, (10, 800), 0.0, 0.9, {"wrong_size": 30}),
    ("heating", "Heating", 80, (300, 9000), 0.6, 1.1, {"defective": 35, "late_delivery": 20}),
    ("paints", "Paints and coatings", 100, (20, 400), 0.0, 0.7, {"damaged_in_transport": 35}),
    ("garden", "Garden", 90, (30, 3000), 0.3, 1.2, {"not_as_described": 25}),
    ("safety", "Safety equipment", 90, (10, 500), 0.0, 1.0, {"wrong_size": 28}),
    ("adhesives", "Adhesives and sealants", 80, (10, 150), 0.0, 0.5, {}),
    ("abrasives", "Abrasives", 80, (5, 200), 0.0, 0.6, {"ordered_by_mistake": 30}),
    (
        "measuring",
        "Measuring tools",
        80,
        (50, 4000),
        0.7,
        1.1,
        {"defective": 30, "not_as_described": 20},
    ),
    ("storage", "Storage and shelving", 100, (40, 1500), 0.0, 0.9, {"damaged_in_transport": 28}),
    ("workwear", "Workwear", 110, (30, 600), 0.0, 1.6, {"wrong_size": 60}),
)
PRODUCT_WORDS = ("Pro", "Max", "Eco", "Plus", "Compact", "Heavy", "Lite", "Ultra", "Basic")

# (condition, disposition, weight) found at inspection, per reason.
INSPECTION_OUTCOMES = {
    "damaged_in_transport": (
        ("damaged", "scrap", 45),
        ("damaged", "return_to_supplier", 25),
        ("opened", "refurbish", 20),
        ("unopened", "restock", 10),
    ),
    "defective": (
        ("used", "return_to_supplier", 45),
        ("used", "refurbish", 30),
        ("damaged", "scrap", 15),
        ("opened", "restock", 10),
    ),
    "wrong_item": (
        ("unopened", "restock", 80),
        ("opened", "restock", 15),
        ("opened", "refurbish", 5),
    ),
    "not_as_described": (
        ("opened", "restock", 55),
        ("opened", "refurbish", 30),
        ("used", "return_to_supplier", 15),
    ),
    "wrong_size": (
        ("unopened", "restock", 70),
        ("opened", "restock", 25),
        ("used", "refurbish", 5),
    ),
    "ordered_by_mistake": (
        ("unopened", "restock", 80),
        ("opened", "restock", 15),
        ("used", "refurbish", 5),
    ),
    "late_delivery": (("unopened", "restock", 90), ("opened", "restock", 10)),
    "other": (
        ("unopened", "restock", 40),
        ("opened", "refurbish", 25),
        ("used", "scrap", 15),
        ("damaged", "scrap", 20),
    ),
}
RESOLUTIONS = ("refund", "credit_note", "replacement", "repair")
REQUESTED_RESOLUTION_WEIGHTS = (35, 35, 20, 10)
RETURN_METHODS = ("courier_pickup", "drop_off", "self_printed_label")
REJECTION_REASONS = (
    "The return window for these goods has passed.",
    "The photos show damage caused by improper use.",
    "Personalised goods cannot be returned.",
    "The goods were not bought from us under this order.",
)
INFO_QUESTIONS = (
    "Please send photos of the packaging and of the label.",
    "Which serial number does the damaged unit have?",
)
CUSTOMER_NOTES = ("Please collect before Friday.", "Pallet in the loading bay.", "")
REASON_TEXTS = ("Project cancelled by our client.", "Duplicate delivery.", "Colour differs.")

COMPLAINT_CATEGORIES = ("product_quality", "delivery", "service", "billing", "other")
COMPLAINT_CATEGORY_WEIGHTS = (45, 25, 12, 10, 8)
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (15, 55, 22, 8)
# (first response, resolution) hours, as complaints.demo.SLA_HOURS; calendar hours suffice
# for a benchmark, so due = filed + hours.
SLA_HOURS = {"urgent": (2, 8), "high": (4, 16), "normal": (8, 40), "low": (16, 80)}
SUBJECTS = {
    "product_quality": ("Unit stops working", "Cracked housing", "Finish peels off", "Seams tear"),
    "delivery": ("Delivery two days late", "Pallet damaged", "Parcel incomplete"),
    "service": ("Nobody called back", "Installation appointment missed"),
    "billing": ("Invoice shows the wrong discount", "Duplicate invoice"),
    "other": ("Question about the warranty", "Missing documentation"),
}
STAFF_REPLIES = (
    "Thank you for reporting this. We are checking it with our quality team.",
    "We have scheduled a replacement; the courier will contact you.",
    "Could you send us photos of the product and of its label?",
)
INTERNAL_NOTES = ("Supplier informed, claim opened.", "Same batch as last week's case.")
CUSTOMER_REPLIES = ("Photos attached.", "Thank you, waiting for the courier.")
RESOLUTION_TEXTS = (
    "Replacement shipped.",
    "Credit note issued.",
    "Explained the correct use; no defect found.",
)
COMPLAINT_REJECTIONS = ("The warranty has expired.", "Damage caused by improper use.")
RATING_COMMENTS = ("Quick and helpful.", "Took too long.", "")

STAFF = (
    ("agent1@bench.demo", "Anna Nowak", "agent", 25),
    ("agent2@bench.demo", "Piotr Wiśniewski", "agent", 25),
    ("agent3@bench.demo", "Katarzyna Wójcik", "agent", 25),
    ("coordinator1@bench.demo", "Tomasz Kamiński", "coordinator", 12),
    ("coordinator2@bench.demo", "Magdalena Lewandowska", "coordinator", 12),
    (MANAGER_EMAIL, "Marek Zieliński", "manager", 1),
)
FIRST_NAMES = ("Jan", "Ewa", "Adam", "Ola", "Marta", "Paweł", "Kasia", "Michał", "Zofia", "Igor")
LAST_NAMES = ("Kowalski", "Mazur", "Krawczyk", "Zając", "Król", "Wieczorek", "Jabłoński", "Dudek")
CITIES = (
    ("Warszawa", "00-950"),
    ("Kraków", "30-001"),
    ("Łódź", "90-001"),
    ("Wrocław", "50-001"),
    ("Poznań", "60-001"),
    ("Gdańsk", "80-001"),
    ("Katowice", "40-001"),
    ("Lublin", "20-001"),
)
COMPANY_KINDS = ("Hurtownia", "Budmat", "Instal-Serwis", "Elektro", "Technika", "Dom i Ogród")

LINES_PER_ORDER = ((1, 18), (2, 18), (3, 16), (4, 14), (5, 11), (6, 9), (8, 8), (10, 6))
QUANTITIES = (
    (1, 12),
    (2, 10),
    (3, 8),
    (4, 6),
    (5, 8),
    (6, 5),
    (10, 12),
    (12, 6),
    (20, 10),
    (24, 5),
    (25, 5),
    (50, 10),
    (100, 8),
)
# Returned units of an order line: mostly one or two, sometimes everything.
RETURNED_QUANTITIES = ((1, 64), (2, 18), (3, 8), (5, 5), (10, 2), (0, 3))  # 0: all of it
# Lines per request, capped by what the order has left: mostly one request per order.
REQUEST_SIZES = ((1, 3), (2, 3), (3, 4), (4, 10), (5, 80))
SERIAL_QUANTITIES = (1, 2, 2, 3, 4, 5, 6, 8, 10)


def _cum(pairs):
    values = [value for value, _weight in pairs]
    return values, list(accumulate(weight for _value, weight in pairs))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(int(epoch), UTC).isoformat(" ")


def _nip(n: int) -> str:
    """A valid Polish NIP derived from n (numbers whose check digit would be 10 are skipped)."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    base = 520000000 + n * 17
    while True:
        digits = f"{base:09d}"
        check = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return digits + str(check)
        base += 1


def _csv_constant(field) -> str:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return datetime.datetime.now(UTC).isoformat()
    value = field.get_default()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, datetime.time):
        return value.isoformat()
    return str(value)


class _CopyLoader:
    """Runs the COPY statements on a second thread, so PostgreSQL ingests one chunk while
    Python generates the next (two cores, one busy each); FIFO keeps parents first."""

    def __init__(self, raw_connection):
        self._raw = raw_connection
        self._jobs: queue.Queue = queue.Queue(maxsize=3)
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="bench-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._raw.cursor() as cursor:
            while (job := self._jobs.get()) is not None:
                if self.error is not None:
                    continue  # drain, so the producer never blocks on a dead loader
                started = time.perf_counter()
                try:
                    cursor.copy_expert(job[0], io.StringIO(job[1]), size=1 << 20)
                except BaseException as exc:  # handed to the main thread in submit()/close()
                    self.error = exc
                self.seconds += time.perf_counter() - started

    def submit(self, sql: str, payload: str) -> None:
        if self.error is not None:
            raise self.error
        self._jobs.put((sql, payload))

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


class _CopyStream:
    """CSV rows of one table, sent to COPY every CHUNK_ROWS rows.

    Rows give `field_names` in order; every other NOT NULL column gets its Django default as
    a constant, because COPY leaves omitted columns NULL (Django defaults are not DB defaults)
    and a NOT NULL column without a default must be named by the caller.
    """

    def __init__(self, model, field_names: list[str], loader: _CopyLoader, quote):
        given = [model._meta.get_field(name) for name in field_names]
        rest = []
        for field in model._meta.concrete_fields:
            if field.name in field_names or field.null:
                continue
            # A blank-able text field without a default is '' in Django (get_default()); an
            # auto_now(_add) moment is the moment of loading (_csv_constant).
            auto_moment = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            if (
                not field.has_default()
                and not (field.blank and field.empty_strings_allowed)
                and not auto_moment
            ):
                raise ValueError(f"{model.__name__}.{field.name} is NOT NULL: give it per row")
            rest.append(field)
        self.tail = tuple(_csv_constant(field) for field in rest)
        self.table = model._meta.db_table
        columns = [field.column for field in given + rest]
        # In CSV an unquoted empty value is NULL; blank strings of NOT NULL columns must stay ''.
        not_null = [field.column for field in given + rest if not field.null]
        self.sql = (
            f"COPY {quote(self.table)} ({', '.join(map(quote, columns))}) FROM STDIN "
            f"WITH (FORMAT csv, FORCE_NOT_NULL ({', '.join(map(quote, not_null))}))"
        )
        self.loader = loader
        self.rows = 0
        self._pending = 0
        self._new_buffer()

    def _new_buffer(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self.write = self._writer.writerow

    def add(self, row: tuple) -> None:
        self.write(row + self.tail)
        self._pending += 1

    @property
    def full(self) -> bool:
        return self._pending >= CHUNK_ROWS

    def flush(self) -> None:
        if self._pending:
            self.loader.submit(self.sql, self._buffer.getvalue())
            self.rows += self._pending
            self._pending = 0
            self._new_buffer()


def _flush_if_full(*streams: _CopyStream) -> None:
    # All of a group at once, parents first: a child chunk never reaches COPY before the
    # chunk holding its parents (constraints are checked at the end of each statement).
    if any(stream.full for stream in streams):
        for stream in streams:
            stream.flush()


class _Bench:
    """One generation run: the in-memory catalogue and the arrays that let later tables
    point at rows already streamed (orders -> returns -> complaints)."""

    def __init__(self, *, tenant, return_lines: int, complaints: int, days: int, seed: int):
        from django.db import connection

        self.connection = connection
        self.tenant = tenant
        self.tid = tenant.pk
        self.return_lines = return_lines
        self.complaints = complaints
        self.days = days
        self.rng = random.Random(seed)
        self.now = int(time.time())
        today = datetime.datetime.fromtimestamp(self.now, UTC).date()
        self.first_day = today - datetime.timedelta(days=days)
        self.first_day_epoch = (self.first_day - datetime.date(1970, 1, 1)).days * DAY
        # Order dates reach up to a week before the first delivery day, pickups a day past today.
        self._date_strings = [
            (self.first_day + datetime.timedelta(days=d)).isoformat() for d in range(-7, days + 8)
        ]

    def date_string(self, day: int) -> str:
        return self._date_strings[day + 7]

    def year_of(self, epoch: float) -> int:
        return datetime.datetime.fromtimestamp(int(epoch), UTC).year

    def reserve_ids(self, models) -> None:
        """First free id of each table (other tenants may share it): rows get ids from here.

        Read before loading starts: the connection belongs to the COPY thread from then on."""
        quote = self.connection.ops.quote_name
        self.first_id = {}
        with self.connection.cursor() as cursor:
            for model in models:
                table = quote(model._meta.db_table)
                cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608 - name from model meta
                self.first_id[model] = cursor.fetchone()[0]

    def stream(self, model, field_names: str) -> _CopyStream:
        return _CopyStream(model, field_names.split(), self.loader, self.connection.ops.quote_name)

    # --- small tables, through the ORM -------------------------------------------------------

    def seed_catalogue(self) -> None:
        from complaints.models import SlaPolicy, SupportSettings
        from customers.models import CustomerAccount, CustomerMembership, Product, ProductCategory
        from returns.models import ReturnPolicy, ReturnReason

        assert set(REASONS) == set(ReturnReason.values), "REASONS must follow ReturnReason"
        rng, tenant = self.rng, self.tenant
        SupportSettings.unscoped.create(tenant=tenant)
        ReturnPolicy.unscoped.create(tenant=tenant, restocking_fee_percent=RESTOCKING_FEE_PERCENT)
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
            ProductCategory(tenant=tenant, code=code, name=name)
            for code, name, *_rest in CATEGORIES
        )
        products = []
        self.product_category: list[int] = []
        self.product_serial: list[bool] = []
        self.product_price: list[int] = []  # cents
        return_weights: list[float] = []
        self.category_reasons = []
        for index, (code, name, count, (low, high), serial_share, propensity, skew) in enumerate(
            CATEGORIES
        ):
            weights = {**BASE_REASON_WEIGHTS, **skew}
            self.category_reasons.append(list(accumulate(weights[r] for r in REASONS)))
            for n in range(count):
                # Log-uniform in the category's range, ending in .99.
                price = max(1, round(math.exp(rng.uniform(math.log(low), math.log(high)))))
                cents = price * 100 + 99
                serial = rng.random() < serial_share
                products.append(
                    Product(
                        tenant=tenant,
                        sku=f"{code[:4].upper()}-{n + 1:04d}",
                        name=f"{name.split()[0]} {rng.choice(PRODUCT_WORDS)} {100 + n}",
                        category=categories[index],
                        unit_price=_money(cents),
                        is_serial_tracked=serial,
                    )
                )
                self.product_category.append(index)
                self.product_serial.append(serial)
                self.product_price.append(cents)
                return_weights.append(propensity * rng.lognormvariate(0, 0.4))
        products = Product.unscoped.bulk_create(products, batch_size=2000)
        self.product_ids = [p.pk for p in products]
        self.product_return_weight = return_weights
        # A few best-sellers and a long tail.
        ranks = list(range(1, len(products) + 1))
        rng.shuffle(ranks)
        self.product_cum = list(accumulate(1 / rank**0.8 for rank in ranks))

        accounts = []
        for n in range(CUSTOMERS):
            city, postal_code = rng.choice(CITIES)
            street = f"ul. {rng.choice(LAST_NAMES)}a {rng.randint(1, 120)}"
            accounts.append(
                CustomerAccount(
                    tenant=tenant,
                    number=f"C{n + 1:05d}",
                    name=f"{rng.choice(COMPANY_KINDS)} {rng.choice(LAST_NAMES)} {n + 1} Sp. z o.o.",
                    vat_number=_nip(n),
                    contact_email=f"office@c{n + 1:05d}.bench.demo",
                    billing_street=street,
                    billing_postal_code=postal_code,
                    billing_city=city,
                    shipping_street=street,
                    shipping_postal_code=postal_code,
                    shipping_city=city,
                )
            )
        accounts = CustomerAccount.unscoped.bulk_create(accounts)
        self.customer_ids = [a.pk for a in accounts]
        self.customer_address = [
            f"{a.name}\n{a.shipping_street}\n{a.shipping_postal_code} {a.shipping_city}"
            for a in accounts
        ]
        # Big and small customers: a heavy-tailed share of the orders.
        self.customer_cum = list(accumulate(rng.paretovariate(1.3) for _ in accounts))
        self.customer_discount = [rng.choice((0, 0, 3, 5, 8, 12)) for _ in accounts]

        customer_users = []
        for n, account in enumerate(accounts):
            for k in range(rng.choice((1, 1, 2))):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                customer_users.append(
                    (
                        f"user{k + 1}@c{n + 1:05d}.bench.demo",
                        f"{first} {last}",
                        "customer_admin" if k == 0 else "customer_user",
                        account,
                    )
                )
        users = self.ensure_users(
            [(email, name, role) for email, name, role, _account in customer_users]
            + [(email, name, role) for email, name, role, _weight in STAFF]
        )
        CustomerMembership.unscoped.bulk_create(
            CustomerMembership(tenant=tenant, user=users[email], customer_account=account)
            for email, _name, _role, account in customer_users
        )
        self.customer_users: list[list[int]] = [[] for _ in accounts]
        index_of = {account.pk: i for i, account in enumerate(accounts)}
        for email, _name, _role, account in customer_users:
            self.customer_users[index_of[account.pk]].append(users[email].pk)
        self.staff_ids = [users[email].pk for email, *_rest in STAFF]
        self.staff_cum = list(accumulate(weight for *_rest, weight in STAFF))

    def ensure_users(self, wanted: list[tuple[str, str, str]]) -> dict:
        """Bench users by e-mail, created or brought back to their bench role and tenant.

        Users are global (the e-mail is unique across tenants) and other tables may point at
        them, so a re-generation updates them instead of deleting them."""
        from django.contrib.auth import get_user_model

        from rma_portal.accounts.models import STAFF_ROLES

        user_model = get_user_model()
        existing = {u.email: u for u in user_model.objects.filter(email__in=[w[0] for w in wanted])}
        fresh = []
        for email, full_name, role in wanted:
            user = existing.get(email) or user_model(email=email)
            user.full_name = full_name
            user.role = role
            user.tenant = self.tenant
            user.is_staff = role in STAFF_ROLES  # bulk writes skip User.save()
            user.is_active = True
            user.password = UNUSABLE_HASH
            if email == MANAGER_EMAIL:
                user.set_password(MANAGER_PASSWORD)
            if user.pk is None:
                fresh.append(user)
        user_model.objects.bulk_create(fresh, batch_size=1000)
        user_model.objects.bulk_update(
            existing.values(),
            ["full_name", "role", "tenant", "is_staff", "is_active", "password"],
            batch_size=1000,
        )
        return {u.email: u for u in [*existing.values(), *fresh]}

    # --- orders ------------------------------------------------------------------------------

    def load_orders(self) -> None:
        from customers.models import Order, OrderLine

        rng, tid, now, days = self.rng, self.tid, self.now, self.days
        total_lines = max(
            self.return_lines + 1, math.ceil(self.return_lines * ORDER_LINES_PER_RETURN_LINE)
        )
        size_values, size_cum = _cum(LINES_PER_ORDER)
        running = list(accumulate(rng.choices(size_values, cum_weights=size_cum, k=total_lines)))
        order_count = bisect_left(running, total_lines) + 1
        running = running[:order_count]
        running[-1] = total_lines
        self.order_count = order_count

        order_ids = self.order_id_base = self.first_id[Order]
        line_id_base = self.line_id_base = self.first_id[OrderLine]
        orders = self.stream(
            Order,
            "id tenant number customer_account order_date delivery_date invoice_number imported_at",
        )
        lines = self.stream(
            OrderLine,
            "id tenant order line_number product quantity unit_price lot_number serial_numbers",
        )
        customers = rng.choices(range(CUSTOMERS), cum_weights=self.customer_cum, k=order_count)
        products = rng.choices(
            range(len(self.product_ids)), cum_weights=self.product_cum, k=total_lines
        )
        qty_values, qty_cum = _cum(QUANTITIES)
        quantities = rng.choices(qty_values, cum_weights=qty_cum, k=total_lines)
        self.order_customer = array("H", customers)
        self.order_first_line = array("l", [0, *running])
        self.order_submit = array("d", [0.0]) * order_count
        self.day_first_order = array("l", [0]) * (days + 1)
        self.line_product = array("H", products)
        self.line_quantity = array("H", [0]) * total_lines
        self.line_price = array("l", [0]) * total_lines
        keys = self.line_key = array("d", [0.0]) * total_lines
        product_ids, product_price, product_serial = (
            self.product_ids,
            self.product_price,
            self.product_serial,
        )
        return_exponent = [1 / w for w in self.product_return_weight]
        random_ = rng.random
        window_start = now - days * DAY
        counters: dict[int, int] = {}
        previous_day = -1
        line = 0
        for k in range(order_count):
            day = k * days // order_count
            if day != previous_day:
                for d in range(previous_day + 1, day + 1):
                    self.day_first_order[d] = k
                previous_day = day
            delivered_epoch = self.first_day_epoch + day * DAY
            year = self.year_of(delivered_epoch)
            counters[year] = number = counters.get(year, 0) + 1
            customer = customers[k]
            order_id = order_ids + k
            orders.add(
                (
                    order_id,
                    tid,
                    f"ZS/{year}/{number:06d}",
                    self.customer_ids[customer],
                    self.date_string(day - rng.choice((1, 1, 2, 2, 3, 5))),
                    self.date_string(day),
                    f"FV/{year}/{number:06d}",
                    _iso(delivered_epoch + 2 * HOUR),
                )
            )
            # When the customer would file a return; after `now` the order is not returnable
            # yet, and returns stay inside the last `days` days.
            submitted = delivered_epoch + 7 * HOUR + rng.triangular(0.2, 14, 2) * DAY
            returnable = window_start <= submitted <= now - 30 * MINUTE
            if returnable:
                self.order_submit[k] = submitted
            discount = 100 - self.customer_discount[customer]
            end = self.order_first_line[k + 1]
            for line_number in range(1, end - line + 1):
                product = products[line]
                if product_serial[product]:
                    quantity = rng.choice(SERIAL_QUANTITIES)
                    serials = json.dumps(
                        [f"SN{line_id_base + line:09d}{s}" for s in range(quantity)]
                    )
                else:
                    quantity = quantities[line]
                    serials = "[]"
                price = product_price[product] * discount // 100
                self.line_quantity[line] = quantity
                self.line_price[line] = price
                # Weighted sampling without replacement (Efraimidis-Spirakis): the largest
                # keys win, so return-prone products are returned more often, and lines of one
                # or two units (where one returned unit is half the line) less often.
                if returnable:
                    exponent = return_exponent[product] * (3.0 if quantity <= 2 else 1.0)
                    keys[line] = random_() ** exponent
                else:
                    keys[line] = -1.0
                lines.add(
                    (
                        line_id_base + line,
                        tid,
                        order_id,
                        line_number,
                        product_ids[product],
                        quantity,
                        _money(price),
                        f"L{rng.randrange(10000):04d}" if line_number % 3 == 1 else "",
                        serials,
                    )
                )
                line += 1
            _flush_if_full(orders, lines)
        for d in range(previous_day + 1, days + 1):
            self.day_first_order[d] = order_count
        orders.flush()
        lines.flush()
        self.counts = {Order._meta.db_table: orders.rows, OrderLine._meta.db_table: lines.rows}

    # --- returns -----------------------------------------------------------------------------

    def load_returns(self) -> None:
        from returns.models import ReturnEvent, ReturnLine, ReturnRequest

        rng, tid, now = self.rng, self.tid, self.now
        keys = self.line_key
        eligible = sum(1 for key in keys if key >= 0)
        if eligible < self.return_lines:
            raise ValueError(f"only {eligible} order lines can be returned by now")
        threshold = sorted(keys)[-self.return_lines]
        self.rma_last: dict[int, int] = {}
        requests = self.stream(
            ReturnRequest,
            (
                "id tenant number customer_account requester assignee status "
                "requested_resolution return_method pickup_date pickup_address customer_note "
                "auto_approved shipping_paid_by requested_value accepted_value restocking_fee "
                "refund_total resolution credit_note_number replacement_order_ref "
                "rejection_reason info_request created_at updated_at submitted_at approved_at "
                "received_at inspected_at resolved_at closed_at"
            ),
        )
        return_lines = self.stream(
            ReturnLine,
            (
                "id tenant return_request order_line quantity reason reason_text "
                "customer_comment serial_numbers unit_price condition disposition "
                "accepted_quantity refund_amount"
            ),
        )
        events = self.stream(
            ReturnEvent,
            "id tenant return_request actor action from_status to_status note is_public created_at",
        )
        request_id = self.first_id[ReturnRequest]
        line_id = self.first_id[ReturnLine]
        event_id = self.first_id[ReturnEvent]
        size_values, size_cum = _cum(REQUEST_SIZES)
        returned_values, returned_cum = _cum(RETURNED_QUANTITIES)
        outcome_tables = {
            reason: ([(c, d) for c, d, _w in rows], list(accumulate(w for *_cd, w in rows)))
            for reason, rows in INSPECTION_OUTCOMES.items()
        }
        staff_ids, staff_cum = self.staff_ids, self.staff_cum
        choices, random_, uniform = rng.choices, rng.random, rng.uniform
        credit_notes: dict[int, int] = {}
        replacements: dict[int, int] = {}
        remaining = self.return_lines
        for k in range(self.order_count):
            submitted = self.order_submit[k]
            if not submitted or not remaining:
                continue
            chosen = [
                i
                for i in range(self.order_first_line[k], self.order_first_line[k + 1])
                if keys[i] >= threshold
            ][:remaining]
            if not chosen:
                continue
            remaining -= len(chosen)
            customer = self.order_customer[k]
            order_line_base = self.line_id_base
            while chosen:
                size = choices(size_values, cum_weights=size_cum)[0]
                batch, chosen = chosen[:size], chosen[size:]

                # The request's path: every stage happens only if its moment is past.
                fate = random_()
                auto = fate > 0.12 and random_() < 0.25
                created = submitted - uniform(2 * MINUTE, 40 * MINUTE)
                asked = None
                if auto:
                    approved = submitted + uniform(5, 120)
                else:
                    approved = submitted + min(
                        7 * DAY, rng.lognormvariate(math.log(20 * HOUR), 0.8)
                    )
                    if random_() < 0.06:
                        asked = submitted + uniform(HOUR, 0.8 * (approved - submitted))
                        approved += uniform(DAY, 4 * DAY)
                method = choices(RETURN_METHODS, cum_weights=(50, 80, 100))[0]
                received = approved + uniform(2, 6 if method == "courier_pickup" else 12) * DAY
                inspected = received + uniform(2 * HOUR, 4 * DAY)
                resolved = inspected + uniform(30 * MINUTE, 3 * DAY)
                closed = resolved + uniform(1, 21) * DAY
                rejected_at = cancelled_at = None
                if fate < 0.08:
                    rejected_at = submitted + min(
                        6 * DAY, rng.lognormvariate(math.log(24 * HOUR), 0.7)
                    )
                    if rejected_at > now:
                        rejected_at = None
                elif fate < 0.12:
                    cancel_late = random_() < 0.5
                    if cancel_late:
                        cancelled_at = approved + uniform(HOUR, 0.9 * (received - approved))
                    else:
                        cancelled_at = submitted + uniform(HOUR, 0.9 * (approved - submitted))
                    if cancelled_at > now:
                        cancelled_at = None

                stamps = {"submitted_at": submitted}
                if rejected_at is not None:
                    status, last = "rejected", rejected_at
                elif cancelled_at is not None:
                    status, last = "cancelled", cancelled_at
                    if cancelled_at > approved:
                        stamps["approved_at"] = approved
                else:
                    status, last = "submitted", submitted
                    if asked is not None and asked <= now < approved:
                        status, last = "needs_info", asked
                    for stage, moment, stamp in (
                        ("approved", approved, "approved_at"),
                        ("received", received, "received_at"),
                        ("inspected", inspected, "inspected_at"),
                        ("resolved", resolved, "resolved_at"),
                        ("closed", closed, "closed_at"),
                    ):
                        if moment > now:
                            break
                        status, last = stage, moment
                        stamps[stamp] = moment
                if status in ("submitted", "needs_info") and random_() < 0.5:
                    assignee = None  # nobody has picked it up yet
                else:
                    assignee = staff_ids[bisect_left(staff_cum, random_() * staff_cum[-1])]
                inspected_yet = "inspected_at" in stamps
                resolved_yet = "resolved_at" in stamps

                requested_resolution = choices(RESOLUTIONS, weights=REQUESTED_RESOLUTION_WEIGHTS)[0]
                resolution = ""
                if resolved_yet:
                    resolution = (
                        requested_resolution
                        if random_() < 0.85
                        else choices(RESOLUTIONS, weights=REQUESTED_RESOLUTION_WEIGHTS)[0]
                    )
                money_back = resolution in ("refund", "credit_note")

                rid = request_id
                request_id += 1
                requested_cents = accepted_cents = fee_cents = 0
                free_shipping = False
                for i in batch:
                    product = self.line_product[i]
                    category = self.product_category[product]
                    reason = REASONS[
                        bisect_left(
                            self.category_reasons[category],
                            random_() * self.category_reasons[category][-1],
                        )
                    ]
                    free_shipping = free_shipping or reason in FREE_SHIPPING_REASONS
                    ordered = self.line_quantity[i]
                    wanted = choices(returned_values, cum_weights=returned_cum)[0]
                    quantity = ordered if wanted == 0 else min(wanted, ordered)
                    price = self.line_price[i]
                    requested_cents += quantity * price
                    serials = (
                        json.dumps([f"SN{order_line_base + i:09d}{s}" for s in range(quantity)])
                        if self.product_serial[product]
                        else "[]"
                    )
                    condition = disposition = ""
                    accepted = refund = None
                    if inspected_yet:
                        outcomes, outcome_cum = outcome_tables[reason]
                        condition, disposition = choices(outcomes, cum_weights=outcome_cum)[0]
                        accepted = quantity if random_() < 0.93 else rng.randint(0, quantity - 1)
                    if resolved_yet:
                        value = accepted * price
                        line_fee = (
                            (value * RESTOCKING_FEE_PERCENT + 50) // 100
                            if reason not in FREE_SHIPPING_REASONS
                            else 0
                        )
                        accepted_cents += value
                        fee_cents += line_fee
                        refund = _money(value - line_fee) if money_back else "0.00"
                    return_lines.add(
                        (
                            line_id,
                            tid,
                            rid,
                            order_line_base + i,
                            quantity,
                            reason,
                            rng.choice(REASON_TEXTS) if reason == "other" else "",
                            "Packed in the original box." if random_() < 0.15 else "",
                            serials,
                            _money(price),
                            condition,
                            disposition,
                            accepted,
                            refund,
                        )
                    )
                    line_id += 1

                year = self.year_of(submitted)
                self.rma_last[year] = number = self.rma_last.get(year, 0) + 1
                credit_note = replacement = ""
                if resolution == "credit_note":
                    credit_notes[year] = n = credit_notes.get(year, 0) + 1
                    credit_note = f"KOR/{year}/{n:06d}"
                elif resolution in ("replacement", "repair"):
                    replacements[year] = n = replacements.get(year, 0) + 1
                    replacement = f"ZW/{year}/{n:06d}"
                approved_at = stamps.get("approved_at")
                rejection = rng.choice(REJECTION_REASONS) if status == "rejected" else ""
                requests.add(
                    (
                        rid,
                        tid,
                        f"RMA-{year}-{number:06d}",
                        self.customer_ids[customer],
                        rng.choice(self.customer_users[customer]),
                        assignee,
                        status,
                        requested_resolution,
                        method,
                        self.date_string(int((approved_at - self.first_day_epoch) // DAY) + 1)
                        if method == "courier_pickup" and approved_at
                        else None,
                        self.customer_address[customer] if method == "courier_pickup" else "",
                        rng.choice(CUSTOMER_NOTES) if random_() < 0.3 else "",
                        "t" if auto and approved_at else "f",
                        "merchant" if free_shipping else "customer",
                        _money(requested_cents),
                        _money(accepted_cents) if resolved_yet else None,
                        (_money(fee_cents) if money_back else "0.00") if resolved_yet else None,
                        (_money(accepted_cents - fee_cents) if money_back else "0.00")
                        if resolved_yet
                        else None,
                        resolution,
                        credit_note,
                        replacement,
                        rejection,
                        rng.choice(INFO_QUESTIONS) if status == "needs_info" else "",
                        _iso(created),
                        _iso(last),
                        _iso(submitted),
                        _iso(approved_at) if approved_at else None,
                        _iso(stamps["received_at"]) if "received_at" in stamps else None,
                        _iso(stamps["inspected_at"]) if inspected_yet else None,
                        _iso(stamps["resolved_at"]) if resolved_yet else None,
                        _iso(stamps["closed_at"]) if "closed_at" in stamps else None,
                    )
                )
                if status == "rejected":
                    # The rejections KPI dates a rejection by this timeline row.
                    events.add(
                        (
                            event_id,
                            tid,
                            rid,
                            assignee,
                            "rejected",
                            "submitted",
                            "rejected",
                            rejection,
                            "t",
                            _iso(rejected_at),
                        )
                    )
                    event_id += 1
                # The next request of the same order comes a little later.
                submitted = min(now - MINUTE, submitted + uniform(0, 3 * DAY))
            _flush_if_full(requests, return_lines, events)
        for stream in (requests, return_lines, events):
            stream.flush()
            self.counts[stream.table] = stream.rows

    # --- complaints --------------------------------------------------------------------------

    def load_complaints(self) -> None:
        from complaints.models import Complaint, ComplaintMessage, SatisfactionRating

        rng, tid, now, days = self.rng, self.tid, self.now, self.days
        complaints = self.stream(
            Complaint,
            (
                "id tenant code customer_account reporter assignee category priority order "
                "order_line product subject description status resolution rejection_reason "
                "created_at updated_at first_response_due_at resolution_due_at "
                "first_responded_at first_response_at_risk_at resolution_at_risk_at "
                "sla_paused_at sla_paused_seconds resolution_started_at resolved_at closed_at "
                "reopen_count"
            ),
        )
        messages = self.stream(
            ComplaintMessage, "id tenant complaint author body is_internal created_at"
        )
        ratings = self.stream(
            SatisfactionRating, "id tenant complaint score comment rated_by created_at"
        )
        complaint_id = self.first_id[Complaint]
        message_id = self.first_id[ComplaintMessage]
        rating_id = self.first_id[SatisfactionRating]
        staff_ids, staff_cum = self.staff_ids, self.staff_cum
        choices, random_, uniform = rng.choices, rng.random, rng.uniform
        start = now - days * DAY
        filed = sorted(uniform(start, now - 10 * MINUTE) for _ in range(self.complaints))
        self.cmp_last: dict[int, int] = {}
        for created in filed:
            category = choices(COMPLAINT_CATEGORIES, weights=COMPLAINT_CATEGORY_WEIGHTS)[0]
            priority = choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0]
            order_id = order_line_id = product_id = None
            if category in ("product_quality", "delivery") and random_() < 0.9:
                # About a delivery of the last month, so the product and order are known.
                filed_day = min(days - 1, int((created - self.first_day_epoch) // DAY))
                day = max(0, filed_day - rng.randint(0, 30))
                low, high = self.day_first_order[day], self.day_first_order[day + 1]
                # A day without deliveries (tiny data sets): the last order delivered before it.
                k = rng.randrange(low, high) if high > low else max(0, low - 1)
                line = rng.randrange(self.order_first_line[k], self.order_first_line[k + 1])
                customer = self.order_customer[k]
                order_id = self.order_id_base + k
                order_line_id = self.line_id_base + line
                product_id = self.product_ids[self.line_product[line]]
            else:
                customer = bisect_left(self.customer_cum, random_() * self.customer_cum[-1])
                if category in ("service", "other") and random_() < 0.4:
                    product_id = self.product_ids[
                        bisect_left(self.product_cum, random_() * self.product_cum[-1])
                    ]
            reporter = rng.choice(self.customer_users[customer])
            assignee = staff_ids[bisect_left(staff_cum, random_() * staff_cum[-1])]
            first_hours, resolution_hours = SLA_HOURS[priority]
            first_due = created + first_hours * HOUR
            resolution_due = created + resolution_hours * HOUR
            assigned = created + uniform(5 * MINUTE, 3 * HOUR)
            started = assigned + uniform(MINUTE, 2 * HOUR)
            first_response = max(
                assigned + MINUTE,
                created + first_hours * HOUR * rng.lognormvariate(math.log(0.5), 0.6),
            )
            resolved = max(
                first_response + 10 * MINUTE,
                created + resolution_hours * HOUR * rng.lognormvariate(math.log(0.45), 0.7),
            )
            if random_() < 0.06:
                resolved += uniform(2 * DAY, 20 * DAY)  # waits for the supplier's verdict
            pause_start = pause_seconds = 0
            if random_() < 0.15:
                pause_start = uniform(first_response, resolved)
                pause_seconds = int(uniform(2 * HOUR, 4 * DAY))
                resolved += pause_seconds
            reopens = []  # (reopened at, resolved again at)
            if random_() < 0.05:
                for _cycle in range(2 if random_() < 0.15 else 1):
                    reopened = (reopens[-1][1] if reopens else resolved) + uniform(HOUR, 10 * DAY)
                    again = reopened + resolution_hours * HOUR * rng.lognormvariate(
                        math.log(0.45), 0.7
                    )
                    reopens.append((reopened, again))
            final = reopens[-1][1] if reopens else resolved
            closed = final + (uniform(HOUR, 5 * DAY) if random_() < 0.3 else 14 * DAY)
            rejected_at = created + uniform(HOUR, 3 * DAY) if random_() < 0.04 else None

            status = "new"
            responded = resolved_at = closed_at = paused_at = started_again = None
            paused_total = reopen_count = 0
            resolution = rejection = ""
            due_start = created
            last = created
            if rejected_at is not None and rejected_at <= now:
                status, closed_at, last = "rejected", rejected_at, rejected_at
                rejection = rng.choice(COMPLAINT_REJECTIONS)
                responded = min(first_response, rejected_at)
            else:
                if assigned <= now:
                    status, last = "open", assigned
                if started <= now:
                    status, last = "in_progress", started
                if first_response <= now:
                    responded = first_response
                    last = max(last, first_response)
                if pause_start and pause_start <= now:
                    if now < pause_start + pause_seconds:
                        status, paused_at, last = "awaiting_customer", pause_start, pause_start
                    else:
                        paused_total = pause_seconds
                        resolution_due += pause_seconds  # the pause pushed the due time
                if resolved <= now:
                    status, resolved_at, last = "resolved", resolved, resolved
                    resolution = rng.choice(RESOLUTION_TEXTS)
                    for reopened, again in reopens:
                        if reopened > now:
                            break
                        reopen_count += 1
                        status, resolved_at, resolution, last = "in_progress", None, "", reopened
                        started_again = due_start = reopened
                        paused_total = 0  # a fresh resolution clock
                        resolution_due = reopened + resolution_hours * HOUR
                        if again <= now:
                            status, resolved_at, last = "resolved", again, again
                            resolution = rng.choice(RESOLUTION_TEXTS)
                    if status == "resolved" and closed <= now:
                        status, closed_at, last = "closed", closed, closed
            if status == "new":
                assignee = None
            year = self.year_of(created)
            self.cmp_last[year] = number = self.cmp_last.get(year, 0) + 1
            subject = rng.choice(SUBJECTS[category])
            cid = complaint_id
            complaint_id += 1
            complaints.add(
                (
                    cid,
                    tid,
                    f"CMP-{year}-{number:06d}",
                    self.customer_ids[customer],
                    reporter,
                    assignee,
                    category,
                    priority,
                    order_id,
                    order_line_id,
                    product_id,
                    subject,
                    f"{subject}. Please advise how to proceed.",
                    status,
                    resolution,
                    rejection,
                    _iso(created),
                    _iso(last),
                    _iso(first_due),
                    _iso(resolution_due),
                    _iso(responded) if responded else None,
                    _iso(created + 0.8 * first_hours * HOUR),
                    _iso(due_start + 0.8 * resolution_hours * HOUR + paused_total),
                    _iso(paused_at) if paused_at else None,
                    paused_total,
                    _iso(started_again) if started_again else None,
                    _iso(resolved_at) if resolved_at else None,
                    _iso(closed_at) if closed_at else None,
                    reopen_count,
                )
            )

            # The thread: the customer's report, the first public answer, maybe one more.
            thread = [(reporter, f"{subject}. Please advise how to proceed.", "f", created)]
            answerer = assignee or staff_ids[0]
            if responded:
                thread.append((answerer, rng.choice(STAFF_REPLIES), "f", responded))
                end = min(now, resolved_at or closed_at or now)
                if random_() < 0.55 and end > responded:
                    moment = uniform(responded, end)
                    kind = random_()
                    if kind < 0.4:
                        thread.append((answerer, rng.choice(INTERNAL_NOTES), "t", moment))
                    elif kind < 0.75:
                        thread.append((reporter, rng.choice(CUSTOMER_REPLIES), "f", moment))
                    else:
                        thread.append((answerer, rng.choice(STAFF_REPLIES), "f", moment))
            for author, body, internal, moment in thread:
                messages.add((message_id, tid, cid, author, body, internal, _iso(moment)))
                message_id += 1

            if resolved_at and random_() < 0.5:
                rated = resolved_at + uniform(10 * MINUTE, 3 * DAY)
                if rated <= now:
                    late = resolved_at > resolution_due or reopen_count
                    weights = (15, 15, 25, 25, 20) if late else (3, 4, 10, 33, 50)
                    ratings.add(
                        (
                            rating_id,
                            tid,
                            cid,
                            choices((1, 2, 3, 4, 5), weights=weights)[0],
                            rng.choice(RATING_COMMENTS),
                            reporter,
                            _iso(rated),
                        )
                    )
                    rating_id += 1
            _flush_if_full(complaints, messages, ratings)
        for stream in (complaints, messages, ratings):
            stream.flush()
            self.counts[stream.table] = stream.rows

    # --- bookkeeping -------------------------------------------------------------------------

    def save_number_sequences(self) -> None:
        """Counters behind RMA and complaint numbers, so numbers issued later do not collide."""
        from rma_portal.tenancy.models import TenantSequence

        TenantSequence.unscoped.bulk_create(
            [
                TenantSequence(tenant=self.tenant, name=name, year=year, last_value=value)
                for name, counters in (("RMA", self.rma_last), ("CMP", self.cmp_last))
                for year, value in counters.items()
            ]
        )

    def reset_id_sequences(self, models) -> None:
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            for model in models:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {quote(table)}",  # noqa: S608 - name from model meta
                    [table],
                )


def _clear_tenant(tenant) -> None:
    """Delete every tenant-owned row of the bench tenant (and link rows pointing at them).

    Constraints are deferred until commit, so the order of the deletes does not matter.
    Users are kept: they are global, and re-used by e-mail."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db import connection

    from rma_portal.tenancy.models import Tenant

    quote = connection.ops.quote_name
    user_model = get_user_model()

    def tenant_column(model):
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Tenant:
                return field.column
        return None

    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model in (Tenant, user_model) or model._meta.proxy or not model._meta.managed:
                continue
            table = quote(model._meta.db_table)
            column = tenant_column(model)
            if column:
                cursor.execute(f"DELETE FROM {table} WHERE {quote(column)} = %s", [tenant.pk])  # noqa: S608 - names from model meta
                continue
            for field in model._meta.concrete_fields:
                parent = field.related_model if field.is_relation else None
                parent_column = (
                    tenant_column(parent) if parent and parent is not user_model else None
                )
                if parent_column:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE {quote(field.column)} IN "  # noqa: S608 - names from model meta
                        f"(SELECT id FROM {quote(parent._meta.db_table)} "
                        f"WHERE {quote(parent_column)} = %s)",
                        [tenant.pk],
                    )


def _bench_tenant():
    from rma_portal.tenancy.models import Tenant

    tenant, _created = Tenant.objects.get_or_create(
        slug=TENANT_SLUG,
        defaults={
            "name": "Bench KPI",
            "support_email": "support@bench.demo",
            "return_address_name": "Bench returns centre",
            "return_address_street": "ul. Magazynowa 7",
            "return_address_postal_code": "05-800",
            "return_address_city": "Pruszków",
        },
    )
    return tenant


def generate(*, return_lines: int, complaints: int, days: int = 365, seed: int = 7) -> dict:
    """Fill the bench tenant with the data set; skip when it already has this size.

    Needs Django set up on PostgreSQL with migrations applied. Everything is loaded in one
    transaction, so an interrupted run leaves the previous data set (or none)."""
    from django.db import connection, transaction

    from complaints.models import Complaint, ComplaintMessage, SatisfactionRating
    from customers.models import CustomerAccount, Order, OrderLine, Product
    from returns.models import ReturnEvent, ReturnLine, ReturnRequest

    if connection.vendor != "postgresql":
        raise RuntimeError("the KPI data set loads with COPY: it needs PostgreSQL")
    if return_lines < 1 or complaints < 0 or days < 30:
        raise ValueError("need at least one return line, no negative complaints, 30+ days")
    tenant = _bench_tenant()
    have = (
        ReturnLine.unscoped.filter(tenant=tenant).count(),
        Complaint.unscoped.filter(tenant=tenant).count(),
    )
    if have == (return_lines, complaints):
        return {"skipped": True, "counts": {"return lines": have[0], "complaints": have[1]}}

    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now
        print(f"  {name}: {timings[name]:.1f} s", file=sys.stderr, flush=True)

    bench = _Bench(
        tenant=tenant, return_lines=return_lines, complaints=complaints, days=days, seed=seed
    )
    loaded = [Order, OrderLine, ReturnRequest, ReturnLine, ReturnEvent]
    loaded += [Complaint, ComplaintMessage, SatisfactionRating]
    with transaction.atomic():
        _clear_tenant(tenant)
        with connection.cursor() as cursor:
            # Checked per COPY statement instead of queued for millions of rows until commit.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL synchronous_commit TO off")
        lap("clear tenant")
        bench.seed_catalogue()
        lap("customers, products, users")
        bench.reserve_ids(loaded)
        bench.loader = _CopyLoader(connection.connection)
        try:
            bench.load_orders()
            lap("orders")
            bench.load_returns()
            lap("returns")
            bench.load_complaints()
            lap("complaints")
        finally:
            bench.loader.close()
        lap("copy queue drained")
        bench.save_number_sequences()
        bench.reset_id_sequences(loaded)
    lap("commit")
    small = [CustomerAccount, Product]
    with connection.cursor() as cursor:
        for model in loaded + small:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    lap("analyze")
    timings["total"] = time.perf_counter() - started
    timings["copy busy"] = bench.loader.seconds
    return {"skipped": False, "counts": bench.counts, "timings": timings}


# --- command line ----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--return-lines", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365, help="the data set spans these days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--fresh", action="store_true", help="drop and recreate the bench database first"
    )
    return parser.parse_args()


def prepare_database(settings_db: dict, *, fresh: bool) -> None:
    """Create the database if missing (with --fresh: drop it first), from `postgres`."""
    import psycopg2
    from psycopg2 import sql

    name = settings_db["NAME"]
    if fresh and "bench" not in name:
        # --fresh drops a whole database: never one that DATABASE_URL points at by mistake.
        raise SystemExit(f"refusing to drop {name!r}: --fresh only drops a *bench* database")
    maintenance = psycopg2.connect(
        dbname="postgres",
        host=settings_db.get("HOST") or None,
        port=settings_db.get("PORT") or None,
        user=settings_db.get("USER") or None,
        password=settings_db.get("PASSWORD") or None,
    )
    maintenance.autocommit = True
    try:
        with maintenance.cursor() as cursor:
            if fresh:
                cursor.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                print(f"dropped database {name}")
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    finally:
        maintenance.close()


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")
    os.environ.setdefault("DATABASE_URL", BENCH_DATABASE_URL)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-real-deployment")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings_db = settings.DATABASES["default"]
    prepare_database(settings_db, fresh=args.fresh)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    print(
        f"generating {args.return_lines:,} return lines and {args.complaints:,} complaints "
        f"over {args.days} days into {settings_db['NAME']} (tenant {TENANT_SLUG!r})"
    )
    result = generate(
        return_lines=args.return_lines, complaints=args.complaints, days=args.days, seed=args.seed
    )
    if result["skipped"]:
        counts = result["counts"]
        print(
            f"skipped: the tenant already holds {counts['return lines']:,} return lines and "
            f"{counts['complaints']:,} complaints (use --fresh to rebuild)"
        )
        return
    for table, rows in result["counts"].items():
        print(f"  {table:<32} {rows:>10,} rows")
    for phase, seconds in result["timings"].items():
        print(f"  {phase:<32} {seconds:>10.1f} s")


if __name__ == "__main__":
    main()
