"""What an inbound message says, for the handlers: sender, subject, text, the new text of a
reply, attachments, and whether it is automatic (an auto-reply, a bounce) or malformed.

`parse_mail(raw)` never raises: a message that cannot be read is an `InboundMail` whose
`malformed` says why, and the processing holds it for a person.

The text is the `text/plain` body when there is one; an HTML-only message is converted to
text here (`html_to_text`): the HTML's text content only, scripts, styles and every other
element that is not text dropped, nothing rendered, no markup kept.

The new text of a reply (`new_text`) has the quoted history and the signature stripped by
mail-parser-reply (EmailReplyParser's continuation). Why that one: it is maintained (several
releases a year; email-reply-parser, the port of GitHub's Ruby parser, has had none since
2020), it knows the reply headers of many mail clients in many languages, Polish and English
among them (the portal's two; email-reply-parser knows English only), it returns the replies
of a message separately with their headers, signatures and disclaimers, and it is pure Python
without dependencies. Two of its rules are changed here, in the subclass `_ReplyText`: a
single Polish header-like line ("Data: …", "Do: …") no longer starts the quoted part (two
lines are needed, as for English), and lists of "- " lines are not taken for signatures.
Its patterns backtrack on very long lines, so the text it reads is cut to MAX_REPLY_TEXT
characters and lines longer than MAX_LINE are wrapped first.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage as _LibraryEmailMessage

from rma_portal.languages import language_codes


def reply_languages() -> list[str]:
    """The languages whose reply headers and signatures are recognised: the site's that the
    reply parser knows (English always)."""
    known = [code for code in language_codes() if code in MAIL_LANGUAGES and code != "en"]
    return [*known, "en"]


MAX_REPLY_TEXT = 20_000
MAX_LINE = 900
MAX_HTML = 2_000_000  # characters of HTML converted; the rest of a larger body is dropped
MAX_ATTACHMENTS = 50

# Defects after which the message's parts cannot be trusted to be what the sender meant.
_FATAL_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
)
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
_DMARC_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")
# Precedence values of automatic and bulk mail (RFC 3834 and common practice).
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "auto_reply", "junk"})
_AUTOMATIC_HEADERS = ("X-Autoreply", "X-Autorespond")
_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_RECIPIENT_HEADERS = (
    "To",
    "Cc",
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class CaseReference:
    """The case a message answers, from a signed token (rma_portal/inbound/replies.py)."""

    kind: str  # "complaint", "return": what the domain app registered
    tenant_id: int
    case_id: int
    via: str  # "address" (the plus-address it was sent to) or "references" (threading)


@dataclass
class InboundMail:
    sender: str = ""  # the From address, lower-cased; empty if there is none
    sender_name: str = ""
    subject: str = ""
    message_id: str = ""
    text: str = ""  # the whole body as text
    html_only: bool = False  # the text was converted from the only (HTML) body
    new_text: str = ""  # what the sender wrote: no quoted history, no signature
    attachments: list[Attachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # parts not taken, and why
    recipients: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # In-Reply-To, then References
    automatic: str = ""  # why it is an auto-reply or a bounce; empty for a person's mail
    malformed: str = ""  # why it cannot be read; empty when it can
    dmarc_failed: bool = False  # the receiving server said the From domain's DMARC failed
    case: CaseReference | None = None  # set by the processing once the token is checked

    @property
    def reply_text(self) -> str:
        """The new text, or the whole text when nothing of it is new (a message that only
        forwards, or whose every line looks quoted)."""
        return self.new_text or self.text


def parse_mail(raw: bytes) -> InboundMail:
    """Read a message; never raises (see the module's docstring)."""
    if not raw or not raw.strip():
        return InboundMail(malformed="The message is empty.")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the parser is lenient; anything it raises is a broken message
        return InboundMail(malformed=f"The message cannot be parsed: {type(error).__name__}.")
    mail = InboundMail()
    try:
        _read(message, mail)
    except Exception as error:
        mail.malformed = f"The message cannot be read: {type(error).__name__}: {error}"[:500]
    return mail


def _read(message: EmailMessage, mail: InboundMail) -> None:
    mail.sender_name, mail.sender = _sender(message)
    mail.subject = _clean_line(_header(message, "Subject"))
    mail.message_id = _clean_line(_header(message, "Message-ID"))[:500]
    mail.recipients = _recipients(message)
    mail.references = _references(message)
    mail.automatic = _automatic(message, mail.sender)
    mail.dmarc_failed = any(
        _DMARC_FAIL.search(str(value)) for value in message.get_all("Authentication-Results", [])
    )
    defects = [
        defect
        for part in message.walk()
        for defect in part.defects
        if isinstance(defect, _FATAL_DEFECTS)
    ]
    if defects:
        mail.malformed = "Malformed MIME: " + ", ".join(
            sorted({type(defect).__name__ for defect in defects})
        )
        return
    if not mail.sender:
        mail.malformed = "The message names no sender (From)."
        return
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None and body.get_content_type() == "text/plain":
        mail.text = _clean_text(_part_text(body))
        if not mail.text:  # an empty plain part beside an HTML one
            html = message.get_body(preferencelist=("html",))
            if html is not None:
                body, mail.text = html, _clean_text(html_to_text(_part_text(html)))
    elif body is not None:
        mail.text = _clean_text(html_to_text(_part_text(body)))
        mail.html_only = True
    mail.new_text = strip_reply(mail.text)
    mail.attachments, mail.dropped = _attachments(message, body)


# --- headers --------------------------------------------------------------------------------


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # an undecodable header is taken as absent
        return ""


def _clean_line(value: str) -> str:
    return " ".join(_CONTROL.sub("", value).split())


def _sender(message: EmailMessage) -> tuple[str, str]:
    try:
        header = message.get("From")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        if addresses:
            first = addresses[0]
            address = first.addr_spec if first.username and first.domain else ""
            return _clean_line(first.display_name)[:200], address.lower()
    except Exception:  # noqa: S110 - the plain parser below reads it instead
        pass
    # A header the policy cannot parse: the plain parser's reading of it.
    name, address = next(iter(getaddresses([_header(message, "From")])), ("", ""))
    if "@" not in address:
        return "", ""
    return _clean_line(name)[:200], _clean_line(address).lower()


def _recipients(message: EmailMessage) -> list[str]:
    values = []
    for name in _RECIPIENT_HEADERS:
        try:
            values.extend(str(value) for value in message.get_all(name, []))
        except Exception:  # noqa: S112 - an undecodable header names no recipient
            continue
    found = []
    for _name, address in getaddresses(values):
        address = _clean_line(address).lower()
        if "@" in address and address not in found:
            found.append(address)
    return found


def _references(message: EmailMessage) -> list[str]:
    found = []
    for name in ("In-Reply-To", "References"):
        for identifier in _MESSAGE_ID.findall(_header(message, name)):
            if identifier not in found:
                found.append(identifier)
    return found[:100]


def _automatic(message: EmailMessage, sender: str) -> str:
    """Why the message was sent by a program (RFC 3834 and common practice), or ""."""
    submitted = _header(message, "Auto-Submitted").strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted[:60]}"
    for name in _AUTOMATIC_HEADERS:
        if name in message:
            return f"{name}: {_clean_line(_header(message, name))[:60]}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get_content_type() == "multipart/report":
        report = message.get_param("report-type", "") or ""
        return f"A delivery or read report (multipart/report; {report})".replace("; )", ")")
    local = sender.partition("@")[0]
    if local in _SYSTEM_SENDERS:
        return f"Sent by {local}"
    if "Return-Path" in message and _header(message, "Return-Path").strip() in ("<>", ""):
        return "Sent with an empty return path (<>), as automatic messages are"
    return ""


