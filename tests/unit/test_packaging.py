"""Packaging and layout rules: every package is listed; the library never imports the apps."""

import ast
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
APPS = {"ingest": "lacl_search.ingest", "trainer": "lacl_search.trainer", "demo": "lacl_search.demo"}


def test_every_package_folder_is_listed():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lacl_search").rglob("__init__.py")}
    for folder, package in APPS.items():
        found |= {package + "".join("." + part for part in p.parent.relative_to(ROOT / folder).parts)
                  for p in (ROOT / folder).rglob("__init__.py")}
        assert setup["package-dir"][package] == folder
    assert found == listed


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_library_does_not_import_apps():
    for path in (ROOT / "lacl_search").rglob("*.py"):
        bad = {n for n in _imports(path) if any(n == a or n.startswith(a + ".") for a in APPS.values())}
        bad |= {n for n in _imports(path) if n.split(".")[0] in APPS}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_apps_do_not_import_each_other():
    for folder, package in APPS.items():
        others = [p for p in APPS.values() if p != package]
        for path in (ROOT / folder).rglob("*.py"):
            bad = {n for n in _imports(path) if any(n.startswith(o) for o in others)}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
