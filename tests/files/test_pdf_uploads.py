"""Uploaded PDFs are read by qpdf and stored only when nothing in them can run, embed, submit
or play anything: the corpus in hostile_pdfs/ (written by its make_corpus.py), the limits of
the check, and every surface that takes uploads refusing a script hidden in an object
stream."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import ComplaintAttachment, ComplaintMessage
from customers.models import OrderLine
from returns.models import ReturnAttachment, ReturnLine, ReturnRequest
from rma_portal.accounts.models import User
from rma_portal.documents.pdf import html_to_pdf, qr_svg
from rma_portal.files import uploads
from rma_portal.files.uploads import UploadRejected, clean_upload
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as, assert_error
from tests.html import texts
from tests.returns import conftest as returns_fixtures

from .conftest import stored_files
from .hostile_pdfs import make_corpus

CORPUS = Path(__file__).resolve().parent / "hostile_pdfs"

ACTIVE = "PDFs with scripts, actions or embedded files are not accepted."
DAMAGED = "The PDF is damaged or incomplete."
PASSWORD = "The PDF is protected with a password; upload a copy without one."
COMPLEX = "The PDF is too large or complex to be checked."

HOSTILE = {
    # JavaScript run on opening, compressed in an object stream: invisible in the raw bytes
    "objstm_js_padded_dictionary.pdf": ACTIVE,
    "objstm_js_comment_after_obj.pdf": ACTIVE,
    "objstm_js_encrypted_no_password.pdf": ACTIVE,
    "xfa_form.pdf": ACTIVE,
    "page_additional_actions.pdf": ACTIVE,
    "launch_action.pdf": ACTIVE,
    "embedded_files.pdf": ACTIVE,
    "rich_media.pdf": ACTIVE,
    "escaped_javascript_name.pdf": ACTIVE,
    "incremental_update_adds_javascript.pdf": ACTIVE,
    "annotation_javascript.pdf": ACTIVE,
    "submit_form.pdf": ACTIVE,
    "remote_goto_unc_path.pdf": ACTIVE,
    "open_action_uri.pdf": ACTIVE,
    "uri_file_scheme.pdf": ACTIVE,
    # definitions the cross-reference table does not use, found by a viewer that rebuilds it
    "unreferenced_javascript_object.pdf": ACTIVE,
    "superseded_objstm_member_javascript.pdf": ACTIVE,
    # structures qpdf and viewers read differently
    "objstm_hex_encoded.pdf": DAMAGED,
    "objstm_number_twice.pdf": DAMAGED,
    "objstm_index_disagrees.pdf": DAMAGED,
    "duplicate_key.pdf": DAMAGED,
    "wrong_xref_offsets.pdf": DAMAGED,
    # not a whole PDF, or not one that can be read
    "objstm_bomb.pdf": DAMAGED,
    "truncated.pdf": DAMAGED,
    "garbage_after_header.pdf": DAMAGED,
    "needs_password.pdf": PASSWORD,
}
BENIGN = [
    "weasyprint_label.pdf",
    "scanned_page.pdf",
    "uri_link.pdf",
    "objstm_clean.pdf",
    "objstm_superseded_clean.pdf",
    "objstm_header_comment.pdf",
    "update_table_not_listing_itself.pdf",
    "open_action_destination.pdf",
    "open_action_goto.pdf",
    "incremental_update_clean.pdf",
    "text_mentioning_objects.pdf",
    "owner_password_only.pdf",
]
# A script behind an object stream dictionary longer than 4 KB, or behind a comment after
# `5 0 obj`: a scan of the raw bytes for stream dictionaries finds neither; every surface
# must refuse both.
OBJECT_STREAM_SCRIPTS = ["objstm_js_padded_dictionary.pdf", "objstm_js_comment_after_obj.pdf"]


def hostile(name: str) -> bytes:
    return (CORPUS / "hostile" / name).read_bytes()


def benign(name: str) -> bytes:
    return (CORPUS / "benign" / name).read_bytes()


def pdf_upload(data: bytes, name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def refusal(data: bytes) -> str:
    with pytest.raises(UploadRejected) as refused:
        clean_upload(pdf_upload(data))
    assert refused.value.code == "invalid_upload"
    return refused.value.message


# --- the corpus -------------------------------------------------------------------------


def test_the_corpus_holds_exactly_the_files_listed_here():
    assert sorted(path.name for path in (CORPUS / "hostile").iterdir()) == sorted(HOSTILE)
    assert sorted(path.name for path in (CORPUS / "benign").iterdir()) == sorted(BENIGN)


def test_the_committed_files_are_what_make_corpus_writes():
    # The WeasyPrint and Pillow files carry the time they were made; the others must match
    # their construction byte for byte, or the test names would no longer tell the truth.
    assert make_corpus.hostile() == {name: hostile(name) for name in HOSTILE}
    handwritten = make_corpus.handwritten()
    assert handwritten == {name: benign(name) for name in handwritten}
    assert set(handwritten) | set(make_corpus.made_by_tools()) == set(BENIGN)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_pdf_is_refused(name):
    assert refusal(hostile(name)) == HOSTILE[name]


@pytest.mark.parametrize("name", BENIGN)
def test_benign_pdf_is_stored_byte_for_byte(name):
    data = benign(name)

    clean = clean_upload(pdf_upload(data, name))

    assert clean.content.read() == data
    assert (clean.content_type, clean.original_name, clean.size) == (
        "application/pdf",
        name,
        len(data),
    )


def test_objects_in_object_streams_are_among_the_objects_that_are_judged():
    # The check judges pdf.objects; a script compressed in an object stream must be there.
    with pikepdf.open(CORPUS / "hostile" / "objstm_js_padded_dictionary.pdf") as pdf:
        compressed = {objgen for objgen, entry in pdf.get_xref_table().items() if entry.type == 2}
        judged = {item.objgen: item for item in pdf.objects if item is not None}

        assert compressed == {(1, 0), (2, 0), (3, 0), (4, 0)}
        assert compressed <= set(judged)
        assert judged[(1, 0)].OpenAction.objgen == (4, 0)
        assert str(judged[(4, 0)].S) == "/JavaScript"


def test_a_document_the_portal_renders_itself_is_accepted_unchanged():
    data = html_to_pdf(
        "<h1>RMA-2026-00042</h1>"
        '<p><a href="https://portal.example/returns/42/">Track the return</a></p>'
        + qr_svg("https://portal.example/returns/42/")
    )

    assert clean_upload(pdf_upload(data)).content.read() == data


def test_a_missing_end_of_file_marker_alone_is_no_reason_to_refuse():
    # qpdf finds the document through `startxref`; viewers open such files without a word.
    data = benign("uri_link.pdf")
    assert data.endswith(b"%%EOF\n")

    clean = clean_upload(pdf_upload(data[: -len(b"%%EOF\n")]))

    assert clean.content.read() == data[: -len(b"%%EOF\n")]


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        (b"https://portal.example/invoices/117", True),
        (b"http://portal.example/", True),
        (b"mailto:returns@portal.example", True),
        (b"tel:+48221234567", True),
        (b"www.portal.example", True),
        (b"file:///C:/Windows/System32/calc.exe", False),
        (b"\\\\collector.example\\share\\x.pdf", False),
        (b"  \x01JavaScript:app.alert(1)", False),
        (b"java\tscript:app.alert(1)", False),
        (b"smb://collector.example/share", False),
        (b"invoice.exe", False),
    ],
)
def test_only_web_mail_and_phone_links_are_ordinary(target, allowed):
    assert uploads._ordinary_link(target) is allowed


# --- limits -----------------------------------------------------------------------------


def test_a_document_with_more_objects_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "PDF_MAX_OBJECTS", 5)

    assert refusal(benign("objstm_clean.pdf")) == COMPLEX


def test_an_object_stream_that_inflates_past_the_limit_is_refused(settings):
    # The limit follows the upload limit: 4 × 64 KiB here, so 1 MiB of blanks is too much.
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    content, first = make_corpus.object_stream([(3, make_corpus.PAGE)])
    padded = content + b" " * (1 << 20)

    def write(_number, _content, count, _first):
        dictionary = b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode" % (count, first)
        return make_corpus.stream(dictionary, zlib.compress(padded))

    data = make_corpus.with_xref_stream(
        [(1, make_corpus.CATALOG), (2, make_corpus.PAGES)], [(4, [(3, make_corpus.PAGE)], write)]
    )
    assert len(data) < settings.UPLOAD_MAX_BYTES

    assert refusal(data) == DAMAGED


# Without fork the check runs in the test's own process: spinning, hogging or exiting there
# would stop the test run itself.
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="the check runs in-process")


def spin(*_args):
    while True:
        pass


@needs_fork
def test_a_check_that_runs_out_of_cpu_time_is_refused(monkeypatch):
    # The child is stopped by its CPU limit, whatever the machine's load; the limit on waiting
    # is set far beyond it so that only the CPU limit can end this check.
    monkeypatch.setattr(uploads, "PDF_CHECK_CPU_SECONDS", 1)
    monkeypatch.setattr(uploads, "PDF_CHECK_WALL_SECONDS", 3600)
    monkeypatch.setattr(uploads, "_inspect_pdf", spin)

    assert refusal(benign("uri_link.pdf")) == COMPLEX


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="memory limit needs /proc")
def test_a_check_that_runs_out_of_memory_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "PDF_CHECK_MEMORY_BYTES", 64 << 20)

    def hog(*_args):
        return bytearray(256 << 20)

    monkeypatch.setattr(uploads, "_inspect_pdf", hog)

    assert refusal(benign("uri_link.pdf")) == COMPLEX


@needs_fork
def test_a_check_that_dies_without_a_verdict_is_refused_and_the_caller_goes_on(
    monkeypatch, world_a
):
    monkeypatch.setattr(uploads, "_inspect_pdf", lambda *_args: os._exit(3))

    assert refusal(benign("uri_link.pdf")) == DAMAGED
    # The child's end closed nothing of the parent's: its database connection still works.
    assert User.objects.filter(pk=world_a.customer.pk).exists()


# --- every surface that takes uploads ---------------------------------------------------

# The service tests' fixtures, shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return


@pytest.fixture
def complaint_in_progress(world_a):
    with tenant_context(world_a.tenant):
        complaint = complaint_services.complaint_file(
            customer_account=world_a.company,
            reporter=world_a.customer,
            category="product_quality",
            priority="normal",
            subject="Cracked housings",
            description="Three housings arrived cracked.",
        )
        agent = world_a.agent
        complaint_services.complaint_assign(complaint=complaint, actor=agent, assignee=agent)
        return complaint_services.complaint_start(complaint=complaint, actor=agent)


@pytest.mark.parametrize("name", OBJECT_STREAM_SCRIPTS)
def test_portal_return_wizard_refuses_the_file(world_a, delivered_order, login, media, name):
    client = login(world_a.customer)
    response = client.post(reverse("portal:return_new"), {"orders": [delivered_order.pk]})
    draft = ReturnRequest.unscoped.get()
    draft_url = reverse("portal:return_wizard_lines", args=[draft.pk])
    assert response["Location"] == draft_url
    lines = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")

    response = client.post(
        draft_url,
        {
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "2",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-order_line": str(lines[0].pk),
            "lines-0-quantity": "1",
            "lines-0-reason": "defective",
            "lines-0-files": [pdf_upload(hostile(name), "damage report.pdf")],
            "lines-1-order_line": str(lines[1].pk),
            "lines-1-quantity": "0",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == draft_url
    assert texts(response, "ul.messages li") == [
        f"Your lines were saved, but damage report.pdf was not attached: {ACTIVE}"
    ]
    assert ReturnLine.unscoped.filter(return_request=draft).count() == 1
    assert not ReturnAttachment.unscoped.exists()
    assert stored_files(media) == set()


@pytest.mark.parametrize("name", OBJECT_STREAM_SCRIPTS)
def test_portal_complaint_reply_refuses_the_file(
    world_a, complaint_in_progress, login, media, name
):
    complaint = complaint_in_progress
    messages_before = ComplaintMessage.unscoped.filter(complaint=complaint).count()

    response = login(world_a.customer).post(
        reverse("portal:complaint_reply", args=[complaint.pk]),
        {"body": "The damage report is attached.", "files": [pdf_upload(hostile(name))]},
    )

    assert response.status_code == 200
    assert response.context["reply_form"].errors["files"] == [ACTIVE]
    assert ACTIVE in texts(response, "small.error")
    assert ComplaintMessage.unscoped.filter(complaint=complaint).count() == messages_before
    assert not ComplaintAttachment.unscoped.exists()
    assert stored_files(media) == set()


@pytest.mark.parametrize("name", OBJECT_STREAM_SCRIPTS)
def test_api_return_attachment_refuses_the_file(world_a, delivered_order, file_return, media, name):
    line = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number").first()
    return_request = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )

    response = api_as(world_a.customer).post(
        f"/api/v1/returns/{return_request.pk}/attachments/",
        {"file": pdf_upload(hostile(name))},
        format="multipart",
    )

    error = assert_error(response, 400, "invalid_upload")
    assert error["message"] == ACTIVE
    assert not ReturnAttachment.unscoped.exists()
    assert stored_files(media) == set()


@pytest.mark.parametrize("name", OBJECT_STREAM_SCRIPTS)
def test_api_complaint_attachment_refuses_the_file(world_a, complaint_in_progress, media, name):
    complaint = complaint_in_progress
    messages_before = ComplaintMessage.unscoped.filter(complaint=complaint).count()

    response = api_as(world_a.customer).post(
        f"/api/v1/complaints/{complaint.pk}/attachments/",
        {"file": pdf_upload(hostile(name))},
        format="multipart",
    )

    error = assert_error(response, 400, "invalid_upload")
    assert (error["message"], error["fields"]) == (ACTIVE, {"file": [ACTIVE]})
    assert ComplaintMessage.unscoped.filter(complaint=complaint).count() == messages_before
    assert not ComplaintAttachment.unscoped.exists()
    assert stored_files(media) == set()
