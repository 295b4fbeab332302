"""Fusion profiles in the index: stored in the mapping's ``_meta`` next to the model's fingerprint.

A profile is used only by an index filled by the encoder it was fitted for (same
``model_fingerprint``); a new model means a new concrete index without a profile until one is fitted. A
rebuild with the same model keeps the serving index's profile (:func:`inherit`), and an ingest job can
bring its own (``LoadOptions.fusion_profile``), stored before the alias moves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from opensearchpy import NotFoundError, OpenSearch

from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.lexicon import Lexicon, load_lexicon
from lacl_search.errors import ArtifactMissing, ConfigError

log = logging.getLogger(__name__)
META_KEY = "fusion_profile"
_warned: set[str] = set()


def _concrete(client: OpenSearch, index: str) -> dict[str, dict]:
    mapping = client.indices.get_mapping(index=index)
    return {name: body["mappings"].get("_meta", {}) for name, body in mapping.items()}


def attach(client: OpenSearch, index: str, profile: FusionProfile) -> list[str]:
    """Store ``profile`` in the ``_meta`` of every concrete index behind ``index`` filled by its encoder;
    return those indices (empty: none matches the profile's encoder)."""
    stored = []
    for name, meta in _concrete(client, index).items():
        if meta.get("model_fingerprint") != profile.encoder_fingerprint:
            continue
        client.indices.put_mapping(index=name, body={"_meta": {**meta, META_KEY: profile.to_json()}})
        stored.append(name)
    return sorted(stored)


def inherit(client: OpenSearch, alias: str, index: str) -> str | None:
    """Before ``alias`` moves to the rebuilt ``index``, copy the profile of the index it serves now when both
    were filled by the same model: a rebuild must not drop the fitted fusion back to min-max 0.5/0.5. Return
    the index it came from (None: ``index`` has a profile of its own, or there is none to carry over)."""
    meta = next(iter(client.indices.get_mapping(index=index).values()))["mappings"].get("_meta", {})
    if meta.get(META_KEY):
        return None
    try:
        serving = client.indices.get_mapping(index=alias)
    except NotFoundError:  # the alias's first build
        return None
    for name, body in sorted(serving.items()):
        old = body["mappings"].get("_meta", {})
        if name != index and old.get(META_KEY) and old.get("model_fingerprint") == meta.get("model_fingerprint"):
            client.indices.put_mapping(index=index, body={"_meta": {**meta, META_KEY: old[META_KEY]}})
            log.info("fusion profile of %s carried over to %s (same model)", name, index)
            return name
    return None


def _stored_profiles(mapping: dict) -> Iterator[tuple[str | None, str]]:
    """``(the index's model fingerprint, its stored profile JSON)`` for each index of a ``GET _mapping``
    answer that holds a profile."""
    for body in mapping.values():
        meta = body["mappings"].get("_meta", {})
        if raw := meta.get(META_KEY):
            yield meta.get("model_fingerprint"), raw


def in_mapping(mapping: dict, encoder_fingerprint: str | None) -> FusionProfile | None:
    """The profile in a ``GET _mapping`` answer for this encoder, or None (none, or one for another model)."""
    for model, raw in _stored_profiles(mapping):
        if model == encoder_fingerprint:
            return FusionProfile.from_json(raw)
    return None


def find(client: OpenSearch, index: str, encoder_fingerprint: str | None) -> FusionProfile | None:
    """The profile stored for ``index`` and this encoder, or None (no profile, or one for another model)."""
    return in_mapping(client.indices.get_mapping(index=index), encoder_fingerprint)


def find_for_alias(client: OpenSearch, alias: str, encoder_fingerprint: str | None) -> FusionProfile | None:
    """:func:`find` for an alias that may not exist yet (its first build): None then."""
    try:
        return find(client, alias, encoder_fingerprint)
    except NotFoundError:
        return None


def stored(mapping: dict, encoder_fingerprint: str | None) -> tuple[FusionProfile | None, Lexicon | None]:
    """What a searcher reads from a ``GET _mapping`` answer once: the profile for this encoder, and the
    lexicon the index's profile names (loaded, or None). Each stored profile is parsed once (one may carry a
    learned ranker's trees)."""
    parsed = [(model, FusionProfile.from_json(raw)) for model, raw in _stored_profiles(mapping)]
    profile = next((p for model, p in parsed if model == encoder_fingerprint), None)
    return profile, lexicon_named(_own_lexicon(parsed))


def _own_lexicon(parsed: list[tuple[str | None, FusionProfile]]) -> str | None:
    """The lexicon named by the profile stored for the index's own model, whichever encoder searches: BM25
    mode needs no encoder, and query translation does not depend on one."""
    return next((p.lexicon for model, p in parsed if p.lexicon and p.encoder_fingerprint == model), None)


def lexicon_named(name: str | None) -> Lexicon | None:
    """The lexicon called ``name`` (None: none). One this machine lacks is a warning (once per process) and
    search goes on without query translation."""
    if not name:
        return None
    try:
        return load_lexicon(name)
    except (ArtifactMissing, ConfigError) as exc:
        if name not in _warned:
            _warned.add(name)
            log.warning("%s; searching without query translation", exc)
        return None
