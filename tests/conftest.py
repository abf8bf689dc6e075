"""Shared fixtures: two tenants, each with two customer companies, their users and staff."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from rma_portal.accounts.models import Role, User
from rma_portal.tenancy.context import tenant_context

from .factories import (
    PASSWORD,
    CustomerAccountFactory,
    OrderFactory,
    OrderLineFactory,
    TenantFactory,
    UserFactory,
    customer_user,
)

# --- short failure messages ---------------------------------------------------------------

LONG_TEXT = 400  # characters of a page or e-mail a failure message may show around a match


def _excerpt(text: str, start: int, length: int) -> str:
    begin, end = max(0, start - 150), min(len(text), start + length + 150)
    return ("…" if begin else "") + text[begin:end] + ("…" if end < len(text) else "")


def pytest_assertrepr_compare(config, op, left, right):
    """`needle in page` and `page == other` on long texts explain themselves in a few lines
    (where the needle was found, where two texts first differ), never by printing a whole
    page: on CI pytest truncates nothing, and one failure would flood the log."""
    if isinstance(left, bytes) and isinstance(right, bytes):
        left, right = left.decode(errors="replace"), right.decode(errors="replace")
    if op in ("in", "not in") and isinstance(left, str) and isinstance(right, str):
        if len(right) <= LONG_TEXT:
            return None
        position = right.find(left)
        if op == "in":
            return [
                f"{left[:200]!r} in <text of {len(right)} characters>",
                f"not found; the text starts: {right[:LONG_TEXT]!r}",
            ]
        return [
            f"{left[:200]!r} not in <text of {len(right)} characters>",
            f"found at {position}: {_excerpt(right, position, len(left))!r}",
        ]
    if op == "==" and isinstance(left, str) and isinstance(right, str):
        if max(len(left), len(right)) <= LONG_TEXT:
            return None
        differs = next(
            (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
            min(len(left), len(right)),
        )
        return [
            f"<text of {len(left)} characters> == <text of {len(right)} characters>",
            f"first difference at {differs}:",
            f"  left:  {_excerpt(left, differs, 1)!r}",
            f"  right: {_excerpt(right, differs, 1)!r}",
        ]
    return None


@dataclass
class World:
    """One tenant as a test sees it."""

    tenant: object
    company: object
    other_company: object
    customer: User
    customer_admin: User
    colleague: User
    other_company_user: User
    agent: User
    coordinator: User
    manager: User
    tenant_admin: User


def build_world(name: str) -> World:
    tenant = TenantFactory(name=name, slug=name.lower().replace(" ", "-"))
    company = CustomerAccountFactory(tenant=tenant, name=f"{name} Buyer")
    other_company = CustomerAccountFactory(tenant=tenant, name=f"{name} Other Buyer")
    return World(
        tenant=tenant,
        company=company,
        other_company=other_company,
        customer=customer_user(company),
        customer_admin=customer_user(company, admin=True),
        colleague=customer_user(company),
        other_company_user=customer_user(other_company),
        agent=UserFactory(tenant=tenant, role=Role.AGENT),
        coordinator=UserFactory(tenant=tenant, role=Role.COORDINATOR),
        manager=UserFactory(tenant=tenant, role=Role.MANAGER),
        tenant_admin=UserFactory(tenant=tenant, role=Role.TENANT_ADMIN),
    )


@pytest.fixture(autouse=True)
def todays_kpis_at_every_request(settings):
    # Tests change today's rows between requests; tests of the cache turn it on themselves.
    settings.KPI_TODAY_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def english_by_default():
    # Requests activate a language in the thread and nothing resets it: without this, one
    # test's Polish page would leak into the next test's messages.
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def joinable_eager_results():
    # Celery keeps "a result.get() here would block" in one process-wide flag, which each eager
    # apply_async sets and then restores to what it found. Two threads enqueuing at once (the
    # concurrency tests) can restore it in the wrong order and leave it set, and every later
    # `task.apply(...).get()` in this process would then fail with "Never call result.get()
    # within a task". Each test starts with the flag as a fresh process has it.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def empty_cache():
    # The cache may be a real Redis that outlives test databases (and their reused ids).
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def world_a(db) -> World:
    return build_world("Alpha")


@pytest.fixture
def world_b(db) -> World:
    return build_world("Beta")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(email="root@platform.example", password=PASSWORD)


@pytest.fixture
def login(client):
    """Sign a user in through the real login form; returns the client."""

    def _login(user: User):
        response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        return client

    return _login


@pytest.fixture
def in_tenant():
    """Context manager to run code as a tenant: `with in_tenant(t): ...`."""
    return tenant_context


@pytest.fixture
def make_order():
    def _make(company, *, lines: int = 2, **kwargs):
        order = OrderFactory(tenant=company.tenant, customer_account=company, **kwargs)
        for number in range(1, lines + 1):
            OrderLineFactory(tenant=company.tenant, order=order, line_number=number)
        return order

    return _make


# --- the demo data ------------------------------------------------------------------------


def run_seed_demo(**options) -> str:
    """`manage.py seed_demo`; returns what it printed. Tests run with DEBUG off, where the
    command asks to be told that this is not a production database."""
    out = io.StringIO()
    call_command("seed_demo", "--i-know-this-is-production", stdout=out, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> str:
    """The demo data, seeded and committed once for the module that asks for it (seeding
    takes seconds); returns what the command printed. Each test still runs in its own
    transaction on top of it, and the database is emptied when the module is done."""
    # The fast hasher of `fast_password_hashing`, which is not applied yet at module scope.
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=hashers):
        printed = run_seed_demo()
    yield printed
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
