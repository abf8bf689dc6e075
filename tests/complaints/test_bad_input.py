"""Bad input to the complaint services gets a clear error naming the field and writes
nothing: no complaint, message, attachment or event rows, and no stored files."""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from complaints import services
from complaints.models import ComplaintStatus
from complaints.services.complaints import MAX_FILES_PER_MESSAGE, MAX_TEXT
from customers.models import OrderLine
from rma_portal.files.uploads import UploadRejected
from rma_portal.tenancy.context import tenant_context
from tests.factories import ProductFactory

from .conftest import (
    complaint_file,
    complaint_state,
    exe_upload,
    nothing_written,
    png_upload,
    stored_files,
)

pytestmark = pytest.mark.django_db

S = ComplaintStatus


def refused_filing(world, *, error=services.ComplaintInvalid, reporter=None, company=None, **kw):
    with pytest.raises(error) as refused:
        complaint_file(reporter or world.customer, company or world.company, **kw)
    assert nothing_written()
    return refused.value


# --- the complaint itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "fields"),
    [
        ({"description": ""}, {"description": ["Describe the problem."]}),
        ({"description": "  \n\t "}, {"description": ["Describe the problem."]}),
        ({"description": None}, {"description": ["Describe the problem."]}),
        ({"subject": ""}, {"subject": ["Give the complaint a subject."]}),
        ({"subject": "   "}, {"subject": ["Give the complaint a subject."]}),
        (
            {"subject": "", "description": ""},
            {
                "subject": ["Give the complaint a subject."],
                "description": ["Describe the problem."],
            },
        ),
        ({"category": "refund"}, {"category": ["Choose a category."]}),
        ({"category": ""}, {"category": ["Choose a category."]}),
        ({"category": None}, {"category": ["Choose a category."]}),
        ({"priority": "critical"}, {"priority": ["Choose a priority."]}),
        ({"priority": "URGENT"}, {"priority": ["Choose a priority."]}),
        (
            {"subject": "x" * 201},
            {"subject": ["The subject is too long (at most 200 characters)."]},
        ),
        ({"description": "x" * (MAX_TEXT + 1)}, {"description": ["The description is too long."]}),
    ],
)
def test_incomplete_or_invalid_complaint_is_refused(world_a, arguments, fields):
    error = refused_filing(world_a, **arguments)

    assert error.fields == fields
    assert error.message == next(iter(fields.values()))[0]


def test_the_longest_allowed_texts_are_accepted(world_a):
    complaint = complaint_file(
        world_a.customer, world_a.company, subject="s" * 200, description="d" * MAX_TEXT
    )

    assert (len(complaint.subject), len(complaint.description)) == (200, MAX_TEXT)


# --- orders, lines and products -----------------------------------------------------------


@pytest.mark.parametrize("order_line_id", [999_999_999, 0, -1, "abc", "12abc", 1.5, True, [1]])
def test_unknown_order_line_is_refused(world_a, order_line_id):
    error = refused_filing(world_a, order_line_id=order_line_id)

    assert list(error.fields) == ["order_line"]


def test_another_companys_order_line_is_refused(world_a, make_order):
    foreign = OrderLine.unscoped.filter(order=make_order(world_a.other_company)).first()

    error = refused_filing(world_a, order_line_id=foreign.pk)

    assert error.fields == {
        "order_line": ["Unknown order line: choose one of your company's orders."]
    }


def test_another_tenants_order_and_order_line_are_refused(world_a, world_b, make_order):
    foreign_order = make_order(world_b.company)
    foreign_line = OrderLine.unscoped.filter(order=foreign_order).first()

    by_order = refused_filing(world_a, order_id=foreign_order.pk)
    by_line = refused_filing(world_a, order_line_id=foreign_line.pk)

    assert by_order.fields == {"order": ["Unknown order: choose one of your company's orders."]}
    assert list(by_line.fields) == ["order_line"]


def test_an_order_line_outside_the_chosen_order_is_refused(world_a, make_order):
    chosen, other = make_order(world_a.company), make_order(world_a.company)
    line_of_other = OrderLine.unscoped.filter(order=other).first()

    error = refused_filing(world_a, order_id=chosen.pk, order_line_id=line_of_other.pk)

    assert error.fields == {"order_line": ["The order line is not part of the chosen order."]}


def test_a_valid_order_and_line_are_recorded_with_the_product(world_a, make_order):
    order = make_order(world_a.company)
    line = OrderLine.unscoped.filter(order=order).order_by("line_number").last()

    complaint = complaint_file(
        world_a.customer, world_a.company, order_id=str(order.pk), order_line_id=line.pk
    )

    assert (complaint.order, complaint.order_line, complaint.product) == (
        order,
        line,
        line.product,
    )


@pytest.mark.parametrize("whose", ["unknown", "other_tenant", "not_a_number"])
def test_unknown_product_is_refused(world_a, world_b, whose):
    product_id = {
        "unknown": 999_999_999,
        "other_tenant": lambda: ProductFactory(tenant=world_b.tenant).pk,
        "not_a_number": "SKU-1",
    }[whose]
    if callable(product_id):
        product_id = product_id()

    error = refused_filing(world_a, product_id=product_id)

    assert error.fields == {"product": ["Unknown product."]}


