"""The Polish catalog (locale/pl) is complete, compiled and in use.

- every entry of the committed .po is translated (all plural forms), none is fuzzy, and each
  translation keeps the msgid's %(name)s placeholders;
- the compiled .mo holds exactly what the .po says;
- (slow) regenerating the catalog from the source finds nothing that still needs a translation;
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

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = BASE_DIR / "locale" / "pl" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"

# The Polish plural rule: 1 | 2-4, 22-24, ... | everything else.
NPLURALS = 3


def polish_plural(n: int) -> int:
    if n == 1:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


# The command that generated the committed catalog: tests/ and bench/ hold no UI text.
MAKEMESSAGES = [
    "makemessages",
    "-l",
    "pl",
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

    @property
    def forms(self) -> list[str]:
        return [self.msgstr.get(i, "") for i in range(NPLURALS if self.msgid_plural else 1)]

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


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    assert PO_PATH.exists(), f"{PO_PATH.relative_to(BASE_DIR)} is missing: run `make messages`"
    return parse_po(PO_PATH)


# --- the committed catalog ------------------------------------------------------------------


def test_po_header_declares_polish_and_its_plural_forms(po_entries):
    fields = header_fields(po_entries)
    assert fields.get("Language") == "pl"
    assert "charset=UTF-8" in fields.get("Content-Type", "")
    plural_forms = fields.get("Plural-Forms", "")
    assert plural_forms.startswith(f"nplurals={NPLURALS};"), plural_forms
    assert not next(e for e in po_entries if e.is_header).fuzzy, "the header is marked fuzzy"

    expression = plural_forms.partition("plural=")[2].rstrip(";")
    rule = gettext.c2py(expression)
    wrong = [n for n in range(250) if rule(n) != polish_plural(n)]
    assert not wrong, f"Plural-Forms is not the Polish rule, e.g. for n={wrong[:5]}"


def test_every_entry_is_translated_and_not_fuzzy(po_entries):
    entries = messages(po_entries)
    assert entries, "the catalog has no messages"
    problems = {
        "fuzzy (check the translation, then drop the flag)": [e for e in entries if e.fuzzy],
        "untranslated (or a plural form missing)": [
            e for e in entries if not all(form.strip() for form in e.forms)
        ],
        f"more than {NPLURALS} plural forms": [
            e for e in entries if set(e.msgstr) - set(range(len(e.forms)))
        ],
    }
    report = [
        f"{title}:\n" + "\n".join(f"  {entry.label!r}" for entry in found)
        for title, found in problems.items()
        if found
    ]
    assert not report, f"{PO_PATH.relative_to(BASE_DIR)} is incomplete\n" + "\n".join(report)


def test_translations_keep_the_placeholders(po_entries):
    problems = []
    for entry in messages(po_entries):
        expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        for index, form in enumerate(entry.forms):
            found = placeholders(form)
            if form and found != expected:
                problems.append(
                    f"{entry.label!r} msgstr[{index}]: "
                    f"expected {sorted(expected)}, found {sorted(found)}"
                )
    assert not problems, "placeholders differ from the msgid:\n" + "\n".join(problems)


def test_compiled_catalog_matches_the_po(po_entries):
    relative = MO_PATH.relative_to(BASE_DIR)
    assert MO_PATH.exists(), f"{relative} is missing: run `manage.py compilemessages`"
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    expected: dict[object, str] = {}
    for entry in messages(po_entries):
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
    assert [compiled.plural(n) for n in range(250)] == [polish_plural(n) for n in range(250)]


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
    committed = PO_PATH.read_bytes()

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
    assert PO_PATH.read_bytes() == committed, "makemessages wrote to the real locale/ directory"

    regenerated = messages(parse_po(project / "locale" / "pl" / "LC_MESSAGES" / "django.po"))
    missing = [e.label for e in regenerated if e.fuzzy or not all(f.strip() for f in e.forms)]
    assert not missing, (
        f"{len(missing)} message(s) in the source have no Polish translation in "
        f"{PO_PATH.relative_to(BASE_DIR)}:\n"
        + "\n".join(f"  {label!r}" for label in missing)
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
