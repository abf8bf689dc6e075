"""Status e-mails: which event mails whom, in which language, with what, exactly once, and
never with internal text; plus the page where a customer switches status e-mails off."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import translation

from complaints import services as complaint_services
from complaints.emails import SLA_AT_RISK_EVENT, SLA_BREACHED_EVENT, sla_email_context
from complaints.models import Complaint
from returns import services as return_services
from returns.models import ReturnEvent, ReturnPolicy, ReturnRequest, ReturnStatus
from returns.notifications import on_return_event
from returns.selectors import tenant_today
from rma_portal.notifications import preferences
from rma_portal.notifications.models import DeliveryStatus, Notification
from rma_portal.notifications.rendering import render_email
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import complaint_file, nov
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.returns.conftest import advance, full_inspection

SITE = "https://rma.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE + "/"


@pytest.fixture
def order_line(world_a):
    """A delivered line of world A's company: 5 × 1 250.00; returns pay a 10 % restocking
    fee unless the goods were faulty."""
    tenant = world_a.tenant
    tenant.brand_colour = "#aa3300"
    tenant.save(update_fields=["brand_colour"])
    ReturnPolicy.unscoped.create(
        tenant=tenant,
        default_window_days=30,
        restocking_fee_percent=Decimal("10"),
        auto_approve_enabled=False,
    )
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=world_a.company,
        order_date=today - datetime.timedelta(days=7),
        delivery_date=today - datetime.timedelta(days=5),
    )
    return OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=1,
        product=ProductFactory(tenant=tenant, unit_price=Decimal("1250.00")),
        quantity=5,
        unit_price=Decimal("1250.00"),
    )


def draft_return(world, order_line, *, quantity=2, reason="ordered_by_mistake") -> ReturnRequest:
    with tenant_context(world.tenant):
        return return_services.return_request_create(
            customer_account=world.company,
            requester=world.customer,
            lines=[
                return_services.LineInput(
                    order_line_id=order_line.pk, quantity=quantity, reason=reason
                )
            ],
            requested_resolution="refund",
            return_method="drop_off",
        )


def speak(user, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


@pytest.fixture
def mails(mailoutbox, django_capture_on_commit_callbacks):
    """`with mails() as sent:` runs a block, commits it (delivering the outbox eagerly) and
    collects the e-mails it sent."""

    class Capture:
        def __init__(self):
            self.sent = []

        def __enter__(self):
            self.start = len(mailoutbox)
            self.callbacks = django_capture_on_commit_callbacks(execute=True)
            self.callbacks.__enter__()
            return self.sent

        def __exit__(self, *exc):
            result = self.callbacks.__exit__(*exc)
            self.sent.extend(mailoutbox[self.start :])
            return result

    return Capture


def html_of(mail) -> str:
    (html, mimetype), *_ = mail.alternatives
    assert mimetype == "text/html"
    return html


def all_text(mail) -> str:
    return mail.subject + mail.body + html_of(mail)


def test_setting_up_a_return_sends_nothing(world_a, order_line, mails):
    with mails() as sent:
        draft_return(world_a, order_line)
    assert sent == []


RETURN_STEPS_EN = [
    ("submit", "has been submitted"),
    ("request_info", "we need more information"),
    ("provide_info", None),  # the customer's own answer: nothing to tell them
    ("approve", "has been approved"),
    ("mark_received", "We have received the goods"),
    ("inspect", None),
    ("resolve", "has been resolved"),
]
RETURN_STEPS_PL = [
    ("submit", "został zgłoszony"),
    ("request_info", "potrzebujemy więcej informacji"),
    ("provide_info", None),
    ("approve", "został zaakceptowany"),
    ("mark_received", "Otrzymaliśmy towar"),
    ("inspect", None),
    ("resolve", "został rozpatrzony"),
]


@pytest.mark.parametrize(("language", "steps"), [("en", RETURN_STEPS_EN), ("pl", RETURN_STEPS_PL)])
def test_each_return_event_mails_the_requester_once_in_their_language(
    world_a, order_line, mails, language, steps
):
    # given a requester who reads `language`, and colleagues who would read anything
    speak(world_a.customer, language)
    rma = draft_return(world_a, order_line)
    agent, customer = world_a.agent, world_a.customer
    calls = {
        "submit": lambda: return_services.return_request_submit(return_request=rma, actor=customer),
        "request_info": lambda: return_services.return_request_request_info(
            return_request=rma, actor=agent, question="Which pallet was it on?"
        ),
        "provide_info": lambda: return_services.return_request_provide_info(
            return_request=rma, actor=customer, answer="Pallet 7."
        ),
        "approve": lambda: return_services.return_request_approve(return_request=rma, actor=agent),
        "mark_received": lambda: return_services.return_request_mark_received(
            return_request=rma, actor=agent
        ),
        "inspect": lambda: return_services.return_request_inspect(
            return_request=rma, actor=agent, results=full_inspection(rma)
        ),
        "resolve": lambda: return_services.return_request_resolve(
            return_request=rma, actor=agent, resolution="refund"
        ),
    }
    for step, subject in steps:
        # when
        with tenant_context(world_a.tenant), mails() as sent:
            calls[step]()
        # then
        if subject is None:
            assert sent == [], step
            continue
        assert len(sent) == 1, step
        mail = sent[0]
        assert mail.to == [customer.email]
        assert subject in mail.subject, (step, mail.subject)
        assert rma.number in mail.subject and world_a.tenant.name in mail.subject
        assert mail.body.strip() and "<p" not in mail.body  # a real text part
        html = html_of(mail)
        assert "#aa3300" in html and world_a.tenant.name in html
        link = f"{SITE}/portal/returns/{rma.pk}/"
        assert link in mail.body and f'href="{link}"' in html


def test_a_language_the_tenant_no_longer_offers_falls_back_to_its_default(
    world_a, order_line, mails
):
    # given a requester who chose Russian, which their tenant (default Polish) stopped offering
    tenant = world_a.tenant
    tenant.default_language = "pl"
    tenant.offered_languages = ["en", "pl"]
    tenant.full_clean()
    tenant.save()
    speak(world_a.customer, "ru")
    rma = draft_return(world_a, order_line)
    # when the return is submitted
    with tenant_context(tenant), mails() as sent:
        return_services.return_request_submit(return_request=rma, actor=world_a.customer)
    # then the e-mail is in Polish, and Russian is still theirs once offered again
    (mail,) = sent
    assert "został zgłoszony" in mail.subject
    assert Notification.unscoped.get(recipient=world_a.customer).language == "pl"
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "ru"
    tenant.offered_languages = []
    tenant.save()
    world_a.customer.refresh_from_db()
    assert world_a.customer.preferred_language == "ru"


def test_the_question_is_in_the_needs_info_mail(world_a, order_line, mails):
    rma = draft_return(world_a, order_line)
    advance(rma, ReturnStatus.SUBMITTED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_request_info(
            return_request=rma, actor=world_a.agent, question="Was the seal <intact>?"
        )
    (mail,) = sent
    assert "Was the seal <intact>?" in mail.body
    assert "Was the seal &lt;intact&gt;?" in html_of(mail)  # escaped, not markup


def test_the_resolved_mail_shows_the_money_in_the_recipients_format(world_a, order_line, mails):
    # given a Polish requester whose return of 2 × 1 250.00 was accepted in full
    speak(world_a.customer, "pl")
    rma = advance(draft_return(world_a, order_line), ReturnStatus.INSPECTED, agent=world_a.agent)
    # when
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_resolve(
            return_request=rma,
            actor=world_a.agent,
            resolution="credit_note",
            credit_note_number="KOR/2026/0042",
        )
    # then: accepted 2 500.00, fee 250.00, credited 2 250.00, in Polish notation
    (mail,) = sent
    for part in (mail.body, html_of(mail)):
        assert "2\xa0500,00 PLN" in part
        assert "250,00 PLN" in part
        assert "2\xa0250,00 PLN" in part
        assert "KOR/2026/0042" in part
        assert "Faktura korygująca" in part


def test_a_replacement_names_its_order_and_no_refund(world_a, order_line, mails):
    rma = advance(draft_return(world_a, order_line), ReturnStatus.INSPECTED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_resolve(
            return_request=rma,
            actor=world_a.agent,
            resolution="replacement",
            replacement_order_ref="ZAM-991",
        )
    (mail,) = sent
    assert "Replacement order: ZAM-991" in mail.body
    assert "2,500.00 PLN" in mail.body  # the accepted value
    assert "Refund total" not in mail.body and "Restocking fee" not in mail.body


def test_the_rejected_mail_gives_the_reason(world_a, order_line, mails):
    speak(world_a.customer, "pl")
    rma = advance(draft_return(world_a, order_line), ReturnStatus.SUBMITTED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_reject(
            return_request=rma, actor=world_a.agent, reason="Not bought from us."
        )
    (mail,) = sent
    assert "został odrzucony" in mail.subject
    assert "Not bought from us." in mail.body and "Not bought from us." in html_of(mail)


def test_an_approved_mail_says_where_to_send_the_goods(world_a, order_line, mails):
    rma = advance(draft_return(world_a, order_line), ReturnStatus.SUBMITTED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_approve(
            return_request=rma, actor=world_a.agent, note="Use the original box."
        )
    (mail,) = sent
    for line in world_a.tenant.return_address_lines:
        assert line in mail.body
    assert "Use the original box." in mail.body
    assert "The return shipping is at your cost." in mail.body  # not our fault: customer pays


def test_customer_mails_link_the_public_return_policy_and_staff_mails_do_not(
    world_a, order_line, mails
):
    policy = f"{SITE}/policy/{world_a.tenant.slug}/"
    rma = advance(draft_return(world_a, order_line), ReturnStatus.SUBMITTED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_approve(return_request=rma, actor=world_a.agent, note="")
    (mail,) = sent
    assert f"Our return policy and questions and answers: {policy}" in mail.body
    assert f'<a href="{policy}"' in html_of(mail)
    speak(world_a.customer, "pl")
    polish = render_email(
        event="return.approved",
        language="pl",
        context={
            "tenant": world_a.tenant,
            "recipient": world_a.customer,
            "rma": rma,
            "settings_url": f"{SITE}/portal/profile/",
        },
    )
    assert policy in polish.text and policy in polish.html
    staff = render_email(
        event="return.sla_at_risk",
        language="en",
        context={"tenant": world_a.tenant, "recipient": world_a.agent, "rma": rma},
    )
    assert "/policy/" not in staff.text and "/policy/" not in staff.html


def test_a_public_staff_message_is_mailed_and_an_internal_note_is_not(world_a, order_line, mails):
    rma = advance(draft_return(world_a, order_line), ReturnStatus.SUBMITTED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="Margin is thin here.", is_public=False
        )
        return_services.return_request_comment(
            return_request=rma, actor=world_a.customer, note="Any news?", is_public=True
        )
        return_services.return_request_comment(
            return_request=rma, actor=world_a.agent, note="We are on it.", is_public=True
        )
    (mail,) = sent
    assert mail.to == [world_a.customer.email]
    assert "New message about return" in mail.subject
    assert "We are on it." in mail.body
    assert "Margin is thin" not in all_text(mail)


def test_progress_and_replies_off_leave_the_questions_and_decisions(world_a, order_line, mails):
    # given a requester who switched off what the old status e-mail checkbox covered
    world_a.customer.email_preferences = {
        "return_progress": "never",
        "complaint_progress": "never",
        "support_replies": "never",
    }
    world_a.customer.save(update_fields=["email_preferences"])
    rma = draft_return(world_a, order_line)
    agent = world_a.agent
    with tenant_context(world_a.tenant), mails() as sent:
        # when the return goes through every customer-visible event
        return_services.return_request_submit(return_request=rma, actor=world_a.customer)
        return_services.return_request_request_info(
            return_request=rma, actor=agent, question="Which pallet?"
        )
        return_services.return_request_provide_info(
            return_request=rma, actor=world_a.customer, answer="Seven."
        )
        return_services.return_request_comment(
            return_request=rma, actor=agent, note="Thanks.", is_public=True
        )
        return_services.return_request_approve(return_request=rma, actor=agent)
        return_services.return_request_mark_received(return_request=rma, actor=agent)
        return_services.return_request_inspect(
            return_request=rma, actor=agent, results=full_inspection(rma)
        )
        return_services.return_request_resolve(return_request=rma, actor=agent, resolution="refund")
    # then only the question and the decisions arrive
    subjects = [mail.subject for mail in sent]
    assert len(subjects) == 3, subjects
    assert "we need more information" in subjects[0]
    assert "has been approved" in subjects[1]
    assert "has been resolved" in subjects[2]


def test_a_rolled_back_change_sends_nothing(world_a, order_line, mails):
    rma = advance(draft_return(world_a, order_line), ReturnStatus.SUBMITTED, agent=world_a.agent)
    with (
        tenant_context(world_a.tenant),
        mails() as sent,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        return_services.return_request_approve(return_request=rma, actor=world_a.agent)
        raise RuntimeError("the caller failed after the service")
    assert sent == []
    assert not Notification.unscoped.filter(event="return.approved").exists()


def test_the_same_event_enqueued_twice_sends_one_mail(world_a, order_line, mails):
    rma = draft_return(world_a, order_line)
    with tenant_context(world_a.tenant), mails() as sent:
        return_services.return_request_submit(return_request=rma, actor=world_a.customer)
        event = ReturnEvent.objects.get(return_request=rma, action="submitted")
        on_return_event(event)
        on_return_event(event)
    assert len(sent) == 1
    assert Notification.unscoped.filter(event="return.submitted").count() == 1


def test_only_the_requester_is_mailed_not_the_customer_admin(world_a, order_line, mails):
    with mails() as sent:
        advance(draft_return(world_a, order_line), ReturnStatus.APPROVED, agent=world_a.agent)
    assert {address for mail in sent for address in mail.to} == {world_a.customer.email}


# --- complaints -------------------------------------------------------------------------


def test_the_complaint_flow_mails_the_reporter_and_the_assignee(world_a, mails):
    reporter, agent, coordinator = world_a.customer, world_a.agent, world_a.coordinator
    speak(reporter, "pl")
    speak(agent, "en")
    tenant = world_a.tenant

    with mails() as filed:
        complaint = complaint_file(reporter, world_a.company)
    (mail,) = filed
    assert mail.to == [reporter.email]
    assert f"Reklamacja {complaint.code} została zarejestrowana" in mail.subject
    link = f"{SITE}/portal/complaints/{complaint.pk}/"
    assert link in mail.body and "Cracked housings" in html_of(mail)

    # a coordinator assigns it: the agent hears of it, in English, with a back-office link
    with tenant_context(tenant), mails() as assigned:
        complaint = complaint_services.complaint_assign(
            complaint=complaint, actor=coordinator, assignee=agent, now=nov(16, 9, 10)
        )
    (mail,) = assigned
    assert mail.to == [agent.email]
    assert f"Complaint {complaint.code} has been assigned to you" in mail.subject
    assert f"{SITE}/backoffice/complaints/complaint/{complaint.pk}/change/" in mail.body
    assert "Normal" in mail.body and world_a.company.name in mail.body

    # an internal note: nothing; a public reply: the reporter gets its text
    with tenant_context(tenant), mails() as replied:
        complaint_services.complaint_reply(
            complaint=complaint,
            actor=agent,
            body="Supplier batch 12 is suspect.",
            is_internal=True,
            now=nov(16, 9, 20),
        )
        complaint_services.complaint_reply(
            complaint=complaint,
            actor=agent,
            body="We are checking the batch.",
            now=nov(16, 9, 25),
        )
    (mail,) = replied
    assert mail.to == [reporter.email]
    assert f"Nowa odpowiedź w reklamacji {complaint.code}" in mail.subject
    assert "We are checking the batch." in mail.body

    # a question: one e-mail, the "awaiting your answer" one, carrying the question
    with tenant_context(tenant), mails() as awaiting:
        complaint_services.complaint_wait_for_customer(
            complaint=complaint, actor=agent, question="Which lot number?", now=nov(16, 9, 30)
        )
    (mail,) = awaiting
    assert "czekamy na Twoją odpowiedź" in mail.subject
    assert "Which lot number?" in mail.body and "Which lot number?" in html_of(mail)

    # the customer answers (nothing to mail them), then the agent resolves
    with tenant_context(tenant), mails() as answered:
        complaint_services.complaint_reply(
            complaint=complaint, actor=reporter, body="Lot 4411.", now=nov(16, 9, 40)
        )
    assert answered == []
    with tenant_context(tenant), mails() as resolved:
        complaint_services.complaint_resolve(
            complaint=complaint,
            actor=agent,
            resolution="A new batch was sent.",
            now=nov(16, 10),
        )
    (mail,) = resolved
    assert "została rozwiązana" in mail.subject
    assert "A new batch was sent." in mail.body
    assert f'href="{link}"' in html_of(mail)  # the complaint's page, to reopen it
    # the survey's five score links (tests/complaints/test_survey.py)
    assert html_of(mail).count(f'href="{SITE}/feedback/c/') == 5

    everything = filed + assigned + replied + awaiting + answered + resolved
    assert not any("Supplier batch 12" in all_text(mail) for mail in everything)


def test_a_rejected_complaint_gives_the_reason(world_a, mails):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant), mails() as sent:
        complaint_services.complaint_reject(
            complaint=complaint, actor=world_a.agent, reason="Damaged on site.", now=nov(16, 10)
        )
    (mail,) = sent
    assert mail.to == [world_a.customer.email]
    assert "has been rejected" in mail.subject and "Damaged on site." in mail.body


def test_taking_a_complaint_yourself_sends_no_assignment_mail(world_a, mails):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant), mails() as sent:
        complaint_services.complaint_assign(
            complaint=complaint, actor=world_a.agent, assignee=world_a.agent, now=nov(16, 10)
        )
    assert sent == []


@pytest.mark.parametrize("event", [SLA_AT_RISK_EVENT, SLA_BREACHED_EVENT])
@pytest.mark.parametrize("clock", ["first_response", "resolution"])
def test_sla_notices_render_for_the_sla_watch(world_a, event, clock):
    complaint = complaint_file(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        complaint = Complaint.objects.get(pk=complaint.pk)
        context = sla_email_context(complaint, clock=clock, due_at=complaint.resolution_due_at)
    for language, words, due in (
        ("en", "Complaint", "23 Nov 2026, 09:00"),
        ("pl", "Reklamacja", "23.11.2026, 09:00"),
    ):
        email = render_email(
            event=event,
            language=language,
            context={**context, "tenant": world_a.tenant, "recipient": world_a.coordinator},
        )
        assert complaint.code in email.subject and words in email.subject
        # The due time on the tenant's clock, in the recipient's format.
        assert f"{due} (Europe/Warsaw)" in email.text
        assert complaint.code in email.html


# --- the e-mail settings page -----------------------------------------------------------


def test_the_settings_page_needs_a_csrf_token(world_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.customer)
    choices = dict.fromkeys(preferences.KIND_KEYS, "never")
    assert client.post("/portal/profile/", choices).status_code == 403
    world_a.customer.refresh_from_db()
    assert world_a.customer.email_preferences == {}


def test_the_settings_page_is_translated_and_for_customers_only(world_a, login, client):
    assert client.get("/portal/profile/").status_code == 302  # to the login page
    speak(world_a.customer, "pl")
    page = login(world_a.customer).get("/portal/profile/", HTTP_ACCEPT_LANGUAGE="pl")
    assert "Ustawienia e-mail" in page.content.decode()
    translation.activate("en")
    client.logout()
    assert login(world_a.agent).get("/portal/profile/").status_code == 403


def test_a_withdrawn_reply_mail_is_recorded_as_skipped(world_a, mails):
    complaint = complaint_file(world_a.customer, world_a.company)
    complaint = advance_complaint_to_work(world_a, complaint)
    with tenant_context(world_a.tenant), mails() as sent:
        complaint_services.complaint_wait_for_customer(
            complaint=complaint, actor=world_a.agent, question="Photos?", now=nov(16, 10)
        )
    assert len(sent) == 1
    assert Notification.unscoped.filter(
        event="complaint.reply", status=DeliveryStatus.SKIPPED
    ).exists()


def advance_complaint_to_work(world, complaint):
    with tenant_context(world.tenant):
        complaint = complaint_services.complaint_assign(
            complaint=complaint, actor=world.agent, assignee=world.agent, now=nov(16, 9, 10)
        )
        return complaint_services.complaint_start(
            complaint=complaint, actor=world.agent, now=nov(16, 9, 20)
        )
