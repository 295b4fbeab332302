"""``lacl-search train [probe] --config FILE [KEY=VALUE ...]``: plugs into the ``lacl-search`` command.

Registration stays light (no torch import); the work happens in :func:`run`. Overrides use the
field names of :mod:`lacl_trainer.config` (``max_steps=3``, ``train_langs=de,fr``); every field is listed
with its meaning in ``lacl-search train --help``. ``lacl-search train probe`` measures each loss term's
gradient instead of training (:mod:`lacl_trainer.probe`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from lacl_search.errors import ConfigError

log = logging.getLogger(__name__)


def field_help() -> str:
    """Every training field with the description from its group's docstring (``Attributes:``)."""
    from .config import GROUPS

    lines = ["training fields (set in the --config file or as KEY=VALUE):"]
    for group in GROUPS:
        described: dict[str, str] = {}
        current = None
        for raw in (group.__doc__ or "").splitlines():
            text = raw.strip()
            name, sep, rest = text.partition(":")
            if sep and name.isidentifier() and name in {f.name for f in fields(group)}:
                current = name
                described[name] = rest.strip()
            elif current and text:
                described[current] += " " + text
        lines.append(f"  [{group.__name__}]")
        for f in fields(group):
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            lines.append(f"    {f.name} (default {default!r}): {described.get(f.name, '')}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train an encoder with the language-agnostic contrastive objective (or 'train probe' it)",
        description="Train an encoder (IR + semantic + language contrastive losses) with Accelerate; "
        "'lacl-search train probe ...' prints each loss term's gradient norm instead. "
        "For several GPUs: accelerate launch -m lacl_trainer --config FILE [--field value ...].",
        epilog=field_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, help="YAML/JSON file of training fields (listed below)")
    parser.add_argument("--batches", type=int, default=4, help="probe only: training batches to average over")
    parser.add_argument("overrides", nargs="*", metavar="[probe] KEY=VALUE",
                        help="'probe' to measure gradients instead of training, then field overrides, "
                             "e.g. max_steps=3")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from .config import overrides_to_flags, parse_config

    overrides = list(args.overrides)
    probing = bool(overrides) and overrides[0] == "probe"
    if probing:
        overrides = overrides[1:]
    try:
        config = parse_config(args.config, overrides_to_flags(overrides))
    except (ValueError, OSError) as exc:
        raise ConfigError(str(exc)) from None
    if probing:
        from .probe import probe

        result = probe(config, args.batches)
        sys.stdout.write(" ".join(f"{k}={v:.4f}" for k, v in result.items()) + "\n")
        return 0
    run(config)
    return 0


def run(config: object) -> Path:
    """Train ``config`` (a :class:`~lacl_trainer.config.TrainConfig`); returns the model folder."""
    from .loop import run_training

    return run_training(config)
