"""`manage.py seed_demo`: two demo tenants, their staff, a platform superuser, and every
installed app's own demo data, then a table of the demo logins.

Idempotent: every row is found by its natural key (tenant slug, e-mail, and each app's own
keys such as SKUs and order numbers), so running it again, for instance at every start of
the embedded mode, creates nothing new.

The platform does not know the domain apps. An app contributes demo data with a module
`<app>.demo` holding:

- `seed(*, tenant, rng)`: called once per demo tenant, in INSTALLED_APPS order, inside
  `tenant_context(tenant)` and one transaction. It must find existing rows by natural key and
  draw from `rng` the same way whatever the database already holds, so that a rerun creates
  nothing. It may return a mapping {what: number of rows created} for the summary line.
- optionally `seed_last(*, tenant)`: called once per demo tenant after every app's `seed`,
  in the same order, context and transaction: for configuration that would change how the
  other apps' demo history is made (automatic assignment rules, say), which only cases
  filed from then on should meet. Same rules: find by natural key, create what is missing.
- optionally `logins(*, tenant_slug)`: the (role, e-mail) pairs of the users it creates, for
  the logins table. Create those users with `demo_user()` below.

The demo users' password is public (settings.DEMO_PASSWORD, printed in the logins table and
shown in the README), so with DEBUG off, which is production mode, the command refuses to run
unless given --i-know-this-is-production.
"""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from rma_portal.accounts.models import CUSTOMER_ROLES, Role, User
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

DEMO_MODULE = "demo"
SUPERUSER_EMAIL = "root@platform.demo"
PORTAL_PATH = "/portal/"
BACKOFFICE_PATH = "/backoffice/"
DASHBOARD_PATH = "/dashboard/"
LOGIN_PATH = "/accounts/login/"
PRODUCTION_FLAG = "--i-know-this-is-production"

# The local part of each staff user's e-mail, e.g. agent@nordtech.demo.
STAFF_EMAIL_NAMES = {
    Role.AGENT: "agent",
    Role.COORDINATOR: "coordinator",
    Role.MANAGER: "manager",
    Role.TENANT_ADMIN: "admin",
}


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    brand_colour: str  # white text sits on it (top bar, buttons): keep contrast >= 4.5
    default_language: str
    timezone: str
    currency: str
    return_address: tuple[str, str, str, str, str]  # name, street, postal code, city, country
    staff_names: dict[str, str]  # role -> full name

    @property
    def support_email(self) -> str:
        return f"support@{self.slug}.demo"


