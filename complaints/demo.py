"""Demo data of the complaints app for `manage.py seed_demo`: the support calendar, SLA
targets, the complaint procedure's stages (selectors.DEFAULT_STAGES: acknowledge 1, analysis
3, information 1, resolution 5 working days), canned responses, and complaints in every
status, filed through the real services.

Settings rows are found by natural key; complaints are only created while the tenant has
none, so a rerun creates nothing.
"""

from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal

from dateutil.easter import easter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from customers.models import CannedResponse, CustomerMembership, OrderLine
from customers.update_cadence import start_missing
from rma_portal.accounts.models import Role, User
from rma_portal.tenancy.models import Tenant

from . import services
from .models import (
    UPDATE_CADENCE_STATUSES,
    Complaint,
    ComplaintStage,
    Holiday,
    Priority,
    SlaPolicy,
    SupportSettings,
)
from .services.complaints import complaint_stages_ensure

SLA_HOURS = {
    Priority.URGENT: ("2", "8"),
    Priority.HIGH: ("4", "16"),
    Priority.NORMAL: ("8", "40"),
    Priority.LOW: ("16", "80"),
}
CANNED = (
    (
        "en",
        "We are checking",
        "Dear {contact_name},\n\nthank you for reporting {case_number}. We are checking it "
        "with our quality team and will come back to you shortly.\n\n{agent_name}",
    ),
    (
        "en",
        "Please send photos",
        "Dear {contact_name},\n\nto handle {case_number} quickly, please send us photos of "
        "the product and of its label.\n\n{agent_name}",
    ),
    (
        "pl",
        "Sprawdzamy zgłoszenie",
        "Dzień dobry {contact_name},\n\ndziękujemy za zgłoszenie {case_number}. Sprawdzamy je "
        "z działem jakości i wkrótce odpowiemy.\n\n{agent_name}",
    ),
    (
        "pl",
        "Prośba o zdjęcia",
        "Dzień dobry {contact_name},\n\naby szybko rozpatrzyć {case_number}, prosimy o zdjęcia "
        "produktu i jego etykiety.\n\n{agent_name}",
    ),
    (
        "en",
        "Goods received, inspection next",
        "Dear {contact_name},\n\nthe goods of {case_number} have arrived at our warehouse. We "
        "will inspect them within two working days and write to you with the result.\n\n"
        "{agent_name}",
    ),
    (
        "pl",
        "Towar dotarł, teraz oględziny",
        "Dzień dobry {contact_name},\n\ntowar ze zgłoszenia {case_number} dotarł do naszego "
        "magazynu. Sprawdzimy go w ciągu dwóch dni roboczych i napiszemy z wynikiem.\n\n"
        "{agent_name}",
    ),
)
# (stage, category, priority, subject, business days ago it was filed)
DEMO_COMPLAINTS = (
    ("new", "product_quality", "high", "Cracked housing on delivery", 0),
    ("new", "delivery", "normal", "Pallet arrived two days late", 3),
    ("open", "billing", "normal", "Invoice shows the wrong discount", 1),
    ("in_progress", "product_quality", "urgent", "Machine stops after ten minutes", 0),
    ("awaiting_customer", "service", "low", "Nobody called back about the installation", 2),
    ("resolved", "delivery", "normal", "Wrong delivery address used", 4),
    ("closed", "product_quality", "high", "Seams tear after first wash", 6),
)


def seed(*, tenant: Tenant, rng: random.Random) -> dict[str, int]:
    created = {
        "support settings": _seed_settings(tenant),
        "holidays": _seed_holidays(tenant),
        "SLA policies": _seed_sla(tenant),
        "complaint stages": _seed_stages(tenant),
        "canned responses": _seed_canned(tenant),
    }
    created["complaints"] = 0 if Complaint.objects.exists() else _seed_complaints(tenant, rng)
    return created


def seed_last(*, tenant: Tenant) -> dict[str, int]:
    """After the demo's history: its complaints with the merchant get their customer-update
    cadence (docs/returns-rules.md#customer-update-cadence)."""
    started = start_missing(
        Complaint.objects.all(),
        tenant=tenant,
        now=timezone.now(),
        running_statuses=UPDATE_CADENCE_STATUSES,
    )
    return {"customer-update clocks started": started}


def _seed_settings(tenant: Tenant) -> int:
    _row, made = SupportSettings.objects.get_or_create(
        tenant=tenant,
        defaults={"day_start": datetime.time(8), "day_end": datetime.time(16)},
    )
    return int(made)


def polish_holidays(year: int) -> dict[datetime.date, str]:
    easter_sunday = easter(year)
    return {
        datetime.date(year, 1, 1): "Nowy Rok",
        datetime.date(year, 1, 6): "Trzech Króli",
        easter_sunday + datetime.timedelta(days=1): "Poniedziałek Wielkanocny",
        datetime.date(year, 5, 1): "Święto Pracy",
        datetime.date(year, 5, 3): "Święto Konstytucji 3 Maja",
        easter_sunday + datetime.timedelta(days=60): "Boże Ciało",
        datetime.date(year, 8, 15): "Wniebowzięcie NMP",
        datetime.date(year, 11, 1): "Wszystkich Świętych",
        datetime.date(year, 11, 11): "Święto Niepodległości",
        datetime.date(year, 12, 24): "Wigilia",
        datetime.date(year, 12, 25): "Boże Narodzenie",
        datetime.date(year, 12, 26): "Drugi dzień Bożego Narodzenia",
    }


