"""Every catalog (locale/<code>) of a language of settings.LANGUAGES other than English, the
source language, is complete, compiled and in use.

- every entry of the committed .po is translated (all plural forms), none is fuzzy, and each
  translation keeps the msgid's %(name)s placeholders;
- the compiled .mo holds exactly what the .po says;
- (slow) regenerating the catalogs from the source finds nothing that still needs a
  translation;
- a page rendered for a Polish browser is in Polish.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_ROOT = BASE_DIR / "locale"


def po_path(language: str) -> Path:
    return LOCALE_ROOT / language / "LC_MESSAGES" / "django.po"


def mo_path(language: str) -> Path:
    return LOCALE_ROOT / language / "LC_MESSAGES" / "django.mo"


# The languages translated from the English source that have a catalog: each must be
# complete. Polish always has one (the suite's pages are checked in it).
CATALOGUED = [code for code, _name in settings.LANGUAGES if code != "en" and po_path(code).exists()]


def polish_plural(n: int) -> int:
    """1 | 2-4, 22-24, ... | everything else."""
    if n == 1:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def russian_plural(n: int) -> int:
    """1, 21, 31, ... | 2-4, 22-24, ... | everything else (5-20, 25-30, ..., 11-14)."""
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


# The plural rules the catalogs of these languages must declare (for whole numbers); a
# catalog of another language is checked against the rule its own header declares.
PLURAL_RULES = {"pl": (3, polish_plural), "ru": (3, russian_plural)}


# The command that generated the committed catalogs: tests/ and bench/ hold no UI text.
MAKEMESSAGES = [
    "makemessages",
    *(option for code in CATALOGUED for option in ("-l", code)),
    "--ignore=.venv",
    "--ignore=var",
    "--ignore=bench",
    "--ignore=tests",
    "--no-location",
]
# What makemessages needs to see of the project; any other top-level Django app is added.
SOURCE_TREE = [
    "rma_portal",
    "customers",
    "returns",
    "complaints",
    "analytics",
    "templates",
    "locale",
    "manage.py",
]
NOT_SOURCE = {".venv", "var", "tests", "bench", "node_modules"}
GETTEXT_TOOLS = ["xgettext", "msguniq", "msgmerge", "msgattrib"]

# %(name)s, %(count)d, %(price).2f ...
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


# --- a small .po reader (no third-party dependency) -----------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # 0 only, unless plural
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    nplurals: int = 2

    @property
    def forms(self) -> list[str]:
        return [self.msgstr.get(i, "") for i in range(self.nplurals if self.msgid_plural else 1)]

    @property
    def label(self) -> str:
        text = self.msgid if self.msgid_plural is None else f"{self.msgid} / {self.msgid_plural}"
        return text if self.msgctxt is None else f"[{self.msgctxt}] {text}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(literal: str) -> str:
    # PO strings use C escapes (\n, \t, \", \\), which Python string literals share.
    return ast.literal_eval(literal)


def parse_po(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None  # the field a continuation line ("...") extends
    seen: set[tuple[str, int]] = set()  # the fields this entry has so far

    def finish() -> None:
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None
        seen.clear()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):  # obsolete entry: its fields follow the marker
            entry.obsolete = True
            line = line[2:].strip()
            if line.startswith("|"):
                continue
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        elif line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            target = ("msgstr", int(index or 0)) if index or keyword == "msgstr" else (keyword, 0)
            name, index = target
            if target in seen:
                raise ValueError(f"{path}:{number}: {keyword} twice in one entry")
            seen.add(target)
            if name == "msgstr":
                entry.msgstr[index] = _unquote(literal)
            else:
                setattr(entry, name, _unquote(literal))
        elif line.startswith('"') and target is not None:
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line))
        else:
            raise ValueError(f"{path}:{number}: cannot parse {raw!r}")
    finish()
    return entries


def messages(entries: list[Entry]) -> list[Entry]:
    """The translatable entries: not the header, not obsolete (#~) leftovers."""
    return [e for e in entries if not e.is_header and not e.obsolete]


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


def header_fields(entries: list[Entry]) -> dict[str, str]:
    header = next(e for e in entries if e.is_header and not e.obsolete)
    fields = {}
    for line in header.msgstr.get(0, "").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def declared_nplurals(entries: list[Entry]) -> int:
    plural_forms = header_fields(entries).get("Plural-Forms", "")
    match = re.match(r"nplurals\s*=\s*(\d+)\s*;", plural_forms)
    assert match, f"no nplurals in Plural-Forms: {plural_forms!r}"
    return int(match.group(1))


@dataclass
class Catalog:
    language: str
    entries: list[Entry]

    @property
    def po(self) -> Path:
        return po_path(self.language)

    @property
    def mo(self) -> Path:
        return mo_path(self.language)

    @property
    def name(self) -> Path:
        return self.po.relative_to(BASE_DIR)


def test_polish_has_a_catalog():
    assert "pl" in CATALOGUED, f"{po_path('pl').relative_to(BASE_DIR)} is missing"


@pytest.fixture(scope="module", params=CATALOGUED)
def catalog(request) -> Catalog:
    entries = parse_po(po_path(request.param))
    nplurals = declared_nplurals(entries)
    for entry in entries:
        entry.nplurals = nplurals
    return Catalog(language=request.param, entries=entries)


# --- the committed catalog ------------------------------------------------------------------


def test_po_header_declares_the_language_and_its_plural_forms(catalog):
    fields = header_fields(catalog.entries)
    assert fields.get("Language") == catalog.language
    assert "charset=UTF-8" in fields.get("Content-Type", "")
    assert not next(e for e in catalog.entries if e.is_header).fuzzy, "the header is marked fuzzy"
    if catalog.language not in PLURAL_RULES:
        return
    nplurals, expected_rule = PLURAL_RULES[catalog.language]
    plural_forms = fields.get("Plural-Forms", "")
    assert declared_nplurals(catalog.entries) == nplurals, plural_forms
    expression = plural_forms.partition("plural=")[2].rstrip(";")
    rule = gettext.c2py(expression)
    wrong = [n for n in range(250) if rule(n) != expected_rule(n)]
    assert not wrong, f"Plural-Forms is not the {catalog.language} rule, e.g. for n={wrong[:5]}"


def test_every_entry_is_translated_and_not_fuzzy(catalog):
    entries = messages(catalog.entries)
    assert entries, "the catalog has no messages"
    problems = {
        "fuzzy (check the translation, then drop the flag)": [e for e in entries if e.fuzzy],
        "untranslated (or a plural form missing)": [
            e for e in entries if not all(form.strip() for form in e.forms)
        ],
        f"more than {declared_nplurals(catalog.entries)} plural forms": [
            e for e in entries if set(e.msgstr) - set(range(len(e.forms)))
        ],
    }
    report = [
        f"{title}:\n" + "\n".join(f"  {entry.label!r}" for entry in found)
        for title, found in problems.items()
        if found
    ]
    assert not report, f"{catalog.name} is incomplete\n" + "\n".join(report)


def test_translations_keep_the_placeholders(catalog):
    problems = []
    for entry in messages(catalog.entries):
        expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        for index, form in enumerate(entry.forms):
            found = placeholders(form)
            if form and found != expected:
                problems.append(
                    f"{entry.label!r} msgstr[{index}]: "
                    f"expected {sorted(expected)}, found {sorted(found)}"
                )
    assert not problems, f"{catalog.name}: placeholders differ from the msgid:\n" + "\n".join(
        problems
    )


def test_compiled_catalog_matches_the_po(catalog):
    relative = catalog.mo.relative_to(BASE_DIR)
    assert catalog.mo.exists(), f"{relative} is missing: run `manage.py compilemessages`"
    with catalog.mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    expected: dict[object, str] = {}
    for entry in messages(catalog.entries):
        if entry.fuzzy:
            continue  # msgfmt leaves fuzzy entries out
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            if entry.msgstr.get(0):
                expected[msgid] = entry.msgstr[0]
        elif all(entry.forms):
            expected.update({(msgid, i): form for i, form in enumerate(entry.forms)})

    # GNUTranslations keeps the parsed .mo in _catalog: msgid -> str, (msgid, n) -> plural form.
    actual = {key: value for key, value in compiled._catalog.items() if key != ""}
    differences = sorted(
        (
            f"{key!r}: .po {expected.get(key)!r}, .mo {actual.get(key)!r}"
            for key in expected.keys() | actual.keys()
            if expected.get(key) != actual.get(key)
        ),
        key=str,
    )
    assert not differences, (
        f"{relative} is out of date: run `manage.py compilemessages --ignore=.venv "
        "--ignore=var`\n" + "\n".join(differences)
    )
    if catalog.language in PLURAL_RULES:
        _nplurals, rule = PLURAL_RULES[catalog.language]
        assert [compiled.plural(n) for n in range(250)] == [rule(n) for n in range(250)]


# --- the catalog against the source ---------------------------------------------------------


def _copy_source(destination: Path) -> None:
    names = set(SOURCE_TREE)
    # A Django app added later at the top level is source too.
    names |= {
        path.name
        for path in BASE_DIR.iterdir()
        if path.is_dir()
        and path.name not in NOT_SOURCE
        and not path.name.startswith(".")
        and (path / "apps.py").exists()
    }
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for name in sorted(names):
        source = BASE_DIR / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, destination / name)


