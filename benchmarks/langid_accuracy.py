"""Benchmark: language identification of short queries, per language, on the dev queries (languages known).

Usage: python benchmarks/langid_accuracy.py [--data data/ddtp] [--benchmark mixed] [--mode low|high]
    [--min-confidence 0.6 ...]

Prints, per true language and overall: accuracy (detected == true), wrong (detected another language)
and unsure (no answer), for each confidence threshold; the detector is the library's
(``lacl_search.core.langid``: lingua over a fixed candidate set).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from lacl_search.core import langid

log = logging.getLogger("langid-bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/ddtp"))
    parser.add_argument("--benchmark", default="mixed", help="BEIR folder whose queries carry 'lang'")
    parser.add_argument("--min-confidence", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.6, 0.8])
    parser.add_argument("--mode", choices=["low", "high", "query"], default="query",
                        help="lingua low- or high-accuracy mode alone, or the library's query detector")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    rows = [json.loads(line) for line in (args.data / args.benchmark / "queries.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r.get("lang")]
    if args.mode == "query":
        langid.detect_query_language("warm up both detectors")
        langid.confidences("warm up", langid._precise_detector())

        def detect(text: str) -> list[tuple[str, float]]:
            found = langid.detect_query_language(text)
            return [(found, 1.0)] if found else []
    else:
        detector = langid.build_detector(high_accuracy=args.mode == "high")
        langid.confidences("warm up", detector)

        def detect(text: str) -> list[tuple[str, float]]:
            return langid.confidences(text, detector)
    start = time.perf_counter()
    scored = [(langid.normalize_lang(r["lang"]), detect(r["text"])) for r in rows]
    ms = 1000 * (time.perf_counter() - start) / len(rows)
    print(f"{len(rows)} queries of {args.benchmark}, lingua {args.mode}-accuracy mode, {ms:.2f} ms per query")
    for threshold in args.min_confidence:
        per: dict[str, Counter] = defaultdict(Counter)
        for truth, values in scored:
            best = values[0] if values else None
            guess = best[0] if best and best[1] >= threshold else None
            per[truth]["n"] += 1
            per[truth]["ok" if guess == truth else "unsure" if guess is None else "wrong"] += 1
        total = sum((c for c in per.values()), Counter())
        print(f"\nmin confidence {threshold}: accuracy {total['ok'] / total['n']:.3f}, "
              f"wrong {total['wrong'] / total['n']:.3f}, unsure {total['unsure'] / total['n']:.3f}")
        print("| lang | n | accuracy | wrong | unsure |\n|---|---|---|---|---|")
        for lang, c in sorted(per.items()):
            n = c["n"]
            print(f"| {lang} | {n} | {c['ok'] / n:.2f} | {c['wrong'] / n:.2f} | {c['unsure'] / n:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
