"""The command line: one error contract (one line, distinct exit codes, no traceback) and help for every option."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from lacl_search import cli, errors
from tests.support import FIXTURES


def _walk(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_option_of_every_command_has_help():
    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}" for path, a in _walk(cli.build_parser(), "lacl-search")
               if not a.help and a.dest != "help"]
    assert not missing, missing


def test_exit_codes_are_distinct_and_never_argparse_usage():
    codes = [cls.exit_code for cls in errors.LaclError.__subclasses__()]
    assert len(codes) == len(set(codes)) and 2 not in codes and 0 not in codes


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lacl_search", *args], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "OPENSEARCH_URL": "http://127.0.0.1:9"})


@pytest.mark.parametrize(("args", "code", "message"), [
    (("eval", "--run", "/no/such.trec", "--dataset", str(FIXTURES / "beir-mini")), 5, "run file not found"),
    (("search", "--index", "docs", "--mode", "bm25", "--filter", "oops", "q"), 3, "filter must look like"),
    (("search", "--index", "docs", "--mode", "bm25", "q"), 7, "is not reachable"),
    (("search", "--queries", "q.jsonl"), 3, "--queries needs --output"),
    (("search", "--index", "docs", "--fusion", "language", "--weight", "0.3", "q"), 3,
     "weight is for the fixed-weight fusions (minmax, zscore, wrrf); language fusion weighs by"),
    (("eval",), 3, "eval needs --run"),
    (("fusion", "fit", "--legs", "legs", "--data", "data", "--benchmarks", "mixed", "--output", "p.json",
      "--leg-depth", "-1"), 4, "--leg-depth must be 0"),
    (("fusion", "apply", "--index", "docs", "--profile", str(FIXTURES / "beir-mini" / "corpus.jsonl")), 4,
     "corpus.jsonl: not a fusion profile"),
    (("ingest", "--input", "docs.jsonl", "--index", "docs", "--fusion-profile", "/no/such.json"), 5,
     "fusion profile not found: /no/such.json"),
])
def test_expected_failures_are_one_line_with_their_exit_code(args, code, message):
    result = _run(*args)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_usage_errors_keep_argparse_code():
    assert _run("search", "--no-such-flag").returncode == 2
    result = _run("ingest", "--input", "docs.jsonl", "--index", "docs", "--shards", "0")
    assert result.returncode == 2 and "--shards: must be >= 1, got 0" in result.stderr, result.stderr


def test_building_the_command_line_imports_no_heavy_library():
    """Registration stays light, so `lacl-search --help` and failing commands answer at once."""
    code = ("import sys, lacl_search.cli as c; c.build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'gradio', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
