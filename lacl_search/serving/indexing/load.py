"""The load job: incremental writes into the alias's index, or a safe, resumable rebuild behind the alias.

:func:`load_documents` picks its target with :func:`prepare_target`:

- the index behind the alias built with the same model (``existing``): written in place, unchanged
  documents skipped;
- else (new model, ``rebuild``, or no index yet) an index of this alias left ``building`` by an earlier
  run of the same model (``resumed``: what it holds is skipped), else a new one (``new``).

A built index replaces the serving one only when it holds every valid input document
(:func:`finish_build`: ``failed == 0`` and its count equals the number of distinct valid ids, after
deleting the ids the input lacks); otherwise the alias stays where it was and the index is kept, still
``building``, for the next run to resume. Old indices are deleted only after a successful switch. The
fusion profile moves with the alias: the job's own (``LoadOptions.fusion_profile``), else the serving
index's when the model is the same (:func:`lacl_search.serving.profiles.inherit`), else the one the model
ships (``LoadOptions.model_profile``), so an index filled by a model with a fitted profile never starts on
min-max 0.5/0.5.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opensearchpy import OpenSearch

from lacl_search.core import schema
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.core.types import Document
from lacl_search.errors import ConfigError
from lacl_search.serving import profiles

from . import versions
from .bulk import BulkOptions, ClusterDown, write_chunks
from .incremental import missing_deletes
from .pipeline import IndexReport, index_documents

if TYPE_CHECKING:  # either backend; importing torch here would tax every command's start-up
    from lacl_search.core.encoder import Encoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    """Options of :func:`load_documents`.

    Attributes:
        model_name: the model's name as given (recorded in ``_meta``).
        rebuild: build (or resume) a concrete index other than the serving one, then switch the alias.
        keep_old: keep the indices the alias pointed to before a switch.
        delete_missing: delete documents of the serving index the input lacks (a rebuild always does).
        replicas: replicas after loading (None: auto-expand 0-1).
        bulk: batching, retry, concurrency and compression settings.
        extra_meta: more ``_meta`` entries (e.g. a corpus fingerprint).
        vector_quantization: ``"sq"``: Lucene scalar quantisation of the vectors in a newly created
            index (:class:`lacl_search.core.schema.HnswParams`); an existing index keeps its mapping.
        shards: primary shards of a newly created index (:data:`lacl_search.core.schema.DEFAULT_SHARDS`).
        fusion_profile: a fusion profile fitted for this encoder, stored in the target index before any
            document is written (so before the alias moves). Without one, a rebuild with the same model
            carries over the serving index's profile.
        model_profile: the profile the model ships (:meth:`FusionProfile.of_model`), stored when the index
            would otherwise have none for this encoder (no ``fusion_profile``, none in the index the alias
            serves); one fitted for another encoder is a warning and is not stored.
    """

    model_name: str = "default"
    rebuild: bool = False
    keep_old: bool = False
    delete_missing: bool = False
    replicas: int | None = None
    bulk: BulkOptions = field(default_factory=BulkOptions)
    extra_meta: dict | None = None
    vector_quantization: str = "none"
    shards: int = schema.DEFAULT_SHARDS
    fusion_profile: FusionProfile | None = None
    model_profile: FusionProfile | None = None


@dataclass
class LoadResult:
    """Where a load went and how it ended (``switched``: the alias now points at ``index``)."""

    index: str
    mode: str  # existing | resumed | new
    switched: bool = False
    count: int | None = None
    problem: str | None = None


def prepare_target(client: OpenSearch, alias: str, encoder: Encoder, options: LoadOptions) -> LoadResult:
    """Choose (or create) the concrete index this run writes into (see the module docstring)."""
    versions.check_index_name(alias)
    fingerprint = encoder.fingerprint()
    profile = options.fusion_profile
    if profile is not None and profile.encoder_fingerprint != fingerprint:
        raise ConfigError(f"the fusion profile was fitted for encoder {profile.encoder_fingerprint}, not for "
                          f"{options.model_name!r} ({fingerprint}): fit one for this model")
    target = _choose_target(client, alias, encoder, options, fingerprint)
    source = "the job's fusion profile"
    if profile is None:
        profile = _model_profile(client, alias, options, fingerprint)
        source = f"the fusion profile shipped with model {options.model_name!r}"
    if profile is not None:
        profiles.attach(client, target.index, profile)
        log.info("%s stored in %s", source, target.index)
    return target


def _model_profile(client: OpenSearch, alias: str, options: LoadOptions, fingerprint: str) -> FusionProfile | None:
    """The model's own profile when the index would otherwise have none for this encoder (a profile fitted
    later, in the index the alias serves, wins: a rebuild carries it over)."""
    shipped = options.model_profile
    if shipped is None:
        return None
    if shipped.encoder_fingerprint != fingerprint:
        log.warning("the fusion profile shipped with model %r was fitted for encoder %s, not this one (%s): not "
                    "used", options.model_name, shipped.encoder_fingerprint, fingerprint)
        return None
    return shipped if profiles.find_for_alias(client, alias, fingerprint) is None else None


def _choose_target(client: OpenSearch, alias: str, encoder: Encoder, options: LoadOptions,
                   fingerprint: str) -> LoadResult:
    if not options.rebuild:
        existing = versions.find_index(client, alias, model_fingerprint=fingerprint)
        if existing:
            log.info("writing into %s (behind alias %s, same model): unchanged documents are skipped", existing, alias)
            return LoadResult(existing, "existing")
    unfinished = versions.find_unfinished(client, alias, fingerprint)
    if unfinished:
        log.info("resuming the unfinished build %s of alias %s", unfinished, alias)
        return LoadResult(unfinished, "resumed")
    hnsw = schema.HnswParams(quantization=options.vector_quantization)
    return LoadResult(versions.create_index(client, alias, encoder, options.model_name, options.extra_meta, hnsw,
                                            shards=options.shards), "new")


def delete_missing(client: OpenSearch, index: str, keep: set[str], options: BulkOptions,
                   report: IndexReport) -> None:
    """Delete the documents of ``index`` whose id is not in ``keep``; counted in ``report.deleted``."""
    client.indices.refresh(index=index)
    write_chunks(client, missing_deletes(client, index, keep), options, ClusterDown(),
                 lambda outcome: report.add(outcome, None))


def finish_build(client: OpenSearch, alias: str, target: LoadResult, report: IndexReport, valid: int,
                 options: LoadOptions) -> LoadResult:
    """Move ``alias`` to a built index only if it is complete; else keep serving the old one.

    Args:
        valid: distinct input document ids the cluster did not refuse (what the index must hold).
    """
    client.indices.refresh(index=target.index)
    target.count = client.count(index=target.index)["count"]
    if report.failed or target.count != valid:
        target.problem = (f"index {target.index} is incomplete ({target.count} of {valid} documents, "
                          f"{report.failed} failed): alias {alias!r} left unchanged; re-run to resume it")
        log.error(target.problem)
        return target
    versions.finish_loading(client, target.index, options.replicas)
    versions.set_build_state(client, target.index, versions.COMPLETE)
    profiles.inherit(client, alias, target.index)
    versions.switch_alias(client, alias, target.index, delete_old=not options.keep_old)
    target.switched = True
    return target


def load_documents(client: OpenSearch, alias: str, encoder: Encoder, docs: Iterable[Document], *,
                   options: LoadOptions | None = None,
                   on_failure: Callable[[str, str], None] | None = None) -> tuple[str, IndexReport]:
    """Embed ``docs`` into the index behind ``alias``; return the concrete index and the report.

    A re-run skips unchanged documents (``report.skipped``). A new or resumed build replaces the
    serving index only when complete; :func:`load` returns the full :class:`LoadResult` (whether the
    alias moved, and why not).
    """
    result, report = load(client, alias, encoder, docs, options=options, on_failure=on_failure)
    return result.index, report


def load(client: OpenSearch, alias: str, encoder: Encoder, docs: Iterable[Document], *,
         options: LoadOptions | None = None,
         on_failure: Callable[[str, str], None] | None = None) -> tuple[LoadResult, IndexReport]:
    """:func:`load_documents`, returning the :class:`LoadResult` too."""
    options = options or LoadOptions()
    target = prepare_target(client, alias, encoder, options)
    building = target.mode != "existing"
    seen: set[str] | None = set() if building or options.delete_missing else None
    report = index_documents(client, target.index, encoder, docs, options=options.bulk, on_failure=on_failure,
                             incremental=target.mode != "new", seen=seen)
    if seen is not None and target.mode != "new" and not report.outage:
        delete_missing(client, target.index, seen, options.bulk, report)
    if not building:
        client.indices.refresh(index=target.index)
        return target, report
    return finish_build(client, alias, target, report, len(seen or ()) - report.refused, options), report