def _seed_holidays(tenant: Tenant) -> int:
    year = timezone.localdate().year
    wanted = {**polish_holidays(year - 1), **polish_holidays(year), **polish_holidays(year + 1)}
    existing = set(Holiday.objects.values_list("date", flat=True))
    missing = [
        Holiday(tenant=tenant, date=day, name=name)
        for day, name in sorted(wanted.items())
        if day not in existing
    ]
    Holiday.objects.bulk_create(missing)
    return len(missing)


def _seed_sla(tenant: Tenant) -> int:
    existing = set(
        SlaPolicy.objects.filter(customer_account__isnull=True).values_list("priority", flat=True)
    )
    missing = [
        SlaPolicy(
            tenant=tenant,
            priority=priority,
            first_response_hours=Decimal(first),
            resolution_hours=Decimal(resolution),
        )
        for priority, (first, resolution) in SLA_HOURS.items()
        if priority not in existing
    ]
    SlaPolicy.objects.bulk_create(missing)
    return len(missing)


def _seed_stages(tenant: Tenant) -> int:
    """The default stages, as a tenant without stages gets them; a rerun keeps the tenant's."""
    before = ComplaintStage.objects.count()
    return len(complaint_stages_ensure(tenant)) - before


def _seed_canned(tenant: Tenant) -> int:
    made = 0
    for language, title, body in CANNED:
        _row, created = CannedResponse.objects.get_or_create(
            tenant=tenant, title=title, defaults={"language": language, "body": body}
        )
        made += int(created)
    return made


def _business_days_ago(now: datetime.datetime, days: int) -> datetime.datetime:
    moment = now
    while days:
        moment -= datetime.timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def _seed_complaints(tenant: Tenant, rng: random.Random) -> int:
    agent = User.objects.filter(tenant=tenant, role=Role.AGENT, is_active=True).first()
    memberships = list(
        CustomerMembership.objects.select_related("user", "customer_account").order_by(
            "user__email"
        )
    )
    if agent is None or not memberships:
        return 0
    now = timezone.now()
    made = 0
    for stage, category, priority, subject, days_ago in DEMO_COMPLAINTS:
        membership = rng.choice(memberships)
        line = (
            OrderLine.objects.filter(order__customer_account=membership.customer_account)
            .order_by("-order__order_date", "pk")
            .first()
        )
        filed = _business_days_ago(now, days_ago) - datetime.timedelta(minutes=rng.randint(5, 90))
        complaint = services.complaint_file(
            customer_account=membership.customer_account,
            reporter=membership.user,
            category=category,
            priority=priority,
            subject=subject,
            description=f"{subject}. Details are in our delivery note; please get back to us.",
            order_line_id=line.pk if line and category != "billing" else None,
            now=filed,
        )
        if subject in PHOTOGRAPHED:
            # The customer sends photos of the damage: the case page's thumbnails and viewer.
            services.complaint_reply(
                complaint=complaint,
                actor=membership.user,
                body="Photos of the damage, front and side.",
                uploads=[_demo_photo("damage-front.jpg", 0), _demo_photo("damage-side.jpg", 1)],
                now=filed + datetime.timedelta(minutes=5),
            )
        _advance(complaint, stage, customer=membership.user, agent=agent, filed=filed, now=now)
        made += 1
    return made


PHOTOGRAPHED = frozenset({"Cracked housing on delivery", "Pallet arrived two days late"})


def _demo_photo(name: str, variant: int) -> SimpleUploadedFile:
    """A drawn stand-in for a customer's photo: a carton on a pallet, with a crack."""
    image = Image.new("RGB", (960, 720), (214, 220, 226))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 560, 960, 720), fill=(150, 140, 128))  # the floor
    draw.rectangle((180, 520, 800, 580), fill=(176, 128, 78))  # the pallet
    left = 240 + 40 * variant
    draw.rectangle(
        (left, 220, left + 440, 520), fill=(196, 160, 112), outline=(120, 90, 60), width=6
    )
    draw.line(
        (left + 60, 240, left + 180, 360, left + 140, 420, left + 260, 500),
        fill=(40, 30, 20),
        width=7,
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def _advance(complaint, stage, *, customer, agent, filed, now) -> None:
    if stage == "new":
        return
    step = filed + datetime.timedelta(minutes=30)
    complaint = services.complaint_assign(
        complaint=complaint, actor=agent, assignee=agent, now=step
    )
    if stage == "open":
        return
    step += datetime.timedelta(minutes=30)
    services.complaint_reply(
        complaint=complaint,
        actor=agent,
        body="Thank you, we are checking this with our quality team.",
        now=step,
    )
    services.complaint_reply(
        complaint=complaint,
        actor=agent,
        body="Internal: ask the supplier for the batch report.",
        is_internal=True,
        now=step,
    )
    if stage == "in_progress":
        return
    if stage == "awaiting_customer":
        services.complaint_wait_for_customer(
            complaint=complaint,
            actor=agent,
            question="Could you tell us when the installation was planned?",
            now=min(step + datetime.timedelta(hours=1), now),
        )
        return
    complaint = services.complaint_resolve(
        complaint=complaint,
        actor=agent,
        resolution="We sent replacements with the next delivery at no charge.",
        now=min(step + datetime.timedelta(hours=3), now),
    )
    if stage == "closed":
        services.complaint_rate(complaint=complaint, actor=customer, score=4, comment="Quick.")
