"""``python -m lacl_search.trainer --config FILE [--field value | KEY=VALUE ...]``, also under ``accelerate launch``.

``KEY=VALUE`` tokens are the overrides of ``lacl-search train`` (lists comma-separated).
"""

from __future__ import annotations

import argparse
import sys

from lacl_search.cli import setup_logging

from .cli import run
from .config import cli_flags, parse_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lacl_search.trainer", description=__doc__)
    parser.add_argument("--config", help="YAML/JSON file of training fields")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args, rest = parser.parse_known_args(argv)
    setup_logging(args.verbose)
    run(parse_config(args.config, cli_flags(rest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
