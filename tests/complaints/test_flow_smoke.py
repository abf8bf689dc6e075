import datetime
from zoneinfo import ZoneInfo

import pytest

from complaints import services
from complaints.models import ComplaintEvent, ComplaintStatus
from rma_portal.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
WARSAW = ZoneInfo("Europe/Warsaw")


def test_complaint_flow_with_sla_pause(world_a):
    # Monday 2026-11-16 09:00 Warsaw; default calendar Mon–Fri 8–16; normal = 8 h / 40 h.
    filed = datetime.datetime(2026, 11, 16, 9, 0, tzinfo=WARSAW)
    with tenant_context(world_a.tenant):
        complaint = services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="product_quality",
            priority="normal",
            subject="Broken",
            description="It broke.",
            now=filed,
        )
        assert complaint.code.startswith("CMP-2026-")
        assert complaint.first_response_due_at == datetime.datetime(
            2026, 11, 17, 9, 0, tzinfo=WARSAW
        )
        complaint = services.complaint_assign(
            complaint=complaint, actor=world_a.agent, assignee=world_a.agent
        )
        assert complaint.status == ComplaintStatus.OPEN
        services.complaint_reply(
            complaint=complaint,
            actor=world_a.agent,
            body="Looking.",
            now=filed + datetime.timedelta(hours=1),
        )
        complaint.refresh_from_db()
        assert complaint.status == ComplaintStatus.IN_PROGRESS
        assert complaint.first_responded_at is not None
        due_before = complaint.resolution_due_at
        paused = datetime.datetime(2026, 11, 16, 12, 0, tzinfo=WARSAW)
        complaint = services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Photo?", now=paused
        )
        assert complaint.status == ComplaintStatus.AWAITING_CUSTOMER
        resumed = datetime.datetime(2026, 11, 17, 12, 0, tzinfo=WARSAW)  # 8 business hours later
        services.complaint_reply(
            complaint=complaint, actor=world_a.customer, body="Here.", now=resumed
        )
        complaint.refresh_from_db()
        assert complaint.status == ComplaintStatus.IN_PROGRESS
        assert complaint.resolution_due_at - due_before == datetime.timedelta(days=1)
        complaint = services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="Replaced."
        )
        rating = services.complaint_rate(complaint=complaint, actor=world_a.customer, score=5)
        complaint.refresh_from_db()
        assert rating.score == 5
        assert complaint.status == ComplaintStatus.RESOLVED  # until its reopen window ends
        assert ComplaintEvent.objects.filter(complaint=complaint).count() >= 6
