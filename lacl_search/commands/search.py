"""``lacl-search search``: one query, or a queries file into a TREC run (OpenSearch or exact in memory).

- ``lacl-search search --index docs "Werkzeug zum Komprimieren von Bildern"``: ranked hits on stdout.
- ``lacl-search search --index docs --queries queries.jsonl --output run.trec``: every query of a BEIR
  queries file, one process, any mode; a TREC run file (then ``lacl-search eval --run``).
- ``lacl-search search --corpus corpus.jsonl --queries queries.jsonl --output run.trec``: the exact
  in-memory dense twin (no cluster: every document scored by the same encoder).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from lacl_search.core.encoding import BACKENDS
from lacl_search.core.request import MAX_QUERY_CHARS
from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Fusion, Mode

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="search an index (one query, or a queries file into a TREC run)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="?", help=f"query text, any language (at most {MAX_QUERY_CHARS} characters)")
    p.add_argument("--index", help="index name or alias (required unless --corpus)")
    p.add_argument("--mode", choices=Mode.choices(), default=Mode.HYBRID.value, help="retrieval mode")
    p.add_argument("--model", default="default", help="encoder: 'default', a local folder or a hub id")
    p.add_argument("--backend", choices=BACKENDS,
                   help="run the encoder with this backend (default: the model's saved one; onnx-* need "
                        "`lacl-search model export`)")
    p.add_argument("-k", "--k", type=int, default=10, help="hits per query (default 10; 100 with --queries)")
    p.add_argument("--offset", type=int, default=0, help="hits to skip (pagination)")
    p.add_argument("--lang", action="append", default=[], help="only documents in this language (repeatable)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="FIELD=VALUE, FIELD=V1,V2, FIELD!=VALUE, FIELD>=N (also >, <, <=) on lang, doc_id or "
                        "metadata; repeated filters are ANDed")
    p.add_argument("--weight", type=float, help="hybrid: the dense leg's share of a fixed-weight fusion, 0-1 "
                                                "(minmax, zscore, wrrf; default 0.5); with --fusion auto it "
                                                "means minmax at this weight")
    p.add_argument("--fusion", choices=Fusion.choices(), default=Fusion.AUTO.value,
                   help="hybrid fusion (auto: the index's language-aware profile when one is fitted for the "
                        "model, else minmax at 0.5)")
    p.add_argument("--fusion-side", choices=["auto", "server", "client"], default="auto",
                   help="fuse in OpenSearch (neural-search plugin) or in Python")
    p.add_argument("--query-lang", help="the query's language (skips detection)")
    p.add_argument("--depth", type=int, help="hybrid: hits per leg normalised and fused (default 30; deeper is "
                                             "slower on the server)")
    p.add_argument("--group-by", metavar="KEY", help="one hit per value of this metadata key (e.g. a translation set)")
    p.add_argument("--prefer-lang", action="append", default=[], metavar="LANG",
                   help="rank documents in this language first without filtering others out (repeatable)")
    p.add_argument("--prefer-boost", type=float, default=0.2, help="how strongly --prefer-lang ranks first (0-1)")
    p.add_argument("--json", action="store_true", help="print hits as JSON lines")
    batch = p.add_argument_group("batch runs")
    batch.add_argument("--queries", type=Path, help="BEIR queries.jsonl (_id, text[, lang]): search them all")
    batch.add_argument("--output", type=Path, help="TREC run file to write (with --queries)")
    batch.add_argument("--corpus", type=Path, help="BEIR corpus.jsonl: exact in-memory dense search, no cluster")
    batch.add_argument("--use-query-lang", action="store_true", help="pass each query's lang field as a hint")
    batch.add_argument("--tag", help="run tag in the TREC file (default lacl-<mode>)")
    ClusterSettings.add_arguments(p)
    p.set_defaults(func=main)


def format_hit(rank: int, hit) -> str:
    parts = " ".join(f"{k}={v:.4f}" for k, v in hit.scores.items() if v is not None)
    title = (hit.title or hit.text[:60]).replace("\n", " ")
    return f"{rank:>3}. {hit.score:8.4f} [{hit.lang or '?'}] {hit.doc_id}  {title}  ({parts})"


def _template(args: argparse.Namespace, query: str, k: int):
    from lacl_search.core import filters
    from lacl_search.core.request import SearchRequest

    node = filters.all_of(*(filters.parse_expression(e) for e in args.filter))
    return SearchRequest(query=query, mode=args.mode, k=k, offset=args.offset, langs=tuple(args.lang), filter=node,
                         fusion=args.fusion, weight=args.weight, query_lang=args.query_lang, group_by=args.group_by,
                         prefer_langs=tuple(args.prefer_lang), prefer_boost=args.prefer_boost,
                         explain=not args.queries, depth=args.depth, fetch=not args.queries)  # runs: ids, scores


def _check(args: argparse.Namespace) -> None:
    from lacl_search.errors import BadInput

    if args.queries is None:
        if not args.query or not args.index:
            raise BadInput("give a query and --index, or --queries FILE --output RUN")
        if args.output or args.corpus:
            raise BadInput("--output and --corpus go with --queries")
        return
    if args.query:
        raise BadInput("give either a query or --queries, not both")
    if args.output is None:
        raise BadInput("--queries needs --output RUN.trec")
    if args.corpus is None and not args.index:
        raise BadInput("--queries needs --index (OpenSearch) or --corpus (exact in memory)")
    if args.corpus is not None and args.mode != Mode.DENSE.value:
        raise BadInput("--corpus searches exactly with the dense encoder: use --mode dense")


def main(args: argparse.Namespace) -> int:
    _check(args)
    if args.queries is not None:
        return _batch(args)
    from lacl_search.serving.client import connect
    from lacl_search.serving.search import Searcher

    request = _template(args, args.query, args.k)
    client = connect(ClusterSettings.from_args(args))
    encoder = _encoder(args) if request.mode is not Mode.BM25 else None
    searcher = Searcher(client, index=args.index, encoder=encoder, fusion_side=args.fusion_side)
    for rank, hit in enumerate(searcher.run(request), start=args.offset + 1):
        line = json.dumps({"rank": rank, **asdict(hit)}, ensure_ascii=False) if args.json else format_hit(rank, hit)
        sys.stdout.write(line + "\n")
    return 0


def _encoder(args: argparse.Namespace, latency: bool = True):
    """The encoder with its saved backend (or ``--backend``), tuned for one query at a time unless it is to
    encode a whole corpus (``latency=False``); ONNX and OpenVINO backends never import torch."""
    from lacl_search.core.encoding import load_encoder

    return load_encoder(args.model, backend=args.backend, latency=latency)


def _batch(args: argparse.Namespace) -> int:
    from lacl_search.evaluation import beir, runs

    queries = beir.load_queries_file(args.queries)
    k = args.k if args.k != 10 else 100
    tag = args.tag or f"lacl-{args.mode}"
    if args.corpus is not None:
        encoder = _encoder(args, latency=False)  # the corpus is encoded in bulk
        run = runs.exact_run(encoder, queries, list(beir.iter_corpus_file(args.corpus)), depth=k)
        tag = args.tag or "lacl-exact"
    else:
        from lacl_search.serving.client import connect
        from lacl_search.serving.search import Searcher

        template = _template(args, "placeholder", k)
        encoder = _encoder(args) if template.mode is not Mode.BM25 else None
        searcher = Searcher(connect(ClusterSettings.from_args(args)), index=args.index, encoder=encoder,
                            fusion_side=args.fusion_side)
        run, latencies = runs.search_run(searcher, queries, template, use_query_lang=args.use_query_lang)
        latencies.sort()
        log.info("%d queries, p50 %.1f ms, p95 %.1f ms", len(latencies), 1000 * latencies[len(latencies) // 2],
                 1000 * latencies[int(len(latencies) * 0.95)])
    path = runs.write_trec_run(args.output, run, tag)
    sys.stdout.write(f"{path}\n")
    return 0
