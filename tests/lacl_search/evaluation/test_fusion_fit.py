"""Fitting language-aware fusion weights on saved leg runs: the grid, the per-language choice, fallbacks."""

import dataclasses
import json
import shutil

import pytest

from lacl_search import cli
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.evaluation import beir, runs
from lacl_search.evaluation.fusion_fit import (
    LegRuns,
    fit_profile,
    fit_ranker,
    fuse_benchmark,
    fuse_query,
    rank_benchmark,
    simplex,
)
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder


def test_simplex_covers_the_grid():
    points = simplex(3, 0.5)
    assert sorted(points) == sorted([(0, 0, 1), (0, 0.5, 0.5), (0, 1, 0), (0.5, 0, 0.5), (0.5, 0.5, 0), (1, 0, 0)])
    assert len(simplex(3, 0.1)) == 66 and all(abs(sum(p) - 1) < 1e-9 for p in simplex(2, 0.1))


def _bench():
    """German queries are answered by the same-language leg, French ones by dense; q3's language is unknown
    and only plain BM25 (bm25_base) finds its document."""
    legs = {
        "bm25_same": {"q1": {"d1": 5.0, "x": 4.0}, "q2": {"x": 3.0, "y": 1.0}},
        "bm25_other": {"q1": {"y": 9.0, "z": 1.0}, "q2": {"z": 2.0, "y": 1.0}},
        "dense": {"q1": {"x": 0.9, "d1": 0.1}, "q2": {"d2": 0.9, "x": 0.8}, "q3": {"x": 0.9, "d3": 0.8}},
        "bm25_base": {"q3": {"d3": 2.0, "x": 1.0}},
    }
    langs = {"q1": "de", "q2": "fr", "q3": None}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}}
    return LegRuns("toy", legs, langs, qrels)


def test_fit_picks_the_leg_that_answers_each_language():
    profile = fit_profile([_bench()], languages=["de", "fr"], encoder_fingerprint="f", step=0.5, min_queries=1)
    same, other, dense = profile.weights_for("de")
    assert same > dense and same > other
    assert profile.weights_for("fr")[2] == max(profile.weights_for("fr"))
    bm25, dense = profile.weights_for(None)
    assert bm25 > dense
    fused = fuse_benchmark(_bench(), profile)
    assert [max(fused[q], key=fused[q].get) for q in ("q1", "q2", "q3")] == ["d1", "d2", "d3"]


def test_languages_outside_the_fit_use_the_fallback():
    profile = fit_profile([_bench()], languages=["de"], encoder_fingerprint="f", step=0.5, min_queries=1)
    assert "fr" not in profile.languages and profile.weights_for("fr") == profile.languages["*"]


def test_fuse_query_is_min_max_per_leg():
    fused = fuse_query(_bench().legs, "q1", "de", (0.5, 0.0, 0.5))
    assert fused == pytest.approx({"d1": 0.5 * 1 + 0.5 * 0, "x": 0.5 * 0 + 0.5 * 1, "y": 0, "z": 0})


def test_cut_keeps_each_querys_top_hits_as_the_server_depth_does():
    bench = _bench()
    cut = bench.cut(1)
    assert cut.legs["bm25_same"] == {"q1": {"d1": 5.0}, "q2": {"x": 3.0}}
    assert cut.legs["dense"]["q3"] == {"x": 0.9} and cut.qrels == bench.qrels
    assert bench.cut(None) is bench and bench.legs["dense"]["q3"] == {"x": 0.9, "d3": 0.8}


def test_fitting_on_legs_cut_to_the_server_depth():
    """At depth 1 dense keeps only q3's wrong top hit, so plain BM25 alone must carry d3."""
    shallow = fit_profile([_bench().cut(1)], languages=["de"], encoder_fingerprint="f", step=0.5, min_queries=1)
    assert shallow.weights_for(None) == (1.0, 0.0)
    fused = fuse_benchmark(_bench().cut(1), shallow)
    assert max(fused["q3"], key=fused["q3"].get) == "d3"


