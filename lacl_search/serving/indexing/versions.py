"""Versioned indices behind an alias: each build is a concrete index ``<alias>-<timestamp>``.

The mapping ``_meta`` of a concrete index records the model (name, fingerprint, pooling, prefixes) and
its build state: ``building`` from creation until the alias moved to it, then ``complete``. An index
left ``building`` by a crashed or incomplete run is found again by :func:`find_unfinished` and resumed
instead of starting another one. Indices built before the state existed count as complete.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from opensearchpy import NotFoundError, OpenSearch

from lacl_search.core import schema
from lacl_search.errors import BadInput, ClusterError

if TYPE_CHECKING:  # either backend; importing torch here would tax every command's start-up
    from lacl_search.core.encoder import Encoder

log = logging.getLogger(__name__)

_INVALID_NAME_CHARS = ' "*\\<|,>/?#:'
BUILD_STATE, BUILDING, COMPLETE = "build_state", "building", "complete"


def model_meta(encoder: Encoder, model_name: str) -> dict:
    """The ``_meta`` entries describing the model that fills an index."""
    return {
        "model": model_name,
        "model_fingerprint": encoder.fingerprint(),
        "pooling": encoder.config.pooling,
        "query_prefix": encoder.config.query_prefix,
        "document_prefix": encoder.config.document_prefix,
    }


def icu_available(client: OpenSearch) -> bool:
    return "analysis-icu" in {p["component"] for p in client.cat.plugins(format="json")}


def check_index_name(alias: str) -> str:
    """``alias`` if OpenSearch accepts it as an index name, else :class:`BadInput`."""
    if not alias or alias != alias.lower() or any(c in alias for c in _INVALID_NAME_CHARS) or alias[0] in "-_+":
        raise BadInput(f"invalid index name {alias!r}: use lower-case letters, digits, '-', '_' or '.'")
    return alias


def create_index(client: OpenSearch, alias: str, encoder: Encoder, model_name: str,
                 extra_meta: dict | None = None, hnsw: schema.HnswParams | None = None,
                 shards: int = schema.DEFAULT_SHARDS) -> str:
    """Create a new concrete index for ``alias`` (bulk-load settings, state ``building``); return its name."""
    check_index_name(alias)
    name = f"{alias}-{time.strftime('%Y%m%d%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"
    meta = {**model_meta(encoder, model_name), **(extra_meta or {}), BUILD_STATE: BUILDING}
    body = schema.index_body(encoder.dim, encoder.config.space_type, meta, icu=icu_available(client), hnsw=hnsw,
                             shards=shards)
    client.indices.create(index=name, body=body)
    log.info("created index %s for alias %s (dim %d, %s)", name, alias, encoder.dim, encoder.config.space_type)
    return name


def alias_targets(client: OpenSearch, alias: str) -> list[str]:
    """Concrete indices behind ``alias`` (empty if the alias does not exist)."""
    try:
        return sorted(client.indices.get_alias(name=alias))
    except NotFoundError:
        return []


def index_meta(client: OpenSearch, index: str) -> dict:
    mapping = client.indices.get_mapping(index=index)
    return next(iter(mapping.values()))["mappings"].get("_meta", {})


def set_build_state(client: OpenSearch, index: str, state: str) -> None:
    """Record ``state`` in the ``_meta`` of ``index`` (``_meta`` is replaced as a whole, so merge first)."""
    meta = {**index_meta(client, index), BUILD_STATE: state}
    client.indices.put_mapping(index=index, body={"_meta": meta})


def find_index(client: OpenSearch, alias: str, **expected: object) -> str | None:
    """The concrete index behind ``alias`` whose ``_meta`` has every ``expected`` value, else None."""
    for index in alias_targets(client, alias):
        meta = index_meta(client, index)
        if all(meta.get(key) == value for key, value in expected.items()):
            return index
    return None


def find_unfinished(client: OpenSearch, alias: str, fingerprint: str) -> str | None:
    """The newest index of ``alias``, not behind it, left ``building`` by a run of the same model."""
    serving = set(alias_targets(client, alias))
    try:
        mappings = client.indices.get_mapping(index=f"{alias}-*", params={"expand_wildcards": "open"})
    except NotFoundError:
        return None
    for index in sorted(mappings, reverse=True):
        meta = mappings[index]["mappings"].get("_meta", {})
        if (index not in serving and meta.get(BUILD_STATE) == BUILDING
                and meta.get("model_fingerprint") == fingerprint and index[len(alias) + 1:][:1].isdigit()):
            return index
    return None


def finish_loading(client: OpenSearch, index: str, replicas: int | None = None) -> None:
    """Apply serving settings (refresh on, replicas) and refresh once."""
    client.indices.put_settings(index=index, body=schema.serving_settings(replicas))
    client.indices.refresh(index=index)


def switch_alias(client: OpenSearch, alias: str, index: str, *, delete_old: bool = True) -> list[str]:
    """Point ``alias`` at ``index`` atomically; return (and optionally delete) the indices it left."""
    if client.indices.exists(index=alias) and not client.indices.exists_alias(name=alias):
        raise ClusterError(f"{alias!r} is a concrete index, not an alias: delete or rename it first")
    old = [i for i in alias_targets(client, alias) if i != index]
    actions = [{"remove": {"index": i, "alias": alias}} for i in old] + [{"add": {"index": index, "alias": alias}}]
    client.indices.update_aliases(body={"actions": actions})
    log.info("alias %s -> %s", alias, index)
    if delete_old and old:
        client.indices.delete(index=",".join(old))
        log.info("deleted old indices %s", old)
    return old


def delete_alias_and_indices(client: OpenSearch, alias: str) -> None:
    """Remove ``alias`` and every index behind it (tests and ``--recreate``)."""
    targets = alias_targets(client, alias)
    if targets:
        client.indices.delete(index=",".join(targets))
