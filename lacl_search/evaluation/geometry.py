"""Benchmark: how much language identity and how much spread each encoder's document space holds.

Usage:
    lacl-search eval geometry --data data/ddtp/mixed --model base=default \
        --model ir-only=models/ir-only --model lacl=models/lacl [--packages 250]

Encodes every language version of a seeded sample of packages from a multilingual BEIR folder whose
document ids end in ``-<lang>`` (the ``mixed`` benchmark) and prints, per model, mean cosines over
pairs of documents:

- ``same pkg, other lang``: translations of one description (higher is better aligned);
- ``other pkg, same lang`` and ``other pkg, other lang``: unrelated documents; their difference,
  ``lang gap``, is what a shared language alone adds to similarity (what L_lang is meant to remove);
- ``all pairs``: the mean cosine of unrelated documents (anisotropy: higher means a narrower cone);
- ``lang var share``: share of the embeddings' variance explained by language centroids;
- ``margin / spread``: (translation cosine - same-language unrelated cosine) divided by the standard
  deviation of unrelated-pair cosines: how far translations stand out, in units of the space's spread.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections import defaultdict

import numpy as np

from lacl_search.errors import BadInput

log = logging.getLogger(__name__)


def parse_models(items: list[str]) -> dict[str, str]:
    """``["base=default", "lacl=models/lacl"]`` -> ``{"base": "default", "lacl": "models/lacl"}``."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise BadInput(f"--model takes NAME=PATH, got {item!r}")
        out[name.strip()] = path.strip()
    return out


def sample_documents(folder: str, packages: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """Texts, languages and package keys of every version of ``packages`` multi-version packages."""
    from lacl_search.evaluation.exact import load_benchmark

    bench = load_benchmark(folder)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, doc_id in enumerate(bench.doc_ids):
        groups[doc_id.rsplit("-", 1)[0]].append(i)
    multi = sorted(key for key, rows in groups.items() if len(rows) > 1)
    chosen = random.Random(seed).sample(multi, min(packages, len(multi)))
    rows = [i for key in chosen for i in groups[key]]
    keys = [bench.doc_ids[i].rsplit("-", 1)[0] for i in rows]
    return [bench.documents[i] for i in rows], [bench.doc_langs[i] or "?" for i in rows], keys


def geometry(emb: np.ndarray, langs: list[str], keys: list[str]) -> dict[str, float]:
    """The figures of the module docstring for L2-normalised ``emb`` ``[N, D]``."""
    sims = emb @ emb.T  # [N, N]
    lang = np.asarray(langs)
    key = np.asarray(keys)
    off_diag = ~np.eye(len(emb), dtype=bool)
    same_lang = (lang[:, None] == lang[None, :]) & off_diag
    same_pkg = (key[:, None] == key[None, :]) & off_diag
    unrelated = ~same_pkg & off_diag
    centred = emb - emb.mean(0)
    total_var = float((centred**2).sum())
    between = sum(
        (lang == code).sum() * float(((emb[lang == code].mean(0) - emb.mean(0)) ** 2).sum()) for code in set(langs)
    )
    translation = float(sims[same_pkg & ~same_lang].mean())
    other_same = float(sims[unrelated & same_lang].mean())
    other_other = float(sims[unrelated & ~same_lang].mean())
    return {
        "same pkg, other lang": translation,
        "other pkg, same lang": other_same,
        "other pkg, other lang": other_other,
        "lang gap": other_same - other_other,
        "all pairs": float(sims[unrelated].mean()),
        "lang var share": between / total_var,
        "margin / spread": (translation - other_same) / float(sims[unrelated].std()),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lacl-search eval geometry``."""
    parser.add_argument("--data", required=True, help="multilingual BEIR folder (e.g. data/ddtp/mixed)")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="an encoder to measure, as NAME=default|FOLDER|HUB_ID (repeatable)")
    parser.add_argument("--packages", type=int, default=250, help="packages sampled (all their language versions)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per document")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")


def run(args: argparse.Namespace) -> int:
    """Measure every ``--model`` and print a markdown table on stdout."""
    texts, langs, keys = sample_documents(args.data, args.packages, args.seed)
    log.info("%d documents of %d packages in %d languages", len(texts), len(set(keys)), len(set(langs)))
    from lacl_search.core.encoder import Encoder

    rows = {}
    for name, path in parse_models(args.model).items():
        encoder = Encoder.load(path, device="cpu", max_length=args.max_length)
        rows[name] = geometry(encoder.encode_documents(texts), langs, keys)
        log.info("%s %s", name, rows[name])
    columns = list(next(iter(rows.values())))
    lines = ["| model | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(f"{v:.3f}" for v in row.values()) + " |" for name, row in rows.items()]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
