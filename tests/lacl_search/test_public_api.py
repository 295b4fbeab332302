"""The package root: every exported name resolves, and importing the package loads no heavy library."""

import subprocess
import sys

import lacl_search


def test_every_exported_name_resolves_to_its_module():
    for name in lacl_search.__all__:
        value = getattr(lacl_search, name)
        assert getattr(value, "__name__", name) == name
    assert lacl_search.Searcher.__module__ == "lacl_search.serving.search"


def test_importing_the_package_imports_no_torch_or_client():
    code = "import sys, lacl_search; print(sorted(m for m in ('torch', 'opensearchpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
