"""Large-corpus ingestion: every DDTP description of every language the data command fetches.

Step 1 (``--build``) writes the corpus JSONL from the cached apt lists (``lacl-search data ddtp`` fetched
them): one document per (description, language), id ``<md5>-<lang>``, title the package name, text the
long description; the reserved held-out md5s and every source group they belong to are left out, as the
dataset builder does. Step 2 ingests it with the ingest job (progress bar with an ETA) and reports
docs/s, the job's peak memory (max RSS), the index size on disk, then times an incremental re-run with
nothing changed (every document skipped, none encoded).

    python benchmarks/ingest_corpus.py --build data/ddtp/full-corpus.jsonl
    python benchmarks/ingest_corpus.py --corpus data/ddtp/full-corpus.jsonl --index bench-ddtp-full \
        [--model default [--backend onnx-int8] | --stub-dim 384] [--limit N] --out artifacts/bench/ingest_corpus.json

``--stub-dim`` replaces the encoder by precomputed vectors (benchmarks/ingest_write.py): it times the
write path at scale when the real encoder on CPU would take hours.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import resource
import sys
import time
from pathlib import Path

from lacl_ingest.job import IngestConfig, run
from lacl_search.core.encoding import BACKENDS
from lacl_search.core.settings import ClusterSettings
from lacl_search.serving.client import make_client
from lacl_search.serving.indexing import BulkOptions, LoadOptions, delete_alias_and_indices

log = logging.getLogger("ingest_corpus")


def build_corpus(out: Path) -> dict:
    """Write every usable description of every cached language (reserved groups excluded) to ``out``."""
    from lacl_provision.ddtp import ddtp, splits
    from lacl_provision.ddtp.benchmarks import make_doc

    folder = ddtp.lists_dir()
    data = ddtp.load(folder, list(dict.fromkeys([*ddtp.TRAIN_LANGS, *ddtp.HELDOUT_LANGS])))
    groups = splits.source_groups(data.packages, data.sources)
    touched = {groups[m] for m in splits.reserved_md5() if m in groups}
    counts: dict[str, int] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        tables = [("en", data.english), *sorted(data.translations.items())]
        for lang, table in tables:
            for md5, desc in table.items():
                if groups.get(md5) in touched or not desc.long:
                    continue
                row = make_doc(data, desc, f"{md5}-{lang}")
                row.pop("group", None)
                fh.write(json.dumps({"id": row["_id"], **{k: v for k, v in row.items() if k != "_id"}},
                                    ensure_ascii=False) + "\n")
                counts[lang] = counts.get(lang, 0) + 1
    return {"documents": sum(counts.values()), "languages": counts, "reserved_groups_excluded": len(touched)}


def store_bytes(client, alias: str) -> int:
    stats = client.indices.stats(index=alias, metric="store")
    return stats["_all"]["primaries"]["store"]["size_in_bytes"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", type=Path, help="write the corpus JSONL here and exit")
    p.add_argument("--corpus", type=Path)
    p.add_argument("--limit", type=int, help="only the first N documents (a subset, said so in the report)")
    p.add_argument("--index", default="bench-ddtp-full")
    p.add_argument("--model", default="default")
    p.add_argument("--backend", choices=BACKENDS,
                   help="encoder backend (default: the one saved with the model)")
    p.add_argument("--stub-dim", type=int, help="precomputed vectors of this dimension instead of the model")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the index afterwards")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run into the same index (do not delete it first)")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.build:
        sys.stdout.write(json.dumps(build_corpus(args.build)) + "\n")
        return 0
    corpus = args.corpus
    if args.limit:
        corpus = args.corpus.with_name(f"{args.corpus.stem}-{args.limit}.jsonl")
        with args.corpus.open(encoding="utf-8") as src, corpus.open("w", encoding="utf-8") as dst:
            dst.writelines(itertools.islice(src, args.limit))
    client = make_client(ClusterSettings.from_env())
    if not args.resume:
        delete_alias_and_indices(client, args.index)
    if args.stub_dim:
        sys.path.insert(0, str(Path(__file__).parent))
        from ingest_write import StubEncoder

        encoder, model = StubEncoder(args.stub_dim), f"stub-{args.stub_dim}"
    else:
        from lacl_search.core.encoding import load_encoder

        encoder, model = load_encoder(args.model, backend=args.backend), args.model
    load = LoadOptions(model_name=model, bulk=BulkOptions(concurrency=args.concurrency))
    config = IngestConfig(corpus, args.index, model, load=load)
    first = run(config, client, encoder)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = store_bytes(client, args.index)
    start = time.perf_counter()
    again = run(IngestConfig(corpus, args.index, model, load=load), client, encoder)
    rerun_s = time.perf_counter() - start
    result = {"corpus": str(corpus), "model": model, "backend": args.backend or "saved",
              "documents": first["indexed"], "rejected": first["rejected"],
              "seconds": first["seconds"], "docs_per_s": first["docs_per_s"],
              "encoder_docs_per_s": first["encoder_docs_per_s"], "peak_rss_mb": round(peak_mb),
              "index_mb_on_disk": round(size / 1e6, 1), "rerun_seconds": round(rerun_s, 1),
              "rerun_encoded": again["encoded"], "rerun_skipped": again["skipped"], "first": first, "rerun": again}
    sys.stdout.write(json.dumps({k: v for k, v in result.items() if k not in ("first", "rerun")}) + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if not args.keep:
        delete_alias_and_indices(client, args.index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
