"""Bad input to the draft services changes nothing; uploads are judged by content, images are
re-encoded, and files land under the tenant's folder with names we make."""

from __future__ import annotations

import io
import random
import re
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from PIL import Image, PngImagePlugin

from customers.models import OrderLine, Product
from returns import services
from returns.models import ReturnAttachment, ReturnEvent, ReturnLine, ReturnRequest, ReturnStatus
from rma_portal.files.uploads import UploadRejected
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import TenantSequence

from .conftest import return_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def lines(delivered_order):
    """Line 1: electronics × 5 at 100; line 2: workwear × 10 at 20 (both of world A's company)."""
    return list(OrderLine.unscoped.filter(order=delivered_order).order_by("line_number"))


def create(world, lines, *, requester=None, **details):
    details = {"requested_resolution": "refund", "return_method": "drop_off", **details}
    with tenant_context(world.tenant):
        return services.return_request_create(
            customer_account=world.company,
            requester=requester or world.customer,
            lines=[services.LineInput(**line) for line in lines],
            **details,
        )


def nothing_saved(tenant) -> bool:
    return not (
        ReturnRequest.unscoped.filter(tenant=tenant).exists()
        or ReturnLine.unscoped.filter(tenant=tenant).exists()
        or ReturnEvent.unscoped.filter(tenant=tenant).exists()
        or TenantSequence.unscoped.filter(tenant=tenant, last_value__gt=0).exists()
    )


# --- drafts -----------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -2, 1.5, "2", True])
def test_quantity_not_a_whole_number_of_at_least_one_is_refused(world_a, lines, quantity):
    with pytest.raises(services.ReturnInvalid) as invalid:
        create(
            world_a, [{"order_line_id": lines[0].pk, "quantity": quantity, "reason": "defective"}]
        )

    number = lines[0].order.number
    assert invalid.value.fields == {
        "lines[0].quantity": [f"{number} line 1: quantity must be a whole number of at least 1."]
    }
    assert nothing_saved(world_a.tenant)


def test_unknown_order_line_is_refused(world_a, lines):
    with pytest.raises(services.ReturnInvalid) as invalid:
        create(world_a, [{"order_line_id": 987654321, "quantity": 1, "reason": "defective"}])

    assert invalid.value.fields == {
        "lines[0].order_line": [
            "Unknown order line: choose a line of one of your company's orders."
        ]
    }
    assert nothing_saved(world_a.tenant)


def test_line_of_another_company_of_the_same_tenant_is_refused(world_a, lines, make_order_line):
    theirs = make_order_line(world_a.other_company)

    with pytest.raises(services.ReturnInvalid) as invalid:
        create(
            world_a,
            [
                {"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"},
                {"order_line_id": theirs.pk, "quantity": 1, "reason": "defective"},
            ],
        )

    assert list(invalid.value.fields) == ["lines[1].order_line"]
    assert nothing_saved(world_a.tenant)


def test_line_of_another_tenants_order_is_refused(world_a, world_b, lines, make_order_line):
    foreign = make_order_line(world_b.company)

    with pytest.raises(services.ReturnInvalid) as invalid:
        create(world_a, [{"order_line_id": foreign.pk, "quantity": 1, "reason": "defective"}])

    assert list(invalid.value.fields) == ["lines[0].order_line"]
    assert nothing_saved(world_a.tenant)
    assert nothing_saved(world_b.tenant)
    assert not ReturnLine.unscoped.filter(order_line=foreign).exists()


@pytest.mark.parametrize("text", ["", "   "])
def test_reason_other_needs_a_description(world_a, lines, text):
    with pytest.raises(services.ReturnInvalid) as invalid:
        create(
            world_a,
            [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "other", "reason_text": text}],
        )

    assert list(invalid.value.fields) == ["lines[0].reason_text"]
    assert nothing_saved(world_a.tenant)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"reason": "no_longer_needed"}, "lines[0].reason"),
        ({"comment": "x" * 2001}, "lines[0].comment"),
        ({"reason": "other", "reason_text": "y" * 501}, "lines[0].comment"),
    ],
)
def test_unknown_reason_and_overlong_text_are_refused(world_a, lines, line, field):
    values = {"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective", **line}

    with pytest.raises(services.ReturnInvalid) as invalid:
        create(world_a, [values])

    assert field in invalid.value.fields
    assert nothing_saved(world_a.tenant)


