"""Language-aware fusion weights: a versioned profile tied to the encoder that filled an index.

Hybrid search with one global weight treats BM25 evidence alike for every document, but a BM25 match
means something else in the query's own language (shared words, stemming) than in another language
(names, numbers, loan words). Language-aware fusion splits the lexical leg by the query's language:

- ``same``: BM25 over the documents in the query's language (with its analyzer),
- ``other``: BM25 over all other documents (language-agnostic fields),
- ``dense``: k-NN over all documents,

each min-max normalised on its own and combined with weights that depend on the query's language
(:meth:`FusionProfile.weights_for`). Queries whose language is not detected use two legs (BM25 over
every document, dense) with the profile's ``unknown`` weights. The weights are fitted on the training
languages' dev runs (``lacl-search fusion fit``), never on evaluation data; languages without fitted
weights use the ``*`` entry. A profile fitted with query translation names its lexicon
(:mod:`lacl_search.core.lexicon`): the ``other`` leg then also searches the query's translations. A profile
may also hold a learned ranker over the same legs (:mod:`lacl_search.core.fusion_ranker`): ``learned`` fusion
uses it in place of the weighted mean, on the client.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lacl_search.core.fusion_ranker import TreeRanker
from lacl_search.core.lexicon import check_name
from lacl_search.errors import ArtifactMissing, ConfigError

PROFILE_VERSION = 1
MODEL_FILE = "fusion_profile.json"  # a model folder's own profile (the default model's: `lacl-search model install`)
FALLBACK = "*"
LANGUAGE_LEGS = ("same", "other", "dense")
UNKNOWN_LEGS = ("bm25", "dense")


def _normalised(weights: Sequence[float], n: int, what: str) -> tuple[float, ...]:
    values = tuple(float(w) for w in weights)
    if len(values) != n or any(w < 0 for w in values) or sum(values) <= 0:
        raise ConfigError(f"{what}: expected {n} non-negative weights with a positive sum, got {list(weights)}")
    total = sum(values)
    return tuple(round(w / total, 6) for w in values)


@dataclass(frozen=True)
class FusionProfile:
    """Fitted fusion weights.

    Attributes:
        encoder_fingerprint: :meth:`Encoder.fingerprint` of the model the weights were fitted for.
        languages: query language -> ``(same, other, dense)`` weights; ``"*"`` is the fallback.
        unknown: ``(bm25, dense)`` weights for queries of undetected language.
        fitted_on: the benchmarks (and their query languages) the weights were fitted on.
        metric: the objective (e.g. ``ndcg@10``).
        version: profile format version.
        lexicon: the query-translation lexicon the weights were fitted with (its name), or None.
        ranker: a learned fusion over the same legs (fitted with these weights), or None.
    """

    encoder_fingerprint: str
    languages: Mapping[str, tuple[float, float, float]]
    unknown: tuple[float, float] = (0.3, 0.7)
    fitted_on: tuple[str, ...] = ()
    metric: str = "ndcg@10"
    version: int = PROFILE_VERSION
    notes: Mapping[str, float] = field(default_factory=dict)
    lexicon: str | None = None
    ranker: TreeRanker | None = None

    def __post_init__(self) -> None:
        if self.version != PROFILE_VERSION:
            raise ConfigError(f"fusion profile version {self.version} is not supported (expected {PROFILE_VERSION})")
        if FALLBACK not in self.languages:
            raise ConfigError(f"a fusion profile needs fallback weights under {FALLBACK!r}")
        langs = {k: _normalised(v, 3, f"weights of {k!r}") for k, v in self.languages.items()}
        object.__setattr__(self, "languages", langs)
        object.__setattr__(self, "unknown", _normalised(self.unknown, 2, "unknown-language weights"))
        if self.lexicon is not None:
            check_name(self.lexicon)

    def weights_for(self, lang: str | None) -> tuple[float, ...]:
        """``(same, other, dense)`` for a detected language, ``(bm25, dense)`` when ``lang`` is None."""
        if lang is None:
            return self.unknown
        return self.languages.get(lang, self.languages[FALLBACK])

    def to_json(self) -> str:
        data = asdict(dataclasses.replace(self, ranker=None))  # the trees are written below, not deep-copied
        data["languages"] = {k: list(v) for k, v in sorted(self.languages.items())}
        if self.ranker is None:
            data["ranker"] = None
            return json.dumps(data, indent=2, sort_keys=True) + "\n"
        data["ranker"] = "@ranker"  # the trees go on one line: thousands of numbers, one per line, help nobody
        ranker = json.dumps(self.ranker.to_dict(), separators=(",", ":"), sort_keys=True)
        return json.dumps(data, indent=2, sort_keys=True).replace('"@ranker"', ranker, 1) + "\n"

    @classmethod
    def from_json(cls, text: str | Mapping) -> FusionProfile:
        try:
            data = json.loads(text) if isinstance(text, str) else dict(text)
            return cls(encoder_fingerprint=str(data["encoder_fingerprint"]),
                       languages={k: tuple(v) for k, v in data["languages"].items()},
                       unknown=tuple(data.get("unknown", (0.3, 0.7))), fitted_on=tuple(data.get("fitted_on", ())),
                       metric=data.get("metric", "ndcg@10"), version=int(data.get("version", PROFILE_VERSION)),
                       notes=dict(data.get("notes", {})), lexicon=data.get("lexicon"),
                       ranker=TreeRanker.from_dict(data["ranker"]) if data.get("ranker") else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a fusion profile: {exc}") from None

    @classmethod
    def read(cls, path: str | Path) -> FusionProfile:
        """The profile in the JSON file ``path`` (``fusion fit``'s output); a missing or malformed file is a
        one-line error."""
        path = Path(path)
        if not path.is_file():
            raise ArtifactMissing(f"fusion profile not found: {path}")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    @classmethod
    def of_model(cls, model: str | Path) -> FusionProfile | None:
        """The profile a model folder ships (:data:`MODEL_FILE`), or None (none there, or ``model`` is a hub id
        or a registered name not resolved to its folder)."""
        path = Path(model) / MODEL_FILE
        return cls.read(path) if path.is_file() else None
