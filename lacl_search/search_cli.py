"""``lacl-search search``: run one query (any language) against an index and print ranked hits."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from lacl_search.settings import ClusterSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="search an index with BM25, dense k-NN or hybrid retrieval")
    p.add_argument("query", help="query text, any language")
    p.add_argument("--index", required=True, help="index name or alias")
    p.add_argument("--mode", choices=["bm25", "dense", "hybrid"], default="hybrid")
    p.add_argument("--model", default="default", help="encoder: 'default', a local path or a hub id")
    p.add_argument("-k", "--k", type=int, default=10, help="number of hits")
    p.add_argument("--lang", action="append", help="only documents in this language (repeatable)")
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="only documents whose metadata KEY equals VALUE (repeatable)")
    p.add_argument("--weight", type=float, default=0.5, help="hybrid weight of the dense side (0-1)")
    p.add_argument("--fusion", choices=["minmax", "rrf"], default="minmax")
    p.add_argument("--fusion-side", choices=["auto", "server", "client"], default="auto")
    p.add_argument("--json", action="store_true", help="print hits as JSON lines")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=main)


def parse_filters(items: list[str]) -> dict[str, str]:
    """``["section=net", ...]`` -> ``{"section": "net"}``; a malformed item is a clear error."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--filter takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def format_hit(rank: int, hit) -> str:
    parts = " ".join(f"{k}={v:.4f}" for k, v in hit.scores.items() if v is not None)
    title = (hit.title or hit.text[:60]).replace("\n", " ")
    return f"{rank:>3}. {hit.score:8.4f} [{hit.lang or '?'}] {hit.doc_id}  {title}  ({parts})"


def main(args: argparse.Namespace) -> int:
    from lacl_search.client import connect
    from lacl_search.encoder import Encoder
    from lacl_search.search import Searcher

    client = connect(ClusterSettings.from_args(args))
    encoder = Encoder.from_pretrained(args.model) if args.mode != "bm25" else None
    searcher = Searcher(client, encoder, args.index, fusion_side=args.fusion_side)
    metadata = parse_filters(args.filter)
    hits = searcher.search(args.query, args.mode, args.k, args.lang, args.weight, args.fusion, metadata)
    for rank, hit in enumerate(hits, start=1):
        line = json.dumps({"rank": rank, **asdict(hit)}, ensure_ascii=False) if args.json else format_hit(rank, hit)
        sys.stdout.write(line + "\n")
    return 0