def test_fusion_fit_command_fits_at_the_leg_depth(tmp_path):
    """``lacl-search fusion fit`` end to end on saved legs: a judged document sits at rank 2 of every leg, so
    fusing the whole runs finds it (nDCG@10 > 0) while legs cut to depth 1 never contain it."""
    shutil.copytree(FIXTURES / "beir-mini", tmp_path / "data" / "toy")
    qrels = beir.load_qrels(tmp_path / "data" / "toy")
    model = build_tiny_encoder(seed=4).eval().save_pretrained(tmp_path / "model")
    legs = tmp_path / "legs" / "toy"
    legs.mkdir(parents=True)
    langs = {q: q.split("-")[1] for q in qrels}
    (legs / "query_langs.json").write_text(json.dumps(langs), encoding="utf-8")
    for leg in ("bm25_same", "bm25_other", "bm25_base", "dense"):
        run = {q: {"wrong": 2.0, next(iter(rels)): 1.0, "other": 0.5} for q, rels in qrels.items()}
        runs.write_trec_run(legs / f"{leg}.trec", run, leg)
    profiles = {}
    for depth in ("0", "1"):
        out = tmp_path / f"profile-{depth}.json"
        code = cli.main(["fusion", "fit", "--legs", str(tmp_path / "legs"), "--data", str(tmp_path / "data"),
                         "--benchmarks", "toy", "--model", str(model), "--leg-depth", depth, "--output", str(out),
                         "--step", "0.5"])
        assert code == 0
        profiles[depth] = FusionProfile.from_json(out.read_text(encoding="utf-8"))
    assert profiles["0"].notes["*"] > 0 and profiles["1"].notes["*"] == 0
    assert profiles["0"].encoder_fingerprint == profiles["1"].encoder_fingerprint
    assert profiles["0"].ranker is None
    out = tmp_path / "profile-ranker.json"
    assert cli.main(["fusion", "fit", "--legs", str(tmp_path / "legs"), "--data", str(tmp_path / "data"),
                     "--benchmarks", "toy", "--model", str(model), "--output", str(out), "--step", "0.5",
                     "--ranker"]) == 0
    learned = FusionProfile.from_json(out.read_text(encoding="utf-8"))
    assert learned.ranker is not None and learned.languages == profiles["0"].languages


def test_the_fallback_is_fitted_on_the_untranslated_leg():
    """With a lexicon, bm25_other finds q2's document only through translation; languages without a table
    (the fallback) get bm25_other_plain, which does not find it, so ``*`` must not lean on that leg."""
    bench = _bench()
    bench = LegRuns("toy", {**bench.legs, "dense": {**bench.legs["dense"], "q2": {"x": 0.9, "d2": 0.8}}},
                    bench.query_langs, bench.qrels)  # dense ranks q2's document second
    legs = {**bench.legs, "bm25_other": {**bench.legs["bm25_other"], "q2": {"d2": 5.0, "z": 1.0}},
            "bm25_other_plain": bench.legs["bm25_other"]}
    translated = LegRuns("toy", legs, bench.query_langs, bench.qrels)
    profile = fit_profile([translated], languages=["fr"], encoder_fingerprint="f", step=0.5, min_queries=1,
                          lexicon="ddtp")
    assert profile.lexicon == "ddtp" and profile.weights_for("fr")[1] > 0  # fr has a table: other leg helps
    plain = fit_profile([bench], languages=["fr"], encoder_fingerprint="f", step=0.5, min_queries=1)
    assert profile.languages["*"] == plain.languages["*"]  # the fallback as without translation
    assert translated.untranslated().legs["bm25_other"] == bench.legs["bm25_other"] and bench.untranslated() is bench


