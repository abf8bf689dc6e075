"""A stored file lives exactly as long as the transaction that stored it: when that
transaction (or the savepoint it was written in) rolls back after the write, the file is
deleted again and no row is left, on every surface that takes uploads."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import Complaint, ComplaintAttachment, ComplaintEvent, ComplaintMessage
from complaints.services import complaints as complaint_service_module
from customers.models import OrderLine
from returns import services as return_services
from returns.models import ReturnAttachment, ReturnEvent, ReturnLine
from rma_portal.files.transactions import pending_files, save_file
from rma_portal.files.uploads import clean_upload
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as
from tests.returns import conftest as returns_fixtures

from .conftest import png_upload, stored_files

pytestmark = pytest.mark.django_db

# The return service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return


class Boom(Exception):
    """A failure of the caller after the file was stored."""


@pytest.fixture
def outbox_down(media):
    """A write after the upload that fails; it checks that the file is on disk by then."""

    def fail(*_args, **_kwargs):
        assert stored_files(media), "the failure must come after the file was stored"
        raise DatabaseError("the outbox row could not be written")

    return fail


@pytest.fixture
def submitted_return(world_a, delivered_order, file_return):
    line = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number").first()
    return file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )


def attach(return_request, actor, name: str = "photo.png") -> ReturnAttachment:
    return return_services.return_attachment_add(
        return_request=return_request, actor=actor, upload=png_upload(name)
    )


def attachment_rows() -> set[str]:
    return set(ReturnAttachment.unscoped.values_list("file", flat=True))


def file_complaint(world, **kwargs) -> Complaint:
    with tenant_context(world.tenant):
        return complaint_services.complaint_file(
            customer_account=world.company,
            reporter=world.customer,
            category="product_quality",
            priority="normal",
            subject="Cracked housings",
            description="Three housings arrived cracked.",
            **kwargs,
        )


def no_complaint_files(complaint=None) -> bool:
    rows = ComplaintAttachment.unscoped.all()
    if complaint is not None:
        rows = rows.filter(complaint=complaint)
    return not rows.exists()


# --- the surfaces -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_api_upload_whose_commit_fails_leaves_no_file(
    world_a, submitted_return, media, monkeypatch
):
    """The attachment, its event and its file are written; then COMMIT fails (a deferred
    foreign key: the line it names was removed meanwhile) and the whole transaction rolls
    back."""
    return_line = ReturnLine.unscoped.get(return_request=submitted_return)
    write_event = ReturnEvent.objects.create

    def write_event_and_lose_the_line(**fields):
        assert stored_files(media), "the failure must come after the file was stored"
        event = write_event(**fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {ReturnLine._meta.db_table} WHERE id = %s",  # noqa: S608
                [return_line.pk],
            )
        return event

    monkeypatch.setattr(ReturnEvent.objects, "create", write_event_and_lose_the_line)
    client = api_as(world_a.customer)

    with pytest.raises(IntegrityError):
        client.post(
            f"/api/v1/returns/{submitted_return.pk}/attachments/",
            {"file": png_upload(), "line": return_line.pk},
            format="multipart",
        )

    assert ReturnLine.unscoped.filter(pk=return_line.pk).exists()  # rolled back as a whole
    assert not ReturnAttachment.unscoped.exists()
    assert not ReturnEvent.unscoped.filter(action="attachment").exists()
    assert stored_files(media) == set()


def test_a_complaint_filed_in_the_portal_whose_event_fails_leaves_no_file(
    world_a, login, media, monkeypatch, outbox_down
):
    monkeypatch.setattr(complaint_service_module, "on_complaint_event", outbox_down)
    client = login(world_a.customer)

    with pytest.raises(DatabaseError):
        client.post(
            reverse("portal:complaint_new"),
            {
                "category": "product_quality",
                "priority": "normal",
                "order": "",
                "order_line": "",
                "subject": "Scratched panels",
                "description": "The panels of the last delivery are scratched.",
                "files": [png_upload("scratch.png")],
            },
        )

    assert not Complaint.unscoped.exists()
    assert not ComplaintEvent.unscoped.exists()
    assert no_complaint_files()
    assert stored_files(media) == set()


def test_a_staff_reply_with_a_photo_in_the_backoffice_whose_email_fails_leaves_no_file(
    world_a, login, media, monkeypatch, outbox_down
):
    complaint = file_complaint(world_a)
    monkeypatch.setattr(complaint_service_module, "send_complaint_reply_email", outbox_down)
    client = login(world_a.agent)

    with pytest.raises(DatabaseError):
        client.post(
            reverse("admin:complaints_complaint_reply", args=[complaint.pk]),
            {"body": "Please see the photo of the replacement.", "files": [png_upload()]},
        )

    assert not ComplaintMessage.unscoped.filter(complaint=complaint).exists()
    assert no_complaint_files(complaint)
    assert stored_files(media) == set()


def test_a_staff_reply_with_a_photo_in_the_api_whose_email_fails_answers_500_and_leaves_no_file(
    world_a, media, monkeypatch, outbox_down
):
    complaint = file_complaint(world_a)
    monkeypatch.setattr(complaint_service_module, "send_complaint_reply_email", outbox_down)
    client = api_as(world_a.agent)
    client.raise_request_exception = False

    response = client.post(
        f"/api/v1/complaints/{complaint.pk}/messages/",
        {"body": "Please see the photo.", "files": [png_upload()]},
        format="multipart",
    )

    assert response.status_code == 500
    assert not ComplaintMessage.unscoped.filter(complaint=complaint).exists()
    assert no_complaint_files(complaint)
    assert stored_files(media) == set()


def test_a_complaint_whose_filing_succeeds_keeps_its_file(world_a, media):
    complaint = file_complaint(world_a, uploads=[png_upload()])
    names = set(
        ComplaintAttachment.unscoped.filter(complaint=complaint).values_list("file", flat=True)
    )
    assert len(names) == 1
    assert stored_files(media) == names


# --- savepoints at the service level --------------------------------------------------------


def test_a_file_of_a_rolled_back_inner_block_goes_while_the_outer_block_keeps_its_own(
    world_a, submitted_return, media
):
    with tenant_context(world_a.tenant), transaction.atomic():
        kept = attach(submitted_return, world_a.customer, "kept.png")
        with pytest.raises(Boom), transaction.atomic():
            attach(submitted_return, world_a.customer, "dropped.png")
            raise Boom  # after the service's own block was released

    assert attachment_rows() == {kept.file.name}
    assert stored_files(media) == {kept.file.name}


def test_a_file_of_a_released_inner_block_goes_when_the_outer_block_rolls_back(
    world_a, submitted_return, media
):
    with tenant_context(world_a.tenant), pytest.raises(Boom), transaction.atomic():
        attach(submitted_return, world_a.customer, "first.png")
        with transaction.atomic():
            attach(submitted_return, world_a.customer, "second.png")
        raise Boom

    assert attachment_rows() == set()
    assert stored_files(media) == set()


def test_a_rollback_two_levels_up_takes_the_files_of_every_block_inside_it(
    world_a, submitted_return, media
):
    with tenant_context(world_a.tenant), transaction.atomic():
        kept = attach(submitted_return, world_a.customer, "kept.png")
        with pytest.raises(Boom), transaction.atomic():
            attach(submitted_return, world_a.customer, "middle.png")
            with transaction.atomic(), transaction.atomic():  # two levels, both released
                attach(submitted_return, world_a.customer, "deep.png")
            raise Boom
        later = attach(submitted_return, world_a.customer, "later.png")

    assert attachment_rows() == {kept.file.name, later.file.name}
    assert stored_files(media) == {kept.file.name, later.file.name}


def test_a_failure_in_a_block_without_a_savepoint_takes_the_files_of_the_block_around_it(
    world_a, submitted_return, media
):
    with tenant_context(world_a.tenant), pytest.raises(Boom), transaction.atomic():
        attach(submitted_return, world_a.customer)
        with transaction.atomic(savepoint=False):
            attach(submitted_return, world_a.customer)
            raise Boom

    assert attachment_rows() == set()
    assert stored_files(media) == set()


def test_a_failed_follow_up_inside_a_transaction_that_goes_on_leaves_no_file(
    world_a, submitted_return, media
):
    """The store's own block rolls back; the caller catches the error and commits the rest."""

    def fail(_row):
        raise Boom

    with tenant_context(world_a.tenant), transaction.atomic():
        kept = attach(submitted_return, world_a.customer, "kept.png")
        with pytest.raises(Boom):
            ReturnAttachment.store(
                clean_upload(png_upload("lost.png")),
                uploaded_by=world_a.customer,
                then=fail,
                tenant=world_a.tenant,
                return_request=submitted_return,
            )

    assert attachment_rows() == {kept.file.name}
    assert stored_files(media) == {kept.file.name}


