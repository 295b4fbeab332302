"""The OpenVINO backend: the exported fp32 graph, compiled by OpenVINO for the CPU it runs on.

``backend: openvino`` runs the same graph as ``onnx-fp32`` (``onnx/model.onnx``, written by ``lacl-search
model export``: transformer, pooling and L2 normalisation, with ONNX Runtime's fused BERT operators, which
OpenVINO's ONNX reader understands). On CPUs with native bf16 arithmetic (AVX512-BF16 or AMX, reported by
OpenVINO as the ``BF16`` capability) OpenVINO computes matrix products in bf16 with fp32 accumulation;
elsewhere in fp32. On this project's 2-core machine that encodes about twice as fast as ONNX Runtime fp32
and passed the quality gate (docs/encoding.md, "Sixth session"). Tokenisation, prefixes, truncation,
batching and the fingerprint are the ONNX backend's (:class:`~lacl_search.core.onnx_backend.OnnxEncoder`);
nothing here imports torch.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lacl_search.core.encoding import EncoderConfig, Side
from lacl_search.core.onnx_backend import THREADS_VARIABLE, OnnxEncoder
from lacl_search.errors import ConfigError

PRECISIONS = ("bf16", "f32")


@functools.cache
def _core():
    import openvino as ov

    return ov.Core()


def native_precision() -> str:
    """``bf16`` where the CPU computes it natively (OpenVINO's ``BF16`` capability), else ``f32``."""
    return "bf16" if "BF16" in _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


def compile_options(threads: int | None, precision: str, latency: bool = False) -> dict[str, object]:
    """OpenVINO CPU settings: ``threads`` (default ``$LACL_THREADS`` or all cores), no thread pinning (the
    cores are shared with OpenSearch on small machines) and either one stream using every thread
    (``latency``: one query at a time) or OpenVINO's throughput streams (several batches in flight, each on
    its own threads: on 2 cores two streams of one thread encode ~12 % more documents per second than one
    stream of two, and a thread the cluster pre-empts stalls only its own batch)."""
    threads = threads or int(os.environ.get(THREADS_VARIABLE) or 0)
    options: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY" if latency else "THROUGHPUT",
                                  "INFERENCE_PRECISION_HINT": precision, "ENABLE_CPU_PINNING": False}
    if threads > 0:
        options["INFERENCE_NUM_THREADS"] = threads
    return options


class OpenVinoEncoder(OnnxEncoder):
    """An exported encoder compiled by OpenVINO, with the serving API of the torch ``Encoder``.

    Args:
        folder: the model folder (``onnx/model.onnx`` from ``lacl-search model export``).
        config: how text becomes a vector.
        threads: inference threads (default ``$LACL_THREADS`` or all cores).
        spin: tuned for one query at a time (one stream on every thread; what ``load_encoder(...,
            latency=True)`` asks for); else batches run concurrently on OpenVINO's throughput streams.
        precision: ``bf16`` or ``f32`` (default: :func:`native_precision`).
    """

    runtime_options = ("precision",)

    def __init__(self, folder: str | Path, config: EncoderConfig, *, threads: int | None = None,
                 spin: bool = False, precision: str | None = None) -> None:
        self.precision = precision or native_precision()
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        self._local = threading.local()
        super().__init__(folder, config, threads=threads, spin=spin)

    @property
    def runtime(self) -> str:
        return f"OpenVINO {self.precision}"

    def _open(self, path: Path, *, threads: int | None, spin: bool) -> object:
        core = _core()
        try:
            return core.compile_model(core.read_model(str(path)), "CPU", compile_options(threads, self.precision, spin))
        except RuntimeError as exc:  # a graph OpenVINO cannot read or compile: say so in one line
            first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            raise ConfigError(f"OpenVINO cannot run {path} ({first.strip()[:200]}); serve this model with "
                              f"--backend onnx-fp32") from exc

    def _embed_ids(self, ids: Sequence[list[int]], side: Side) -> np.ndarray:
        requests = self._local.__dict__.setdefault("requests", {})  # an infer request is not thread-safe
        request = requests.get(side)
        if request is None:
            request = requests[side] = self._sessions[side].create_infer_request()
        request.infer(self.pad(ids))
        return np.array(request.get_output_tensor(0).data, dtype=np.float32)  # [B, H], copied out

    def _embed_batches(self, ids: Sequence[list[int]], batches: Iterable[np.ndarray], side: Side,
                       out: np.ndarray) -> None:
        """Keep every stream busy: batches go to an asynchronous queue of infer requests (one per stream),
        each result lands in its rows of ``out`` when done."""
        batches = list(batches)
        compiled = self._sessions[side]
        jobs = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        if jobs <= 1 or len(batches) <= 1:
            return super()._embed_batches(ids, batches, side, out)
        import openvino as ov

        queues = self._local.__dict__.setdefault("queues", {})
        queue = queues.get(side)
        if queue is None:
            queue = queues[side] = ov.AsyncInferQueue(compiled, jobs)
        failures: list[BaseException] = []

        def done(request, idx: np.ndarray) -> None:
            try:
                out[idx] = request.get_output_tensor(0).data
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
                failures.append(exc)

        queue.set_callback(done)
        for idx in batches:
            queue.start_async(self.pad([ids[i] for i in idx]), idx)
        queue.wait_all()
        if failures:
            raise failures[0]