def _agreement(n: int, seed: int) -> LegRuns:
    """German queries whose judged document is ranked second by both the same-language BM25 leg and dense;
    each leg's own first hit is a distractor the other leg does not find."""
    import random

    rng = random.Random(seed)
    legs: dict = {"bm25_same": {}, "bm25_other": {}, "bm25_other_plain": {}, "dense": {}}
    for i in range(n):
        q = f"q{i}"
        legs["bm25_same"][q] = {f"b{i}": 10 + rng.random(), f"r{i}": 6 + rng.random(), f"c{i}": 1.0}
        legs["dense"][q] = {f"a{i}": 0.9, f"r{i}": 0.5 + rng.random() / 10, f"e{i}": 0.45}
        legs["bm25_other"][q] = legs["bm25_other_plain"][q] = {f"o{i}": 3.0}
    return LegRuns("agree", legs, {f"q{i}": "de" for i in range(n)}, {f"q{i}": {f"r{i}": 1} for i in range(n)})


def test_the_ranker_learns_what_no_single_leg_ranks_first():
    """Fitted on one set of queries, the ranker puts the document both legs found first on new ones; every
    leg alone ranks a distractor first."""
    train, test = _agreement(300, seed=1), _agreement(50, seed=2)
    profile = fit_profile([train], languages=["de"], encoder_fingerprint="f", step=0.5, min_queries=1)
    ranker = fit_ranker([train], profile, languages=["de"], covered=["de"], trees=20)
    learned = rank_benchmark(test, dataclasses.replace(profile, ranker=ranker), covered=["de"])
    assert all(max(run, key=run.get) == f"r{q[1:]}" for q, run in learned.items())
    assert all(max(test.legs[leg][q], key=test.legs[leg][q].get) != f"r{q[1:]}"
               for leg in ("bm25_same", "dense") for q in test.qrels)
    with pytest.raises(ValueError, match="no ranker"):
        rank_benchmark(test, profile)


def _translated_first(n: int, seed: int) -> LegRuns:
    """German queries whose judged document only the translated dense leg ranks first."""
    import random

    rng = random.Random(seed)
    legs: dict = {"bm25_same": {}, "bm25_other": {}, "bm25_other_plain": {}, "dense": {}, "dense_translated": {}}
    for i in range(n):
        q = f"q{i}"
        legs["bm25_same"][q] = {f"b{i}": 10 + rng.random(), f"c{i}": 1.0}
        legs["dense"][q] = {f"a{i}": 0.9, f"e{i}": 0.8, f"r{i}": 0.5 + rng.random() / 10}
        legs["dense_translated"][q] = {f"r{i}": 0.8 + rng.random() / 10, f"a{i}": 0.7}
        legs["bm25_other"][q] = legs["bm25_other_plain"][q] = {f"o{i}": 3.0}
    return LegRuns("translated", legs, {f"q{i}": "de" for i in range(n)}, {f"q{i}": {f"r{i}": 1} for i in range(n)})


def test_the_ranker_learns_the_translated_dense_leg_which_untranslated_copies_lack():
    train, test = _translated_first(300, seed=1), _translated_first(50, seed=2)
    assert "dense_translated" not in train.untranslated().legs and "dense_translated" in train.legs
    profile = fit_profile([train], languages=["de"], encoder_fingerprint="f", step=0.5, min_queries=1)
    ranker = fit_ranker([train], profile, languages=["de"], covered=["de"], trees=20)
    assert ranker.uses_translated_dense  # so search sends the leg
    learned = rank_benchmark(test, dataclasses.replace(profile, ranker=ranker), covered=["de"])
    assert all(max(run, key=run.get) == f"r{q[1:]}" for q, run in learned.items())


