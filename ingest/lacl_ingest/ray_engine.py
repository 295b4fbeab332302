"""Scale-out ingestion on Ray Data: ``lacl-search ingest --engine ray [--address ADDR]``.

Python entry point::

    from lacl_ingest.ray_engine import RayOptions, ingest_with_ray
    report = ingest_with_ray("corpus.jsonl", "docs", model="default",
                             ray_options=RayOptions(address="ray://head:10001"))

The driver picks the target index exactly as the single-process job does
(:func:`lacl_search.serving.indexing.prepare_target`: the alias's index, an unfinished build to resume,
or a new one). Ray Data reads the input (JSONL lines, Parquet or CSV rows) and validates each record
with the same rules as :mod:`lacl_ingest.readers`; a pool of encoder actors (one per GPU, else one per
``cpus_per_encoder`` CPUs) looks the stored content hashes up, embeds the new and changed documents and
writes them with the same byte-bounded, retrying bulk writer (:mod:`lacl_search.serving.indexing.bulk`).
Each actor returns one outcome row per record; the driver counts them into the same report, writes the
same rejects file, deletes what the input lacks when rebuilding, and moves the alias only when the
index is complete (:func:`lacl_search.serving.indexing.finish_build`).

Differences from the local engine: Ray reads lines in blocks and keeps no line numbers, so when records
were rejected the driver re-reads the input once with the local reader and rewrites the rejects file
with their line (or row) numbers; when an id occurs twice in the input, which record wins is not defined.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lacl_search.core.settings import ClusterSettings
from lacl_search.core.types import Document
from lacl_search.errors import ArtifactMissing, ConfigError
from lacl_search.serving.indexing import BulkOptions, IndexReport, LoadOptions, LoadResult

from .job import IngestConfig, RejectSink, count_records, summary
from .readers import FieldMap, Reject, detect_format, parse_jsonl_line, read_records, to_document

log = logging.getLogger(__name__)

STATUSES = ("new", "updated", "skipped", "failed", "refused", "rejected")


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the Ray job runs.

    Attributes:
        address: Ray cluster address (None: ``RAY_ADDRESS`` if set, else a local instance).
        encoders: encoder actors (None: one per GPU in the cluster, else one per 2 CPUs, at least 1).
        cpus_per_encoder: CPUs each actor reserves (its torch thread count on CPU).
        gpus_per_encoder: GPUs each actor reserves (None: 1 when the cluster has GPUs, else 0).
        rows_per_batch: records per actor call (one hash lookup, one encoding window, its bulk requests).
    """

    address: str | None = None
    encoders: int | None = None
    cpus_per_encoder: float = 1.0
    gpus_per_encoder: float | None = None
    rows_per_batch: int = 512


def _doc_json(doc: Document) -> str:
    return json.dumps([doc.doc_id, doc.text, doc.title, doc.lang, doc.metadata], ensure_ascii=False)


def _validate(record: object, raw: str | None, fields: FieldMap) -> dict:
    try:
        return {"doc": _doc_json(to_document(record, fields)), "reject": None, "record": None}
    except ValueError as exc:
        return {"doc": None, "reject": str(exc), "record": raw}


def parse_jsonl(batch: dict, fields: FieldMap) -> dict:
    """Ray batch of ``text`` lines (read as latin-1, i.e. raw bytes) -> ``doc`` / ``reject`` / ``record`` columns."""
    rows = []
    for line in batch["text"]:
        item = parse_jsonl_line(0, line.encode("latin-1"), fields)  # Ray does not keep line numbers
        if isinstance(item, Reject):
            rows.append({"doc": None, "reject": item.reason, "record": item.record})
        elif item is not None:
            rows.append({"doc": _doc_json(item), "reject": None, "record": None})
    return {key: [r[key] for r in rows] for key in ("doc", "reject", "record")}


def parse_rows(batch: dict, fields: FieldMap) -> dict:
    """Ray batch of Parquet / CSV columns -> ``doc`` / ``reject`` / ``record`` columns."""
    names = list(batch)
    n = len(batch[names[0]]) if names else 0
    rows = []
    for i in range(n):
        record = {k: _plain(batch[k][i]) for k in names}
        rows.append(_validate({k: v for k, v in record.items() if v is not None}, None, fields))
    return {key: [r[key] for r in rows] for key in ("doc", "reject", "record")}


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: a missing CSV / Parquet cell
        return None
    return value.tolist() if isinstance(value, np.ndarray) else value


