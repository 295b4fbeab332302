"""Learned language-aware fusion: a small tree ensemble (LambdaMART) that re-scores the legs' candidates.

A fitted profile's weights are one linear mix of min-max scores per query language. The ranker sees more
of each candidate: for every leg (BM25 in the query's language, BM25 over the other languages, dense, BM25
over all documents when the language is unknown, and dense over the query's translations) its min-max
score, its reciprocal rank and whether the leg found it at all, plus the profile's own fused score and a
few facts about the query (language known, the lexicon covers it, English, how peaked the dense leg is, its
translations induced from the encoder for a language the lexicon lacks: :mod:`lacl_search.core.induced`).
Trees let the weight of a leg depend on those: e.g. a BM25 hit that dense also ranks high counts more than
one dense ignores.

The translated dense leg (``dense_translated``) is the k-NN of the query's lexicon translations (the
English terms the other-language BM25 partition searches, joined into one text and encoded by the same
encoder) over the documents in the lexicon's target language: "translate, then retrieve" beside the
encoder's own cross-lingual match, so the two dense legs disagree where one of them is wrong.

It is fitted offline on the same saved leg runs as the weights (``lacl-search fusion fit --ranker``,
:func:`lacl_search.evaluation.fusion_fit.fit_ranker`, LightGBM's ``lambdarank``), exported as plain
arrays and stored in the profile; this module evaluates it with numpy (serving needs no LightGBM). It
needs each leg's raw hits, so it runs on the client over one ``_msearch`` of the legs.

Reference: Burges, "From RankNet to LambdaRank to LambdaMART: An Overview", MSR-TR-2010-82; Ke et al.,
"LightGBM", NeurIPS 2017.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lacl_search.core import fusion
from lacl_search.errors import ConfigError

Run = Mapping[str, float]
TRANSLATED_DENSE = "dense_translated"
LEGS = ("bm25_same", "bm25_other", "dense", "bm25_base", TRANSLATED_DENSE)
PER_LEG = ("mm", "rr", "found")
INDUCED = "lang_induced"  # the query's translations came from the encoder (lacl_search.core.induced), not a table
FEATURES = (*(f"{leg}:{kind}" for leg in LEGS for kind in PER_LEG),
            "profile", "lang_known", "lang_covered", "lang_en", "dense_gap", INDUCED)
GAP_RANK = 10  # dense_gap: the dense leg's best score minus its 10th (or last) best


def query_legs(legs: Mapping[str, Run], lang: str | None) -> dict[str, Run]:
    """The legs a query of ``lang`` has: four with a language (same, other, dense, translated dense: empty
    when the query was not translated), two without (base, dense); the others empty."""
    present = ("bm25_same", "bm25_other", "dense", TRANSLATED_DENSE) if lang is not None else ("bm25_base", "dense")
    return {leg: legs.get(leg, {}) if leg in present else {} for leg in LEGS}


def features(legs: Mapping[str, Run], lang: str | None, *, covered: bool, weights: Sequence[float],
             induced: bool = False) -> tuple[list[str], np.ndarray]:
    """The candidates (every document any leg found, sorted by id) and their feature matrix
    (``len(docs) x len(FEATURES)``, float32).

    ``legs``: each leg's run as returned (the query's legs only, see :func:`query_legs`); ``covered``:
    whether the query's translations were searched (the lexicon has a table for ``lang``); ``induced``: its
    translations were induced from the encoder instead (:mod:`lacl_search.core.induced`); ``weights``: the
    profile's weights for ``lang`` (``(same, other, dense)`` or ``(bm25, dense)``), for the ``profile``
    feature.
    """
    runs = query_legs(legs, lang)
    names = ("bm25_same", "bm25_other", "dense") if lang is not None else ("bm25_base", "dense")
    profile = fusion.min_max_fusion([runs[n] for n in names], list(weights))
    docs = sorted(set().union(*runs.values()))
    dense_top = [s for _, s in fusion.top_k(runs["dense"], GAP_RANK)]
    query = [float(lang is not None), float(covered and lang is not None), float(lang == "en"),
             dense_top[0] - dense_top[-1] if dense_top else 0.0, float(induced and lang is not None)]
    columns = []
    for leg in LEGS:
        run = runs[leg]
        normalised = fusion.min_max_normalize(run) if run else {}
        rank = {doc: i for i, (doc, _) in enumerate(fusion.top_k(run, len(run)), start=1)}
        columns += [[normalised.get(d, 0.0) for d in docs], [1.0 / rank[d] if d in rank else 0.0 for d in docs],
                    [float(d in run) for d in docs]]
    columns.append([profile.get(d, 0.0) for d in docs])
    matrix = np.column_stack([np.asarray(c, dtype=np.float32) for c in columns]) if docs else \
        np.zeros((0, len(FEATURES) - len(query)), dtype=np.float32)
    tail = np.tile(np.asarray(query, dtype=np.float32), (len(docs), 1))
    return docs, np.hstack([matrix, tail])


@dataclass(frozen=True)
class TreeRanker:
    """A sum of binary regression trees over named features (a LambdaMART model as plain arrays).

    Each tree is five equal-length lists over its nodes: ``feature`` (an index into ``features``, -1 for a
    leaf), ``threshold`` (go left when ``x[feature] <= threshold``), ``left``, ``right`` (node indices) and
    ``value`` (a leaf's output); node 0 is the root. ``features`` names the columns it was fitted on, each one
    of :data:`FEATURES` (a ranker fitted before a leg was added keeps working without it; a name this
    version does not compute is refused, not misread).
    """

    trees: tuple[Mapping[str, Sequence[float]], ...]
    features: tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        if unknown := [f for f in self.features if f not in FEATURES]:
            raise ConfigError(f"the profile's ranker uses features {unknown} this version does not compute "
                              f"({list(FEATURES)}): fit it again")
        if not self.trees:
            raise ConfigError("a ranker needs at least one tree")
        width = max(len(t["feature"]) for t in self.trees)
        arrays = {key: np.zeros((len(self.trees), width), dtype=dtype) for key, dtype in
                  (("feature", np.int64), ("threshold", np.float64), ("left", np.int64), ("right", np.int64),
                   ("value", np.float64))}
        for i, tree in enumerate(self.trees):
            sizes = {len(tree[key]) for key in arrays}
            if len(sizes) != 1:
                raise ConfigError(f"ranker tree {i}: node lists of different lengths")
            for key, array in arrays.items():
                array[i, : len(tree[key])] = tree[key]
            arrays["feature"][i, len(tree["feature"]):] = -1  # padding: leaves of value 0, never reached
        if arrays["feature"].max() >= len(self.features) or ((arrays["feature"] >= 0) & (
                (arrays["left"] >= width) | (arrays["right"] >= width) | (arrays["left"] <= 0))).any():
            raise ConfigError("a ranker tree points outside its nodes or features")
        object.__setattr__(self, "_arrays", arrays)
        object.__setattr__(self, "_columns", np.asarray([FEATURES.index(f) for f in self.features]))
        split = arrays["feature"]
        object.__setattr__(self, "_reads_translated", any(
            self.features[i].startswith(f"{TRANSLATED_DENSE}:") for i in np.unique(split[split >= 0])))
        object.__setattr__(self, "_induces", INDUCED in self.features)

    @property
    def uses_translated_dense(self) -> bool:
        """Whether a split reads the translated dense leg (so search requests it)."""
        return self._reads_translated  # type: ignore[attr-defined]

    @property
    def induces(self) -> bool:
        """Whether it was fitted with induced translations for the languages the lexicon lacks (so search
        induces them: :mod:`lacl_search.core.induced`)."""
        return self._induces  # type: ignore[attr-defined]

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """The ensemble's output for each row of ``matrix`` (``n x len(FEATURES)``, as :func:`features` gives)."""
        a = self._arrays  # type: ignore[attr-defined]
        matrix = matrix[:, self._columns]  # type: ignore[attr-defined]
        n, trees = matrix.shape[0], len(self.trees)
        node = np.zeros((n, trees), dtype=np.int64)
        cols = np.arange(trees)[None, :]
        rows = np.arange(n)[:, None]
        for _ in range(a["feature"].shape[1]):  # a path is never longer than the node count
            feature = a["feature"][cols, node]
            inner = feature >= 0
            if not inner.any():
                break
            x = matrix[rows, np.where(inner, feature, 0)].astype(np.float64)
            step = np.where(x <= a["threshold"][cols, node], a["left"][cols, node], a["right"][cols, node])
            node = np.where(inner, step, node)
        return a["value"][cols, node].sum(axis=1)

    def fuse(self, legs: Mapping[str, Run], lang: str | None, *, covered: bool, weights: Sequence[float],
             induced: bool = False) -> dict[str, float]:
        """Every candidate's learned score (``{doc_id: score}``), as :func:`fusion.min_max_fusion` gives
        the linear one."""
        docs, matrix = features(legs, lang, covered=covered, weights=weights, induced=induced)
        return dict(zip(docs, self.score(matrix).tolist(), strict=True)) if docs else {}

    def to_dict(self) -> dict:
        return {"features": list(self.features), "trees": [{k: list(v) for k, v in t.items()} for t in self.trees]}

    @classmethod
    def from_dict(cls, data: Mapping) -> TreeRanker:
        try:
            trees = tuple({key: list(tree[key]) for key in ("feature", "threshold", "left", "right", "value")}
                          for tree in data["trees"])
            return cls(trees=trees, features=tuple(data["features"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not a fusion ranker: {exc}") from None


def _flatten(node: Mapping, nodes: dict[str, list]) -> int:
    """Append LightGBM's nested ``node`` (and its subtree) to the flat ``nodes`` lists; return its index."""
    index = len(nodes["feature"])
    for values in nodes.values():
        values.append(0)
    if "split_feature" not in node:  # a leaf (a tree of one leaf has only ``leaf_value``)
        nodes["feature"][index] = -1
        nodes["value"][index] = float(node.get("leaf_value", 0.0))
        return index
    if node.get("decision_type", "<=") != "<=":
        raise ConfigError(f"unsupported LightGBM split {node.get('decision_type')!r}")
    nodes["feature"][index] = int(node["split_feature"])
    nodes["threshold"][index] = float(node["threshold"])
    nodes["left"][index] = _flatten(node["left_child"], nodes)
    nodes["right"][index] = _flatten(node["right_child"], nodes)
    return index


def from_lightgbm(dump: Mapping, features: Sequence[str] = FEATURES) -> TreeRanker:
    """A :class:`TreeRanker` from LightGBM's ``Booster.dump_model()`` of a model fitted on the columns
    ``features`` (of :data:`FEATURES`, in that order; numerical ``<=`` splits only)."""
    trees = []
    for info in dump["tree_info"]:
        nodes: dict[str, list] = {"feature": [], "threshold": [], "left": [], "right": [], "value": []}
        _flatten(info["tree_structure"], nodes)
        trees.append(nodes)
    return TreeRanker(trees=tuple(trees), features=tuple(features))
