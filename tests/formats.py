"""What a date looks like in each language, for tests that check a page, an e-mail or a
document writes all its dates one way (rma_portal/formats)."""

from __future__ import annotations

import re

_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"

# The language's own date (with an optional ", HH:MM").
OWN_DATE = {
    "en": re.compile(rf"\b\d{{1,2}} {_MONTH} \d{{4}}(?:, \d{{2}}:\d{{2}})?"),
    "pl": re.compile(r"\b\d{1,2}\.\d{2}\.\d{4}(?:, \d{2}:\d{2})?"),
    "ru": re.compile(r"\b\d{2}\.\d{2}\.\d{4}(?:, \d{2}:\d{2})?"),
}

# Dates written any other way: ISO days, US and dashed numeric days, abbreviations with a
# full stop ("Dec. 7"), "a.m."/"p.m.", Polish month names in the genitive ("7 grudnia").
FOREIGN_DATES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,2}/\d{1,2}/\d{4}\b"
    r"|\b\d{2}-\d{2}-\d{4}\b"
    rf"|\b{_MONTH}\.? ?\d{{1,2}}, \d{{4}}"
    r"|\b[ap]\.m\."
    r"|\bSept\."
    r"|\b\d{1,2} (?:stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września"
    r"|października|listopada|grudnia) \d{4}"
)


def dates_in(text: str, language: str) -> list[str]:
    return OWN_DATE[language].findall(text)


def foreign_dates(text: str, language: str) -> list[str]:
    """Dates in `text` not written the language's way (for en also the pl/ru numeric form and
    for pl/ru also the English one)."""
    found = [match.group(0) for match in FOREIGN_DATES.finditer(text)]
    if language == "en":
        found += OWN_DATE["pl"].findall(text)
    else:
        found += OWN_DATE["en"].findall(text)
    return found


def double_stops_after_dates(text: str) -> list[str]:
    """A date (or time) followed by "..": a sentence ending in it closed twice."""
    return re.findall(r"\d[^\s\d]{0,4}\.\.", text) + re.findall(r"\bm\.\.", text)
