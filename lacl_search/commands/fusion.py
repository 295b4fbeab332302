"""``lacl-search fusion``: fit language-aware fusion weights on saved leg runs, and attach them to an index.

- ``lacl-search fusion fit --legs runs/legs --data data/ddtp --benchmarks xling-de-en mixed ... --model default
  --output profile.json``: per-leg runs (``benchmarks/fusion_legs.py``) of the training languages' dev
  benchmarks in, a :class:`~lacl_search.core.fusion_profile.FusionProfile` out. ``--half fit`` uses only the
  queries of one deterministic half, so the other half can report honest numbers.
- ``lacl-search fusion apply --index docs --profile profile.json``: store the profile in the index's
  ``_meta`` (refused when it was fitted for another encoder than the one that filled the index), where hybrid
  search with ``--fusion language`` (and the default ``auto``) finds it.
- ``lacl-search fusion lexicon --parallel data/ddtp/train/parallel.jsonl --name ddtp``: learn the
  query-translation lexicon (IBM Model 1 on the training languages' parallel pairs) into
  ``$LACL_HOME/lexicons/ddtp.json.gz``; leg runs made with it (``fusion_legs.py --lexicon ddtp``) give a
  profile that names it, and search then translates queries for the other-language BM25 partition. With
  ``--model M`` it also encodes the lexicon's English words with that encoder once, for the translations
  learned fusion induces for the languages the lexicon lacks (:mod:`lacl_search.core.induced`; otherwise the
  first such search does it).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
from pathlib import Path

from lacl_search.core.queries import HYBRID_DEPTH
from lacl_search.core.settings import ClusterSettings

log = logging.getLogger(__name__)
TRAIN_LANGS = ("en", "de", "fr", "es", "it", "ja", "ru", "zh", "pt")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("fusion", help="fit language-aware fusion weights; attach them to an index",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="fusion_command", metavar="ACTION", required=True)
    fit = sub.add_parser("fit", help="fit per-language weights on saved leg runs")
    fit.add_argument("--legs", type=Path, required=True, help="folder with one sub-folder of leg runs per benchmark")
    fit.add_argument("--data", type=Path, required=True, help="folder of the BEIR benchmarks (for the qrels)")
    fit.add_argument("--benchmarks", nargs="+", required=True, help="training-language dev benchmarks to fit on")
    fit.add_argument("--train-langs", nargs="+", default=list(TRAIN_LANGS),
                     help="query languages that get weights of their own (default: the training languages)")
    fit.add_argument("--model", default="default", help="the encoder the legs were run with (its fingerprint)")
    fit.add_argument("--half", choices=["all", "fit", "report"], default="all",
                     help="use all queries, or one deterministic half of them (fit on one, report on the other)")
    fit.add_argument("--step", type=float, default=0.1, help="grid step over the weight simplex")
    fit.add_argument("--leg-depth", type=int, default=HYBRID_DEPTH,
                     help="cut each leg to its top D before fusing, as the server's hybrid query does with "
                          f"pagination_depth D (default: search's depth, {HYBRID_DEPTH}; 0: the whole runs)")
    fit.add_argument("--ranker", action="store_true",
                     help="also fit a learned fusion (LambdaMART over the legs) on the same queries, for "
                          "`search --fusion learned` (client-side; lacl_search.core.fusion_ranker)")
    fit.add_argument("--output", type=Path, required=True, help="profile JSON to write")
    fit.set_defaults(func=run_fit)
    apply = sub.add_parser("apply", help="store a fitted profile in an index's _meta")
    apply.add_argument("--index", required=True, help="index alias")
    apply.add_argument("--profile", type=Path, required=True, help="profile JSON from 'fusion fit'")
    ClusterSettings.add_arguments(apply)
    apply.set_defaults(func=run_apply)
    lexicon = sub.add_parser("lexicon", help="learn the query-translation lexicon from parallel pairs")
    lexicon.add_argument("--parallel", type=Path, default=Path("data/ddtp/train/parallel.jsonl"),
                         help="parallel pairs (JSONL: source = English, target, lang, kind) "
                              "[data/ddtp/train/parallel.jsonl, from 'lacl-search data ddtp']")
    lexicon.add_argument("--name", default="ddtp", help="the name profiles refer to it by [ddtp]")
    lexicon.add_argument("--langs", nargs="+", default=[], help="source languages (default: all in the file)")
    lexicon.add_argument("--output", type=Path, help="file to write (default: $LACL_HOME/lexicons/NAME.json.gz)")
    lexicon.add_argument("--stemmer", choices=["snowball", "none"], default="snowball",
                         help="normalise source words with Snowball stemmers before alignment [snowball]")
    lexicon.add_argument("--if-missing", action="store_true",
                         help="keep a lexicon already there when it was built the same way (re-runs)")
    lexicon.add_argument("--model", help="also encode the lexicon's target words with this encoder (default, a "
                                         "folder or hub id) for induced translations (kept beside the lexicon)")
    lexicon.set_defaults(func=run_lexicon)


def in_half(query_id: str, half: str) -> bool:
    """Deterministic halves of a query set: ``fit`` and ``report`` by the md5 of the id."""
    if half == "all":
        return True
    even = int(hashlib.md5(query_id.encode()).hexdigest(), 16) % 2 == 0
    return even if half == "fit" else not even


def load_legs(legs_dir: Path, data: Path, name: str, half: str = "all"):
    """One benchmark's :class:`~lacl_search.evaluation.fusion_fit.LegRuns` (the queries of ``half``)."""
    from lacl_search.errors import ArtifactMissing
    from lacl_search.evaluation import beir, runs
    from lacl_search.evaluation.fusion_fit import LegRuns

    folder = legs_dir / name
    if not (folder / "query_langs.json").is_file():
        raise ArtifactMissing(f"no leg runs for {name} in {folder} (run benchmarks/fusion_legs.py)")
    langs = json.loads((folder / "query_langs.json").read_text(encoding="utf-8"))
    legs = {path.stem: runs.read_trec_run(path) for path in folder.glob("*.trec")}
    qrels = {q: r for q, r in beir.load_qrels(data / name).items() if q in langs and in_half(q, half)}
    return LegRuns(name, legs, langs, qrels)