DEMO_TENANTS = (
    DemoTenant(
        slug="nordtech",
        name="Nordtech Industrial",
        brand_colour="#1d5fa8",
        default_language="pl",
        timezone="Europe/Warsaw",
        currency="PLN",
        return_address=(
            "Nordtech Industrial - Dział Zwrotów",
            "ul. Przemysłowa 14",
            "02-232",
            "Warszawa",
            "PL",
        ),
        staff_names={
            Role.AGENT: "Agnieszka Nowak",
            Role.COORDINATOR: "Tomasz Wiśniewski",
            Role.MANAGER: "Magdalena Kowalczyk",
            Role.TENANT_ADMIN: "Paweł Zieliński",
        },
    ),
    DemoTenant(
        slug="baltic",
        name="Baltic Workwear",
        brand_colour="#1f7a4d",
        default_language="en",
        timezone="Europe/Vilnius",
        currency="EUR",
        return_address=(
            "Baltic Workwear UAB - Returns",
            "Pramonės g. 12",
            "LT-94101",
            "Klaipėda",
            "LT",
        ),
        staff_names={
            Role.AGENT: "Rūta Jankauskienė",
            Role.COORDINATOR: "Mantas Petrauskas",
            Role.MANAGER: "Eglė Vasiliauskienė",
            Role.TENANT_ADMIN: "Tomas Kazlauskas",
        },
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    """One row of the demo logins table."""

    role: str
    tenant: str
    email: str
    password: str
    where: str


def staff_email(role: str, tenant_slug: str) -> str:
    return f"{STAFF_EMAIL_NAMES[role]}@{tenant_slug}.demo"


def demo_modules() -> Iterator[tuple[str, ModuleType]]:
    """(app label, demo module) of every installed app that has one, in INSTALLED_APPS order."""
    for app_config in apps.get_app_configs():
        if not module_has_submodule(app_config.module, DEMO_MODULE):
            continue
        module = importlib.import_module(f"{app_config.name}.{DEMO_MODULE}")
        if not callable(getattr(module, "seed", None)):
            raise CommandError(f"{module.__name__} has no seed(*, tenant, rng) function.")
        yield app_config.label, module


def demo_logins() -> list[DemoLogin]:
    """Every demo login, as printed by the command; needs no database."""
    password = settings.DEMO_PASSWORD
    rows = []
    for spec in DEMO_TENANTS:
        for role in STAFF_EMAIL_NAMES:
            rows.append(
                DemoLogin(
                    role=str(Role(role).label),
                    tenant=spec.name,
                    email=staff_email(role, spec.slug),
                    password=password,
                    where=DASHBOARD_PATH if role == Role.MANAGER else BACKOFFICE_PATH,
                )
            )
        for _label, module in demo_modules():
            logins = getattr(module, "logins", None)
            for role, email in logins(tenant_slug=spec.slug) if logins else ():
                rows.append(
                    DemoLogin(
                        role=str(Role(role).label),
                        tenant=spec.name,
                        email=email,
                        password=password,
                        where=PORTAL_PATH if role in CUSTOMER_ROLES else BACKOFFICE_PATH,
                    )
                )
    rows.append(
        DemoLogin(
            role="Platform superuser",
            tenant="(all tenants)",
            email=SUPERUSER_EMAIL,
            password=password,
            where=BACKOFFICE_PATH,
        )
    )
    return rows


def _password_hash(password: str) -> str:
    # One deliberately slow hash (~0.3 s) shared by all demo users, instead of one per user:
    # the password is printed on screen anyway, and 21 hashes would dominate the run time.
    return _hash_with(password, tuple(settings.PASSWORD_HASHERS))


@functools.cache
def _hash_with(password: str, hashers: tuple[str, ...]) -> str:
    # Keyed by the hashers too: a hash made under other settings may not verify under these.
    return make_password(password)


def demo_user(
    *,
    email: str,
    tenant: Tenant | None,
    role: str,
    full_name: str,
    language: str = "",
    is_superuser: bool = False,
) -> tuple[User, bool]:
    """Get or create a demo user (by e-mail) whose password is settings.DEMO_PASSWORD.

    An existing user is left as it is, including a password someone changed.
    """
    user = User.objects.filter(email=email.lower()).first()
    if user is not None:
        return user, False
    user = User(
        email=email,
        tenant=tenant,
        role=role,
        full_name=full_name,
        language=language,
        is_superuser=is_superuser,
        password=_password_hash(settings.DEMO_PASSWORD),
    )
    user.save()
    return user, True


def tenant_rng(tenant: Tenant, app_label: str) -> random.Random:
    # One generator per tenant and app: an app's data does not change when another app
    # starts drawing more or fewer numbers.
    return random.Random(f"seed_demo:{tenant.slug}:{app_label}")


def _tenant_get_or_create(spec: DemoTenant) -> tuple[Tenant, bool]:
    tenant = Tenant.objects.filter(slug=spec.slug).first()
    if tenant is not None:
        return tenant, False
    name, street, postal_code, city, country = spec.return_address
    tenant = Tenant(
        slug=spec.slug,
        name=spec.name,
        brand_colour=spec.brand_colour,
        default_language=spec.default_language,
        timezone=spec.timezone,
        currency=spec.currency,
        support_email=spec.support_email,
        return_address_name=name,
        return_address_street=street,
        return_address_postal_code=postal_code,
        return_address_city=city,
        return_address_country=country,
    )
    tenant.full_clean()
    tenant.save()
    return tenant, True


def format_logins_table(rows: list[DemoLogin]) -> list[str]:
    """The rows as aligned text columns, a blank line between tenants."""
    header = DemoLogin("ROLE", "TENANT", "E-MAIL", "PASSWORD", "GO TO")
    columns = ("role", "tenant", "email", "password", "where")
    widths = [max(len(getattr(row, name)) for row in [header, *rows]) for name in columns]

    def line(row: DemoLogin) -> str:
        cells = (
            getattr(row, name).ljust(width) for name, width in zip(columns, widths, strict=True)
        )
        return "  ".join(cells).rstrip()

    lines = [line(header), "  ".join("-" * width for width in widths)]
    previous_tenant = None
    for row in rows:
        if previous_tenant is not None and row.tenant != previous_tenant:
            lines.append("")
        lines.append(line(row))
        previous_tenant = row.tenant
    return lines


def _made(label: str, counts: dict[str, int]) -> list[str]:
    """["<app>: 3 orders, 1 team"] for the summary line, or [] when nothing was created."""
    listed = ", ".join(f"{number} {what}" for what, number in counts.items() if number)
    return [f"{label}: {listed}"] if listed else []


def refuse_in_production(*, confirmed: bool) -> None:
    """Raise CommandError when DEBUG is off, unless the operator confirmed with PRODUCTION_FLAG
    that this installation is meant to hold the demo users."""
    if settings.DEBUG or confirmed:
        return
    raise CommandError(
        "Refusing to seed demo data: DEBUG is off, so this looks like a production "
        "installation. seed_demo creates a platform superuser and staff and customer users "
        "whose password is public (DEMO_PASSWORD, printed in the logins table and shown in the "
        "README), so anyone could sign in as them. If this installation really is a demo, run "
        f"it again with {PRODUCTION_FLAG}."
    )


class Command(BaseCommand):
    help = (
        "Create (or complete) the demo tenants, their staff and customers, products and "
        "orders, then print the demo logins. Safe to run repeatedly."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="Do not print the table of demo logins."
        )
        parser.add_argument(
            PRODUCTION_FLAG,
            action="store_true",
            dest="i_know_this_is_production",
            help=(
                "Seed even though DEBUG is off (production mode). The demo users' password is "
                "public: only for an installation that is a demo."
            ),
        )

    def handle(
        self,
        *args,
        quiet: bool = False,
        i_know_this_is_production: bool = False,
        verbosity: int = 1,
        **options,
    ) -> None:
        refuse_in_production(confirmed=i_know_this_is_production)
        with transaction.atomic():
            summary = self._seed()
        if verbosity < 1:
            return
        for line in summary:
            self.stdout.write(line)
        if not quiet:
            self._print_logins()

    def _seed(self) -> list[str]:
        summary = []
        _root, root_created = demo_user(
            email=SUPERUSER_EMAIL,
            tenant=None,
            role="",
            full_name="Platform Admin",
            is_superuser=True,
        )
        if root_created:
            summary.append("Platform: created the superuser.")
        modules = list(demo_modules())
        for spec in DEMO_TENANTS:
            tenant, tenant_created = _tenant_get_or_create(spec)
            made = ["the tenant"] if tenant_created else []
            staff_created = sum(
                demo_user(
                    email=staff_email(role, spec.slug),
                    tenant=tenant,
                    role=role,
                    full_name=spec.staff_names[role],
                )[1]
                for role in STAFF_EMAIL_NAMES
            )
            if staff_created:
                made.append(f"{staff_created} staff users")
            with tenant_context(tenant):
                for label, module in modules:
                    counts = module.seed(tenant=tenant, rng=tenant_rng(tenant, label)) or {}
                    made.extend(_made(label, counts))
                for label, module in modules:
                    seed_last = getattr(module, "seed_last", None)
                    if seed_last is not None:
                        made.extend(_made(label, seed_last(tenant=tenant) or {}))
            if made:
                summary.append(f"{tenant.name}: created " + "; ".join(made) + ".")
            else:
                summary.append(f"{tenant.name}: up to date, nothing created.")
        return summary

    def _print_logins(self) -> None:
        lines = format_logins_table(demo_logins())
        self.stdout.write("")
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                f"Demo logins: sign in at {LOGIN_PATH}, then go where the last column says."
            )
        )
        self.stdout.write(self.style.MIGRATE_LABEL(lines[0]))
        for line in lines[1:]:
            self.stdout.write(line)
        self.stdout.write("")
