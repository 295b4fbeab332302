"""Layout rules: a folder is its package, the layers import downwards only, and a checkout runs its own code.

Packages: ``lacl_search/`` (the library), ``ingest/lacl_ingest/``, ``trainer/lacl_trainer/``,
``demo/lacl_demo/`` (the apps) and ``provision/lacl_provision/`` (provisioning tools). The library's own
layers: ``core`` <- ``serving`` <- ``evaluation`` <- ``commands`` (and ``cli``).
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.support import REPO_ROOT

PACKAGES = {
    "lacl_search": REPO_ROOT / "lacl_search",
    "lacl_ingest": REPO_ROOT / "ingest" / "lacl_ingest",
    "lacl_trainer": REPO_ROOT / "trainer" / "lacl_trainer",
    "lacl_demo": REPO_ROOT / "demo" / "lacl_demo",
    "lacl_provision": REPO_ROOT / "provision" / "lacl_provision",
}
APPS = ("lacl_ingest", "lacl_trainer", "lacl_demo")
# library layer -> the library layers it may import (besides the package root, errors and itself)
LAYERS = {
    "core": set(),
    "serving": {"core"},
    "evaluation": {"core", "serving"},
    "commands": {"core", "serving", "evaluation"},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _modules(package: str) -> list[Path]:
    return sorted(PACKAGES[package].rglob("*.py"))


def test_setuptools_finds_exactly_the_package_folders():
    find = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    roots = {(REPO_ROOT / where).resolve() for where in find["where"]}
    assert {path.parent.resolve() for path in PACKAGES.values()} == roots
    for package, path in PACKAGES.items():
        assert path.name == package and (path / "__init__.py").is_file()
    assert "package-dir" not in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_library_imports_no_app_and_no_provisioning_tool():
    for path in _modules("lacl_search"):
        bad = {n for n in _imports(path) if n.split(".")[0] in (*APPS, "lacl_provision")}
        assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}"


def test_library_layers_import_downwards_only():
    for layer, allowed in LAYERS.items():
        for path in (REPO_ROOT / "lacl_search" / layer).rglob("*.py"):
            used = {n.split(".")[1] for n in _imports(path) if n.startswith("lacl_search.") and n.count(".") >= 1}
            bad = used - allowed - {layer, "errors"}
            bad = {name for name in bad if (REPO_ROOT / "lacl_search" / name).is_dir()}
            assert not bad, f"{path.relative_to(REPO_ROOT)} ({layer}) imports the layers {bad}"


def test_encoder_does_not_import_the_model_store():
    names = _imports(REPO_ROOT / "lacl_search" / "core" / "encoder.py")
    assert not {n for n in names if n.startswith("lacl_provision")}
    assert not {n for n in _imports(REPO_ROOT / "lacl_search" / "core" / "registry.py") if "encoder" in n}


def test_apps_do_not_import_each_other_or_provisioning():
    for package in APPS:
        for path in _modules(package):
            bad = {n for n in _imports(path) if n.split(".")[0] in (*APPS, "lacl_provision") and
                   n.split(".")[0] != package}
            assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}"


def test_every_imported_project_module_comes_from_this_checkout():
    for package in PACKAGES:
        importlib.import_module(package)
    importlib.import_module("lacl_search.cli").build_parser()  # loads every registered subcommand
    project = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] in PACKAGES}
    assert len(project) > 20
    for name, module in project.items():
        origin = Path(getattr(module, "__file__", None) or next(iter(module.__path__))).resolve()
        assert origin.is_relative_to(REPO_ROOT), f"{name} was imported from {origin}, not {REPO_ROOT}"


def _copy_checkout(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        src = REPO_ROOT / name
        if src.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)
    return target


@pytest.mark.slow
def test_two_clones_on_one_machine_each_run_their_own_code(tmp_path):
    """Two checkouts set up with scripts/setup.sh share the dependency environment but not their code:
    each one's ``lacl-search`` and ``python`` import that checkout's packages, whichever was set up last."""
    clones = [_copy_checkout(tmp_path / name) for name in ("first", "second")]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venvs = [Path(subprocess.run(["bash", "scripts/setup.sh"], cwd=c, env=env, capture_output=True, text=True,
                                 check=True, timeout=600).stdout.strip().splitlines()[-1]) for c in clones]
    probe = "; ".join(f"import {p}; print({p}.__file__)" for p in PACKAGES)
    for clone, venv in zip(clones, venvs, strict=True):
        assert venv == clone / ".venv"
        for cwd in clones:  # from inside either checkout; -P: no cwd on sys.path, as for a console script
            out = subprocess.run([str(venv / "bin" / "python"), "-P", "-c", probe], cwd=cwd, env=env,
                                 capture_output=True, text=True, check=True).stdout.split()
            assert len(out) == len(PACKAGES) and all(Path(f).is_relative_to(clone) for f in out), out
        which = subprocess.run([str(venv / "bin" / "lacl-search"), "--help"], env=env, capture_output=True,
                               text=True, check=True)
        assert "ingest" in which.stdout and "opensearch" in which.stdout
