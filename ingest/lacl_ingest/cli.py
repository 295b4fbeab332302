"""``lacl-search ingest``: bulk-embed a JSONL / Parquet / CSV file into an OpenSearch index."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from lacl_search.core.settings import ClusterSettings
from lacl_search.errors import IncompleteIngest

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ingest", help="embed documents from a file into an OpenSearch index")
    p.add_argument("--input", required=True, help="JSONL, Parquet or CSV file")
    p.add_argument("--index", required=True, help="index alias to fill")
    p.add_argument("--model", default="default", help="encoder: 'default', a local path or a hub id")
    p.add_argument("--rejects", help="where broken records go (default: <input>.rejects.jsonl)")
    p.add_argument("--format", choices=["jsonl", "parquet", "csv"], help="input format (default: from suffix)")
    p.add_argument("--id-field", default="id", help="input field holding the document id (default id)")
    p.add_argument("--text-field", default="text", help="input field holding the body (default text)")
    p.add_argument("--title-field", default="title", help="input field holding the title (default title)")
    p.add_argument("--lang-field", default="lang", help="input field holding the language code (default lang)")
    p.add_argument("--metadata-field", action="append", default=[], help="field kept as filterable metadata")
    p.add_argument("--batch-size", type=int, default=32, help="documents per encoder batch")
    p.add_argument("--chunk-size", type=int, default=200, help="documents per bulk request")
    p.add_argument("--max-chunk-bytes", type=int, default=50 * 1024 * 1024, help="bytes per bulk request")
    p.add_argument("--max-retries", type=int, default=5, help="retries of a bulk chunk answered 429")
    p.add_argument("--initial-backoff", type=float, default=2.0, help="seconds before the first 429 retry")
    p.add_argument("--max-backoff", type=float, default=60.0, help="longest wait between 429 retries (s)")
    p.add_argument("--rebuild", action="store_true", help="build a fresh index and switch the alias to it")
    p.add_argument("--keep-old", action="store_true", help="keep the index the alias pointed to before")
    p.add_argument("--replicas", type=int, help="replicas after loading (default: auto 0-1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from lacl_search.serving.client import connect
    from lacl_search.serving.indexing import BulkOptions, LoadOptions

    from .job import IngestConfig, run
    from .readers import FieldMap

    client = connect(ClusterSettings.from_args(args))
    fields = FieldMap(args.id_field, args.text_field, args.title_field or None, args.lang_field or None,
                      tuple(args.metadata_field))
    bulk = BulkOptions(batch_size=args.batch_size, chunk_size=args.chunk_size, max_chunk_bytes=args.max_chunk_bytes,
                       max_retries=args.max_retries, initial_backoff=args.initial_backoff,
                       max_backoff=args.max_backoff)
    load = LoadOptions(model_name=args.model, rebuild=args.rebuild, keep_old=args.keep_old,
                       replicas=args.replicas, bulk=bulk)
    config = IngestConfig(args.input, args.index, args.model, args.rejects, args.format, fields, load,
                          show_progress=not args.no_progress)
    report = run(config, client)
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    if report["failed"]:
        log.error("%d valid documents could not be indexed; they are listed in %s", report["failed"],
                  report["rejects_file"])
        return IncompleteIngest.exit_code
    return 0
