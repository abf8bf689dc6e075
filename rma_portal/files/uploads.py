"""Validation and normalisation of uploads: JPEG, PNG, WebP and PDF only, judged by content."""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import io
import logging
import os
import re
import select
import signal
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pikepdf
import pikepdf.settings
from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from rma_portal.errors import ApplicationError

logger = logging.getLogger(__name__)

ALLOWED = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
    "PDF": ("application/pdf", ".pdf"),
}
MAX_IMAGE_PIXELS = 40_000_000  # ~ 8000 × 5000; larger images are refused, not resized

# --- PDF limits and vocabulary (docs/security.md, "Uploaded PDFs") --------------------------

PDF_MAX_OBJECTS = 200_000  # objects in the cross-reference table, or object headers in the file
PDF_MAX_READINGS = 32  # extra readings for objects the cross-reference table does not use
PDF_INFLATE_FACTOR = 4  # one decoded object or cross-reference stream: 4 × UPLOAD_MAX_BYTES
PDF_CHECK_CPU_SECONDS = 10  # a 22 MB document of 150,000 objects takes about 4 s
PDF_CHECK_MEMORY_BYTES = 1 << 30  # beyond what the process already uses
# A check that has not answered by then is stuck (it waits, it does not compute) and is killed;
# below gunicorn's 30 s worker timeout, so the request still gets its answer.
PDF_CHECK_WALL_SECONDS = 20

# Keys that only exist to run, embed, submit or play something. /AA holds actions run on
# events (opening a page, focusing a field); /EF holds a file specification's embedded files.
PDF_ACTIVE_KEYS = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/AA",
        "/XFA",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/RichMediaContent",
        "/RichMediaSettings",
        "/3DD",
        "/Launch",
        "/Sound",
        "/Movie",
        "/Renditions",
    }
)
# Names that, as a value anywhere (/S of an action, /Subtype of an annotation, /Type of a
# stream), make a script, a program, another file, a form submission or media playback.
PDF_ACTIVE_NAMES = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/Sound",
        "/Movie",
        "/Rendition",
        "/RichMedia",
        "/RichMediaExecute",
        "/3D",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/FileAttachment",
    }
)
PDF_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# qpdf warnings (parts of their text) that do not make a file "damaged": the cross-reference
# stream of an update that does not list itself (pypdf's incremental writer) is found through
# `startxref` by every reader alike.
PDF_HARMLESS_WARNINGS = ("xref entry for the xref stream itself is missing",)


class UploadRejected(ApplicationError):
    code = "invalid_upload"


@dataclass(frozen=True)
class CleanUpload:
    content: ContentFile
    content_type: str
    original_name: str
    size: int


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"%PDF-"):
        return "PDF"
    return None


