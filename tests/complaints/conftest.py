"""Fixtures for complaints: fixed moments in a known week, filing a complaint and walking it
through the state machine with injected time, a before/after snapshot, uploads, and racing
services in threads."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    SatisfactionRating,
)
from rma_portal.tenancy.context import tenant_context
from tests.concurrency import run_concurrently  # noqa: F401 - shared with the tests here

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = datetime.UTC
HOUR = 3600


def warsaw(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=WARSAW)


def nov(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime.datetime:
    """A moment in November 2026, Warsaw time. Mon 16 – Fri 20 and Mon 23 – Fri 27 are
    working days of the default calendar (Mon–Fri 8–16); the 21st and 22nd are a weekend."""
    return warsaw(2026, 11, day, hour, minute, second)


FILED = nov(16, 9)  # Monday 09:00: normal priority is due Tue 09:00 (8 h) / Mon 23 09:00 (40 h)


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def exe_upload(name: str = "invoice.pdf") -> SimpleUploadedFile:
    """A Windows executable pretending to be a document."""
    data = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def stored_files(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def complaint_file(customer, company, *, now=FILED, **kwargs) -> Complaint:
    """File a complaint through the service as `customer` of `company`."""
    arguments = {
        "category": "product_quality",
        "priority": "normal",
        "subject": "Cracked housings",
        "description": "Three housings of the last delivery arrived cracked.",
        **kwargs,
    }
    with tenant_context(company.tenant):
        return services.complaint_file(
            customer_account=company, reporter=customer, now=now, **arguments
        )


def complaint_state(complaint) -> dict:
    """Everything a refused service must leave alone: the row (status, due times, counters),
    its thread, timeline, files and rating."""
    pk = complaint.pk
    return {
        "row": Complaint.unscoped.filter(pk=pk).values().get(),
        "messages": list(
            ComplaintMessage.unscoped.filter(complaint_id=pk).order_by("pk").values_list("pk")
        ),
        "events": list(
            ComplaintEvent.unscoped.filter(complaint_id=pk).order_by("pk").values_list("pk")
        ),
        "attachments": list(
            ComplaintAttachment.unscoped.filter(complaint_id=pk).order_by("pk").values_list("pk")
        ),
        "rating": list(SatisfactionRating.unscoped.filter(complaint_id=pk).values_list("pk")),
    }


def nothing_written() -> bool:
    """No complaint, message, attachment or event row exists (in any tenant)."""
    return not (
        Complaint.unscoped.exists()
        or ComplaintMessage.unscoped.exists()
        or ComplaintAttachment.unscoped.exists()
        or ComplaintEvent.unscoped.exists()
    )


S = ComplaintStatus

# The services that take a complaint from new to each state, in order, and when they run.
PATH_TO = {
    S.NEW: [],
    S.OPEN: ["assign"],
    S.IN_PROGRESS: ["assign", "start"],
    S.AWAITING_CUSTOMER: ["assign", "start", "wait_for_customer"],
    S.RESOLVED: ["assign", "start", "resolve"],
    S.CLOSED: ["assign", "start", "resolve", "close"],
    S.REJECTED: ["reject"],
}
STEP_AT = {
    "assign": nov(16, 9, 10),
    "start": nov(16, 9, 20),
    "wait_for_customer": nov(16, 9, 30),
    "resolve": nov(16, 10),
    "close": nov(16, 10, 30),
    "reject": nov(16, 9, 40),
}
AFTER_THE_PATH = nov(16, 11)  # when the test acts: after every step above


def advance(complaint, status: str, *, agent):
    """Walk a new complaint on through the real services, as `agent`, to `status`."""
    steps = {
        "assign": lambda c, now: services.complaint_assign(
            complaint=c, actor=agent, assignee=agent, now=now
        ),
        "start": lambda c, now: services.complaint_start(complaint=c, actor=agent, now=now),
        "wait_for_customer": lambda c, now: services.complaint_wait_for_customer(
            complaint=c, actor=agent, now=now
        ),
        "resolve": lambda c, now: services.complaint_resolve(
            complaint=c, actor=agent, resolution="A new batch was sent.", now=now
        ),
        "close": lambda c, now: services.complaint_close(complaint=c, actor=agent, now=now),
        "reject": lambda c, now: services.complaint_reject(
            complaint=c, actor=agent, reason="The housings were damaged on site.", now=now
        ),
    }
    assert complaint.status == S.NEW
    with tenant_context(complaint.tenant):
        for step in PATH_TO[status]:
            complaint = steps[step](complaint, STEP_AT[step])
    assert complaint.status == status
    return complaint


@pytest.fixture
def complaint_in(world_a):
    """A complaint of world A's customer, filed Monday 09:00, in the given state."""

    def _make(status: str, **kwargs):
        complaint = complaint_file(world_a.customer, world_a.company, **kwargs)
        return advance(complaint, status, agent=world_a.agent)

    return _make
