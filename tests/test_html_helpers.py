"""The page-reading helpers of tests/html.py on small pages written here."""

from __future__ import annotations

import pytest
from django.http import HttpResponse, HttpResponseRedirect

from tests.html import (
    answer_text,
    definitions,
    excerpt,
    external_urls,
    parse,
    summary,
    table_rows,
    texts,
    visible_text,
)

TOKEN = "Saved9x0ZqCancelled7Open3Kq1Wv8Lm2Rt5Yb6Nc4Hd0Jf9Gs3Pk7Xe1Ua2Io5Ey8Tw6Qr4Zm0Vn3Bl7Cx1"

FORM = f"""<!DOCTYPE html>
<html lang="en"><head>
  <title>Return R1 · Acme</title>
  <style>body {{ font-family: "Open"; }}</style>
  <script>const status = "Cancelled";</script>
</head><body>
  <!-- a comment: Rejected -->
  <form method="post" action="/returns/1/">
    <input type="hidden" name="csrfmiddlewaretoken" value="{TOKEN}">
    <p class="lead">Status:   <strong>Open</strong>,
       due&nbsp;1&nbsp;May &amp; paid</p>
    <ul><li>First</li><li>Second</li></ul>
    <template><p>Approved</p></template>
    <noscript>Enable scripts</noscript>
    <button title="Cancel the return">Send</button>
  </form>
</body></html>"""


def test_visible_text_is_what_a_reader_sees():
    shown = visible_text(FORM)
    assert shown == ("Return R1 · Acme Status: Open, due\xa01\xa0May & paid First Second Send")
    # Attribute values (the CSRF token, a title), scripts, styles, templates, noscript and
    # comments are not shown.
    for hidden in ("Saved", "Cancel", "Open3", "font-family", "Approved", "Enable", "Rejected"):
        assert hidden not in shown, hidden


def test_inline_elements_run_on_and_blocks_are_kept_apart():
    assert visible_text("<p>R<b>1</b><span>0</span></p><p>Open</p>") == "R10 Open"
    assert visible_text("<td>1</td><td>2</td><br>3") == "1 2 3"
    assert visible_text(b"<p>\n\t caf\xc3\xa9 \n</p>") == "café"
    assert parse("<script> let a = 1; </script>").select_one("script").text == " let a = 1; "


def test_elements_are_selected_with_css():
    doc = parse(FORM)
    token = doc.select_one("input[name=csrfmiddlewaretoken]")
    assert token["value"] == TOKEN
    assert token.get("type") == "hidden"
    assert token.get("checked") is None
    assert doc.select_one("form > p.lead strong").text == "Open"
    assert [li.text for li in doc.select("form ul li")] == ["First", "Second"]
    assert doc.first("table") is None
    assert texts(doc, "p") == ["Status: Open, due\xa01\xa0May & paid"]  # not the template's
    assert doc.select_one("ul").select_one("li:last-child").text == "Second"
    with pytest.raises(AssertionError, match="2 elements match 'li'"):
        doc.select_one("li")
    with pytest.raises(AssertionError, match="0 elements match 'table'"):
        doc.select_one("table")
    assert repr(doc.select_one("p.lead")).startswith('<p class="lead">Status: Open, due')


LISTING = """<main>
  <table class="returns">
    <thead><tr><th scope="col">Number</th><th scope="col">Status</th></tr></thead>
    <tbody>
      <tr><th scope="row"><a href="/r/1/">R1</a></th><td>Open</td></tr>
      <tr><th scope="row"><a href="/r/2/">R2</a></th><td>Closed <small>(refund)</small></td></tr>
    </tbody>
  </table>
  <table class="other"><tr><td>elsewhere</td></tr></table>
  <section class="money"><dl>
    <dt>Value</dt><dd>100.00 PLN</dd>
    <dt>Fees</dt><dd>5.00 PLN</dd><dd>2.00 PLN</dd>
  </dl></section>
  <dl class="other"><dt>Other</dt><dd>not asked for</dd></dl>
</main>"""


def test_table_rows_definitions_and_texts():
    assert table_rows(LISTING, "table.returns") == [
        ["Number", "Status"],
        ["R1", "Open"],
        ["R2", "Closed (refund)"],
    ]
    assert table_rows(LISTING)[-1] == ["elsewhere"]
    assert definitions(LISTING, "section.money dl") == {
        "Value": "100.00 PLN",
        "Fees": "5.00 PLN | 2.00 PLN",
    }
    assert definitions(LISTING)["Other"] == "not asked for"
    assert texts(LISTING, 'table tbody th[scope="row"]') == ["R1", "R2"]
    assert texts(LISTING, "table.returns a[href^='/r/']") == ["R1", "R2"]


