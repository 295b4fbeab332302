"""Client-side rank fusion: reciprocal rank fusion (plain or weighted), min-max or z-score + weighted mean.

Pure functions over runs (``{doc_id: score}`` mappings). They are used where the cluster has no
neural-search plugin (one ``_msearch`` with a BM25 and a k-NN request, fused here) and mirror what
OpenSearch's ``score-ranker-processor`` and ``normalization-processor`` do server-side.

References: Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual
Rank Learning Methods", SIGIR 2009 (RRF, k = 60); pyserini ``pyserini/fusion/_base.py``; z-score
(standard score) normalisation as in OpenSearch neural-search's ``ZScoreNormalizationTechnique``
(OpenSearch 3.0, blog "Z score normalization technique for hybrid search", 2025).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Run = Mapping[str, float]


def _ranked(run: Run) -> list[str]:
    return sorted(run, key=lambda doc_id: (-run[doc_id], doc_id))


def reciprocal_rank_fusion(
    runs: Sequence[Run], k: int = 60, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Fuse runs by RRF: ``score(d) = sum_r w_r / (k + rank_r(d))`` with ranks starting at 1."""
    if k < 1:
        raise ValueError(f"RRF k must be at least 1, got {k}")
    weights = list(weights) if weights is not None else [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"{len(weights)} weights for {len(runs)} runs")
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights, strict=True):
        for rank, doc_id in enumerate(_ranked(run), start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (k + rank)
    return fused


def min_max_normalize(run: Run) -> dict[str, float]:
    """Scale scores to [0, 1]; a run whose scores are all equal maps every document to 1.0."""
    if not run:
        return {}
    low, high = min(run.values()), max(run.values())
    if high == low:
        return {doc_id: 1.0 for doc_id in run}
    return {doc_id: (score - low) / (high - low) for doc_id, score in run.items()}


def weighted_mean(runs: Sequence[Run], weights: Sequence[float]) -> dict[str, float]:
    """The weighted arithmetic mean of already normalised runs (a document absent from a run counts 0):
    the weighted sum divided by the sum of weights, as the ``normalization-processor``'s ``arithmetic_mean``."""
    if len(weights) != len(runs):
        raise ValueError(f"{len(weights)} weights for {len(runs)} runs")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("fusion weights must sum to a positive number")
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights, strict=True):
        for doc_id, score in run.items():
            fused[doc_id] = fused.get(doc_id, 0.0) + weight * score
    return {doc_id: score / total for doc_id, score in fused.items()}


def min_max_fusion(runs: Sequence[Run], weights: Sequence[float]) -> dict[str, float]:
    """Min-max normalise each run, then take the weighted arithmetic mean (absent = 0).

    Mirrors the ``normalization-processor`` with ``min_max`` + ``arithmetic_mean``.
    """
    return weighted_mean([min_max_normalize(run) for run in runs], weights)


def z_score_normalize(run: Run) -> dict[str, float]:
    """Standard scores ``(s - mean) / std`` (population std); a run with zero spread maps to 0.0."""
    if not run:
        return {}
    mean = sum(run.values()) / len(run)
    std = math.sqrt(sum((s - mean) ** 2 for s in run.values()) / len(run))
    if std == 0.0:
        return {doc_id: 0.0 for doc_id in run}
    return {doc_id: (score - mean) / std for doc_id, score in run.items()}


def z_score_fusion(runs: Sequence[Run], weights: Sequence[float]) -> dict[str, float]:
    """Z-score normalise each run, then take the weighted arithmetic mean (absent = 0, i.e. the mean).

    Mirrors the ``normalization-processor`` with ``z_score`` + ``arithmetic_mean`` (OpenSearch >= 3.0).
    """
    return weighted_mean([z_score_normalize(run) for run in runs], weights)


def top_k(run: Run, k: int) -> list[tuple[str, float]]:
    """The ``k`` best ``(doc_id, score)`` pairs, ties broken by doc_id for determinism."""
    return [(doc_id, run[doc_id]) for doc_id in _ranked(run)[:k]]