def safe_display_name(name: str) -> str:
    """The uploader's file name, for display and downloads only: no paths, no control chars."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    return name.strip(" .")[:120] or "file"


def _reencode_image(data: bytes, kind: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise UploadRejected(_("The image is too large in pixels."))
            image = ImageOps.exif_transpose(image)  # keeps orientation, drops EXIF (GPS etc.)
            out = io.BytesIO()
            if kind == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            elif kind == "PNG":
                image.save(out, "PNG", optimize=True)
            else:
                image.save(out, "WEBP", quality=85)
            return out.getvalue()
    except UploadRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise UploadRejected(_("The image is damaged or not a real image.")) from exc


# --- PDF documents ----------------------------------------------------------------------------
#
# qpdf (through pikepdf) reads the document the way a viewer does: the cross-reference table
# and streams, object streams, incremental updates, name escapes, encryption. Every object it
# finds is judged; so is every object the file defines that the table does not use (a viewer
# that rebuilds a damaged table may find those). The check runs in a child process with limits
# on CPU, memory and time: opening a hostile file can cost qpdf a lot of both, and a crash of
# the parser should cost a refused upload, not a worker.


class _PdfVerdict(StrEnum):
    CLEAN = "clean"
    DAMAGED = "damaged"
    ENCRYPTED = "encrypted"
    ACTIVE = "active"
    COMPLEX = "complex"


class _PdfRefused(Exception):
    def __init__(self, verdict: _PdfVerdict, detail: str):
        super().__init__(detail)
        self.verdict = verdict
        self.detail = detail


def _pdf_refusal(verdict: _PdfVerdict) -> str:
    if verdict == _PdfVerdict.ENCRYPTED:
        return _("The PDF is protected with a password; upload a copy without one.")
    if verdict == _PdfVerdict.ACTIVE:
        return _("PDFs with scripts, actions or embedded files are not accepted.")
    if verdict == _PdfVerdict.COMPLEX:
        return _("The PDF is too large or complex to be checked.")
    return _("The PDF is damaged or incomplete.")


_PDF_DELIMITED = rb"(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])"  # a token ends here
_PDF_COMMENT = re.compile(rb"%[^\r\n]*")
_PDF_SPACE = rb"(?:[\x00\t\n\x0c\r ]|%[^\r\n]*[\r\n])+"  # white space, comments included
# `12 0 obj`: where a viewer rebuilding the cross-reference table would see an object.
_PDF_OBJECT_HEADER = re.compile(
    rb"(?<![0-9])([0-9]{1,10})"
    + _PDF_SPACE
    + rb"([0-9]{1,5})"
    + _PDF_SPACE
    + rb"obj"
    + _PDF_DELIMITED
)
# Objects whose canonical text (as qpdf writes it) names none of these are clean: most of a
# document is fonts, pages and drawing, and judging each of their values would cost seconds on
# a large file. `/S 5 0 R` is an action type kept in an object of its own.
_PDF_WORTH_A_LOOK = re.compile(
    rb"/(?:"
    + b"|".join(
        re.escape(name[1:].encode())
        for name in sorted(
            PDF_ACTIVE_KEYS | PDF_ACTIVE_NAMES | {"/OpenAction", "/URI", "/Base", "/Thread"},
            key=len,
            reverse=True,
        )
    )
    + rb")"
    + _PDF_DELIMITED
    + rb"|/S[\x00\t\n\x0c\r ]+[0-9]+[\x00\t\n\x0c\r ]+[0-9]+[\x00\t\n\x0c\r ]+R"
)
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _ordinary_link(target: bytes) -> bool:
    """A web, e-mail or phone link: not a file, a network share or a script URL. Viewers skip
    leading blanks and control characters and drop tabs and line breaks, so this does too."""
    text = target.decode("latin-1").lstrip("".join(map(chr, range(33))))
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    scheme = _URL_SCHEME.match(text)
    if scheme:
        return scheme[1].lower() in PDF_LINK_SCHEMES
    return text.lower().startswith("www.")  # no scheme: a host, as in "www.example.com"


def _opens_at_a_page(opens: pikepdf.Object | None) -> bool:
    """What a document does when opened may only be to show a page: a destination (an array:
    page and view) or a go-to action with nothing chained after it. Any other action runs
    before anyone has clicked anything: a web address (the document phones home), printing,
    and, chained through /Next, anything else."""
    if opens is None or isinstance(opens, pikepdf.Array):
        return True
    return (
        isinstance(opens, pikepdf.Dictionary)
        and opens.get("/S") == pikepdf.Name.GoTo
        and "/Next" not in opens
    )


def _judge_pdf_dictionary(dictionary: pikepdf.Object) -> None:
    """The rules about a dictionary as a whole: its keys, its action type, what it does when
    the document opens, where its links lead."""
    for key in dictionary.keys():  # noqa: SIM118 - a pikepdf dictionary, not a dict
        if key in PDF_ACTIVE_KEYS:
            raise _PdfRefused(_PdfVerdict.ACTIVE, key)
    action_type = dictionary.get("/S")
    if isinstance(action_type, pikepdf.Name):
        if str(action_type) in PDF_ACTIVE_NAMES:
            raise _PdfRefused(_PdfVerdict.ACTIVE, str(action_type))
        if action_type == pikepdf.Name.Thread and "/F" in dictionary:
            raise _PdfRefused(_PdfVerdict.ACTIVE, "/Thread in another file")
    if "/OpenAction" in dictionary and not _opens_at_a_page(dictionary.get("/OpenAction")):
        raise _PdfRefused(_PdfVerdict.ACTIVE, "/OpenAction")
    for key in ("/URI", "/Base"):
        target = dictionary.get(key)
        if isinstance(target, pikepdf.String) and not _ordinary_link(bytes(target)):
            raise _PdfRefused(_PdfVerdict.ACTIVE, f"{key} {bytes(target)[:80]!r}")


def _judge_pdf_object(item: pikepdf.Object | None) -> None:
    """Refuse `item` if it, or a value written inside it, makes the document active. Values
    that are references are objects of their own, judged on their own."""
    if isinstance(item, pikepdf.Stream):
        text = item.stream_dict.unparse(resolved=True)
    elif isinstance(item, pikepdf.Dictionary | pikepdf.Array | pikepdf.Name):
        text = item.unparse(resolved=True)
    else:
        return  # null, numbers, strings: nothing to run
    if not _PDF_WORTH_A_LOOK.search(text):
        return
    pending = [item]
    while pending:
        current = pending.pop()
        if isinstance(current, pikepdf.Name):
            if str(current) in PDF_ACTIVE_NAMES:
                raise _PdfRefused(_PdfVerdict.ACTIVE, str(current))
            continue
        if isinstance(current, pikepdf.Dictionary | pikepdf.Stream):
            _judge_pdf_dictionary(current)
            values = [value for _key, value in current.items()]
        else:
            values = list(current)
        pending.extend(
            value
            for value in values
            if isinstance(value, pikepdf.Dictionary | pikepdf.Array | pikepdf.Name)
            and not value.is_indirect
        )


def _require_no_pdf_warnings(pdf: pikepdf.Pdf) -> None:
    """qpdf warns about everything it had to repair or guess (a wrong stream length, a broken
    cross-reference entry, a key given twice); a viewer may repair or guess differently, and
    that difference is what hostile files are made of. PDF_HARMLESS_WARNINGS are the
    exceptions: slips of common writers that leave nothing to guess."""
    for warning in pdf.get_warnings():
        if not any(harmless in warning for harmless in PDF_HARMLESS_WARNINGS):
            raise _PdfRefused(_PdfVerdict.DAMAGED, warning)


def _object_stream_members(
    xref: dict, object_streams: list[pikepdf.Object]
) -> list[tuple[int, int, int]]:
    """Check every object stream and return its members the cross-reference table does not
    point to (number, stream number, index), e.g. objects replaced by a later update."""
    header_of: dict[int, list[int]] = {}
    unused = []
    for object_stream in object_streams:
        number = object_stream.objgen[0]
        filters = object_stream.get("/Filter")
        if (
            filters is not None
            and filters != pikepdf.Name.FlateDecode
            and (
                not isinstance(filters, pikepdf.Array)
                or list(filters) != [pikepdf.Name.FlateDecode]
            )
        ):
            # Viewers decode the rarer filters differently at the edges; object streams are
            # Flate-compressed by every PDF writer.
            raise _PdfRefused(_PdfVerdict.DAMAGED, f"object stream {number} filtered {filters}")
        count, first = object_stream.get("/N"), object_stream.get("/First")
        if not isinstance(count, int) or not isinstance(first, int) or count < 0 or first < 0:
            raise _PdfRefused(_PdfVerdict.DAMAGED, f"object stream {number}: no /N or /First")
        header = _PDF_COMMENT.sub(b" ", object_stream.read_bytes()[:first]).split()
        if len(header) != 2 * count or not all(token.isdigit() for token in header):
            raise _PdfRefused(_PdfVerdict.DAMAGED, f"object stream {number}: bad header")
        members = [int(token) for token in header[0::2]]
        if len(set(members)) != len(members):
            # qpdf takes the last of two objects with one number, some viewers the first.
            raise _PdfRefused(_PdfVerdict.DAMAGED, f"object stream {number}: a number twice")
        header_of[number] = members
        for index, member in enumerate(members):
            entry = xref.get((member, 0))
            used = (
                entry is not None
                and entry.type == 2
                and (entry.obj_stream_number, entry.obj_stream_index) == (number, index)
            )
            if not used and member != number:
                unused.append((member, number, index))
    for (member, _generation), entry in xref.items():
        if entry.type != 2:
            continue
        # qpdf finds a compressed object by its number in the stream's header, some viewers
        # by its index: both must lead to the same object.
        members = header_of.get(entry.obj_stream_number, [])
        index = entry.obj_stream_index
        if index >= len(members) or members[index] != member:
            raise _PdfRefused(_PdfVerdict.DAMAGED, f"object {member}: not at its index")
    return unused


def _unused_pdf_definitions(
    data: bytes, xref: dict, streams: list[pikepdf.Object]
) -> list[tuple[int, int, int]]:
    """Object headers in the file (number, generation, offset) that the cross-reference table
    does not point to: older versions of updated objects, or objects no table lists. Headers
    inside the data of `streams` are text or image bytes, not objects (viewers that rebuild
    the table skip stream data too). `streams` is empty for an encrypted document: qpdf gives
    their data decrypted, so it cannot be found in the file, and ciphertext spells no headers."""
    inside_streams = []
    for stream in streams:
        entry = xref.get(stream.objgen)
        if entry is None or entry.type != 1:
            continue
        raw = stream.read_raw_bytes()
        # The data follows the stream's dictionary; a dictionary longer than 64 KB is not
        # looked past (its data's headers, if any, are then read and judged: no harm done).
        start = data.find(raw, entry.offset, entry.offset + len(raw) + 65536) if raw else -1
        if start >= 0:
            inside_streams.append((start, start + len(raw)))
    inside_streams.sort()
    unused = []
    for count, header in enumerate(_PDF_OBJECT_HEADER.finditer(data), start=1):
        if count > PDF_MAX_OBJECTS:
            raise _PdfRefused(_PdfVerdict.COMPLEX, "too many object headers")
        offset = header.start()
        at = bisect.bisect_right(inside_streams, (offset, len(data) + 1)) - 1
        if at >= 0 and inside_streams[at][0] <= offset < inside_streams[at][1]:
            continue
        number, generation = int(header[1]), int(header[2])
        entry = xref.get((number, generation))
        if (
            entry is not None
            and entry.type == 1
            and 0 <= offset - entry.offset <= 64
            and not data[entry.offset : offset].strip(b"\x00\t\n\x0c\r ")
        ):
            continue  # the object the table points to (perhaps at the blank before it)
        unused.append((number, generation, offset))
    return unused


def _pdf_readings(
    plain: list[tuple[int, int, int]], members: list[tuple[int, int, int]]
) -> list[dict[int, tuple[int, int, int]]]:
    """Share the unused definitions out among readings, each a set of cross-reference entries
    (number → type, offset or stream, generation or index) that replace the table's: one
    reading cannot hold two definitions of one number, nor replace an object stream that one
    of its compressed objects is read from."""
    readings: list[dict[int, tuple[int, int, int]]] = []
    streams_used: list[set[int]] = []
    wanted = [(number, (2, stream, index), stream) for number, stream, index in members]
    wanted += [(number, (1, offset, generation), None) for number, generation, offset in plain]
    for number, entry, stream in wanted:
        for reading, streams in zip(readings, streams_used, strict=True):
            if number not in reading and number not in streams and stream not in reading:
                break
        else:
            if len(readings) == PDF_MAX_READINGS:
                raise _PdfRefused(_PdfVerdict.COMPLEX, "too many versions of one object")
            reading, streams = {}, set()
            readings.append(reading)
            streams_used.append(streams)
        reading[number] = entry
        if stream is not None:
            streams.add(stream)
    return readings


def _with_cross_reference(
    data: bytes, pdf: pikepdf.Pdf, xref: dict, entries: dict[int, tuple[int, int, int]]
) -> bytes:
    """`data` with a cross-reference stream appended that lists every object of the table,
    `entries` instead of the table's for their numbers, and a catalog of its own (the old
    versions of the real one may be among `entries`)."""
    table = {
        number: (1, entry.offset, generation)
        if entry.type == 1
        else (2, entry.obj_stream_number, entry.obj_stream_index)
        for (number, generation), entry in xref.items()
        if entry.type in (1, 2)
    }
    table.update(entries)
    catalog = max([*table, *(number for number, _generation in xref)]) + 1
    tail = bytearray(b"\n")
    table[catalog] = (1, len(data) + len(tail), 0)
    tail += b"%d 0 obj\n<< /Type /Catalog /Pages %d 0 R >>\nendobj\n" % (catalog, catalog + 1)
    table[catalog + 1] = (1, len(data) + len(tail), 0)
    tail += b"%d 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" % (catalog + 1)
    xref_start = len(data) + len(tail)
    table[catalog + 2] = (1, xref_start, 0)
    numbers = sorted(table)
    rows = b"".join(
        bytes([table[n][0]]) + table[n][1].to_bytes(8, "big") + table[n][2].to_bytes(4, "big")
        for n in numbers
    )
    trailer = b"/Root %d 0 R" % catalog
    for key in ("/Encrypt", "/ID"):
        value = pdf.trailer.get(key)
        if value is not None:
            text = b"%d %d R" % value.objgen if value.is_indirect else value.unparse()
            trailer += b" %s %s" % (key.encode(), text)
    tail += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 8 4] /Index [%s] %s /Length %d >>\n" % (
        catalog + 2,
        catalog + 3,
        b" ".join(b"%d 1" % number for number in numbers),
        trailer,
        len(rows),
    )
    tail += b"stream\n" + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_start
    return data + bytes(tail)


def _open_pdf(data: bytes) -> pikepdf.Pdf:
    # No recovery: a file whose cross-reference table qpdf would have to rebuild is refused.
    # Pages are left as stored: pushing inherited attributes down is a repair of its own.
    return pikepdf.open(io.BytesIO(data), attempt_recovery=False, inherit_page_attributes=False)


def _inspect_pdf_document(data: bytes) -> None:
    """Raise _PdfRefused, or a qpdf error, unless the document is clean."""
    with _open_pdf(data) as pdf:
        _require_no_pdf_warnings(pdf)
        xref = pdf.get_xref_table()
        if len(xref) > PDF_MAX_OBJECTS:
            raise _PdfRefused(_PdfVerdict.COMPLEX, f"{len(xref)} objects")
        objects = pdf.objects  # every object the table lists, compressed ones included
        _require_no_pdf_warnings(pdf)
        streams = [item for item in objects if isinstance(item, pikepdf.Stream)]
        object_streams = [item for item in streams if item.get("/Type") == pikepdf.Name.ObjStm]
        members = _object_stream_members(xref, object_streams)
        for item in objects:
            _judge_pdf_object(item)
        plain = _unused_pdf_definitions(data, xref, [] if pdf.is_encrypted else streams)
        _require_no_pdf_warnings(pdf)
        for entries in _pdf_readings(plain, members):
            with _open_pdf(_with_cross_reference(data, pdf, xref, entries)) as reading:
                for number, (kind, _where, generation_or_index) in entries.items():
                    generation = generation_or_index if kind == 1 else 0
                    try:
                        item = reading.get_object((number, generation))
                    except pikepdf.PdfError:
                        continue  # not an object qpdf can parse: nothing a viewer can run
                    if (
                        isinstance(item, pikepdf.Stream)
                        and item.get("/Type") == pikepdf.Name.ObjStm
                    ):
                        # Its objects would need readings of their own; writers do not leave
                        # replaced object streams behind.
                        raise _PdfRefused(_PdfVerdict.DAMAGED, f"unused object stream {number}")
                    _judge_pdf_object(item)


def _inspect_pdf(data: bytes, inflate_limit: int) -> tuple[str, str]:
    """The verdict on a PDF (a _PdfVerdict) and what it is based on, for the log."""
    try:
        pikepdf.settings.set_qpdf_limits(
            flate_max_memory=inflate_limit, png_max_memory=inflate_limit
        )
        _inspect_pdf_document(data)
    except _PdfRefused as refused:
        return refused.verdict, refused.detail
    except pikepdf.PasswordError:
        return _PdfVerdict.ENCRYPTED, "a password is needed"
    except MemoryError:
        return _PdfVerdict.COMPLEX, "out of memory"
    except Exception as exc:  # qpdf reports a broken file with several exception types
        return _PdfVerdict.DAMAGED, f"{type(exc).__name__}: {exc}"
    return _PdfVerdict.CLEAN, ""


def _limit_this_process() -> None:
    """CPU and memory limits for the child that checks a PDF (best effort: a limit the system
    does not allow stays as it was; the parent's time limit still holds)."""
    import resource  # Unix only, as os.fork

    def lower(limit: int, soft: int, hard: int) -> None:
        _soft, allowed = resource.getrlimit(limit)
        if allowed != resource.RLIM_INFINITY:
            soft, hard = min(soft, allowed), min(hard, allowed)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (soft, hard))

    lower(resource.RLIMIT_CORE, 0, 0)  # a child killed for its CPU time leaves no core file
    # SIGXCPU at the soft limit ends the child; SIGKILL a second later if something caught it.
    lower(resource.RLIMIT_CPU, PDF_CHECK_CPU_SECONDS, PDF_CHECK_CPU_SECONDS + 1)
    try:
        with open("/proc/self/statm", "rb") as statm:  # size in pages, then resident…
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return  # no /proc: the CPU and time limits still hold
    lower(resource.RLIMIT_AS, in_use + PDF_CHECK_MEMORY_BYTES, in_use + PDF_CHECK_MEMORY_BYTES)