class EncodeAndWrite:
    """A Ray actor: embeds the new and changed documents of a batch and writes them to ``index``."""

    def __init__(self, model: str, settings: ClusterSettings, index: str, bulk: BulkOptions, incremental: bool,
                 threads: int, backend: str | None = None) -> None:
        import torch

        from lacl_search.core.encoding import load_document_encoder
        from lacl_search.core.onnx_backend import THREADS_VARIABLE
        from lacl_search.serving.client import make_client
        from lacl_search.serving.indexing.pipeline import Embedder

        if not torch.cuda.is_available():  # this actor's CPU share, for torch and for ONNX Runtime alike
            torch.set_num_threads(max(1, threads))
            os.environ[THREADS_VARIABLE] = str(max(1, threads))
        self.client = make_client(settings)
        self.bulk = bulk
        self.embedder = Embedder(self.client, index, load_document_encoder(model, backend=backend),
                                 batch_size=bulk.batch_size, incremental=incremental)

    def __call__(self, batch: dict) -> dict:
        from opensearchpy.exceptions import ConnectionError as TransportConnectionError

        from lacl_search.serving.indexing.bulk import UNREACHABLE, ClusterDown, write_chunks

        out: dict[str, list] = {"doc_id": [], "status": [], "reason": [], "record": [], "encoded": [], "throttled": []}
        # Arrow turns a missing string into None or NaN: test for str
        docs = [Document(*json.loads(d)) for d in batch["doc"] if isinstance(d, str)]
        for reason, record in zip(batch["reject"], batch["record"], strict=True):
            if isinstance(reason, str):
                _row(out, None, "rejected", reason, record if isinstance(record, str) else None)
        encoded_before = self.embedder.encoded
        try:
            actions = self.embedder.actions(list({d.doc_id: d for d in docs}.values()))
        except (TransportConnectionError, OSError) as exc:
            for doc in docs:
                _row(out, doc.doc_id, "failed", f"{UNREACHABLE} ({type(exc).__name__})")
            return out
        pending = {a.doc_id for a in actions}
        results: list = []
        write_chunks(self.client, [actions], self.bulk, ClusterDown(), results.append)
        throttled = sum(r.throttled for r in results)
        for r in results:
            for doc_id, kind in r.written:
                _row(out, doc_id, kind)
            for doc_id, reason in r.failed:
                _row(out, doc_id, "failed", reason)
            for doc_id, reason in r.refused:
                _row(out, doc_id, "refused", f"refused by the cluster: {reason}")
        for doc_id in {d.doc_id for d in docs} - pending:
            _row(out, doc_id, "skipped")
        if out["encoded"]:
            out["encoded"][0] = self.embedder.encoded - encoded_before
            out["throttled"][0] = throttled
        return out


def _row(out: dict, doc_id: str | None, status: str, reason: str | None = None, record: str | None = None) -> None:
    for key, value in (("doc_id", doc_id), ("status", status), ("reason", reason), ("record", record),
                       ("encoded", 0), ("throttled", 0)):
        out[key].append(value)


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray engine needs Ray Data: pip install 'lacl-search[ray]'") from None
    return ray


def _dataset(ray, config: IngestConfig):
    """The input as a Ray dataset of ``doc`` / ``reject`` / ``record`` rows."""
    path = Path(config.input)
    fmt = config.format or detect_format(path)
    if fmt == "jsonl":
        lines = ray.data.read_text(str(path), encoding="latin-1", drop_empty_lines=True)
        return lines.map_batches(parse_jsonl, fn_kwargs={"fields": config.fields}, batch_format="numpy")
    reader = ray.data.read_parquet if fmt == "parquet" else ray.data.read_csv
    return reader(str(path)).map_batches(parse_rows, fn_kwargs={"fields": config.fields}, batch_format="numpy")