@pytest.mark.slow
def test_po_covers_every_translatable_string_in_the_source(tmp_path):
    missing_tools = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing_tools:
        message = f"GNU gettext is not installed (missing {', '.join(missing_tools)})"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)

    project = tmp_path / "project"
    project.mkdir()
    _copy_source(project)
    committed = {code: po_path(code).read_bytes() for code in CATALOGUED}

    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "EMAIL_URL",
            "SQLITE_PATH",
            "STATIC_ROOT",
            "MEDIA_ROOT",
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="rma_portal.settings",
        SECRET_KEY="makemessages-in-a-test",
        VAR_DIR=str(tmp_path / "var"),
        # The copy, not the editable install of the real tree, provides the settings, so
        # LOCALE_PATHS (where makemessages writes) points into tmp_path.
        PYTHONPATH=str(project),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    assert {code: po_path(code).read_bytes() for code in CATALOGUED} == committed, (
        "makemessages wrote to the real locale/ directory"
    )

    report = []
    for code in CATALOGUED:
        entries = parse_po(project / "locale" / code / "LC_MESSAGES" / "django.po")
        nplurals = declared_nplurals(entries)
        for entry in entries:
            entry.nplurals = nplurals
        missing = [
            e.label for e in messages(entries) if e.fuzzy or not all(f.strip() for f in e.forms)
        ]
        if missing:
            report.append(
                f"{len(missing)} message(s) in the source have no translation in "
                f"{po_path(code).relative_to(BASE_DIR)}:\n"
                + "\n".join(f"  {label!r}" for label in missing)
            )
    assert not report, (
        "\n".join(report)
        + "\nRun `make messages`, translate the new entries (and drop any fuzzy flags), "
        "then compile with `manage.py compilemessages --ignore=.venv --ignore=var`."
    )


# --- the catalog in use ---------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_follows_the_browser_language(client):
    polish = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="pl")
    assert polish.status_code == 200
    page = polish.content.decode()
    assert "Zaloguj się" in page
    assert "Nie pamiętasz hasła?" in page
    assert "Sign in" not in page

    client.cookies.clear()
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    page = english.content.decode()
    assert "Sign in" in page
    assert "Zaloguj się" not in page
