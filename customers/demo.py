"""Demo data of the customers app for `manage.py seed_demo`: product categories, a catalogue
of 200 products, three customer companies with two users each, and a year of orders; then,
after the other apps' demo cases (`seed_last`), a team and the rules of automatic assignment.

Rows are found by natural key (category code, SKU, customer number, e-mail, order sequence
number) and `rng` is drawn from the same way whatever already exists, so a rerun, even on a
later day, creates nothing.
"""

from __future__ import annotations

import datetime
import random
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from rma_portal.accounts.models import Role, Team, TeamMembership, TeamStrategy, User
from rma_portal.tenancy.management.commands.seed_demo import demo_user, staff_email
from rma_portal.tenancy.models import Tenant

from .models import (
    AssignmentRule,
    CustomerAccount,
    CustomerMembership,
    FaqArticle,
    Order,
    OrderLine,
    Product,
    ProductCategory,
    RuleCaseKind,
)
from .validators import NIP_WEIGHTS

CATEGORIES = {
    "electronics": "Electronics",
    "workwear": "Workwear",
    "office-supplies": "Office supplies",
    "machine-parts": "Machine parts",
    "personalised": "Personalised goods",
}
SKU_CODES = {
    "electronics": "ELE",
    "workwear": "WRK",
    "office-supplies": "OFF",
    "machine-parts": "MCH",
    "personalised": "PRS",
}
NOT_RETURNABLE = frozenset({"personalised"})
# Months of warranty by category (a defect past the return window is a warranty claim).
WARRANTY_MONTHS = {"electronics": 24, "machine-parts": 12}
# Units per order line, by category (serial-tracked products: 1 to 4, a serial each).
QUANTITIES = {
    "electronics": (1, 10),
    "workwear": (5, 40),
    "office-supplies": (1, 20),
    "machine-parts": (1, 24),
    "personalised": (10, 60),
}
LOT_TRACKED = frozenset({"workwear", "office-supplies", "machine-parts", "personalised"})
ORDERS_PER_TENANT = (320, 380)
ORDER_HISTORY_DAYS = 365
LINES_PER_ORDER_WEIGHTS = (25, 25, 20, 15, 10, 5)  # 1 to 6 lines
DELIVERY_DAYS = (1, 7)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Family:
    """Products sharing a name and a category; prices are list prices in PLN."""

    category: str
    name: str
    variants: tuple[tuple[str, int], ...]
    serial_tracked: bool = False


def _sizes(sizes: str, price: int) -> tuple[tuple[str, int], ...]:
    return tuple((f"size {size}", price) for size in sizes.split())