def test_every_bad_line_is_reported_at_once(world_a, lines):
    with pytest.raises(services.ReturnInvalid) as invalid:
        create(
            world_a,
            [
                {"order_line_id": lines[0].pk, "quantity": 0, "reason": "defective"},
                {"order_line_id": lines[1].pk, "quantity": 1, "reason": "other"},
                {"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"},
            ],
        )

    assert set(invalid.value.fields) == {
        "lines[0].quantity",
        "lines[1].reason_text",
        "lines[2].order_line",
    }
    assert invalid.value.fields["lines[2].order_line"] == ["This order line is listed twice."]


def test_no_lines_is_refused(world_a, lines):
    with pytest.raises(services.ReturnInvalid) as invalid:
        create(world_a, [])

    assert list(invalid.value.fields) == ["lines"]
    assert nothing_saved(world_a.tenant)


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"requested_resolution": "voucher"}, "requested_resolution"),
        ({"return_method": "pigeon"}, "return_method"),
        ({"return_method": "courier_pickup", "pickup_address": "ul. Prosta 2"}, "pickup_date"),
    ],
)
def test_bad_details_refuse_the_whole_create(world_a, lines, details, field):
    with pytest.raises(services.ReturnInvalid) as invalid:
        create(
            world_a,
            [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
            **details,
        )

    assert field in invalid.value.fields
    assert nothing_saved(world_a.tenant)


def test_a_failed_create_or_submission_gives_its_rma_number_back(world_a, lines):
    # Numbers are given on submission: a draft has none, a refused submission gives it back.
    with pytest.raises(services.ReturnInvalid):
        create(world_a, [{"order_line_id": lines[0].pk, "quantity": 0, "reason": "defective"}])
    rma = create(world_a, [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}])
    assert rma.number == ""
    Product.unscoped.filter(pk=lines[0].product_id).update(is_returnable=False)
    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid):
        services.return_request_submit(return_request=rma, actor=world_a.customer)
    rma.refresh_from_db()
    assert rma.number == ""
    assert not TenantSequence.unscoped.filter(tenant=world_a.tenant, last_value__gt=0).exists()

    Product.unscoped.filter(pk=lines[0].product_id).update(is_returnable=True)
    with tenant_context(world_a.tenant):
        submitted = services.return_request_submit(return_request=rma, actor=world_a.customer)

    assert re.fullmatch(r"RMA-\d{4}-000001", submitted.number)


@pytest.mark.parametrize("who", ["other_company_user", "agent", "manager"])
def test_only_a_customer_of_the_company_may_create_a_return_for_it(world_a, lines, who):
    with pytest.raises(services.ReturnAccessDenied):
        create(
            world_a,
            [{"order_line_id": lines[0].pk, "quantity": 1, "reason": "defective"}],
            requester=getattr(world_a, who),
        )

    assert nothing_saved(world_a.tenant)


def test_markup_in_a_comment_is_stored_as_plain_text(world_a, lines):
    comment = '<script>alert("x")</script> & <b>bold</b>'

    rma = create(
        world_a,
        [
            {
                "order_line_id": lines[0].pk,
                "quantity": 1,
                "reason": "other",
                "reason_text": "<img src=x onerror=alert(1)>",
                "comment": comment,
            }
        ],
        customer_note="<script>note()</script>",
    )

    line = ReturnLine.unscoped.get(return_request=rma)
    assert line.customer_comment == comment
    assert line.reason_text == "<img src=x onerror=alert(1)>"
    assert ReturnRequest.unscoped.get(pk=rma.pk).customer_note == "<script>note()</script>"


def test_bad_lines_leave_an_existing_draft_as_it_was(world_a, lines):
    draft = create(world_a, [{"order_line_id": lines[0].pk, "quantity": 2, "reason": "defective"}])
    before = return_state(draft)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid):
        services.return_draft_set_lines(
            return_request=draft,
            actor=world_a.customer,
            lines=[
                services.LineInput(order_line_id=lines[1].pk, quantity=1, reason="wrong_size"),
                services.LineInput(order_line_id=lines[0].pk, quantity=-1, reason="defective"),
            ],
        )

    assert return_state(draft) == before


def test_set_lines_replaces_the_drafts_lines_and_value(world_a, lines):
    draft = create(world_a, [{"order_line_id": lines[0].pk, "quantity": 2, "reason": "defective"}])

    with tenant_context(world_a.tenant):
        draft = services.return_draft_set_lines(
            return_request=draft,
            actor=world_a.customer,
            lines=[services.LineInput(order_line_id=lines[1].pk, quantity=3, reason="wrong_size")],
        )

    assert list(
        ReturnLine.unscoped.filter(return_request=draft).values_list("order_line_id", "quantity")
    ) == [(lines[1].pk, 3)]
    assert ReturnRequest.unscoped.get(pk=draft.pk).requested_value == 60


