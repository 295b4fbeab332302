"""``python -m lacl_trainer --config FILE [--field value | KEY=VALUE ...]``, also under ``accelerate launch``.

``KEY=VALUE`` tokens are the overrides of ``lacl-search train`` (lists comma-separated).
"""

from __future__ import annotations

import argparse
import sys

from lacl_search.cli import set_threads, setup_logging

from .cli import run
from .config import cli_flags, parse_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lacl_trainer", description=__doc__)
    parser.add_argument("--config", help="YAML/JSON file of training fields")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    args, rest = parser.parse_known_args(argv)
    set_threads(args.threads)
    setup_logging(args.verbose)
    run(parse_config(args.config, cli_flags(rest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