def test_save_file_follows_the_transaction_around_it(media):
    with pytest.raises(Boom), transaction.atomic():
        save_file(default_storage, "tenants/1/labels/undone.pdf", ContentFile(b"%PDF-1.7"))
        raise Boom
    assert stored_files(media) == set()

    with transaction.atomic():
        name = save_file(default_storage, "tenants/1/labels/kept.pdf", ContentFile(b"%PDF-1.7"))
    assert stored_files(media) == {name}


# --- real transactions: COMMIT, ROLLBACK, a lost connection -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_committed_file_stays_and_is_forgotten(world_a, submitted_return, media):
    with tenant_context(world_a.tenant), transaction.atomic():
        attachment = attach(submitted_return, world_a.customer)
        assert pending_files() == [attachment.file.name]

    assert pending_files() == []
    assert stored_files(media) == {attachment.file.name}
    # a later rollback on the same connection does not touch it
    with pytest.raises(Boom), transaction.atomic():
        raise Boom
    assert stored_files(media) == {attachment.file.name}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_deletes_its_files(world_a, submitted_return, media):
    with tenant_context(world_a.tenant), pytest.raises(Boom), transaction.atomic():
        attach(submitted_return, world_a.customer, "one.png")
        attach(submitted_return, world_a.customer, "two.png")
        raise Boom

    assert pending_files() == []
    assert attachment_rows() == set()
    assert stored_files(media) == set()


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_in_the_transaction_deletes_its_files(world_a, submitted_return, media):
    with tenant_context(world_a.tenant), transaction.atomic():
        attach(submitted_return, world_a.customer)
        connection.close()  # the database rolls the transaction back by itself

    assert attachment_rows() == set()
    assert stored_files(media) == set()


@pytest.mark.django_db(transaction=True)
def test_a_store_outside_any_transaction_commits_on_its_own_and_keeps_its_file(
    world_a, submitted_return, media
):
    with tenant_context(world_a.tenant):
        attachment = ReturnAttachment.store(
            clean_upload(png_upload()),
            uploaded_by=world_a.customer,
            tenant=world_a.tenant,
            return_request=submitted_return,
        )
    assert pending_files() == []
    assert attachment_rows() == {attachment.file.name}
    assert stored_files(media) == {attachment.file.name}