def _run_isolated(check: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """Run `check` in a forked child with limits on its CPU time and memory, and give it
    PDF_CHECK_WALL_SECONDS; a child that runs out of either, or dies, is a refusal."""
    if not hasattr(os, "fork"):
        return check()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        try:
            # The parent's objects are never collected here: a database or Redis connection
            # collected in the child could close the parent's socket.
            gc.freeze()
            os.close(reader)
            _limit_this_process()
            verdict, detail = check()
        except MemoryError:
            verdict, detail = _PdfVerdict.COMPLEX, "out of memory"
        except BaseException as exc:  # reported to the parent, never raised here
            verdict, detail = _PdfVerdict.DAMAGED, f"check failed: {type(exc).__name__}"
        try:
            # One write below PIPE_BUF: atomic, and never blocks on an empty pipe.
            os.write(writer, f"{verdict}\n{detail}".encode()[: select.PIPE_BUF])
        finally:
            os._exit(0)
    os.close(writer)
    try:
        output = _read_until_closed(reader, PDF_CHECK_WALL_SECONDS)
    finally:
        os.close(reader)
    if output is None:
        os.kill(pid, signal.SIGKILL)
    try:
        _pid, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): the output decides
        status = 0
    if output is None:
        return _PdfVerdict.COMPLEX, f"no answer within {PDF_CHECK_WALL_SECONDS} s"
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return _PdfVerdict.COMPLEX, f"more than {PDF_CHECK_CPU_SECONDS} s of CPU"
    verdict, _newline, detail = output.decode(errors="replace").partition("\n")
    if verdict not in set(_PdfVerdict):
        return _PdfVerdict.DAMAGED, f"the check died (status {status})"
    return verdict, detail


