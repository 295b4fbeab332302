"""Reports: several encoders on BEIR dev benchmarks (exact in-memory search), and saved runs compared.

``lacl-search eval models --data DIR --model base=default --model lacl=models/lacl
--benchmarks xling-de-en mono-en mixed --out results.json --markdown results.md`` evaluates encoders;
``lacl-search eval report --dataset DIR --run base=a.trec --run lacl=b.trec`` compares saved runs with
paired t-tests (:func:`compare_runs`).

Every model sees the same (optionally capped) queries and corpora, so the table compares like with
like. Language-bias columns come from benchmarks whose rows carry ``lang`` (``mixed``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lacl_search.evaluation.geometry import parse_models
from lacl_search.evaluation.metrics import paired_difference

if TYPE_CHECKING:
    from lacl_search.evaluation.exact import Benchmark

log = logging.getLogger(__name__)

BIAS_KEYS = ("recall@100_same_lang", "recall@100_other_lang", "top10_share_query_lang")


def evaluate_models(models: dict[str, str], benches: list[Benchmark], max_length: int) -> dict[str, dict]:
    """``{model: {benchmark: metrics}}``, plus each model's evaluation seconds under ``_seconds`` and its
    per-query nDCG@10 under ``_per_query`` (``{benchmark: {query: value}}``) for paired tests."""
    from lacl_search.core.encoder import Encoder
    from lacl_search.evaluation.exact import DenseEvaluator

    results: dict[str, dict] = {}
    for name, path in models.items():
        tic = time.perf_counter()
        encoder = Encoder.load(path, device="cpu", max_length=max_length)
        evaluator = DenseEvaluator(encoder)
        results[name] = {}
        for bench in benches:
            results[name][bench.name] = evaluator.evaluate(bench)
            log.info("%s %s %s", name, bench.name, results[name][bench.name])
        results[name]["_per_query"] = {
            bench: {q: v["ndcg@10"] for q, v in values.items()} for bench, values in evaluator.per_query.items()
        }
        results[name]["_seconds"] = time.perf_counter() - tic
    return results


def _cell(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"


def markdown_table(results: dict[str, dict], benchmarks: list[str]) -> str:
    """nDCG@10 / R@100 per benchmark (rows) and model (columns), then the language-bias figures."""
    models = list(results)
    lines = [
        "| benchmark | " + " | ".join(f"{m} nDCG@10 / R@100" for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for bench in benchmarks:
        cells = [
            f"{_cell(results[m][bench].get('ndcg@10'))} / {_cell(results[m][bench].get('recall@100'))}" for m in models
        ]
        lines.append(f"| {bench} | " + " | ".join(cells) + " |")
    biased = [b for b in benchmarks if any(k in results[models[0]][b] for k in BIAS_KEYS)]
    for bench in biased:
        lines += [
            "",
            f"Language bias on `{bench}`:",
            "",
            "| model | " + " | ".join(BIAS_KEYS) + " |",
            "|---|" + "---|" * len(BIAS_KEYS),
        ]
        lines += [f"| {m} | " + " | ".join(_cell(results[m][bench].get(k)) for k in BIAS_KEYS) + " |" for m in models]
    lines += paired_table(results, benchmarks)
    return "\n".join(lines) + "\n"


def paired_table(results: dict[str, dict], benchmarks: list[str]) -> list[str]:
    """Markdown lines: each model's nDCG@10 difference from the first model, with paired t-test p."""
    models = [m for m in results if "_per_query" in results[m]]
    if len(models) < 2:
        return []
    ref = models[0]
    lines = [
        "",
        f"nDCG@10 difference from `{ref}` on the same queries (two-sided paired t-test p):",
        "",
        "| benchmark | " + " | ".join(models[1:]) + " |",
        "|---|" + "---|" * (len(models) - 1),
    ]
    for bench in benchmarks:
        cells = []
        for m in models[1:]:
            test = paired_difference(results[ref]["_per_query"][bench], results[m]["_per_query"][bench])
            cells.append(f"{test['diff']:+.3f} (p={test['p']:.2g})")
        lines.append(f"| {bench} | " + " | ".join(cells) + " |")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lacl-search eval models``."""
    parser.add_argument("--data", type=Path, required=True, help="folder holding the BEIR benchmark folders")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="an encoder to evaluate, as NAME=default|FOLDER|HUB_ID (repeatable)")
    parser.add_argument("--benchmarks", nargs="+", required=True, help="benchmark folder names under --data")
    parser.add_argument("--max-queries", type=int, default=0, help="queries per benchmark (0: all)")
    parser.add_argument("--max-corpus", type=int, default=0, help="cap a corpus: judged docs + distractors (0: all)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per text at evaluation")
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--markdown", type=Path, help="results table (markdown)")


def run(args: argparse.Namespace) -> int:
    """Evaluate every ``--model`` on every benchmark; write JSON (and markdown)."""
    from lacl_search.evaluation.exact import load_benchmark, subsample_corpus

    models = parse_models(args.model)
    benches = [
        subsample_corpus(load_benchmark(args.data / name, args.max_queries), args.max_corpus)
        for name in args.benchmarks
    ]
    results = evaluate_models(models, benches, args.max_length)
    settings = {k: v for k, v in vars(args).items() if k not in ("verbose", "func")}
    payload = {"settings": json.loads(json.dumps(settings, default=str)), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown_table(results, args.benchmarks), encoding="utf-8")
    log.info("wrote %s", args.out)
    return 0


def compare_runs(scored: dict[str, dict], metric: str = "ndcg@10") -> str:
    """A markdown table of scored runs (``{name: score_run(...) result}``): each metric, the language-bias
    figures, and each run's ``metric`` difference from the first with the paired t-test p-value."""
    names = list(scored)
    keys = ("ndcg@10", "recall@100", "mrr@10")
    lines = ["| run | " + " | ".join(keys + BIAS_KEYS) + " | diff vs " + names[0] + " (p) |",
             "|---|" + "---|" * (len(keys) + len(BIAS_KEYS) + 1)]
    reference = {q: v[metric] for q, v in scored[names[0]]["per_query"].items()}
    for name in names:
        result = scored[name]
        cells = [_cell(result.get(k)) for k in keys] + [_cell(result["language_bias"].get(k)) for k in BIAS_KEYS]
        if name == names[0]:
            cells.append("–")
        else:
            test = paired_difference(reference, {q: v[metric] for q, v in result["per_query"].items()})
            cells.append(f"{test['diff']:+.3f} (p={test['p']:.2g})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