# --- who files ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_company_user", "agent", "other_tenant_customer"])
def test_only_a_user_of_the_company_may_file_for_it(world_a, world_b, who):
    reporter = world_b.customer if who == "other_tenant_customer" else getattr(world_a, who)

    refused_filing(world_a, reporter=reporter, error=services.ComplaintAccessDenied)


# --- attachments --------------------------------------------------------------------------


def noisy_png(name: str = "big.png", *, side: int = 64) -> SimpleUploadedFile:
    image = Image.frombytes("RGB", (side, side), random.Random(7).randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_too_many_files_are_refused(world_a, media_root):
    uploads = [png_upload(f"p{n}.png") for n in range(MAX_FILES_PER_MESSAGE + 1)]

    error = refused_filing(world_a, uploads=uploads)

    assert error.fields == {"files": ["Attach at most 10 files at a time."]}
    assert stored_files(media_root) == []


def test_as_many_files_as_allowed_are_stored(world_a, media_root):
    uploads = [png_upload(f"p{n}.png") for n in range(MAX_FILES_PER_MESSAGE)]

    complaint_file(world_a.customer, world_a.company, uploads=uploads)

    assert len(stored_files(media_root)) == MAX_FILES_PER_MESSAGE


def test_a_disguised_executable_is_refused_with_the_good_files(world_a, media_root):
    error = refused_filing(
        world_a,
        error=UploadRejected,
        uploads=[png_upload("ok.png"), exe_upload("scan.jpg")],
    )

    assert error.code == "invalid_upload"
    assert error.fields == {"files": ["scan.jpg is not a JPEG, PNG, WebP or PDF file."]}
    assert stored_files(media_root) == []


def test_an_oversized_file_is_refused(world_a, media_root, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    big = noisy_png()
    assert big.size > 2048

    error = refused_filing(world_a, error=UploadRejected, uploads=[png_upload(), big])

    assert list(error.fields) == ["files"]
    assert error.message.startswith("big.png is too large (")
    assert stored_files(media_root) == []


# --- the thread and the transitions -------------------------------------------------------


def refused_change(complaint, call, *, error=services.ComplaintInvalid):
    before = complaint_state(complaint)
    with tenant_context(complaint.tenant), pytest.raises(error) as refused:
        call()
    assert complaint_state(complaint) == before
    return refused.value


@pytest.mark.parametrize(
    ("body", "field_error"),
    [
        ("", "Write a message."),
        (" \n ", "Write a message."),
        ("x" * (MAX_TEXT + 1), "The text is too long (at most 10000 characters)."),
    ],
)
def test_a_reply_needs_a_message_of_reasonable_length(world_a, complaint_in, body, field_error):
    complaint = complaint_in(S.IN_PROGRESS)

    for actor in (world_a.customer, world_a.agent):
        error = refused_change(
            complaint,
            lambda actor=actor: services.complaint_reply(
                complaint=complaint, actor=actor, body=body
            ),
        )
        assert error.fields == {"body": [field_error]}


@pytest.mark.parametrize(
    "uploads", [[png_upload()] * (MAX_FILES_PER_MESSAGE + 1), [exe_upload()]], ids=["many", "exe"]
)
def test_a_reply_with_bad_files_is_refused(world_a, complaint_in, media_root, uploads):
    complaint = complaint_in(S.AWAITING_CUSTOMER)

    error = refused_change(
        complaint,
        lambda: services.complaint_reply(
            complaint=complaint, actor=world_a.customer, body="Photos.", uploads=uploads
        ),
        error=(services.ComplaintInvalid, UploadRejected),
    )

    assert list(error.fields) == ["files"]
    assert stored_files(media_root) == []


@pytest.mark.parametrize("text", ["", "   ", "x" * (MAX_TEXT + 1)])
def test_resolving_rejecting_reopening_and_asking_need_sensible_text(world_a, complaint_in, text):
    in_progress = complaint_in(S.IN_PROGRESS)
    resolved = complaint_in(S.RESOLVED)
    cases = [
        (
            in_progress,
            "resolution",
            lambda: services.complaint_resolve(
                complaint=in_progress, actor=world_a.agent, resolution=text
            ),
        ),
        (
            in_progress,
            "reason",
            lambda: services.complaint_reject(
                complaint=in_progress, actor=world_a.agent, reason=text
            ),
        ),
        (
            resolved,
            "reason",
            lambda: services.complaint_reopen(
                complaint=resolved, actor=world_a.customer, reason=text
            ),
        ),
    ]
    if text.strip():  # an empty question is allowed: the agent may ask by phone
        cases += [
            (
                in_progress,
                "question",
                lambda: services.complaint_wait_for_customer(
                    complaint=in_progress, actor=world_a.agent, question=text
                ),
            ),
            (
                resolved,
                "comment",
                lambda: services.complaint_rate(
                    complaint=resolved, actor=world_a.customer, score=5, comment=text
                ),
            ),
        ]

    for complaint, field, call in cases:
        error = refused_change(complaint, call)
        assert list(error.fields) == [field], (field, error.fields)
        assert error.message
