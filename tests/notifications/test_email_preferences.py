"""E-mail preferences per kind of e-mail: the send path honours immediately / digest / never,
the daily digest (content, language, once only, nothing to send), the migration of the old
checkbox, and the settings page (its form, bad input, only one's own settings)."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from returns import services as return_services
from returns.models import ReturnRequest
from rma_portal.accounts.models import User
from rma_portal.notifications import preferences
from rma_portal.notifications.digests import DIGEST_EVENT, digest_send_due
from rma_portal.notifications.models import DeliveryStatus, DigestItem, Notification
from rma_portal.notifications.services import (
    notification_deliver,
    notification_enqueue,
    outbox_due,
)
from rma_portal.notifications.tasks import send_digests_task
from rma_portal.tenancy.context import tenant_context
from tests.html import parse
from tests.notifications import test_emails

# The status e-mail tests' fixtures and helpers, shared rather than copied.
order_line = test_emails.order_line
mails = test_emails.mails
site_url = test_emails.site_url
draft_return = test_emails.draft_return
speak = test_emails.speak

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=WARSAW)


def choose(user, **choices) -> None:
    user.email_preferences = choices
    user.save(update_fields=["email_preferences"])


@pytest.fixture
def warsaw(world_a):
    world_a.tenant.timezone = "Europe/Warsaw"
    world_a.tenant.save(update_fields=["timezone"])
    return world_a


def submitted_and_answered(world, order_line) -> ReturnRequest:
    """A return submitted, a staff message about it, a question asked: a return_progress,
    a support_replies and an always-sent e-mail."""
    rma = draft_return(world, order_line)
    with tenant_context(world.tenant):
        return_services.return_request_submit(return_request=rma, actor=world.customer)
        return_services.return_request_comment(
            return_request=rma, actor=world.agent, note="We are on it.", is_public=True
        )
        return_services.return_request_request_info(
            return_request=rma, actor=world.agent, question="Which pallet?"
        )
    return rma


# --- the send path ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_kind_goes_out_immediately_into_the_digest_or_nowhere(world_a, order_line, mails):
    choose(world_a.customer, return_progress="digest", support_replies="never")
    with mails() as sent:
        rma = submitted_and_answered(world_a, order_line)
        with tenant_context(world_a.tenant):
            return_services.return_request_provide_info(
                return_request=rma, actor=world_a.customer, answer="Seven."
            )
            return_services.return_request_approve(return_request=rma, actor=world_a.agent)
    # immediately: the question (always) and the decision (never chosen: immediately)
    subjects = [mail.subject for mail in sent]
    assert len(subjects) == 2, subjects
    assert "we need more information" in subjects[0]
    assert "has been approved" in subjects[1]
    # the digest: the submission, kept for the next digest
    (item,) = DigestItem.unscoped.filter(recipient=world_a.customer)
    assert (item.event, item.kind, item.digest) == ("return.submitted", "return_progress", None)
    assert item.case == f"returns.returnrequest:{rma.pk}"
    # never: the staff message is not queued at all
    events = set(Notification.unscoped.values_list("event", flat=True))
    assert "return.message" not in events and "return.submitted" not in events
    rows = Notification.unscoped.filter(recipient=world_a.customer)
    assert {(row.event, row.kind, row.is_essential) for row in rows} == {
        ("return.info_requested", "", True),
        ("return.approved", "return_decisions", False),
    }


@pytest.mark.django_db
def test_the_old_checkbox_kinds_off_still_leave_decisions_and_questions(world_a, order_line, mails):
    choose(world_a.customer, **preferences.all_never())
    with mails() as sent:
        submitted_and_answered(world_a, order_line)
    assert ["we need more information" in mail.subject for mail in sent] == [True]
    assert not DigestItem.unscoped.exists()


@pytest.mark.django_db
def test_a_kind_switched_off_before_delivery_is_skipped(
    world_a, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False), tenant_context(world_a.tenant):
        row = notification_enqueue(
            tenant=world_a.tenant,
            event="return.received",
            recipient=world_a.customer,
            context={"number": "RMA-1", "url": "https://rma.example.com/x"},
            key="received:1",
            kind="return_progress",
        )
    choose(world_a.customer, return_progress="never")
    with tenant_context(world_a.tenant):
        assert notification_deliver(notification_id=row.pk).outcome == "skipped"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SKIPPED and mailoutbox == []


@pytest.mark.django_db
def test_the_same_key_is_kept_once_for_the_digest_and_unknown_kinds_are_refused(world_a):
    choose(world_a.customer, return_progress="digest")
    arguments = {
        "tenant": world_a.tenant,
        "event": "return.received",
        "recipient": world_a.customer,
        "context": {},
        "key": "received:1",
    }
    with tenant_context(world_a.tenant):
        first = notification_enqueue(**arguments, kind="return_progress")
        again = notification_enqueue(**arguments, kind="return_progress")
        assert first.pk == again.pk and DigestItem.unscoped.count() == 1
        with pytest.raises(KeyError):
            notification_enqueue(**arguments, kind="return_everything")


@pytest.mark.django_db
def test_only_customers_choose_and_odd_stored_values_mean_immediately(world_a):
    choose(world_a.agent, return_progress="never")
    assert preferences.choice_for(world_a.agent, "return_progress") == "immediately"
    choose(world_a.customer, return_progress="sometimes")
    assert preferences.choice_for(world_a.customer, "return_progress") == "immediately"
    assert preferences.choice_for(world_a.customer, "") == "immediately"


# --- the daily digest -------------------------------------------------------------------------


def _age_items(user, moment: datetime.datetime) -> None:
    DigestItem.unscoped.filter(recipient=user).update(created_at=moment)


@pytest.mark.django_db
def test_the_digest_goes_out_from_the_tenants_morning_with_each_item_and_link(
    warsaw, order_line, mails
):
    world = warsaw
    choose(world.customer, return_progress="digest", support_replies="digest")
    rma = submitted_and_answered(world, order_line)
    _age_items(world.customer, local(2026, 11, 16, 15, 30))
    with tenant_context(world.tenant), mails() as sent:
        # before 07:00 of the next day: nothing yet
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 6, 59)) == 0
        assert sent == []
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 7, 15)) == 1
    (mail,) = sent
    assert mail.to == [world.customer.email]
    assert "Your daily summary of" in mail.subject and "2 updates" in mail.subject
    url = f"{test_emails.SITE}/portal/returns/{rma.pk}/"
    for text in (mail.body, test_emails.html_of(mail)):
        assert "Return progress" in text and "Replies from support" in text
        assert "has been submitted" in text
        assert "New message about return" in text
        assert url in text
        assert "2026-11-16 15:30" in text and "Europe/Warsaw" in text
        assert "/portal/profile/" in text  # where to change the choices
    digest = Notification.unscoped.get(event=DIGEST_EVENT)
    assert digest.status == DeliveryStatus.SENT
    assert digest.idempotency_key == f"digest:2026-11-17:{world.customer.pk}"
    assert set(DigestItem.unscoped.values_list("digest", flat=True)) == {digest.pk}


@pytest.mark.django_db
def test_the_digest_is_sent_once_and_late_items_wait_for_the_next_day(warsaw, order_line, mails):
    world = warsaw
    choose(world.customer, return_progress="digest", support_replies="digest")
    submitted_and_answered(world, order_line)
    _age_items(world.customer, local(2026, 11, 16, 12))
    with tenant_context(world.tenant), mails() as sent:
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 7, 15)) == 1
        # the hourly task again, and a second beat by mistake: nothing more
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 8, 15)) == 0
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 8, 15)) == 0
    assert len(sent) == 1
    # an item dated before the digest hour but committed after the digest was made
    (first,) = DigestItem.unscoped.filter(event="return.submitted")
    late = DigestItem.unscoped.create(
        tenant=world.tenant,
        recipient=world.customer,
        event="return.received",
        kind="return_progress",
        idempotency_key="late:1",
        context=first.context,
        created_at=local(2026, 11, 17, 6),
    )
    with tenant_context(world.tenant), mails() as sent:
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 9, 15)) == 0
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 18, 7, 15)) == 1
    (mail,) = sent
    assert "1 update" in mail.subject and "has been submitted" not in mail.body
    late.refresh_from_db()
    assert late.digest.idempotency_key == f"digest:2026-11-18:{world.customer.pk}"


@pytest.mark.django_db
def test_a_digest_whose_worker_stopped_is_sent_by_the_sweep_and_never_made_twice(
    warsaw, order_line, django_capture_on_commit_callbacks, mailoutbox
):
    world = warsaw
    choose(world.customer, return_progress="digest")
    submitted_and_answered(world, order_line)
    _age_items(world.customer, local(2026, 11, 16, 12))
    mailoutbox.clear()
    with tenant_context(world.tenant):
        # the digest is made, but its delivery never reached a worker
        with django_capture_on_commit_callbacks(execute=False):
            assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 7, 15)) == 1
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 8, 15)) == 0
    digest = Notification.unscoped.get(event=DIGEST_EVENT)
    assert digest.status == DeliveryStatus.PENDING and mailoutbox == []
    # the outbox sweep hands it out again, and it is sent once
    notifications, _webhooks = outbox_due(now=digest.created_at + datetime.timedelta(minutes=5))
    assert (digest.pk, world.tenant.pk) in notifications
    with tenant_context(world.tenant):
        assert notification_deliver(notification_id=digest.pk).outcome == "sent"
        assert notification_deliver(notification_id=digest.pk).outcome == "done"
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_nothing_to_send_sends_no_digest(warsaw, order_line, mails):
    world = warsaw
    with tenant_context(world.tenant), mails() as sent:
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 7, 15)) == 0
    choose(world.customer, return_progress="digest")
    submitted_and_answered(world, order_line)
    _age_items(world.customer, local(2026, 11, 16, 12))
    # switched off since: the item is dropped, and no digest goes out
    choose(world.customer, return_progress="never")
    with tenant_context(world.tenant), mails() as sent:
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 7, 15)) == 0
    assert sent == []
    assert not DigestItem.unscoped.exists()
    assert not Notification.unscoped.filter(event=DIGEST_EVENT).exists()


@pytest.mark.django_db
def test_the_digest_is_in_the_users_language_and_only_theirs(warsaw, world_b, order_line, mails):
    world = warsaw
    speak(world.customer, "pl")
    choose(world.customer, return_progress="digest")
    submitted_and_answered(world, order_line)
    _age_items(world.customer, local(2026, 11, 16, 12))
    with tenant_context(world.tenant), mails() as sent:
        assert digest_send_due(tenant=world.tenant, now=local(2026, 11, 17, 7, 15)) == 1
    (mail,) = sent
    digest = Notification.unscoped.get(event=DIGEST_EVENT)
    assert digest.language == "pl" and digest.tenant == world.tenant
    assert "został zgłoszony" in mail.body  # the item's subject, in Polish
    assert mail.to == [world.customer.email]
    assert not Notification.unscoped.filter(event=DIGEST_EVENT, tenant=world_b.tenant).exists()


@pytest.mark.django_db
def test_the_beat_task_runs_the_digest_of_every_active_tenant(warsaw, world_b, order_line):
    choose(warsaw.customer, return_progress="digest")
    submitted_and_answered(warsaw, order_line)
    # long before any digest hour the task can run at
    _age_items(warsaw.customer, local(2026, 1, 1, 12))
    assert send_digests_task.apply().get() == 1
    assert send_digests_task.apply().get() == 0


# --- the migration of the old checkbox ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_checkbox_becomes_choices_per_kind(world_a):
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0007_language_choices_from_settings")])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET wants_status_emails = false WHERE id = %s",
            [world_a.customer.pk],
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    off, on = (User.objects.get(pk=user.pk) for user in (world_a.customer, world_a.colleague))
    assert off.email_preferences == {
        "return_progress": "never",
        "return_decisions": "immediately",
        "return_resolutions": "immediately",
        "complaint_progress": "never",
        "complaint_decisions": "immediately",
        "support_replies": "never",
    }
    assert on.email_preferences == dict.fromkeys(preferences.KIND_KEYS, "immediately")
    assert {field.name for field in User._meta.fields} >= {"email_preferences"}
    assert "wants_status_emails" not in {field.name for field in User._meta.fields}


# --- the settings page -------------------------------------------------------------------------


def _post(**changes) -> dict:
    return {**dict.fromkeys(preferences.KIND_KEYS, "immediately"), **changes}


@pytest.mark.django_db
def test_the_page_shows_one_radio_group_per_kind_and_what_is_always_sent(world_a, login):
    choose(world_a.customer, support_replies="digest")
    page = login(world_a.customer).get("/portal/profile/")
    assert page.status_code == 200
    html = parse(page.content)
    legends = [legend.text.strip() for legend in html.select("fieldset legend")]
    assert legends == [str(kind.label) for kind in preferences.KINDS]
    for kind in preferences.KINDS:
        radios = html.select(f'input[type=radio][name="{kind.key}"]')
        assert [radio.get("value") for radio in radios] == ["immediately", "digest", "never"]
        for radio in radios:  # each named by its own label
            assert html.select(f'label[for="{radio.get("id")}"]')
    checked = html.select('input[name="support_replies"][checked]')
    assert [radio.get("value") for radio in checked] == ["digest"]
    text = html.text
    assert "Always sent immediately" in text and "Password links" in text


@pytest.mark.django_db
def test_saving_changes_every_kind_of_the_signed_in_user_only(world_a, world_b, login):
    client = login(world_a.customer)
    response = client.post(
        "/portal/profile/",
        _post(return_progress="digest", support_replies="never", user=world_a.colleague.pk),
    )
    assert response.status_code == 302
    world_a.customer.refresh_from_db()
    assert world_a.customer.email_preferences == _post(
        return_progress="digest", support_replies="never"
    )
    for other in (world_a.colleague, world_a.customer_admin, world_b.customer):
        other.refresh_from_db()
        assert other.email_preferences == {}


@pytest.mark.parametrize(
    "changes",
    [
        {"return_progress": "weekly"},  # no such choice
        {"support_replies": ""},  # no choice
        {"complaint_decisions": None},  # left out
    ],
)
@pytest.mark.django_db
def test_bad_input_says_what_is_wrong_and_changes_nothing(world_a, login, changes):
    choose(world_a.customer, return_progress="digest")
    data = {key: value for key, value in _post(**changes).items() if value is not None}
    page = login(world_a.customer).post("/portal/profile/", data)
    assert page.status_code == 200
    errors = [node.text for node in parse(page.content).select(".error")]
    assert len(errors) == 1, errors
    assert "Choose" in errors[0]
    world_a.customer.refresh_from_db()
    assert world_a.customer.email_preferences == {"return_progress": "digest"}


@pytest.mark.django_db
def test_the_page_is_for_customers_only(world_a, login, client):
    assert client.get("/portal/profile/").status_code == 302  # to the login page
    staff = login(world_a.agent)
    assert staff.post("/portal/profile/", _post(return_progress="never")).status_code in (
        302,
        403,
        404,
    )
    world_a.agent.refresh_from_db()
    assert world_a.agent.email_preferences == {}
