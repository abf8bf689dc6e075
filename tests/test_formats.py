"""One way per language to write dates, times and numbers (rma_portal/formats): the format
modules, the |wall and |money filters, and pages that show several dates."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import date_format, get_format, number_format

from rma_portal.formats import local_day, local_moment, money, parse_wall_clock, wall_text
from tests.formats import dates_in, double_stops_after_dates, foreign_dates
from tests.html import visible_text

DAY = datetime.date(2026, 12, 7)
MOMENT = datetime.datetime(2026, 12, 7, 11, 39)

EXPECTED = {
    "en": {"date": "7 Dec 2026", "datetime": "7 Dec 2026, 11:39", "money": "1,234.50 PLN"},
    "pl": {"date": "7.12.2026", "datetime": "7.12.2026, 11:39", "money": "1\xa0234,50 PLN"},
}


@pytest.mark.parametrize("language", ["en", "pl"])
def test_each_language_has_one_date_and_one_date_time_format(language):
    expected = EXPECTED[language]
    with translation.override(language):
        assert date_format(DAY, "DATE_FORMAT") == expected["date"]
        assert date_format(DAY, "SHORT_DATE_FORMAT") == expected["date"]
        assert date_format(MOMENT, "DATETIME_FORMAT") == expected["datetime"]
        assert date_format(MOMENT, "SHORT_DATETIME_FORMAT") == expected["datetime"]
        assert date_format(MOMENT, "TIME_FORMAT") == "11:39"
        # A date and a plain {{ value }} render the same way in templates.
        rendered = Template("{{ day }}|{{ moment }}|{{ day|date }}").render(
            Context({"day": DAY, "moment": MOMENT})
        )
        assert rendered == f"{expected['date']}|{expected['datetime']}|{expected['date']}"


@pytest.mark.parametrize("language", ["en", "pl"])
def test_no_format_ends_in_a_full_stop(language):
    with translation.override(language):
        for name in (
            "DATE_FORMAT",
            "SHORT_DATE_FORMAT",
            "DATETIME_FORMAT",
            "SHORT_DATETIME_FORMAT",
            "TIME_FORMAT",
        ):
            for month in range(1, 13):
                text = date_format(datetime.datetime(2026, month, 7, 11, 39), name)
                assert not text.endswith("."), (name, text)
                sentence = Template("Answer by {{ when|date:name }}.").render(
                    Context({"when": datetime.datetime(2026, month, 7, 11, 39), "name": name})
                )
                assert ".." not in sentence, sentence


@pytest.mark.parametrize("language", ["en", "pl"])
def test_numbers_and_money_use_the_languages_separators(language):
    with translation.override(language):
        assert money(Decimal("1234.5"), "PLN") == EXPECTED[language]["money"]
        assert money("1234.50", "PLN") == EXPECTED[language]["money"]
        assert money(None, "PLN") == ""
        assert money("0", "EUR") == ("0.00 EUR" if language == "en" else "0,00 EUR")
        rendered = Template("{{ amount|money:currency }}").render(
            Context({"amount": Decimal("1234.50"), "currency": "PLN"})
        )
        assert rendered == EXPECTED[language]["money"]
        separator = "." if language == "en" else ","
        assert number_format(Decimal("2.5"), 1) == f"2{separator}5"


def test_grouping_is_not_switched_on_for_every_number():
    # Ids, years and input values must stay "1234", never "1,234".
    assert settings.USE_THOUSAND_SEPARATOR is False
    for language in ("en", "pl"):
        with translation.override(language):
            assert Template("{{ n }}").render(Context({"n": 12345})) == "12345"


@pytest.mark.parametrize("language", ["en", "pl"])
def test_wall_clock_strings_of_e_mail_contexts_are_written_in_the_language(language):
    expected = EXPECTED[language]
    with translation.override(language):
        assert wall_text("2026-12-07 11:39") == expected["datetime"]
        assert wall_text("2026-12-07T11:39:00+01:00") == expected["datetime"]
        assert wall_text("2026-12-07") == expected["date"]
        assert wall_text(DAY) == expected["date"]
        assert wall_text("") == ""
        assert wall_text(None) == ""
        assert wall_text("next Monday") == "next Monday"  # unreadable text is shown as it is
        rendered = Template("{{ due_at|wall }}").render(Context({"due_at": "2026-12-07 11:39"}))
        assert rendered == expected["datetime"]


def test_parse_wall_clock_reads_only_dates_and_date_times():
    assert parse_wall_clock("2026-12-07 11:39") == MOMENT
    assert parse_wall_clock("2026-12-07") == DAY
    assert parse_wall_clock("2026-13-07") is None
    assert parse_wall_clock("07.12.2026") is None
    assert parse_wall_clock("   ") is None


@pytest.mark.parametrize("language", ["en", "pl"])
def test_local_moment_writes_the_tenants_wall_clock_in_the_language(language):
    utc = datetime.datetime(2026, 12, 7, 10, 39, tzinfo=datetime.UTC)
    with translation.override(language):
        assert local_moment(utc, "Europe/Warsaw") == EXPECTED[language]["datetime"]
        assert local_moment(None, "Europe/Warsaw") == ""
        assert local_day(DAY) == EXPECTED[language]["date"]
        assert local_day(None) == ""


def test_the_russian_formats_module_exists():
    module = importlib.import_module("rma_portal.formats.ru.formats")
    assert module.DATE_FORMAT == "d.m.Y"
    assert module.DATETIME_FORMAT == "d.m.Y, H:i"
    assert (module.DECIMAL_SEPARATOR, module.THOUSAND_SEPARATOR) == (",", "\xa0")


@pytest.mark.skipif(
    "ru" not in dict(settings.LANGUAGES), reason="Russian is not among the site's languages"
)
def test_russian_formats_are_used_when_russian_is_active():
    with translation.override("ru"):
        assert get_format("DATE_FORMAT") == "d.m.Y"
        assert date_format(DAY, "DATE_FORMAT") == "07.12.2026"
        assert date_format(MOMENT, "SHORT_DATETIME_FORMAT") == "07.12.2026, 11:39"
        assert money(Decimal("1234.5"), "RUB") == "1\xa0234,50 RUB"


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_dashboard_writes_its_period_the_languages_way(client, world_a, language):
    client.force_login(world_a.manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/dashboard/?period=custom&from=2026-10-01&to=2026-11-30")
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    with translation.override(language):
        start = date_format(datetime.date(2026, 10, 1), "DATE_FORMAT")
        end = date_format(datetime.date(2026, 11, 30), "DATE_FORMAT")
    assert f"{start} – {end}" in text
    assert start == ("1 Oct 2026" if language == "en" else "1.10.2026")
    assert foreign_dates(text, language) == []
    assert double_stops_after_dates(text) == []
    assert dates_in(text, language)