# --- text -----------------------------------------------------------------------------------


def _part_text(part: EmailMessage) -> str:
    if part.get_content_charset() is None:
        # No charset said (hand-written or old mail programs): UTF-8 if it is, else the
        # Windows code page mail programs used before it.
        payload = part.get_payload(decode=True) or b""
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("cp1252", errors="replace")
    try:
        return part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # An unknown or wrong charset: the bytes as UTF-8, undecodable ones replaced.
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _clean_text(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


class _HtmlText(HTMLParser):
    """The text content of an HTML body: paragraphs and line breaks kept, quoted parts
    (<blockquote>) prefixed with "> " so that they are stripped as quotes, everything that
    is not text (scripts, styles, embedded objects, forms' options) dropped."""

    SKIPPED = frozenset(
        {
            "script",
            "style",
            "head",
            "title",
            "template",
            "noscript",
            "iframe",
            "object",
            "embed",
            "applet",
            "svg",
            "math",
            "select",
            "canvas",
            "audio",
            "video",
        }
    )
    BLOCKS = frozenset(
        {
            "address",
            "article",
            "aside",
            "blockquote",
            "dd",
            "div",
            "dl",
            "dt",
            "figcaption",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "main",
            "nav",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "tr",
            "ul",
        }
    )
    # Blocks set apart by an empty line; other blocks (div, li, tr, …) start a new line.
    PARAGRAPHS = frozenset(
        {
            "blockquote",
            "dl",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "ol",
            "p",
            "pre",
            "table",
            "ul",
        }
    )
    VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_level = 0
        self.line_level = 0
        self.skipping = 0
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIPPED:
            if tag not in self.VOID:
                self.skipping += 1
            return
        if tag == "br":
            self._flush(keep_empty=True)
        elif tag in self.BLOCKS:
            self._flush(paragraph=tag in self.PARAGRAPHS)
            if tag == "blockquote":
                self.quote_level += 1
            elif tag == "li":
                self.current.append("- ")
            elif tag == "pre":
                self.preformatted += 1
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br":
            self._flush(keep_empty=True)
        elif tag in self.BLOCKS:
            self._flush(paragraph=tag in self.PARAGRAPHS)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        if tag in self.BLOCKS:
            self._flush(paragraph=tag in self.PARAGRAPHS)
            if tag == "blockquote":
                self.quote_level = max(0, self.quote_level - 1)
            elif tag == "pre":
                self.preformatted = max(0, self.preformatted - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.preformatted:
            pieces = data.split("\n")
            for index, piece in enumerate(pieces):
                if index:
                    self._flush(keep_empty=True)
                self._add(piece)
            return
        text = " ".join(data.split())
        if not text:
            if self.current and data:
                self.current.append(" ")
            return
        if data[:1].isspace() and self.current:
            self.current.append(" ")
        self._add(text)
        if data[-1:].isspace():
            self.current.append(" ")

    def _add(self, text: str) -> None:
        if not self.current:
            self.line_level = self.quote_level
        self.current.append(text)

    def _flush(self, *, keep_empty: bool = False, paragraph: bool = False) -> None:
        """End the current line: a <br> keeps an empty one, a paragraph's start or end
        leaves one empty line before what follows."""
        line = "".join(self.current).strip()
        self.current = []
        if line:
            self.lines.append("> " * self.line_level + line)
        elif keep_empty:
            self.lines.append("> " * self.quote_level)
        if paragraph and self.lines and self.lines[-1].strip("> "):
            self.lines.append("")

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    """The text of an HTML document (see _HtmlText); never raises."""
    converter = _HtmlText()
    try:
        converter.feed(html[:MAX_HTML])
        converter.close()
    except Exception:  # noqa: S110 - AssertionError on some broken markup: keep what was read
        pass
    return converter.text()


class _ReplyText(_LibraryEmailMessage):
    """mail-parser-reply's message, with the two rules of the module's docstring changed."""

    def _get_language_regex(self, language: str, regex_key: str) -> str:
        pattern = super()._get_language_regex(language=language, regex_key=regex_key)
        if regex_key == "from_header":
            # "one header line or more" → "two or more", as the English pattern has it.
            pattern = pattern.replace("){1,}(?:", "){2,}(?:")
        return pattern


def _wrapped(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        if len(line) <= MAX_LINE:
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, MAX_LINE, break_on_hyphens=False) or [""])
    return "\n".join(lines)


def strip_reply(text: str) -> str:
    """What the sender wrote above the quoted history, without their signature; "" when the
    message starts with the quote."""
    if not text:
        return ""
    parsed = _ReplyText(
        text=_wrapped(text[:MAX_REPLY_TEXT]),
        languages=reply_languages(),
        keep_hyphen_lists=True,
    ).read()
    if not parsed.replies or parsed.replies[0].headers:
        return ""
    lines = parsed.replies[0].body.split("\n")
    # Lines quoted without a header ("> …") at the end are history too.
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    new = "\n".join(lines).strip()
    if all(line.lstrip().startswith(">") or not line.strip() for line in lines):
        return ""
    return _BLANK_LINES.sub("\n\n", new)


# --- attachments ----------------------------------------------------------------------------


def _attachments(
    message: EmailMessage, body: EmailMessage | None
) -> tuple[list[Attachment], list[str]]:
    """The files of the message: parts given as attachments, or with a file name, that are
    not its body; inline parts of a multipart/related (an HTML body's images: logos,
    signatures) are not taken. Forwarded messages are looked into for their files."""
    found: list[Attachment] = []
    dropped: list[str] = []

    def visit(part: EmailMessage, in_related: bool) -> None:
        if part is body:
            return
        if part.is_multipart():
            related = in_related or part.get_content_type() == "multipart/related"
            for child in part.iter_parts():
                visit(child, related)
            return
        try:
            disposition = part.get_content_disposition()
            filename = part.get_filename() or ""
        except Exception:
            disposition, filename = "attachment", ""
        if disposition != "attachment" and not filename:
            return  # an alternative body, or inline text
        if in_related and disposition != "attachment":
            return
        filename = _clean_line(filename) or "attachment"
        if len(found) >= MAX_ATTACHMENTS:
            dropped.append(f"{filename}: more than {MAX_ATTACHMENTS} files")
            return
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        if not data:
            dropped.append(f"{filename}: empty or unreadable")
            return
        found.append(Attachment(filename, part.get_content_type(), data))

    visit(message, False)
    return found, dropped