def _read_until_closed(fd: int, seconds: float) -> bytes | None:
    """Everything written to the pipe until its writer closes it; None after `seconds`."""
    deadline = time.monotonic() + seconds
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _w, _x = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _check_pdf(data: bytes) -> bytes:
    """The PDF as uploaded, byte for byte, if it is clean; UploadRejected otherwise."""
    inflate_limit = PDF_INFLATE_FACTOR * settings.UPLOAD_MAX_BYTES
    verdict, detail = _run_isolated(functools.partial(_inspect_pdf, data, inflate_limit))
    if verdict != _PdfVerdict.CLEAN:
        logger.info("PDF upload refused (%s): %s", verdict, detail)
        raise UploadRejected(_pdf_refusal(_PdfVerdict(verdict)))
    return data


def clean_upload(upload) -> CleanUpload:
    """Check an uploaded file and return what may be stored; raise UploadRejected otherwise."""
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise UploadRejected(
            _("%(name)s is too large (%(size)s); the limit is %(limit)s.")
            % {
                "name": safe_display_name(upload.name),
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(limit),
            }
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(
            _("The file is too large; the limit is %(limit)s.") % {"limit": filesizeformat(limit)}
        )
    if not data:
        raise UploadRejected(_("The file is empty."))
    kind = _sniff(data[:16])
    if kind is None:
        raise UploadRejected(
            _("%(name)s is not a JPEG, PNG, WebP or PDF file.")
            % {"name": safe_display_name(upload.name)}
        )
    data = _check_pdf(data) if kind == "PDF" else _reencode_image(data, kind)
    content_type, extension = ALLOWED[kind]
    display = safe_display_name(upload.name)
    stem = display.rsplit(".", 1)[0] if "." in display else display
    return CleanUpload(
        content=ContentFile(data, name=f"upload{extension}"),
        content_type=content_type,
        original_name=f"{stem}{extension}",
        size=len(data),
    )