def test_induced_legs_stand_in_for_the_languages_the_lexicon_lacks():
    """Golden: with tables for ``keep``, a query of another language has its induced legs (or, without any,
    the untranslated leg and no translated dense leg); English and covered queries keep theirs."""
    legs = {"bm25_other": {"de": {"t": 1.0}, "cs": {"p": 1.0}, "en": {"e": 1.0}, "pl": {"p2": 1.0}},
            "bm25_other_plain": {"de": {"p": 1.0}, "cs": {"p": 1.0}, "en": {"e": 1.0}, "pl": {"p2": 1.0}},
            "dense_translated": {"de": {"td": 1.0}},
            "bm25_other_induced": {"de": {"i": 1.0}, "cs": {"i": 2.0}},
            "dense_translated_induced": {"de": {"id": 1.0}, "cs": {"id": 2.0}}}
    bench = LegRuns("b", legs, {"de": "de", "cs": "cs", "en": "en", "pl": "pl"},
                    {q: {"x": 1} for q in ("de", "cs", "en", "pl")})
    assert bench.has_induced
    assert bench.induced_queries(["de"]) == {"cs"} and bench.induced_queries(()) == {"de", "cs"}
    covered = bench.induced(["de"]).legs
    assert covered["bm25_other"] == {"de": {"t": 1.0}, "cs": {"i": 2.0}, "en": {"e": 1.0}, "pl": {"p2": 1.0}}
    assert covered["dense_translated"] == {"de": {"td": 1.0}, "cs": {"id": 2.0}}
    none = bench.induced(()).legs  # as if no language had a table: the training copy of covered queries
    assert none["bm25_other"] == {"de": {"i": 1.0}, "cs": {"i": 2.0}, "en": {"e": 1.0}, "pl": {"p2": 1.0}}
    assert none["dense_translated"] == {"de": {"id": 1.0}, "cs": {"id": 2.0}}
    assert not LegRuns("b", {"bm25_other": {}}, {}, {}).has_induced


def _induced_first(n: int, seed: int, lang: str) -> LegRuns:
    """Queries of ``lang`` whose judged document only the translated dense leg of their induced translations
    ranks first (the lexicon's own translations, for German, find nothing better than dense)."""
    import random

    rng = random.Random(seed)
    legs: dict = {name: {} for name in ("bm25_same", "bm25_other", "bm25_other_plain", "dense", "dense_translated",
                                        "bm25_other_induced", "dense_translated_induced")}
    for i in range(n):
        q = f"q{i}"
        legs["bm25_same"][q] = {f"b{i}": 10 + rng.random(), f"c{i}": 1.0}
        legs["dense"][q] = {f"a{i}": 0.9, f"e{i}": 0.8, f"r{i}": 0.5 + rng.random() / 10}
        legs["dense_translated"][q] = {f"a{i}": 0.8}
        legs["dense_translated_induced"][q] = {f"r{i}": 0.8 + rng.random() / 10, f"a{i}": 0.7}
        legs["bm25_other"][q] = legs["bm25_other_plain"][q] = legs["bm25_other_induced"][q] = {f"o{i}": 3.0}
    return LegRuns(lang, legs, {f"q{i}": lang for i in range(n)}, {f"q{i}": {f"r{i}": 1} for i in range(n)})


def test_the_ranker_fitted_with_induced_copies_uses_them_for_a_language_without_a_table():
    train, test = _induced_first(300, seed=1, lang="de"), _induced_first(50, seed=2, lang="cs")
    profile = fit_profile([train], languages=["de"], encoder_fingerprint="f", step=0.5, min_queries=1)
    ranker = fit_ranker([train], profile, languages=["de"], covered=["de"], trees=20)
    assert ranker.induces and ranker.features[-1] == "lang_induced"
    learned = rank_benchmark(test, dataclasses.replace(profile, ranker=ranker), covered=["de"])
    assert all(max(run, key=run.get) == f"r{q[1:]}" for q, run in learned.items())  # Czech: induced legs
    plain = {k: v for k, v in train.legs.items() if not k.endswith("_induced")}
    older = fit_ranker([dataclasses.replace(train, legs=plain)], profile, languages=["de"], covered=["de"], trees=5)
    assert not older.induces and "lang_induced" not in older.features
    with pytest.raises(ValueError, match="run the legs with a lexicon"):
        rank_benchmark(dataclasses.replace(test, legs=plain), dataclasses.replace(profile, ranker=ranker))
