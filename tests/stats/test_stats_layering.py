"""audit.stats is layer 0: numpy/scipy only, importable without Django."""

import ast
import subprocess
import sys
from pathlib import Path

STATS = Path(__file__).resolve().parents[2] / "audit" / "stats"
ALLOWED_TOP_LEVEL = {
    "numpy",
    "scipy",
    "collections",
    "contextlib",
    "dataclasses",
    "itertools",
    "typing",
    "__future__",
}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_stats_modules_import_only_numpy_scipy_and_stdlib():
    files = sorted(STATS.glob("*.py"))
    assert {f.name for f in files} >= {
        "__init__.py",
        "agreement.py",
        "bootstrap.py",
        "comparison.py",
        "raters.py",
    }
    for path in files:
        for name in _imports(path):
            assert name.split(".")[0] in ALLOWED_TOP_LEVEL, f"{path.name} imports {name}"


def test_stats_package_loads_without_django():
    """Load audit.stats with a bare stand-in for the `audit` package, so that whatever the
    project's audit/__init__.py imports (Celery, Django) does not mask a Django import here."""
    code = f"""
import sys, types
pkg = types.ModuleType("audit")
pkg.__path__ = [{str(STATS.parent)!r}]
sys.modules["audit"] = pkg
import audit.stats
from audit.stats import agreement
assert agreement.krippendorff_alpha([[1, 2], [1, 2]], "nominal").value == 1.0
assert "django" not in sys.modules, "audit.stats imported Django"
"""
    subprocess.run([sys.executable, "-c", code], check=True)
