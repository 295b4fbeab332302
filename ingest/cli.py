"""``lacl-search ingest``: bulk-embed a JSONL / Parquet / CSV file into an OpenSearch index."""

from __future__ import annotations

import argparse
import json
import sys

from lacl_search.settings import ClusterSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ingest", help="embed documents from a file into an OpenSearch index")
    p.add_argument("--input", required=True, help="JSONL, Parquet or CSV file")
    p.add_argument("--index", required=True, help="index alias to fill")
    p.add_argument("--model", default="default", help="encoder: 'default', a local path or a hub id")
    p.add_argument("--rejects", help="where broken records go (default: <input>.rejects.jsonl)")
    p.add_argument("--format", choices=["jsonl", "parquet", "csv"], help="input format (default: from suffix)")
    p.add_argument("--id-field", default="id")
    p.add_argument("--text-field", default="text")
    p.add_argument("--title-field", default="title")
    p.add_argument("--lang-field", default="lang")
    p.add_argument("--metadata-field", action="append", default=[], help="field kept as filterable metadata")
    p.add_argument("--batch-size", type=int, default=32, help="documents per encoder batch")
    p.add_argument("--chunk-size", type=int, default=200, help="documents per bulk request")
    p.add_argument("--rebuild", action="store_true", help="build a fresh index and switch the alias to it")
    p.add_argument("--keep-old", action="store_true", help="keep the index the alias pointed to before")
    p.add_argument("--replicas", type=int, help="replicas after loading (default: auto 0-1)")
    p.add_argument("--no-progress", action="store_true")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from lacl_search.client import connect
    from lacl_search.loader import LoadOptions

    from .job import IngestConfig, run
    from .readers import FieldMap

    client = connect(ClusterSettings.from_args(args))
    fields = FieldMap(args.id_field, args.text_field, args.title_field or None, args.lang_field or None,
                      tuple(args.metadata_field))
    load = LoadOptions(model_name=args.model, rebuild=args.rebuild, keep_old=args.keep_old,
                       replicas=args.replicas, batch_size=args.batch_size, chunk_size=args.chunk_size)
    config = IngestConfig(args.input, args.index, args.model, args.rejects, args.format, fields, load,
                          show_progress=not args.no_progress)
    report = run(config, client)
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    return 1 if report["failed"] else 0
