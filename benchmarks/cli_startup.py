"""CLI start-up: wall seconds from ``lacl-search search`` to its first hit printed, and peak memory, per mode.

Usage:
    python benchmarks/cli_startup.py --index quickstart --model FOLDER [--backend onnx-int8] [--runs 3]
    python benchmarks/cli_startup.py ... --code /tmp/lacl-before   # another checkout's code (PYTHONPATH)

Each run is a fresh process (``python -m lacl_search search --index ... --mode MODE QUERY -k 1``)
timed by ``/usr/bin/time`` (elapsed seconds, maximum resident set size). Prints the median per mode.
With --code the other tree's packages shadow this checkout's (same third-party environment), which is
how the "before" column is measured from ``git archive HEAD``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

QUERY = "Werkzeug zum Komprimieren von Bildern"
PACKAGE_ROOTS = (".", "ingest", "trainer", "demo", "provision")


def one_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(elapsed seconds, peak RSS MiB) of one process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        cmd = ["/usr/bin/time", "-f", "%e %M", "-o", out.name, *argv]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr[-2000:]}")
        seconds, kib = out.read().split()[-2:]
    return float(seconds), int(kib) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--model", default="default")
    parser.add_argument("--backend", help="pass --backend to the search command (newer code only)")
    parser.add_argument("--modes", nargs="+", default=["bm25", "dense", "hybrid"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, help="run this tree's code instead of the checkout's")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.code:
        env["PYTHONPATH"] = os.pathsep.join(str(args.code.resolve() / p) for p in PACKAGE_ROOTS)
    w = sys.stdout.write
    w(f"code {args.code or 'checkout'}, model {args.model}, backend {args.backend or 'saved'}; "
      f"median of {args.runs}\n\n| mode | seconds to first hit | peak RSS MiB |\n|---|---|---|\n")
    for mode in args.modes:
        argv = [sys.executable, "-m", "lacl_search", "search", "--index", args.index, "--mode", mode,
                "--model", args.model, "-k", "1", QUERY]
        if args.backend:
            argv[-3:-3] = ["--backend", args.backend]
        runs = [one_run(argv, env) for _ in range(args.runs)]
        w(f"| {mode} | {statistics.median(r[0] for r in runs):.2f} | {statistics.median(r[1] for r in runs):.0f} |\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
