"""The project's layering (docs/architecture.md#layers): the platform (`rma_portal`) at the
bottom, then `customers`, then `returns` and `complaints`, which never import each other, then
`analytics` on top. Every import of a lower layer's code from a higher one fails here with its
file and line, wherever it is (at module level or inside a function), and so does a module
imported by name (`importlib.import_module("returns.…")`).

What a lower layer needs of a higher one it gets from a registry the higher one fills from its
AppConfig.ready() (docs/architecture.md lists them).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# package -> its layer; a package may import its own layer's code only when it is its own.
LAYERS = {
    "rma_portal": 0,
    "customers": 1,
    "returns": 2,
    "complaints": 2,
    "analytics": 3,
}
CHECKED = ("rma_portal", "customers", "returns", "complaints")

# (file, imported package): why the import stays. Only the project's composition root: the
# URL configurations that join every app's URLs into one site (ROOT_URLCONF and the API
# router it includes). No code imports them; they are the top of the graph though they live in
# the platform's package.
KNOWN_EXCEPTIONS = {
    ("rma_portal/urls.py", "analytics"): "ROOT_URLCONF: mounts the dashboard and portal figures",
    ("rma_portal/urls.py", "complaints"): "ROOT_URLCONF: mounts the complaints' portal pages",
    ("rma_portal/urls.py", "customers"): "ROOT_URLCONF: mounts the customers' portal pages",
    ("rma_portal/urls.py", "returns"): "ROOT_URLCONF: mounts the returns' portal pages",
    ("rma_portal/api/urls.py", "complaints"): "the API router: registers the complaints API",
    ("rma_portal/api/urls.py", "customers"): "the API router: registers the customers API",
    ("rma_portal/api/urls.py", "returns"): "the API router: registers the returns API",
}

IMPORT_BY_NAME = {"import_module", "__import__"}


def forbidden(importer: str, imported: str) -> bool:
    """Whether package `importer` may not import package `imported`."""
    if importer == imported or imported not in LAYERS:
        return False
    return LAYERS[imported] >= LAYERS[importer]


def imported_modules(tree: ast.AST):
    """(line, module) of every absolute import in `tree`, at any depth, and of every module
    imported by a constant name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                name in IMPORT_BY_NAME
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.lineno, node.args[0].value


def violations(package: str, relative: str, source: str) -> list[tuple[str, int, str]]:
    """(file, line, module) of each import in `source` (the file `relative` of `package`)
    that breaks the layering."""
    found = []
    for line, module in imported_modules(ast.parse(source, filename=relative)):
        imported = module.split(".")[0]
        if forbidden(package, imported):
            found.append((relative, line, module))
    return sorted(found, key=lambda item: item[1])


def project_violations() -> list[tuple[str, int, str]]:
    found = []
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found.extend(violations(package, relative, path.read_text(encoding="utf-8")))
    return found


def test_no_import_breaks_the_layering():
    broken = [
        (path, line, module)
        for path, line, module in project_violations()
        if (path, module.split(".")[0]) not in KNOWN_EXCEPTIONS
    ]
    assert not broken, "Imports that break the layering (docs/architecture.md#layers):\n" + (
        "\n".join(f"{path}:{line}: imports {module}" for path, line, module in broken)
    )


def test_every_known_exception_is_still_needed():
    present = {(path, module.split(".")[0]) for path, _line, module in project_violations()}
    stale = sorted(set(KNOWN_EXCEPTIONS) - present)
    assert not stale, f"Known exceptions no longer needed, remove them: {stale}"


def test_the_check_finds_imports_at_any_depth_and_by_name():
    source = """
import complaints.models
from returns.selectors import return_request_for_user
from customers.cases import CaseKind
from rma_portal.ids import parse_id
from . import emails


def view():
    from complaints import services
    import importlib
    return importlib.import_module("analytics.kpis")
"""
    assert violations("returns", "returns/example.py", source) == [
        ("returns/example.py", 2, "complaints.models"),
        ("returns/example.py", 10, "complaints"),
        ("returns/example.py", 12, "analytics.kpis"),
    ]
    assert violations("complaints", "complaints/example.py", source) == [
        ("complaints/example.py", 3, "returns.selectors"),
        ("complaints/example.py", 12, "analytics.kpis"),
    ]
    assert [module for _path, _line, module in violations("customers", "c.py", source)] == [
        "complaints.models",
        "returns.selectors",
        "complaints",
        "analytics.kpis",
    ]
    assert [module for _path, _line, module in violations("rma_portal", "p.py", source)] == [
        "complaints.models",
        "returns.selectors",
        "customers.cases",
        "complaints",
        "analytics.kpis",
    ]
    # analytics is the top: it may import every layer below it.
    assert violations("analytics", "analytics/example.py", source) == []
