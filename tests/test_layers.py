"""The layer order of DESIGN.md section 3, kept by a test: every module's imports (function-level
ones included) are walked, and an import of a higher layer (or of a sibling room that may not be
reached) fails, naming the module, the line and the import.

Lower layers never import higher ones; the data flows files -> datasets -> campaigns ->
annotations -> reports, with regeneration between campaigns and annotations and the site on top.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (package prefix, layer). The longest matching prefix decides a module's layer.
LAYERS: dict[str, float] = {
    "audit.stats": 0,
    "audit.core": 0,
    # The project's own wiring that every layer may read (the Celery app, settings modules).
    "audit": 0,
    "audit.celery": 0,
    "audit.settings": 0,
    "audit.test_settings": 0,
    "audit.datasets": 1,
    "audit.campaigns": 2,
    "audit.regeneration": 2.5,
    "annotations": 3,
    "audit.reports": 4,
    "audit.site": 5,
    # Entry points: the URLconf and the servers may import everything; nothing imports them.
    "audit.urls": 6,
    "audit.wsgi": 6,
    "audit.asgi": 6,
}

# Pairs inside one layer that may not import each other (importer prefix, imported prefix).
FORBIDDEN_SIDEWAYS: list[tuple[str, str]] = [
    # Pure statistics: no Django, no project code (tests/stats/test_stats_layering.py checks the
    # third-party side).
    ("audit.stats", "audit"),
    # The foundation imports no app and not the statistics either.
    ("audit.core", "audit.stats"),
    # The reports' three rooms: analysis and the shared read side never reach quality or exports;
    # exports never reach quality.
    ("audit.reports.analysis", "audit.reports.quality"),
    ("audit.reports.analysis", "audit.reports.exports"),
    ("audit.reports.scores", "audit.reports.analysis"),
    ("audit.reports.scores", "audit.reports.quality"),
    ("audit.reports.scores", "audit.reports.exports"),
    ("audit.reports.exports", "audit.reports.quality"),
    # Adjudication is read by the other rooms (exports, quality) and reads none of them.
    ("audit.reports.adjudication", "audit.reports.analysis"),
    ("audit.reports.adjudication", "audit.reports.quality"),
    ("audit.reports.adjudication", "audit.reports.exports"),
]
ALLOWED_SIDEWAYS = {
    # The stats package may import itself.
    ("audit.stats", "audit.stats"),
}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


# Prefixes that name one module, not a package of modules (so a new app under audit/ does not
# fall into the project package's layer unnoticed).
EXACT = {"audit"}


def _prefix(module: str, prefixes) -> str | None:
    best = None
    for prefix in prefixes:
        matches = module == prefix or (prefix not in EXACT and module.startswith(prefix + "."))
        if matches and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def layer_of(module: str) -> float | None:
    prefix = _prefix(module, LAYERS)
    return None if prefix is None else LAYERS[prefix]


def imported_modules(source: str, module: str, is_package: bool):
    """(line, module) for every import in ``source`` (the module ``module``), relative imports
    resolved, at any depth (inside functions too)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            # `from audit.reports import quality` imports a submodule: check it too.
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def violations(source: str, module: str, is_package: bool = False) -> list[Violation]:
    own = layer_of(module)
    if own is None:
        return []
    found = []
    for line, imported in imported_modules(source, module, is_package):
        other = layer_of(imported)
        if other is None:
            continue  # third-party or standard library
        if module.startswith("audit.stats") and not imported.startswith("audit.stats"):
            found.append(Violation(module, line, imported))
            continue
        if other > own:
            found.append(Violation(module, line, imported))
            continue
        for importer, target in FORBIDDEN_SIDEWAYS:
            if (importer, target) in ALLOWED_SIDEWAYS:
                continue
            inside_importer = module == importer or module.startswith(importer + ".")
            if (
                inside_importer
                and _prefix(imported, [target])
                and not (_prefix(imported, [importer]))
            ):
                found.append(Violation(module, line, imported))
    # One report a line: `from x import a, b` names the module once.
    first: dict[tuple[str, int], Violation] = {}
    for v in found:
        first.setdefault((v.module, v.line), v)
    return list(first.values())


def project_modules():
    for top in ("audit", "annotations"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            yield ".".join(parts), path, is_package


def test_every_module_imports_only_its_own_layer_or_below():
    found = []
    for module, path, is_package in project_modules():
        found += violations(path.read_text(), module, is_package)
    assert not found, "imports against the layer order:\n" + "\n".join(map(str, found))


def test_every_project_package_has_a_layer():
    """A new app must be given its place in LAYERS, not slip past the check."""
    packages = {m for m, _, is_pkg in project_modules() if is_pkg and m.count(".") <= 1}
    assert {p for p in packages if layer_of(p) is None} == set()


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("audit.core.models", "from audit.campaigns.models import Campaign"),
        ("audit.core.views", "def home(request):\n    from audit.campaigns import selectors\n"),
        ("audit.datasets.services", "from ..campaigns import services"),
        ("audit.campaigns.services", "import audit.regeneration.services"),
        ("annotations.selectors", "from audit.reports import scores"),
        ("audit.reports.analysis.compute", "from audit.reports.quality import charts"),
        ("audit.reports.exports.ratings", "from audit.reports import quality"),
        ("audit.stats.agreement", "from audit.core import models"),
        ("audit.core.services", "from audit.site import demo"),
    ],
)
def test_a_wrong_import_is_caught(module, source):
    """The guard fails on each kind of wrong import (module level, in a function, relative)."""
    assert violations(source, module) != []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("audit.campaigns.services", "from audit.datasets.models import Item"),
        ("audit.regeneration.services", "from audit.campaigns import services"),
        ("audit.reports.quality.services", "from audit.reports.analysis import reading"),
        ("audit.site.demo", "from annotations.services import rating_submit"),
        ("audit.urls", "from audit.site import views"),
    ],
)
def test_a_downward_import_is_allowed(module, source):
    assert violations(source, module) == []


@pytest.mark.django_db
def test_migrations_match_the_models():
    """`makemigrations --check`: a model change without its migration fails the test run."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"models and migrations differ (exit {exc.code}):\n{out.getvalue()}")