def test_a_submitted_return_can_no_longer_be_edited(world_a, lines, return_in):
    rma = return_in(ReturnStatus.SUBMITTED)
    before = return_state(rma)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnConflict):
        services.return_draft_set_lines(
            return_request=rma,
            actor=world_a.customer,
            lines=[services.LineInput(order_line_id=lines[1].pk, quantity=1, reason="defective")],
        )

    assert return_state(rma) == before


# --- uploads: helpers -------------------------------------------------------------------


def image_bytes(kind: str, *, size=(32, 24), exif: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (180, 40, 40))
    options = {"exif": exif} if exif else {}
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def camera_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x0131] = "SecretEditor 1.0"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90° when shown
    exif[0x8825] = {1: "N", 2: (52.0, 13.0, 37.5), 3: "E", 4: (21.0, 0.0, 42.0)}  # GPS
    return exif.tobytes()


def pdf(*objects: bytes) -> bytes:
    """A PDF with a correct cross-reference table; object 1 is the catalogue."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def stored_files(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


@pytest.fixture
def draft(return_in):
    return return_in(ReturnStatus.DRAFT)


def attach(return_request, actor, name: str, data: bytes, content_type="application/octet-stream"):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    with tenant_context(return_request.tenant):
        return services.return_attachment_add(
            return_request=return_request, actor=actor, upload=upload
        )


# --- uploads: accepted ------------------------------------------------------------------


def test_png_is_stored_re_encoded_under_the_tenants_folder(world_a, draft, media_root):
    # given: a PNG with a text chunk and a payload appended after its end (a polyglot)
    metadata = PngImagePlugin.PngInfo()
    metadata.add_text("Comment", "taken at Secret Street 1")
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 40, 40)).save(buffer, "PNG", pnginfo=metadata)
    data = buffer.getvalue() + b"<html><script>alert(1)</script></html>"

    attachment = attach(draft, world_a.customer, "broken hinge.png", data, "image/png")

    attachment.refresh_from_db()
    assert re.fullmatch(
        rf"tenants/{world_a.tenant.pk}/returns/[0-9a-f]{{32}}\.png", attachment.file.name
    )
    path = Path(media_root) / attachment.file.name
    assert stored_files(media_root) == [path]
    with Image.open(path) as stored:
        assert (stored.format, stored.size) == ("PNG", (32, 24))
        assert stored.getpixel((5, 5)) == (180, 40, 40)
    stored_bytes = path.read_bytes()
    assert b"Secret Street" not in stored_bytes
    assert b"<script>" not in stored_bytes
    assert stored_bytes.endswith(b"IEND\xaeB`\x82")
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "broken hinge.png"
    assert attachment.size == path.stat().st_size
    assert attachment.uploaded_by == world_a.customer
    event = ReturnEvent.unscoped.filter(return_request=draft).latest("pk")
    assert (event.action, event.actor, event.note) == (
        "attachment",
        world_a.customer,
        "broken hinge.png",
    )


def test_jpeg_is_stored_without_its_exif(world_a, draft, media_root):
    data = image_bytes("JPEG", size=(40, 20), exif=camera_exif())
    assert b"SpyCam Inc" in data  # the upload does carry the metadata

    attachment = attach(draft, world_a.customer, "IMG_0001.JPEG", data, "image/jpeg")

    path = Path(media_root) / attachment.file.name
    stored_bytes = path.read_bytes()
    assert attachment.file.name.endswith(".jpg")
    assert attachment.content_type == "image/jpeg"
    assert attachment.original_name == "IMG_0001.jpg"
    assert b"Exif" not in stored_bytes
    assert b"SpyCam Inc" not in stored_bytes
    assert b"SecretEditor" not in stored_bytes
    with Image.open(path) as stored:
        assert stored.format == "JPEG"
        assert dict(stored.getexif()) == {}
        assert stored.size == (20, 40)  # the orientation was applied, not lost


def test_type_comes_from_the_content_not_the_name(world_a, draft, media_root):
    attachment = attach(
        draft, world_a.customer, "invoice.pdf", image_bytes("PNG"), "application/pdf"
    )

    assert attachment.content_type == "image/png"
    assert attachment.file.name.endswith(".png")
    assert attachment.original_name == "invoice.png"


def test_uploaders_path_never_reaches_the_disk(world_a, draft, media_root):
    attachment = attach(draft, world_a.customer, "../../../etc/cron.d/x.png", image_bytes("PNG"))

    assert attachment.original_name == "x.png"
    assert attachment.file.name.startswith(f"tenants/{world_a.tenant.pk}/returns/")
    assert ".." not in attachment.file.name
    assert stored_files(media_root) == [Path(media_root) / attachment.file.name]


def test_valid_pdf_is_accepted_unchanged(world_a, draft, media_root):
    data = pdf(CATALOG, PAGES, PAGE)

    attachment = attach(draft, world_a.agent, "delivery note.pdf", data, "application/pdf")

    assert attachment.content_type == "application/pdf"
    assert attachment.file.name.endswith(".pdf")
    assert (Path(media_root) / attachment.file.name).read_bytes() == data


def test_pdf_whose_image_data_happens_to_contain_action_names_is_accepted(
    world_a, draft, media_root
):
    # Binary stream data is not PDF syntax: bytes that happen to spell /JS or /Launch inside
    # a scanned image must not get a delivery note refused.
    image = b"\xff\xd8\xff\xe0" + b"\x00\x10/JS\x8a\x91/Launch\xc3/OpenAction\x07" * 4 + b"\xff\xd9"
    data = pdf(
        CATALOG,
        PAGES,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /XObject << /Im1 4 0 R >> >> >>",
        stream(
            b"/Type /XObject /Subtype /Image /Width 2 /Height 2 /BitsPerComponent 8"
            b" /ColorSpace /DeviceGray /Filter /DCTDecode",
            image,
        ),
    )

    attachment = attach(draft, world_a.customer, "scan.pdf", data, "application/pdf")

    assert attachment.content_type == "application/pdf"


def test_pillow_made_pdf_with_an_image_is_accepted(world_a, draft, media_root):
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 120, 200)).save(buffer, "PDF")

    attachment = attach(draft, world_a.customer, "photo.pdf", buffer.getvalue())

    assert attachment.content_type == "application/pdf"


# --- uploads: refused -------------------------------------------------------------------


def assert_refused(return_request, actor, name, data, *, error=UploadRejected, root):
    before = return_state(return_request)
    with pytest.raises(error) as refused:
        attach(return_request, actor, name, data)
    assert return_state(return_request) == before
    assert not ReturnAttachment.unscoped.exists()
    assert stored_files(root) == []
    return refused.value


def test_windows_executable_named_jpg_is_refused(world_a, draft, media_root):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200

    error = assert_refused(draft, world_a.customer, "photo.jpg", exe, root=media_root)

    assert error.message == "photo.jpg is not a JPEG, PNG, WebP or PDF file."
    assert error.code == "invalid_upload"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.png", b"", "The file is empty."),
        ("cut.jpg", image_bytes("JPEG")[:40], "The image is damaged or not a real image."),
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8, "The image is damaged"),
        ("page.html", b"<html><script>alert(1)</script></html>", "is not a JPEG, PNG"),
        ("doc.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "is not a JPEG"),
    ],
)
def test_not_a_real_image_or_document_is_refused(world_a, draft, media_root, name, data, message):
    error = assert_refused(draft, world_a.customer, name, data, root=media_root)

    assert message in error.message


def test_file_over_the_size_limit_is_refused(world_a, draft, media_root, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    noisy = Image.frombytes("RGB", (64, 64), random.Random(7).randbytes(64 * 64 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2048

    error = assert_refused(draft, world_a.customer, "big.png", buffer.getvalue(), root=media_root)

    assert error.message.startswith("big.png is too large (")
    assert error.message.endswith("; the limit is 2.0\xa0KB.")


def test_file_that_lies_about_its_size_is_refused_after_reading(
    world_a, draft, media_root, settings
):
    settings.UPLOAD_MAX_BYTES = 2048
    data = pdf(CATALOG, PAGES, PAGE) + b"%" + b"x" * 4000 + b"\n%%EOF\n"
    upload = InMemoryUploadedFile(
        io.BytesIO(data), "file", "big.pdf", "application/pdf", None, None
    )

    with tenant_context(draft.tenant), pytest.raises(UploadRejected) as refused:
        services.return_attachment_add(return_request=draft, actor=world_a.customer, upload=upload)

    assert "too large" in refused.value.message
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    "objects",
    [
        # a document-level script
        (
            b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>",
            PAGES,
            PAGE,
            b"<< /Names [(init) << /S /JavaScript /JS (app.alert('hi')) >>] >>",
        ),
        # an action run when the document opens
        (
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            PAGES,
            PAGE,
            b"<< /S /Launch /F (cmd.exe) >>",
        ),
        # an embedded file
        (
            CATALOG,
            PAGES,
            PAGE,
            stream(b"/Type /EmbeddedFile", b"MZ\x90\x00 payload"),
        ),
        # the same script with its names spelled in #xx escapes (equivalent in PDF syntax)
        (
            b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61v#61Script 4 0 R >> >>",
            PAGES,
            PAGE,
            b"<< /Names [(init) << /S /#4A#61vaScript /J#53 (app.alert('hi')) >>] >>",
        ),
    ],
    ids=["javascript", "open_action_launch", "embedded_file", "escaped_names"],
)
def test_pdf_with_active_content_is_refused(world_a, draft, media_root, objects):
    error = assert_refused(draft, world_a.customer, "form.pdf", pdf(*objects), root=media_root)

    assert error.message == "PDFs with scripts, actions or embedded files are not accepted."


def test_pdf_hiding_a_script_in_a_compressed_object_stream_is_refused(world_a, draft, media_root):
    # PDF 1.5 object streams hold ordinary objects Flate-compressed: a script dictionary there
    # never appears in the file's raw bytes.
    names = b"5 0 << /JavaScript << /Names [(init) << /S /JavaScript /JS (app.alert(1)) >>] >> >>"
    data = pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names 5 0 R >>",
        PAGES,
        PAGE,
        stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", zlib.compress(names)),
    )
    assert b"JavaScript" not in data

    error = assert_refused(draft, world_a.customer, "form.pdf", data, root=media_root)

    assert error.message == "PDFs with scripts, actions or embedded files are not accepted."


def test_pdf_with_a_harmless_compressed_object_stream_is_accepted(world_a, draft, media_root):
    objects = b"4 0 << /Producer (Scanner 3000) /Title (Delivery note) >>"
    data = pdf(
        CATALOG,
        PAGES,
        PAGE,
        stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", zlib.compress(objects)),
    )

    attachment = attach(draft, world_a.customer, "note.pdf", data)

    assert attachment.content_type == "application/pdf"


@pytest.mark.parametrize(
    "object_stream",
    [
        # a compression bomb: a few hundred bytes that inflate far beyond the upload limit
        stream(
            b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
            zlib.compress(b"4 0 << /Title (x) >>" + b" " * 1_000_000, 9),
        ),
        # an object stream in an encoding other than Flate, which viewers decode differently
        stream(
            b"/Type /ObjStm /N 1 /First 4 /Filter [/ASCIIHexDecode]",
            b"<< /S /JavaScript /JS (app.alert(1)) >>".hex().encode() + b">",
        ),
    ],
    ids=["compression_bomb", "unchecked_encoding"],
)
def test_pdf_object_stream_that_cannot_be_checked_is_refused(
    world_a, draft, media_root, settings, object_stream
):
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    data = pdf(CATALOG, PAGES, PAGE, object_stream)

    error = assert_refused(draft, world_a.customer, "form.pdf", data, root=media_root)

    assert error.message == "The PDF is damaged or incomplete."


def test_truncated_pdf_is_refused(world_a, draft, media_root):
    data = pdf(CATALOG, PAGES, PAGE)[:-40]

    error = assert_refused(draft, world_a.customer, "cut.pdf", data, root=media_root)

    assert error.message == "The PDF is damaged or incomplete."


def test_colleague_may_not_add_files_to_someone_elses_return(world_a, draft, media_root):
    assert_refused(
        draft,
        world_a.colleague,
        "photo.png",
        image_bytes("PNG"),
        error=services.ReturnAccessDenied,
        root=media_root,
    )


def test_no_files_on_a_cancelled_return(world_a, return_in, media_root):
    cancelled = return_in(ReturnStatus.CANCELLED)

    assert_refused(
        cancelled,
        world_a.customer,
        "photo.png",
        image_bytes("PNG"),
        error=services.ReturnConflict,
        root=media_root,
    )


def test_file_for_a_line_of_another_return_is_refused(world_a, return_in, media_root):
    first = return_in(ReturnStatus.DRAFT)
    second = return_in(ReturnStatus.DRAFT)
    other_line = ReturnLine.unscoped.get(return_request=second)
    before = return_state(first)

    with tenant_context(first.tenant), pytest.raises(services.ReturnInvalid):
        services.return_attachment_add(
            return_request=first,
            actor=world_a.customer,
            upload=SimpleUploadedFile("p.png", image_bytes("PNG")),
            line=other_line,
        )

    assert return_state(first) == before
    assert stored_files(media_root) == []


def test_another_tenants_return_is_not_found_for_uploads(world_a, world_b, draft, media_root):
    with tenant_context(world_b.tenant), pytest.raises(ReturnRequest.DoesNotExist):
        services.return_attachment_add(
            return_request=draft,
            actor=world_b.agent,
            upload=SimpleUploadedFile("p.png", image_bytes("PNG")),
        )

    assert stored_files(media_root) == []