def _pool(ray, options: RayOptions) -> tuple[int, float, float]:
    resources = ray.cluster_resources()
    gpus = options.gpus_per_encoder if options.gpus_per_encoder is not None else (1.0 if resources.get("GPU") else 0.0)
    if options.encoders:
        return options.encoders, options.cpus_per_encoder, gpus
    if gpus:
        return max(1, int(resources["GPU"] // gpus)), options.cpus_per_encoder, gpus
    return max(1, int(resources.get("CPU", 1) // 2)), options.cpus_per_encoder, 0.0


class _Tally:
    """Counts outcome rows into an :class:`IndexReport`, the rejects sink and the set of valid ids."""

    def __init__(self, sink: RejectSink) -> None:
        self.report, self.sink, self.seen = IndexReport(), sink, set()

    def add(self, batch: dict) -> int:
        report = self.report
        for doc_id, status, reason, record in zip(batch["doc_id"], batch["status"], batch["reason"],
                                                  batch["record"], strict=True):
            record = record if isinstance(record, str) else None  # Arrow may turn a missing value into NaN
            if status == "rejected":
                self.sink.reject(Reject(None, str(reason), record))
                continue
            self.seen.add(doc_id)
            if status in ("failed", "refused"):
                report.fail(doc_id, str(reason).removeprefix("refused by the cluster: "), self.sink.failure,
                            refused=status == "refused")
            else:
                setattr(report, status, getattr(report, status) + 1)
        report.encoded += int(np.sum(batch["encoded"]))
        report.throttled += int(np.sum(batch["throttled"]))
        return len(batch["status"])


def run_ray(config: IngestConfig, settings: ClusterSettings, options: RayOptions | None = None) -> dict:
    """Run the ingest job on Ray; return the same report as :func:`lacl_ingest.job.run`."""
    from lacl_search.core.encoder import Encoder
    from lacl_search.serving.client import connect
    from lacl_search.serving.indexing import prepare_target

    ray, options = _ray(), options or RayOptions()
    if not Path(config.input).is_file():
        raise ArtifactMissing(f"input file not found: {config.input}")
    client = connect(settings)
    target: LoadResult = prepare_target(client, config.index, Encoder.load(config.model, device="cpu"), config.load)
    if not ray.is_initialized():
        ray.init(address=options.address, log_to_driver=False)
    encoders, cpus, gpus = _pool(ray, options)
    log.info("ray: %d encoder actors (%.1f CPU, %.1f GPU each) writing into %s", encoders, cpus, gpus, target.index)
    outcomes = _dataset(ray, config).map_batches(
        EncodeAndWrite, batch_size=options.rows_per_batch, batch_format="numpy", concurrency=encoders,
        num_cpus=cpus, num_gpus=gpus,
        fn_constructor_kwargs={"model": config.model, "settings": settings, "index": target.index,
                               "bulk": config.load.bulk, "incremental": target.mode != "new", "threads": int(cpus),
                               "backend": config.backend})
    sink, start = RejectSink(config.rejects), time.perf_counter()
    stale = config.rejects.exists()
    tally = _Tally(sink)
    bar = _progress(config)
    try:
        for batch in outcomes.iter_batches(batch_size=None, batch_format="numpy"):
            n = tally.add(batch)
            if bar is not None:
                bar.update(n)
    finally:
        sink.close()
        if bar is not None:
            bar.close()
    if sink.count:
        number_rejects(config, sink.count)
    report = tally.report
    report.indexed, report.rejected = report.new + report.updated + report.skipped, sink.count
    report.seconds = time.perf_counter() - start
    if stale and sink.count == 0 and sink.failed == 0:
        config.rejects.unlink()
    return _finish(client, config, target, report, tally.seen, sink)


def number_rejects(config: IngestConfig, expected: int) -> bool:
    """Give the rejects file's rejected records their line (row) numbers: Ray reads in blocks without them,
    so the input is read once more with the local engine's reader (same rules) and the file rewritten,
    failures kept as written. Unchanged (False) if the two readers disagree on how many were rejected."""
    rejects = [item for item in read_records(Path(config.input), config.fields, config.format)
               if isinstance(item, Reject)]
    if len(rejects) != expected:
        log.warning("rejects file left without line numbers: %d rejects here, %d on Ray", len(rejects), expected)
        return False
    with config.rejects.open(encoding="utf-8") as fh:
        failures = [row for row in map(json.loads, fh) if "doc_id" in row]
    tmp = config.rejects.with_name(config.rejects.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in [item.as_dict() for item in rejects] + failures:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(config.rejects)
    return True


def _finish(client, config: IngestConfig, target: LoadResult, report: IndexReport, seen: set[str],
            sink: RejectSink) -> dict:
    from lacl_search.serving.indexing import finish_build
    from lacl_search.serving.indexing.load import delete_missing

    building = target.mode != "existing"
    if (building and target.mode != "new") or config.load.delete_missing:
        delete_missing(client, target.index, seen, config.load.bulk, report)
    if building:
        target = finish_build(client, config.index, target, report, len(seen) - report.refused, config.load)
    else:
        client.indices.refresh(index=target.index)
    return summary(config, target, report.as_dict(), sink)


def _progress(config: IngestConfig):
    if not config.show_progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(desc="ingest (ray)", unit="doc", total=count_records(Path(config.input), config.format))


def ingest_with_ray(input: str | Path, index: str, *, model: str = "default", settings: ClusterSettings | None = None,
                    load: LoadOptions | None = None, fields: FieldMap | None = None,
                    ray_options: RayOptions | None = None, show_progress: bool = False) -> dict:
    """Ingest ``input`` into the alias ``index`` on Ray (a local instance, or ``ray_options.address``).

    Args:
        input: JSONL, Parquet or CSV file (on a filesystem every Ray worker can read).
        index: the alias to fill.
        model: encoder name, local folder (readable by every worker) or hub id.
        settings: the cluster (default: from the environment, ``OPENSEARCH_URL`` ...).
        load: rebuild / keep-old / delete-missing and bulk settings.
        fields: which input fields hold id, text, title, lang, metadata.
        ray_options: cluster address and encoder pool.
        show_progress: a progress bar with an ETA.

    Returns:
        The report of :func:`lacl_ingest.job.run` (``switched`` False and ``problem`` set when a build
        was left incomplete).
    """
    config = IngestConfig(Path(input), index, model, fields=fields or FieldMap(),
                          load=load or LoadOptions(model_name=model), show_progress=show_progress, engine="ray")
    return run_ray(config, settings or ClusterSettings.from_env(), ray_options)
