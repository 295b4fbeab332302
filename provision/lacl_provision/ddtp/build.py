"""Write DDTP benchmarks (BEIR format) and training files (JSONL) under one output folder.

Layout of ``out``::

    xling-<lang>-en/ mono-<lang>/ mixed/ quickstart/   corpus.jsonl, queries.jsonl, qrels/test.tsv
    train/ir.jsonl train/parallel.jsonl train/monolingual.jsonl
    manifest.json

The benchmarks use the dev split (their qrels file is named ``test.tsv`` as BEIR expects); the
training files use the train split and training languages only. Reserved md5s (and the source groups
they belong to) are left out of everything unless ``include_reserved`` is set.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lacl_provision.ddtp import ddtp, splits
from lacl_provision.ddtp.benchmarks import Benchmark, BenchmarkSpec, dev_benchmarks, quickstart
from lacl_provision.ddtp.training import ir_examples, monolingual_texts, parallel_pairs

log = logging.getLogger(__name__)

QUICKSTART_LANGS = ["en", "de", "fr", "es", "it", "ja", "ru", "zh_CN", "pt_BR", "uk", "ko"]


@dataclass
class DdtpConfig:
    """Options of ``lacl-search data ddtp``.

    Attributes:
        out: output folder.
        langs: training languages (a subset of ``ddtp.TRAIN_LANGS``).
        eval_langs: extra languages for benchmarks only (held out from training).
        seed: seed of the split and of every sample.
        bench: benchmark sizes (its ``seed`` is replaced by ``seed``).
        include_reserved: also use the reserved md5s (off: they are excluded from everything).
        refresh: re-run ``apt-get update`` even when cached lists cover the languages.
        negatives: BM25 hard negatives per IR pair.
        dev_fraction: share of source groups in the dev split.
        mono_fraction: share of the remaining groups kept for non-parallel text.
        quickstart_docs: approximate size of the ``quickstart/`` corpus.
        lists: an apt lists folder to read instead of fetching (offline use, tests).
    """

    out: Path
    langs: list[str] = field(default_factory=lambda: list(ddtp.TRAIN_LANGS))
    eval_langs: list[str] = field(default_factory=lambda: list(ddtp.HELDOUT_LANGS))
    seed: int = 13
    bench: BenchmarkSpec = field(default_factory=BenchmarkSpec)
    include_reserved: bool = False
    refresh: bool = False
    negatives: int = 4
    dev_fraction: float = 0.1
    mono_fraction: float = 0.3
    quickstart_docs: int = 4000
    lists: Path | None = None


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    """Write rows as UTF-8 JSON lines (parent folders created); return the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_beir(folder: Path, bench: Benchmark) -> dict[str, int]:
    """Write ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv`` (with header); return counts."""
    n_docs = write_jsonl(folder / "corpus.jsonl", bench.corpus)
    n_queries = write_jsonl(folder / "queries.jsonl", bench.queries)
    (folder / "qrels").mkdir(exist_ok=True)
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in bench.qrels]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"corpus": n_docs, "queries": n_queries, "qrels": len(bench.qrels)}


def check_langs(config: DdtpConfig) -> None:
    """Refuse training languages outside ``ddtp.TRAIN_LANGS`` (held-out ones never enter training)."""
    bad = sorted(set(config.langs) - set(ddtp.TRAIN_LANGS))
    if bad:
        raise ValueError(f"{bad} are not training languages; allowed: {', '.join(ddtp.TRAIN_LANGS)}")


def split_md5s(data: ddtp.DdtpData, config: DdtpConfig,
               reserved: frozenset[str]) -> tuple[dict[str, str], dict[str, str], dict]:
    """Split md5s by source group after removing ``reserved`` md5s and every group they belong to.

    Returns:
        ``(md5 -> "dev" | "train" | "mono", md5 -> source group, statistics for the manifest)``.
    """
    groups = splits.source_groups(data.packages, data.sources)
    touched = {groups[m] for m in reserved if m in groups}
    kept = {m: g for m, g in groups.items() if g not in touched}
    assigned = splits.assign_splits(kept, config.seed, config.dev_fraction, config.mono_fraction)
    stats = {
        "reserved_md5_listed": len(reserved),
        "reserved_md5_excluded": len(reserved & groups.keys()),
        "reserved_group_siblings_excluded": sum(1 for m, g in groups.items() if g in touched and m not in reserved),
        "md5": dict(sorted(Counter(assigned.values()).items())),
        "source_groups": dict(sorted(Counter(s for s, _ in {(assigned[m], g) for m, g in kept.items()}).items())),
    }
    return assigned, groups, stats


def write_training(data: ddtp.DdtpData, config: DdtpConfig, assigned: dict[str, str],
                   groups: dict[str, str]) -> dict:
    """Write ``train/{ir,parallel,monolingual}.jsonl``; return their counts per language."""
    train = {m for m, s in assigned.items() if s == "train"}
    mono: dict[str, list[str]] = defaultdict(list)
    for md5, split in assigned.items():
        if split == "mono":
            mono[groups[md5]].append(md5)
    folder = config.out / "train"
    started = time.monotonic()
    ir = ir_examples(data, train, groups, config.negatives, config.seed)
    log.info("mined %d IR pairs in %.1fs", len(ir), time.monotonic() - started)
    counts: dict[str, dict[str, int]] = {"ir": {"en": write_jsonl(folder / "ir.jsonl", ir)}}
    pairs = list(parallel_pairs(data, train, config.langs))
    write_jsonl(folder / "parallel.jsonl", pairs)
    counts["parallel"] = dict(sorted(Counter(f"{p['lang']}:{p['kind']}" for p in pairs).items()))
    texts = monolingual_texts(data, mono, config.langs, config.seed)
    write_jsonl(folder / "monolingual.jsonl", texts)
    counts["monolingual"] = dict(sorted(Counter(t["lang"] for t in texts).items()))
    return counts


def run(config: DdtpConfig) -> Path:
    """Fetch, clean, split and write everything; return the output folder."""
    check_langs(config)
    started = time.monotonic()
    all_langs = list(dict.fromkeys([*config.langs, *config.eval_langs]))
    folder = config.lists or ddtp.fetch(all_langs, refresh=config.refresh)
    data = ddtp.load(folder, all_langs)
    reserved = frozenset() if config.include_reserved else splits.reserved_md5()
    assigned, groups, split_stats = split_md5s(data, config, reserved)
    dev = {m for m, s in assigned.items() if s == "dev"}
    benchmarks = {}
    spec = replace(config.bench, seed=config.seed)
    for bench in dev_benchmarks(data, dev, all_langs, spec):
        benchmarks[bench.name] = write_beir(config.out / bench.name, bench)
    demo = quickstart(data, set(assigned), QUICKSTART_LANGS, config.quickstart_docs, config.seed)
    benchmarks["quickstart"] = write_beir(config.out / "quickstart", demo)
    training = write_training(data, config, assigned, groups)
    manifest = {
        "source": {"mirror": ddtp.MIRROR, "suite": ddtp.SUITE, "component": "main", "lists": str(folder)},
        "config": {k: v for k, v in asdict(config).items() if k not in ("out", "refresh", "lists")},
        "descriptions": {"en": len(data.english), **{k: len(v) for k, v in data.translations.items()}},
        "dropped": dict(sorted(data.dropped.items())),
        "splits": split_stats,
        "benchmarks": benchmarks,
        "training": training,
        "seconds": round(time.monotonic() - started, 1),
    }
    (config.out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    log.info("wrote %d benchmarks and training files in %.0fs", len(benchmarks), manifest["seconds"])
    return config.out