LOADING = """<html><head>
  <script src="https://cdn.example/x.js"></script>
  <script src="/static/app.4f2a9c.js"></script>
  <link rel="stylesheet" href="//fonts.example/x.css">
  <link rel="stylesheet" href="/static/site.css">
  <link rel="icon" href="http://testserver/favicon.ico">
  <style>
    @import "https://styles.example/theme.css";
    @import "/static/local.css";
    @import "http://testserver/own.css";
    body { background: url("https://images.example/bg.png"); }
    .logo { background: url(/static/logo.png); }
  </style>
</head><body>
  <img src="/static/a.png" srcset="/static/a2.png 2x, https://img.example/a3.png 3x">
  <div style="background-image: url('//pics.example/p.jpg')">x</div>
  <a href="https://elsewhere.example/">a link is followed, not loaded</a>
  <iframe src="https://video.example/embed/1"></iframe>
  <video src="/static/v.mp4" poster="https://img.example/poster.jpg"></video>
  <img src="data:image/png;base64,iVBORw0KGgo=">
</body></html>"""


def test_external_urls_are_the_resources_loaded_from_other_hosts():
    assert external_urls(LOADING) == [
        "https://cdn.example/x.js",
        "//fonts.example/x.css",
        "https://img.example/a3.png",
        "https://video.example/embed/1",
        "https://img.example/poster.jpg",
        "https://images.example/bg.png",
        "https://styles.example/theme.css",
        "//pics.example/p.jpg",
    ]
    assert external_urls(LOADING, own_hosts=("testserver", "cdn.example", "img.example")) == [
        "//fonts.example/x.css",
        "https://video.example/embed/1",
        "https://images.example/bg.png",
        "https://styles.example/theme.css",
        "//pics.example/p.jpg",
    ]
    own = '<script src="/static/x.js"></script><link href="http://testserver/static/y.css">'
    assert external_urls(parse(own)) == []


def test_summary_and_excerpt_stay_short_on_a_long_page():
    filler = "".join(f"<p>Line {n} of a long page.</p>" for n in range(2000))
    page = f"""<html><head><title>Returns</title></head><body>
      <nav>Menu</nav>
      <main><h1>New return</h1>{filler}</main>
    </body></html>"""
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
    told = summary(response)
    assert told.startswith("200 New return Line 0 of a long page. Line 1")
    assert len(told) < 320
    assert told.endswith("…")

    errors = page.replace(
        "<h1>New return</h1>",
        f'<input name="csrfmiddlewaretoken" value="{TOKEN}">'
        '<div class="errornote">Please correct the errors below.'
        '<ul class="errorlist"><li>This field is required.</li></ul></div>'
        '<ul class="messages"><li class="error">Not saved.</li></ul>',
    )
    told = summary(HttpResponse(errors, content_type="text/html"), limit=100)
    assert told == ("200 Please correct the errors below. This field is required. | Not saved.")
    assert summary(HttpResponseRedirect("/done/")) == "302 -> /done/"
    plain = HttpResponse("x" * 1000, content_type="text/plain", status=400)
    assert summary(plain, limit=50) == "400 " + "x" * 50 + "…"

    shown = visible_text(response)
    around = excerpt(shown, "Line 1500 ")
    assert "Line 1500 of a long page." in around
    assert around.startswith("…") and around.endswith("…")
    assert len(around) <= 302
    assert excerpt(shown, "not on the page", width=40) == shown[:40] + "…"
    around = excerpt(response, "Line 3 ", width=60)  # a response is read as its visible text
    assert around == "… page. Line 2 of a long page. Line 3 of a long page. Line 4 …"


def test_answer_text_reads_the_request_id_the_same_for_every_request():
    def page(request_id):
        response = HttpResponse(
            f"<main><h1>Page not found</h1><p>Reference: <code>{request_id}</code></p></main>",
            content_type="text/html",
        )
        response["X-Request-ID"] = request_id
        return response

    first, second = page("0f" * 16), page("a1" * 16)
    assert answer_text(first) == answer_text(second)
    assert answer_text(first) == "Page not found Reference: <request id>"
    assert answer_text(HttpResponse("<p>No id</p>")) == "No id"
