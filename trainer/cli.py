"""``lacl-search train --config FILE [KEY=VALUE ...]``: plugs into the ``lacl-search`` command.

Registration stays light (no torch import); the work happens in :func:`run`. Overrides use the
field names of :mod:`lacl_search.trainer.config` (``max_steps=3``, ``train_langs=de,fr``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train an encoder with the language-agnostic contrastive objective",
        description="Train an encoder (IR + semantic + language contrastive losses) with Accelerate. "
        "For several GPUs: accelerate launch -m lacl_search.trainer --config FILE [--field value ...].",
    )
    parser.add_argument("--config", required=True, help="YAML/JSON file of training fields")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="field overrides, e.g. max_steps=3")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from .config import overrides_to_flags, parse_config

    config = parse_config(args.config, overrides_to_flags(args.overrides))
    run(config)
    return 0


def run(config: object) -> Path:
    """Train ``config`` (a :class:`~lacl_search.trainer.config.TrainConfig`); returns the model folder."""
    from .loop import run_training

    return run_training(config)