def legs_lexicon(legs_dir: Path, names: list[str]) -> str | None:
    """The lexicon the benchmarks' legs were run with (``legs.json``; None: without); all must agree."""
    from lacl_search.errors import ConfigError

    used = {}
    for name in names:
        meta = legs_dir / name / "legs.json"
        used[name] = json.loads(meta.read_text(encoding="utf-8")).get("lexicon") if meta.is_file() else None
    if len(set(used.values())) > 1:
        raise ConfigError("the leg runs were made with different lexicons: "
                          + ", ".join(f"{n}={v}" for n, v in sorted(used.items())))
    return next(iter(used.values()), None)


def run_fit(args: argparse.Namespace) -> int:
    from lacl_search.core.encoder import Encoder
    from lacl_search.core.lexicon import load_lexicon
    from lacl_search.errors import ConfigError
    from lacl_search.evaluation.fusion_fit import fit_profile, fit_ranker

    if args.leg_depth < 0:
        raise ConfigError(f"--leg-depth must be 0 (whole runs) or a positive number of hits, got {args.leg_depth}")
    depth = args.leg_depth or None
    benches = [load_legs(args.legs, args.data, name, args.half).cut(depth) for name in args.benchmarks]
    fingerprint = Encoder.load(args.model).fingerprint()
    lexicon = legs_lexicon(args.legs, args.benchmarks)
    profile = fit_profile(benches, languages=args.train_langs, encoder_fingerprint=fingerprint, step=args.step,
                          lexicon=lexicon)
    if args.ranker:
        covered = load_lexicon(lexicon).languages if lexicon else ()
        ranker = fit_ranker(benches, profile, languages=args.train_langs, covered=covered)
        profile = dataclasses.replace(profile, ranker=ranker)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(profile.to_json(), encoding="utf-8")
    sys.stdout.write(f"{args.output}\n")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from lacl_search.core.fusion_profile import FusionProfile
    from lacl_search.errors import ConfigError
    from lacl_search.serving import profiles
    from lacl_search.serving.client import connect, translate_errors

    profile = FusionProfile.read(args.profile)
    client = connect(ClusterSettings.from_args(args))
    with translate_errors(args.index):
        stored = profiles.attach(client, args.index, profile)
    if not stored:
        raise ConfigError(f"the profile was fitted for encoder {profile.encoder_fingerprint}, "
                          f"not the one that filled {args.index!r}: fit it again for this index's model")
    profiles.lexicon_named(profile.lexicon)  # warns now when this machine lacks the profile's lexicon
    sys.stdout.write(json.dumps({"index": args.index, "indices": stored}) + "\n")
    return 0


def run_lexicon(args: argparse.Namespace) -> int:
    from lacl_search.core.lexicon import Lexicon, lexicon_path
    from lacl_search.evaluation.lexicon_fit import ITERATIONS, fit_lexicon

    path = args.output or lexicon_path(args.name)
    stemmer = None if args.stemmer == "none" else args.stemmer
    lexicon = None
    if args.if_missing and path.is_file():
        there = Lexicon.from_file(path)  # a damaged file is an error, not a silent keep
        if there.stemmer == stemmer and there.meta.get("iterations") == ITERATIONS:
            lexicon = there
        else:
            log.info("%s was built another way (stemmer %s, %s iterations): building it again", path,
                     there.stemmer, there.meta.get("iterations"))
    if lexicon is None:
        lexicon = fit_lexicon(args.parallel, name=args.name, langs=args.langs, stemmer=stemmer)
        path = lexicon.to_file(path)
    if args.model:
        from lacl_search.core.encoding import load_encoder
        from lacl_search.core.induced import load_induced

        encoder = load_encoder(args.model)
        load_induced(lexicon, fingerprint=encoder.fingerprint(), encode=encoder.encode_queries)
    sys.stdout.write(f"{path}\n")
    return 0
