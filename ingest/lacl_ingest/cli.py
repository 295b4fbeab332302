"""``lacl-search ingest``: bulk-embed a JSONL / Parquet / CSV file into an OpenSearch index."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from lacl_search.core import schema
from lacl_search.core.encoding import BACKENDS
from lacl_search.core.settings import ClusterSettings
from lacl_search.errors import IncompleteIngest

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ingest", help="embed documents from a file into an OpenSearch index")
    p.add_argument("--input", required=True, help="JSONL, Parquet or CSV file")
    p.add_argument("--index", required=True, help="index alias to fill")
    p.add_argument("--model", default="default", help="encoder: 'default', a local path or a hub id")
    p.add_argument("--backend", choices=BACKENDS,
                   help="encoder backend for the documents (default: torch fp16 on a GPU, else the model's "
                        "saved backend; torch-bf16: bf16 autocast on a CPU with native bf16)")
    p.add_argument("--rejects", help="where broken records go (default: <input>.rejects.jsonl)")
    p.add_argument("--format", choices=["jsonl", "parquet", "csv"], help="input format (default: from suffix)")
    p.add_argument("--id-field", default="id", help="input field holding the document id (default id)")
    p.add_argument("--text-field", default="text", help="input field holding the body (default text)")
    p.add_argument("--title-field", default="title", help="input field holding the title (default title)")
    p.add_argument("--lang-field", default="lang", help="input field holding the language code (default lang)")
    p.add_argument("--metadata-field", action="append", default=[], help="field kept as filterable metadata")
    _add_bulk_arguments(p)
    p.add_argument("--rebuild", action="store_true", help="build (or resume) a fresh index, switch when complete")
    p.add_argument("--keep-old", action="store_true", help="keep the index the alias pointed to before")
    p.add_argument("--delete-missing", action="store_true",
                   help="delete indexed documents the input lacks (a rebuild always does)")
    p.add_argument("--replicas", type=int, help="replicas after loading (default: auto 0-1)")
    p.add_argument("--shards", type=_at_least_one, default=schema.DEFAULT_SHARDS,
                   help=f"primary shards of a new index (default {schema.DEFAULT_SHARDS}: on one shard a hybrid "
                        "query fetches every candidate, not just the page)")
    p.add_argument("--vector-quantization", choices=["none", "sq"], default="none",
                   help="sq: Lucene int7 scalar quantisation of the vectors of a new index (less memory for "
                        "k-NN search, same recall on the dev benchmark; not less disk)")
    p.add_argument("--fusion-profile", type=Path, metavar="JSON",
                   help="fusion profile fitted for this model ('lacl-search fusion fit'), stored in the index "
                        "before the alias moves (default: the serving index's for the same model, else the "
                        "model folder's fusion_profile.json, which the default model has)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process; ray: Ray Data with a pool of encoder actors (lacl-search[ray])")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray instance)")
    p.add_argument("--encoders", type=int, help="Ray: encoder actors (default: one per GPU, else per 2 CPUs)")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=main)


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


def _add_bulk_arguments(p: argparse.ArgumentParser) -> None:
    from lacl_search.serving.indexing import BulkOptions

    d = BulkOptions()
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="documents per encoder batch")
    p.add_argument("--chunk-size", type=int, default=d.chunk_size, help="documents per bulk request")
    p.add_argument("--max-chunk-bytes", type=int, default=d.max_chunk_bytes, help="bytes per bulk request")
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="bulk requests in flight")
    p.add_argument("--compress", action="store_true", help="gzip bulk requests (slow links only)")
    p.add_argument("--max-retries", type=int, default=d.max_retries, help="retries on 429 or unreachable cluster")
    p.add_argument("--initial-backoff", type=float, default=d.initial_backoff, help="seconds before the 1st retry")
    p.add_argument("--max-backoff", type=float, default=d.max_backoff, help="longest wait between retries (s)")


def main(args: argparse.Namespace) -> int:
    from lacl_search.core import registry
    from lacl_search.core.fusion_profile import FusionProfile
    from lacl_search.serving.indexing import BulkOptions, LoadOptions

    from .job import IngestConfig
    from .readers import FieldMap

    settings = ClusterSettings.from_args(args)
    fields = FieldMap(args.id_field, args.text_field, args.title_field or None, args.lang_field or None,
                      tuple(args.metadata_field))
    bulk = BulkOptions(batch_size=args.batch_size, chunk_size=args.chunk_size, max_chunk_bytes=args.max_chunk_bytes,
                       max_retries=args.max_retries, initial_backoff=args.initial_backoff,
                       max_backoff=args.max_backoff, concurrency=args.concurrency, compress=args.compress)
    load = LoadOptions(model_name=args.model, rebuild=args.rebuild, keep_old=args.keep_old,
                       delete_missing=args.delete_missing, replicas=args.replicas, bulk=bulk,
                       vector_quantization=args.vector_quantization, shards=args.shards,
                       fusion_profile=FusionProfile.read(args.fusion_profile) if args.fusion_profile else None,
                       model_profile=FusionProfile.of_model(registry.resolve(args.model)))
    config = IngestConfig(args.input, args.index, args.model, args.rejects, args.format, fields, load,
                          show_progress=not args.no_progress, engine=args.engine, backend=args.backend)
    report = _run(config, settings, args)
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    return exit_code(report)


def _run(config, settings: ClusterSettings, args: argparse.Namespace) -> dict:
    if config.engine == "ray":
        from .ray_engine import RayOptions, run_ray

        return run_ray(config, settings, RayOptions(address=args.address, encoders=args.encoders))
    from lacl_search.serving.client import connect

    from .job import run

    return run(config, connect(settings))


def exit_code(report: dict) -> int:
    """0 when every valid document is indexed (and a build was switched to), else IncompleteIngest's."""
    if report.get("problem"):
        log.error("%s", report["problem"])
    if report.get("refused"):
        log.warning("the cluster refused %d documents (listed in %s)", report["refused"], report["rejects_file"])
    if report["failed"]:
        log.error("%d valid documents could not be indexed; they are listed in %s (re-run to complete them)",
                  report["failed"], report["rejects_file"])
    if report["failed"] or report.get("problem"):
        return IncompleteIngest.exit_code
    return 0
