"""`manage.py seed_demo` creates users with a public password: with DEBUG off (production mode)
it runs only when told, with --i-know-this-is-production, that the installation is a demo."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rma_portal.accounts.models import User
from rma_portal.tenancy.management.commands import seed_demo
from rma_portal.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
FLAG = "--i-know-this-is-production"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, "--quiet", stdout=out)
    return out.getvalue()


@pytest.fixture
def platform_only(monkeypatch):
    """Leaves out the apps' demo data (seconds of orders, returns and history, covered by
    tests/test_seed_demo.py): the command still creates the superuser, the tenants and their
    staff, which is enough to see whether it ran."""
    monkeypatch.setattr(seed_demo, "demo_modules", lambda: iter(()))


def test_refuses_with_debug_off_and_creates_nothing(settings, platform_only):
    settings.DEBUG = False

    with pytest.raises(CommandError) as refused:
        run()

    message = str(refused.value)
    assert "DEBUG is off" in message, message
    assert "password is public" in message, message
    assert FLAG in message, message
    assert not User.objects.exists()
    assert not Tenant.objects.exists()


def test_the_flag_seeds_with_debug_off(settings, platform_only):
    settings.DEBUG = False

    output = run(FLAG)

    assert User.objects.filter(email=seed_demo.SUPERUSER_EMAIL, is_superuser=True).exists()
    assert set(Tenant.objects.values_list("slug", flat=True)) == {
        spec.slug for spec in seed_demo.DEMO_TENANTS
    }
    assert "created" in output, output


def test_debug_on_needs_no_flag(settings, platform_only):
    # The embedded mode (`make run`, DEBUG on) seeds at every start, without the flag.
    settings.DEBUG = True

    run()

    assert User.objects.filter(email=seed_demo.SUPERUSER_EMAIL).exists()


def test_the_guard_itself(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        seed_demo.refuse_in_production(confirmed=False)
    seed_demo.refuse_in_production(confirmed=True)

    settings.DEBUG = True
    seed_demo.refuse_in_production(confirmed=False)


def test_the_operations_guide_gives_the_flag_to_seed_a_production_stack():
    operations = (ROOT / "docs" / "operations.md").read_text()
    commands = re.findall(r"docker compose exec \S+ python manage\.py seed_demo[^\n`]*", operations)

    assert commands, "docs/operations.md: show how to seed the demo in the compose stack"
    assert all(FLAG in command for command in commands), commands
