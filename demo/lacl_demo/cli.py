"""``lacl-search demo``: the cross-lingual search demo in the browser.

Registration is light (argparse only); Gradio, torch, the encoder and the OpenSearch client are loaded
when the command runs, never at import.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from lacl_search.core.settings import ClusterSettings

if TYPE_CHECKING:
    from lacl_search.core.encoder import Encoder
    from lacl_search.serving.search import Searcher

log = logging.getLogger(__name__)

DEFAULT_INDEX = "ddtp"
DESCRIPTION = "Serve the cross-lingual search demo (Gradio) against an OpenSearch index; prints its URL."


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand to the ``lacl-search`` parser."""
    p = subparsers.add_parser(
        "demo", help="cross-lingual search demo in the browser (Gradio)", description=DESCRIPTION
    )
    p.add_argument(
        "--index", default=DEFAULT_INDEX, help=f"index or alias to search (default {DEFAULT_INDEX})"
    )
    p.add_argument("--model", default="default", help="query encoder: 'default', a hub id or a local path")
    p.add_argument("--compare-model", metavar="PATH", help="a second (e.g. LACL-trained) encoder to compare")
    p.add_argument(
        "--compare-index",
        metavar="NAME",
        help="index embedded with --compare-model (default --index: only right if both models share vectors)",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--group-by", metavar="KEY", help="metadata key of translation sets (e.g. group): adds a "
                   "'one hit per translation set' option")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=run)


def _warn_model_mismatch(searcher: Searcher, encoder: Encoder, model: str, index: str) -> None:
    """Warn when ``index`` was embedded with another model than ``encoder`` (dense would be noise)."""
    try:
        meta = searcher.index_info().get("meta", {})
        stored = meta.get("model_fingerprint")
        if stored and stored != encoder.fingerprint():
            log.warning(
                "index %s was embedded with model %r, not %r: dense results will not be meaningful",
                index,
                meta.get("model"),
                model,
            )
    except Exception as exc:  # noqa: BLE001 - the page reports cluster and index problems itself
        log.warning("cannot read index %s yet (%s); the page will say why", index, type(exc).__name__)


def run(args: argparse.Namespace) -> int:
    """Create the client and encoder(s), build the page, serve it, print its URL, block until Ctrl-C."""
    from lacl_search.core.encoding import load_encoder
    from lacl_search.serving.client import make_client
    from lacl_search.serving.search import Searcher

    from .app import build_demo, launch

    if getattr(args, "verbose", 0) < 2:
        # opensearch-py logs every refused request with a traceback; the page and our log say it in one line.
        logging.getLogger("opensearch").setLevel(logging.ERROR)
    settings = ClusterSettings.from_args(args)
    client = make_client(settings)
    log.info("cluster %s, index %s", settings.safe_url(), args.index)
    models = [(args.model, args.index)]
    if args.compare_model:
        models.append((args.compare_model, args.compare_index or args.index))
    searchers = {}
    for model, index in models:
        encoder = load_encoder(model, latency=True)  # the model's saved backend (ONNX when exported)
        searcher = Searcher(client, index=index, encoder=encoder)
        _warn_model_mismatch(searcher, encoder, model, index)
        searchers[model if model not in searchers else f"{model} ({index})"] = searcher
    demo = build_demo(searchers, args.index, group_by=args.group_by)
    url = launch(demo, args.host, args.port)
    sys.stdout.write(f"{url}\n")
    sys.stdout.flush()
    demo.block_thread()
    return 0