CATALOGUE = (
    # electronics: 43
    Family(
        "electronics",
        "Handheld barcode scanner",
        (("HS-220 corded", 390), ("HS-460 cordless", 890), ("HS-880 rugged 2D", 1650)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "Industrial label printer",
        (("LP-203, 203 dpi", 2900), ("LP-300, 300 dpi", 3900), ("LP-600, 600 dpi", 6900)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "Rugged tablet",
        (('8" Android', 2400), ('10" Android', 3100), ('12" Windows', 5200)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "Managed Ethernet switch",
        (("8-port", 690), ("16-port", 1290), ("24-port PoE", 2890)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "PLC CPU module",
        (("NX-110", 1800), ("NX-210", 2600), ("NX-310", 4100)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "HMI touch panel",
        (('7"', 1490), ('10"', 2290), ('15"', 3990)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "UPS unit, line-interactive",
        (("1000 VA", 890), ("2000 VA", 1690)),
        serial_tracked=True,
    ),
    Family(
        "electronics",
        "DIN-rail power supply 24 V",
        (("2.5 A", 120), ("5 A", 180), ("10 A", 320), ("20 A", 590)),
    ),
    Family(
        "electronics",
        "Industrial Ethernet cable Cat6A",
        (("1 m", 25), ("3 m", 45), ("5 m", 65), ("10 m", 110)),
    ),
    Family("electronics", "M12 sensor cable, 4-pin", (("2 m", 35), ("5 m", 55), ("10 m", 89))),
    Family(
        "electronics",
        "Inductive proximity sensor M18",
        (("PNP NO", 89), ("PNP NC", 89), ("NPN NO", 85)),
    ),
    Family(
        "electronics",
        "Photoelectric sensor",
        (("diffuse 300 mm", 190), ("retro-reflective 4 m", 240), ("through-beam 15 m", 390)),
    ),
    Family("electronics", "Safety relay", (("2 NO", 420), ("3 NO + 1 NC", 560))),
    Family("electronics", "LED machine lamp 24 V", (("300 mm", 160), ("600 mm", 230))),
    Family("electronics", "Signal tower, 3 tiers", (("24 V DC", 310), ("230 V AC", 340))),
    # workwear: 48
    Family("workwear", "Work trousers Flex, navy", _sizes("46 48 50 52 54 56 58", 149)),
    Family("workwear", "Softshell jacket Storm, black", _sizes("S M L XL XXL", 289)),
    Family("workwear", "High-visibility vest EN ISO 20471, yellow", _sizes("M L XL XXL", 29)),
    Family("workwear", "Safety shoes S3 Ranger", _sizes("39 40 41 42 43 44 45 46", 279)),
    Family("workwear", "Nitrile-coated work gloves, pack of 12", _sizes("8 9 10 11", 79)),
    Family("workwear", "Fleece sweatshirt Polar, grey", _sizes("S M L XL XXL", 119)),
    Family("workwear", "Bib and brace overalls, grey", _sizes("48 50 52 54 56 58", 199)),
    Family("workwear", "Winter parka Arctic, navy", _sizes("M L XL XXL", 449)),
    Family("workwear", "Cotton T-shirt, black, pack of 5", _sizes("S M L XL XXL", 99)),
    # office supplies: 35
    Family(
        "office-supplies",
        "Copy paper 80 g/m², box of 5 reams",
        (("A4", 109), ("A3", 199)),
    ),
    Family(
        "office-supplies",
        "Toner cartridge",
        (
            ("LJ 400, black", 389),
            ("LJ 400, cyan", 459),
            ("LJ 400, magenta", 459),
            ("LJ 400, yellow", 459),
            ("LJ 600, black", 529),
        ),
    ),
    Family("office-supplies", "Lever arch file A4", (("50 mm", 9), ("75 mm", 11))),
    Family("office-supplies", "Ring binder A4, 2 rings", (("25 mm", 7), ("40 mm", 8))),
    Family(
        "office-supplies",
        "Thermal transfer ribbon 110 mm x 300 m",
        (("wax", 39), ("wax/resin", 59), ("resin", 89)),
    ),
    Family(
        "office-supplies",
        "Thermal labels",
        (
            ("100x150 mm, roll of 500", 29),
            ("100x50 mm, roll of 1000", 26),
            ("57x32 mm, roll of 2000", 24),
        ),
    ),
    Family(
        "office-supplies",
        "Ballpoint pens, box of 50",
        (("blue", 45), ("black", 45), ("red", 45)),
    ),
    Family(
        "office-supplies",
        "Sticky notes 76x76 mm, pack of 12",
        (("yellow", 29), ("neon mix", 35)),
    ),
    Family(
        "office-supplies",
        "Packing tape 48 mm x 66 m, pack of 36",
        (("clear", 119), ("brown", 119), ("printed FRAGILE", 169)),
    ),
    Family("office-supplies", "Stretch film 500 mm x 300 m", (("17 µm", 39), ("23 µm", 49))),
    Family(
        "office-supplies",
        "Cardboard box",
        (
            ("300x200x150 mm, pack of 25", 55),
            ("400x300x200 mm, pack of 25", 79),
            ("600x400x400 mm, pack of 20", 129),
        ),
    ),
    Family(
        "office-supplies",
        "Self-seal envelope C4, box of 250",
        (("white", 89), ("brown", 79)),
    ),
    Family("office-supplies", "Packing list pouch A4, pack of 1000", (("self-adhesive", 149),)),
    Family("office-supplies", "Whiteboard markers, set of 4", (("assorted", 19),)),
    Family("office-supplies", "Laminating pouches A4 125 µm, pack of 100", (("gloss", 39),)),
    # machine parts: 54
    Family(
        "machine-parts",
        "Deep groove ball bearing",
        tuple((f"620{n}-2RS", 12 + 5 * n) for n in range(1, 9)),
    ),
    Family(
        "machine-parts",
        "V-belt",
        (("SPA 1000", 29), ("SPA 1250", 33), ("SPA 1500", 37), ("SPB 1600", 49), ("SPB 2000", 59)),
    ),
    Family(
        "machine-parts",
        "Gear motor",
        (
            ("0.37 kW, i=20", 1450),
            ("0.75 kW, i=15", 1890),
            ("1.5 kW, i=10", 2690),
            ("3 kW, i=10", 3890),
        ),
        serial_tracked=True,
    ),
    Family(
        "machine-parts",
        "Frequency inverter",
        (("0.75 kW", 990), ("2.2 kW", 1590), ("5.5 kW", 2790)),
        serial_tracked=True,
    ),
    Family(
        "machine-parts",
        "Hydraulic gear pump",
        (("8 cm³", 890), ("16 cm³", 1190)),
        serial_tracked=True,
    ),
    Family(
        "machine-parts",
        "Pneumatic cylinder ISO 15552",
        (("Ø32x100", 189), ("Ø50x100", 249), ("Ø63x200", 339), ("Ø80x250", 459)),
    ),
    Family("machine-parts", "Solenoid valve 5/2, G1/4", (("24 V DC", 149), ("230 V AC", 159))),
    Family(
        "machine-parts",
        "Hydraulic hose 2SN",
        (("DN10 x 1 m", 79), ("DN12 x 1.5 m", 99), ("DN16 x 2 m", 139)),
    ),
    Family(
        "machine-parts",
        "Roller chain, simplex, 5 m",
        (("08B-1", 129), ("10B-1", 169), ("12B-1", 219)),
    ),
    Family(
        "machine-parts", "Sprocket", (("08B-1, z=15", 45), ("10B-1, z=17", 65), ("12B-1, z=19", 89))
    ),
    Family("machine-parts", "Jaw coupling", (("GR 19", 69), ("GR 24", 89), ("GR 28", 119))),
    Family("machine-parts", "Linear guide rail, 1000 mm", (("15 mm", 229), ("20 mm", 289))),
    Family("machine-parts", "Linear carriage block", (("15 mm", 149), ("20 mm", 189))),
    Family("machine-parts", "O-ring kit NBR, 386 pieces", (("metric", 119),)),
    Family(
        "machine-parts",
        "Oil seal",
        (("25x40x7", 9), ("30x47x7", 11), ("40x62x8", 15)),
    ),
    Family(
        "machine-parts", "Conveyor roller Ø50", (("400 mm", 59), ("600 mm", 69), ("800 mm", 79))
    ),
    Family(
        "machine-parts", "Pillow block bearing", (("UCP 204", 49), ("UCP 205", 55), ("UCP 206", 65))
    ),
    # personalised goods (never returnable): 20
    Family("personalised", "Polo shirt with embroidered logo", _sizes("S M L XL XXL", 69)),
    Family("personalised", "Softshell jacket with embroidered logo", _sizes("S M L XL XXL", 329)),
    Family("personalised", "High-visibility vest with printed logo", _sizes("M L XL XXL", 39)),
    Family("personalised", "Engraved stainless nameplate", (("60x20 mm", 25), ("80x30 mm", 32))),
    Family(
        "personalised",
        "Custom-printed labels",
        (("roll of 1000", 89), ("roll of 5000", 329)),
    ),
    Family("personalised", "Laser-etched machine nameplate, aluminium", (("90x60 mm", 45),)),
    Family("personalised", "Branded notebook A5, pack of 10", (("company logo", 149),)),
)


@dataclass(frozen=True)
class CompanyUser:
    full_name: str
    email: str


@dataclass(frozen=True)
class DemoCompany:
    number: str
    name: str
    nip_prefix: str  # 9 digits; the check digit is computed
    domain: str
    phone: str
    language: str
    billing: tuple[str, str, str]  # street, postal code, city
    region: str  # the billing address's voivodeship (the KPI dashboard's region)
    shipping: tuple[str, str, str, str]  # name, street, postal code, city
    admin: CompanyUser
    user: CompanyUser
    order_share: int  # relative number of orders


@dataclass(frozen=True)
class TenantProfile:
    sku_prefix: str
    order_prefix: str
    invoice_prefix: str
    price_factor: Decimal  # list prices are in PLN
    category_weights: dict[str, int]  # what the tenant's customers mostly order
    companies: tuple[DemoCompany, ...]


PROFILES = {
    "nordtech": TenantProfile(
        sku_prefix="NT",
        order_prefix="NT",
        invoice_prefix="FV/NT",
        price_factor=Decimal("1"),
        category_weights={
            "electronics": 30,
            "workwear": 10,
            "office-supplies": 15,
            "machine-parts": 40,
            "personalised": 5,
        },
        companies=(
            DemoCompany(
                number="K-10001",
                name="Stalmet Konstrukcje Sp. z o.o.",
                nip_prefix="779236518",
                domain="stalmet",
                phone="+48 61 555 01 20",
                language="pl",
                billing=("ul. Głogowska 218", "60-104", "Poznań"),
                region="wielkopolskie",
                shipping=("Stalmet - Zakład nr 2", "ul. Przemysłowa 5", "62-052", "Komorniki"),
                admin=CompanyUser("Anna Wójcik", "anna.admin@stalmet.demo"),
                user=CompanyUser("Piotr Lewandowski", "piotr.user@stalmet.demo"),
                order_share=5,
            ),
            DemoCompany(
                number="K-10002",
                name="Hydropol Automatyka S.A.",
                nip_prefix="586210437",
                domain="hydropol",
                phone="+48 58 555 33 10",
                language="pl",
                billing=("ul. Hutnicza 40", "81-061", "Gdynia"),
                region="pomorskie",
                shipping=("Hydropol - magazyn", "ul. Hutnicza 40", "81-061", "Gdynia"),
                admin=CompanyUser("Katarzyna Dąbrowska", "katarzyna.admin@hydropol.demo"),
                user=CompanyUser("Marek Szymański", "marek.user@hydropol.demo"),
                order_share=3,
            ),
            DemoCompany(
                number="K-10003",
                name="Vistula Packaging Sp. z o.o.",
                nip_prefix="725184390",
                domain="vistulapack",
                phone="+48 42 555 78 00",
                language="en",
                billing=("ul. Pabianicka 119", "93-490", "Łódź"),
                region="łódzkie",
                shipping=("Vistula Packaging - Plant 1", "ul. Pabianicka 119", "93-490", "Łódź"),
                admin=CompanyUser("Olivia Bennett", "olivia.admin@vistulapack.demo"),
                user=CompanyUser("Jakub Wróbel", "jakub.user@vistulapack.demo"),
                order_share=2,
            ),
        ),
    ),
    "baltic": TenantProfile(
        sku_prefix="BW",
        order_prefix="BW",
        invoice_prefix="INV/BW",
        price_factor=Decimal("0.23"),
        category_weights={
            "electronics": 5,
            "workwear": 55,
            "office-supplies": 10,
            "machine-parts": 5,
            "personalised": 25,
        },
        companies=(
            DemoCompany(
                number="C-2001",
                name="Budrex Budownictwo Sp. z o.o.",
                nip_prefix="897176253",
                domain="budrex",
                phone="+48 71 555 42 00",
                language="pl",
                billing=("ul. Krakowska 180", "52-015", "Wrocław"),
                region="dolnośląskie",
                shipping=("Budrex - plac budowy", "ul. Swojczycka 60", "51-501", "Wrocław"),
                admin=CompanyUser("Monika Zając", "monika.admin@budrex.demo"),
                user=CompanyUser("Krzysztof Król", "krzysztof.user@budrex.demo"),
                order_share=4,
            ),
            DemoCompany(
                number="C-2002",
                name="Gdańsk Harbour Logistics Sp. z o.o.",
                nip_prefix="957104862",
                domain="harbourlogistics",
                phone="+48 58 555 90 15",
                language="en",
                billing=("ul. Przemysłowa 8", "80-542", "Gdańsk"),
                region="pomorskie",
                shipping=(
                    "Harbour Logistics - Terminal B",
                    "ul. Kontenerowa 3",
                    "80-601",
                    "Gdańsk",
                ),
                admin=CompanyUser("Sarah Mitchell", "sarah.admin@harbourlogistics.demo"),
                user=CompanyUser("Tomasz Wieczorek", "tomasz.user@harbourlogistics.demo"),
                order_share=4,
            ),
            DemoCompany(
                number="C-2003",
                name="CleanPro Serwis Sp. z o.o.",
                nip_prefix="634241807",
                domain="cleanpro",
                phone="+48 32 555 61 44",
                language="pl",
                billing=("ul. Porcelanowa 23", "40-246", "Katowice"),
                region="śląskie",
                shipping=("CleanPro Serwis", "ul. Porcelanowa 23", "40-246", "Katowice"),
                admin=CompanyUser("Joanna Pawlak", "joanna.admin@cleanpro.demo"),
                user=CompanyUser("Michał Grabowski", "michal.user@cleanpro.demo"),
                order_share=2,
            ),
        ),
    ),
}


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    category: str
    unit_price: Decimal
    serial_tracked: bool


@dataclass(frozen=True)
class LineSpec:
    product: ProductSpec
    quantity: int
    unit_price: Decimal
    lot_suffix: int | None  # a lot number is written for this line when set


@dataclass(frozen=True)
class OrderSpec:
    days_ago: int
    company_index: int
    delivery_days: int
    lines: tuple[LineSpec, ...]


def _profile(tenant_slug: str) -> TenantProfile:
    try:
        return PROFILES[tenant_slug]
    except KeyError:
        raise ValueError(
            f"customers.demo has no demo customers for tenant {tenant_slug!r}; add it to PROFILES."
        ) from None


def nip(first_nine: str) -> str:
    """A valid Polish NIP: the nine digits followed by their check digit."""
    check = sum(int(d) * w for d, w in zip(first_nine, NIP_WEIGHTS, strict=True)) % 11
    if check == 10:  # no NIP is ever issued with these nine digits
        raise ValueError(f"{first_nine} has no valid NIP check digit; choose other digits.")
    return f"{first_nine}{check}"


def logins(*, tenant_slug: str) -> list[tuple[str, str]]:
    """(role, e-mail) of the customer users `seed` creates, for the demo logins table."""
    rows = []
    for company in _profile(tenant_slug).companies:
        rows.append((Role.CUSTOMER_ADMIN, company.admin.email))
        rows.append((Role.CUSTOMER_USER, company.user.email))
    return rows


def seed(*, tenant: Tenant, rng: random.Random) -> dict[str, int]:
    """Create what is missing of the tenant's demo customers, catalogue and orders."""
    profile = _profile(tenant.slug)
    created = {"product categories": _seed_categories(tenant)}
    product_specs = _product_specs(profile, rng)
    created["products"] = _seed_products(tenant, product_specs)
    companies, created["customer companies"], created["customer users"] = _seed_companies(
        tenant, profile
    )
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.timezone))
    order_specs = _order_specs(profile, product_specs, rng)
    created["orders"], created["order lines"] = _seed_orders(
        tenant, profile, companies, order_specs, today
    )
    created["FAQ articles"] = _seed_faq(tenant)
    return created


# The public policy page's questions and answers (customers/policy_page.py), in English and
# Polish: (position, question, answer). No figure of the policy is repeated here: the page
# shows the policy's own figures next to them, so an edited policy is never contradicted.
DEMO_FAQ = {
    "en": (
        (
            10,
            "Do I need to contact you before sending goods back?",
            "Yes. File the return in the portal first: goods that arrive without an approved "
            "return and its RMA number may be refused.\n\n"
            "Once the return is approved you can download the return label.",
        ),
        (
            20,
            "How should I pack the goods?",
            "- Use the original packaging where possible.\n"
            "- Include all accessories and manuals.\n"
            "- Put the **packing slip** inside the parcel and the label outside.",
        ),
        (
            30,
            "The goods arrived damaged. What now?",
            "Photograph the parcel and the goods before unpacking further, then file a return "
            "with the reason **Damaged in transport** and attach the photos. Who pays the return "
            "shipping for each reason is in the table above.",
        ),
        (
            40,
            "Can my company have different terms?",
            "Yes: a framework contract may change the return window, the fees or the warranty. "
            "The portal always applies the terms of your contract; ask your account manager.",
        ),
    ),
    "pl": (
        (
            10,
            "Czy muszę się z Wami skontaktować przed odesłaniem towaru?",
            "Tak. Najpierw zgłoś zwrot w portalu: przesyłka bez zatwierdzonego zwrotu i jego "
            "numeru RMA może nie zostać przyjęta.\n\n"
            "Po zatwierdzeniu zwrotu pobierzesz etykietę zwrotną.",
        ),
        (
            20,
            "Jak zapakować towar?",
            "- W miarę możliwości użyj oryginalnego opakowania.\n"
            "- Dołącz wszystkie akcesoria i instrukcje.\n"
            "- Włóż **listę zawartości paczki** do paczki, a etykietę naklej na zewnątrz.",
        ),
        (
            30,
            "Towar dotarł uszkodzony. Co teraz?",
            "Zrób zdjęcia paczki i towaru, zanim rozpakujesz go dalej, a potem zgłoś zwrot z "
            "powodem **Uszkodzenie w transporcie** i dołącz zdjęcia. Kto płaci za odesłanie "
            "towaru przy każdym z powodów, znajdziesz w tabeli powyżej.",
        ),
        (
            40,
            "Czy moja firma może mieć inne warunki?",
            "Tak: umowa ramowa może zmienić okno zwrotu, opłaty albo gwarancję. Portal zawsze "
            "stosuje warunki Twojej umowy; zapytaj swojego opiekuna handlowego.",
        ),
    ),
}


def _seed_faq(tenant: Tenant) -> int:
    existing = set(FaqArticle.objects.values_list("language", "title"))
    missing = [
        FaqArticle(tenant=tenant, language=language, position=position, title=title, body=body)
        for language, articles in DEMO_FAQ.items()
        for position, title, body in articles
        if (language, title) not in existing
    ]
    FaqArticle.objects.bulk_create(missing)
    return len(missing)


def _seed_categories(tenant: Tenant) -> int:
    existing = set(ProductCategory.objects.values_list("code", flat=True))
    missing = [
        ProductCategory(
            tenant=tenant, code=code, name=name, warranty_months=WARRANTY_MONTHS.get(code)
        )
        for code, name in CATEGORIES.items()
        if code not in existing
    ]
    ProductCategory.objects.bulk_create(missing)
    return len(missing)


def _product_specs(profile: TenantProfile, rng: random.Random) -> list[ProductSpec]:
    specs = []
    numbers = dict.fromkeys(CATEGORIES, 0)
    for family in CATALOGUE:
        for variant, list_price in family.variants:
            numbers[family.category] += 1
            price = Decimal(list_price) * profile.price_factor * Decimal(rng.uniform(0.95, 1.08))
            specs.append(
                ProductSpec(
                    sku=f"{profile.sku_prefix}-{SKU_CODES[family.category]}-"
                    f"{numbers[family.category]:04d}",
                    name=f"{family.name}, {variant}",
                    category=family.category,
                    unit_price=price.quantize(CENT),
                    serial_tracked=family.serial_tracked,
                )
            )
    return specs


def _seed_products(tenant: Tenant, specs: list[ProductSpec]) -> int:
    categories = {category.code: category for category in ProductCategory.objects.all()}
    existing = set(Product.objects.values_list("sku", flat=True))
    missing = [
        Product(
            tenant=tenant,
            sku=spec.sku,
            name=spec.name,
            category=categories[spec.category],
            unit_price=spec.unit_price,
            is_returnable=spec.category not in NOT_RETURNABLE,
            is_serial_tracked=spec.serial_tracked,
        )
        for spec in specs
        if spec.sku not in existing
    ]
    Product.objects.bulk_create(missing)
    return len(missing)


def _seed_companies(
    tenant: Tenant, profile: TenantProfile
) -> tuple[list[CustomerAccount], int, int]:
    accounts, accounts_created, users_created = [], 0, 0
    for company in profile.companies:
        account = CustomerAccount.objects.filter(number=company.number).first()
        if account is None:
            account = _company_account(tenant, company)
            account.full_clean()
            account.save()
            accounts_created += 1
        elif not account.billing_region:
            # Seeded before accounts had a region: the KPI dashboard's regions need one.
            account.billing_region = company.region
            account.save(update_fields=["billing_region"])
        accounts.append(account)
        for role, person in (
            (Role.CUSTOMER_ADMIN, company.admin),
            (Role.CUSTOMER_USER, company.user),
        ):
            user, user_created = demo_user(
                email=person.email,
                tenant=tenant,
                role=role,
                full_name=person.full_name,
                language=company.language,
            )
            users_created += user_created
            if not CustomerMembership.objects.filter(user=user).exists():
                CustomerMembership.objects.create(
                    tenant=tenant, user=user, customer_account=account
                )
    return accounts, accounts_created, users_created


def _company_account(tenant: Tenant, company: DemoCompany) -> CustomerAccount:
    street, postal_code, city = company.billing
    shipping_name, shipping_street, shipping_postal_code, shipping_city = company.shipping
    return CustomerAccount(
        tenant=tenant,
        number=company.number,
        name=company.name,
        vat_number=nip(company.nip_prefix),
        contact_email=f"office@{company.domain}.demo",
        contact_phone=company.phone,
        preferred_language=company.language,
        billing_street=street,
        billing_postal_code=postal_code,
        billing_city=city,
        billing_region=company.region,
        shipping_name=shipping_name,
        shipping_street=shipping_street,
        shipping_postal_code=shipping_postal_code,
        shipping_city=shipping_city,
    )


def _order_specs(
    profile: TenantProfile, products: list[ProductSpec], rng: random.Random
) -> list[OrderSpec]:
    """The orders, oldest first; their position (from 1) is their sequence number."""
    by_category = {code: [p for p in products if p.category == code] for code in CATEGORIES}
    category_codes = list(profile.category_weights)
    category_weights = list(profile.category_weights.values())
    company_weights = [company.order_share for company in profile.companies]
    specs = []
    for _ in range(rng.randint(*ORDERS_PER_TENANT)):
        days_ago = rng.randrange(ORDER_HISTORY_DAYS)
        company_index = rng.choices(range(len(profile.companies)), company_weights)[0]
        delivery_days = rng.randint(*DELIVERY_DAYS)
        line_count = rng.choices(range(1, 7), LINES_PER_ORDER_WEIGHTS)[0]
        picked: list[ProductSpec] = []
        while len(picked) < line_count:
            category = rng.choices(category_codes, category_weights)[0]
            product = rng.choice(by_category[category])
            if product not in picked:
                picked.append(product)
        specs.append(
            OrderSpec(
                days_ago=days_ago,
                company_index=company_index,
                delivery_days=delivery_days,
                lines=tuple(_line_spec(product, rng) for product in picked),
            )
        )
    # Stable sort: sequence numbers rise with the order date.
    specs.sort(key=lambda spec: -spec.days_ago)
    return specs


def _line_spec(product: ProductSpec, rng: random.Random) -> LineSpec:
    if product.serial_tracked:
        quantity = rng.randint(1, 4)
    else:
        quantity = rng.randint(*QUANTITIES[product.category])
    # Contract prices: list price less a customer discount, now and then a small surcharge.
    unit_price = (product.unit_price * Decimal(rng.uniform(0.88, 1.03))).quantize(CENT)
    lot_suffix = None
    if product.category in LOT_TRACKED and not product.serial_tracked and rng.random() < 0.6:
        lot_suffix = rng.randint(100, 999)
    return LineSpec(product, quantity, unit_price, lot_suffix)


def _seed_orders(
    tenant: Tenant,
    profile: TenantProfile,
    companies: list[CustomerAccount],
    specs: list[OrderSpec],
    today: datetime.date,
) -> tuple[int, int]:
    # An order is known by its sequence number: the year in "NT/2026/000123" follows the
    # order date, which moves with today, so a later rerun must not take it for a new order.
    prefix = f"{profile.order_prefix}/"
    existing = {
        int(number.rsplit("/", 1)[1])
        for number in Order.objects.filter(number__startswith=prefix).values_list(
            "number", flat=True
        )
    }
    orders, lines_by_order = [], []
    for sequence, spec in enumerate(specs, start=1):
        if sequence in existing:
            continue
        order_date = today - datetime.timedelta(days=spec.days_ago)
        delivery_date = order_date + datetime.timedelta(days=spec.delivery_days)
        if delivery_date > today:
            delivery_date = None  # still on its way
        orders.append(
            Order(
                tenant=tenant,
                number=f"{prefix}{order_date.year}/{sequence:06d}",
                customer_account=companies[spec.company_index],
                order_date=order_date,
                delivery_date=delivery_date,
                invoice_number=(
                    f"{profile.invoice_prefix}/{delivery_date.year}/{sequence:06d}"
                    if delivery_date
                    else ""
                ),
            )
        )
        lines_by_order.append((sequence, order_date, spec.lines))
    # PostgreSQL and SQLite (3.35+) return the new primary keys, which the lines need.
    Order.objects.bulk_create(orders)
    products = {product.sku: product for product in Product.objects.all()}
    lines = []
    for order, (sequence, order_date, line_specs) in zip(orders, lines_by_order, strict=True):
        for line_number, line in enumerate(line_specs, start=1):
            serials = []
            if line.product.serial_tracked:
                serials = [
                    f"{profile.sku_prefix}{sequence:06d}-{line_number}{unit:02d}"
                    for unit in range(1, line.quantity + 1)
                ]
            lines.append(
                OrderLine(
                    tenant=tenant,
                    order=order,
                    line_number=line_number,
                    product=products[line.product.sku],
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    lot_number=(f"L{order_date:%y%m}-{line.lot_suffix}" if line.lot_suffix else ""),
                    serial_numbers=serials,
                )
            )
    OrderLine.objects.bulk_create(lines)
    return len(orders), len(lines)


# --- automatic assignment ------------------------------------------------------------------

DEMO_TEAM = "Front desk"
# Returns asking for this much or more (in the tenant's currency) go to the coordinator.
DEMO_VALUABLE_RETURN = Decimal("5000.00")


def seed_last(*, tenant: Tenant) -> dict[str, int]:
    """The demo team and assignment rules (docs/staff-intake.md), created after the returns'
    and complaints' demo history so that history keeps the assignments it was made with, and
    every case filed from now on (portal, back-office, API, e-mail) is routed by them:

    10. urgent complaints to the coordinator;
    20. returns asking for DEMO_VALUABLE_RETURN or more to the coordinator;
    100. everything else to the front desk (the agent and the coordinator, fewest open cases).
    """
    agent = User.objects.get(email=staff_email(Role.AGENT, tenant.slug))
    coordinator = User.objects.get(email=staff_email(Role.COORDINATOR, tenant.slug))
    created = {"teams": 0, "assignment rules": 0}
    team = Team.objects.filter(name=DEMO_TEAM).first()
    if team is None:
        team = Team.objects.create(tenant=tenant, name=DEMO_TEAM, strategy=TeamStrategy.LEAST_OPEN)
        TeamMembership.objects.bulk_create(
            TeamMembership(tenant=tenant, team=team, user=user) for user in (agent, coordinator)
        )
        created["teams"] = 1
    rules = (
        AssignmentRule(
            tenant=tenant,
            position=10,
            name="Urgent complaints to the coordinator",
            case_kind=RuleCaseKind.COMPLAINT,
            complaint_priority="urgent",
            agent=coordinator,
        ),
        AssignmentRule(
            tenant=tenant,
            position=20,
            name="Valuable returns to the coordinator",
            case_kind=RuleCaseKind.RETURN,
            min_requested_value=DEMO_VALUABLE_RETURN,
            agent=coordinator,
        ),
        AssignmentRule(
            tenant=tenant, position=100, name="Everything else to the front desk", team=team
        ),
    )
    existing = set(AssignmentRule.objects.values_list("name", flat=True))
    for rule in rules:
        if rule.name in existing:
            continue
        rule.full_clean()
        rule.save()
        created["assignment rules"] += 1
    return created
