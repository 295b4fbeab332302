"""The ONNX Runtime and OpenVINO backends against the torch Encoder on the tiny model; loader, batching, GPU dtype."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from lacl_provision.models.export import export
from lacl_search.core import encoder as encoder_module
from lacl_search.core import encoding
from lacl_search.core.encoder import Encoder, inference_dtype
from lacl_search.core.encoding import (
    CONFIG_NAME,
    CPU_MAX_TOKENS,
    EncoderConfig,
    length_batches,
    load_encoder,
    onnx_file,
)
from lacl_search.core.onnx_backend import OnnxEncoder
from lacl_search.core.types import Document
from lacl_search.errors import ArtifactMissing, ConfigError
from tests.support import REPO_ROOT
from tests.tiny_encoder import build_tiny_encoder

TEXTS = [
    "fast search engine",
    "schnelle Suchmaschine für Textdokumente und mehr Wörter",
    "画像を圧縮するツール",
    "Быстрый поиск",
    "a",
    " ".join(["long"] * 200),  # truncated at max_length
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """(torch encoder, folder) for a tied and an untied tiny model, each exported to ONNX."""
    out = {}
    for tied in (True, False):
        encoder = build_tiny_encoder(seed=3, tied=tied).eval()
        folder = tmp_path_factory.mktemp(f"tiny-{'tied' if tied else 'untied'}")
        encoder.save_pretrained(folder)
        export(folder)
        out[tied] = (encoder, folder)
    return out


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize(("backend", "threshold"), [("onnx-fp32", 0.999), ("onnx-int8", 0.99)])
def test_onnx_embeddings_match_torch(exported, tied, backend, threshold) -> None:
    encoder, folder = exported[tied]
    onnx = load_encoder(str(folder), backend=backend)
    assert isinstance(onnx, OnnxEncoder) and onnx.dim == encoder.dim
    for side in ("query", "document"):
        cos = _cos(encoder.encode(TEXTS, side), onnx.encode(TEXTS, side, batch_size=2))
        assert cos.min() >= threshold, f"{backend} {side}: min cosine {cos.min():.5f}"


@pytest.mark.parametrize("tied", [True, False])
def test_openvino_runs_the_fp32_graph_in_the_cpus_native_precision(exported, tied, tmp_path) -> None:
    from lacl_search.core.openvino_backend import OpenVinoEncoder, compile_options, native_precision

    encoder, folder = exported[tied]
    default = load_encoder(str(folder), backend="openvino")
    assert isinstance(default, OpenVinoEncoder) and default.precision == native_precision()
    exact = load_encoder(str(folder), backend="openvino", precision="f32")
    bf16 = load_encoder(str(folder), backend="openvino", precision="bf16")
    onnx = load_encoder(str(folder), backend="onnx-fp32")
    for side in ("query", "document"):
        reference = encoder.encode(TEXTS, side)
        assert _cos(reference, exact.encode(TEXTS, side, batch_size=2)).min() >= 0.999
        assert _cos(reference, bf16.encode(TEXTS, side, batch_size=2)).min() >= 0.99  # tiny random model: loose
    assert exact.fingerprint() == onnx.fingerprint() == encoder.fingerprint()
    assert exact.token_ids(TEXTS, "document") == onnx.token_ids(TEXTS, "document")
    if native_precision() == "bf16":  # this machine kind: AVX512-BF16, so bf16 did run
        assert not np.allclose(bf16.encode(TEXTS, "query"), exact.encode(TEXTS, "query"), atol=1e-6)
    assert compile_options(3, "f32")["INFERENCE_NUM_THREADS"] == 3
    assert compile_options(2, "f32")["PERFORMANCE_HINT"] == "THROUGHPUT"
    assert compile_options(2, "f32", latency=True)["PERFORMANCE_HINT"] == "LATENCY"
    with pytest.raises(ConfigError, match="precision"):
        load_encoder(str(folder), backend="openvino", precision="int4")
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    onnx_file(broken, "openvino").write_bytes(b"not a graph")
    with pytest.raises(ConfigError, match="OpenVINO cannot run .*--backend onnx-fp32"):
        load_encoder(str(broken), backend="openvino")


def test_openvino_streams_give_the_one_stream_embeddings_in_input_order(exported) -> None:
    _, folder = exported[True]
    streams = load_encoder(str(folder), backend="openvino", precision="f32", threads=2)
    single = load_encoder(str(folder), backend="openvino", precision="f32", threads=2, latency=True)
    assert int(streams._sessions["document"].get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")) >= 2
    texts = TEXTS * 5  # many batches of 2, in flight at once
    np.testing.assert_allclose(streams.encode(texts, "document", batch_size=2),
                               single.encode(texts, "document", batch_size=2), atol=1e-5)


def test_openvino_model_serves_single_queries_with_onnx_runtime_on_the_same_graph(exported, tmp_path) -> None:
    from lacl_search.core.openvino_backend import OpenVinoEncoder

    _, folder = exported[True]
    config = EncoderConfig.read(folder)
    replace(config, backend="openvino").write(folder)
    try:
        assert isinstance(load_encoder(str(folder)), OpenVinoEncoder)  # bulk: OpenVINO
        search = load_encoder(str(folder), latency=True)  # one query at a time: the same graph, ONNX Runtime
        assert type(search) is OnnxEncoder and search.backend == "onnx-fp32"
        assert isinstance(load_encoder(str(folder), backend="openvino", latency=True), OpenVinoEncoder)  # asked
    finally:
        config.write(folder)


def test_openvino_encodes_from_several_threads_at_once(exported) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, folder = exported[True]
    encoder = load_encoder(str(folder), backend="openvino", precision="f32")
    batches = [TEXTS[i:] + TEXTS[:i] for i in range(6)]
    alone = [encoder.encode(b, "document", batch_size=2) for b in batches]
    with ThreadPoolExecutor(3) as pool:  # one infer request per thread: no mixed-up outputs
        together = list(pool.map(lambda b: encoder.encode(b, "document", batch_size=2), batches * 3))
    for i, got in enumerate(together):
        np.testing.assert_allclose(got, alone[i % 6], atol=1e-6)


def test_same_tokens_prefixes_documents_and_fingerprint(exported) -> None:
    encoder, folder = exported[True]
    onnx = OnnxEncoder.from_pretrained(folder, backend="onnx-fp32")
    for side in ("query", "document"):
        assert onnx.token_ids(TEXTS, side) == encoder.token_ids(TEXTS, side)
    assert max(len(x) for x in onnx.token_ids(TEXTS, "document")) == encoder.config.max_length
    doc = Document("d", "body text", title="Title")
    np.testing.assert_allclose(onnx.encode_documents([doc]), encoder.encode_documents([doc]), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(onnx.encode_queries(TEXTS), axis=1), 1.0, atol=1e-5)
    assert onnx.fingerprint() == encoder.fingerprint()
    assert onnx.encode_queries([]).shape == (0, encoder.dim)
    with pytest.raises(TypeError):
        onnx.encode_queries("not a list")


def test_saved_backend_is_the_default_and_load_time_overrides_it(exported, tmp_path) -> None:
    _, folder = exported[True]
    assert isinstance(load_encoder(str(folder)), Encoder)  # save_pretrained writes backend torch
    config = EncoderConfig.read(folder)
    replace(config, backend="onnx-int8").write(folder)
    try:
        assert load_encoder(str(folder)).backend == "onnx-int8"
        assert isinstance(load_encoder(str(folder), backend="torch", device="cpu"), Encoder)
        assert load_encoder(str(folder), max_length=16).config.max_length == 16
        # a checkpoint saved from it holds torch weights only, so it says torch
        Encoder.from_pretrained(folder, device="cpu").save_pretrained(tmp_path / "again")
        assert json.loads((tmp_path / "again" / CONFIG_NAME).read_text())["backend"] == "torch"
        with pytest.raises(ArtifactMissing, match="model export"):
            load_encoder(str(tmp_path / "again"), backend="onnx-int8")
    finally:
        config.write(folder)
    with pytest.raises(ConfigError, match="backend"):
        load_encoder(str(folder), backend="tensorrt")


def test_documents_take_torch_on_a_gpu_queries_keep_the_saved_backend(exported, monkeypatch) -> None:
    _, folder = exported[True]
    config = EncoderConfig.read(folder)
    replace(config, backend="onnx-fp32").write(folder)
    calls = []
    monkeypatch.setattr(Encoder, "from_pretrained", classmethod(lambda cls, src, **kw: calls.append(kw) or "gpu"))
    monkeypatch.setattr(encoding, "gpu_present", lambda: True)
    try:
        assert encoding.load_document_encoder(str(folder)) == "gpu" and calls == [{"device": None}]
        assert isinstance(load_encoder(str(folder)), OnnxEncoder)  # searches: the saved backend
        assert isinstance(encoding.load_document_encoder(str(folder), backend="onnx-fp32"), OnnxEncoder)
    finally:
        config.write(folder)
    assert len(calls) == 1


def test_torch_bf16_backend_autocasts_on_cpu_and_stays_close(exported) -> None:
    encoder, folder = exported[True]
    bf16 = load_encoder(str(folder), backend="torch-bf16", device="cpu")
    assert isinstance(bf16, Encoder) and bf16.cpu_dtype == "bf16" and encoder.cpu_dtype == "fp32"
    out = bf16.encode(TEXTS, "document")
    assert out.dtype == np.float32
    assert _cos(out, encoder.encode(TEXTS, "document")).min() >= 0.99  # tiny random model: loose bound
    assert not np.array_equal(out, encoder.encode(TEXTS, "document"))  # bf16 did run


def test_fingerprint_ignores_the_backend_choice() -> None:
    encoder = build_tiny_encoder(seed=3)
    before = encoder.fingerprint()
    encoder.config = replace(encoder.config, backend="onnx-int8")
    assert encoder.fingerprint() == before


def test_length_batches_cover_everything_and_bound_padded_tokens() -> None:
    lengths = [5, 300, 12, 12, 80, 7, 512, 3]
    batches = list(length_batches(lengths, batch_size=4))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in batches[0]] == [512, 300, 80, 12]  # longest first
    for batch in length_batches(lengths, batch_size=1024, max_tokens=600):  # the GPU setting
        assert len(batch) * max(lengths[i] for i in batch) <= 600 or len(batch) == 1


def test_gpu_path_uses_fp16_and_large_batches_cpu_stays_fp32(monkeypatch) -> None:
    assert inference_dtype("cuda") is torch.float16 and inference_dtype("cpu") is None
    assert inference_dtype("cuda", "bf16") is torch.bfloat16 and inference_dtype("cuda", "fp32") is None
    assert inference_dtype("cpu", "bf16") is None and inference_dtype("cpu", cpu_dtype="bf16") is torch.bfloat16
    with pytest.raises(ValueError, match="unsupported inference dtype"):
        inference_dtype("cuda", "int4")
    encoder = build_tiny_encoder(seed=3).eval()
    assert encoder._batch_limits(32) == (32, CPU_MAX_TOKENS)  # CPU: token-bounded small batches
    encoder.cpu_max_tokens = None
    assert encoder._batch_limits(32) == (32, None)
    monkeypatch.setattr(Encoder, "device", property(lambda self: torch.device("cuda")))
    size, tokens = encoder._batch_limits(32)
    assert size >= 1024 and tokens == encoder.gpu_max_tokens
    encoder.gpu_max_tokens = 4096
    assert encoder._batch_limits(32)[1] == 4096


def test_pipelined_gpu_path_gives_the_plain_embeddings_in_input_order(monkeypatch) -> None:
    """The GPU path (chunks tokenised ahead in a thread, batches queued and collected in groups), run on CPU."""
    encoder = build_tiny_encoder(seed=3).eval()
    texts = [f"{t} {i}" for i in range(7) for t in TEXTS]  # 42 texts, several lengths
    plain, plain_queries = encoder.encode(texts, "document", batch_size=4), encoder.encode(texts[:5], "query")
    monkeypatch.setattr(Encoder, "_pipelined", lambda self: True)
    monkeypatch.setattr(encoder_module, "GPU_PENDING", 3)
    encoder.gpu_chunk = 10  # 5 chunks
    np.testing.assert_allclose(encoder.encode(texts, "document", batch_size=4), plain, atol=1e-6)
    np.testing.assert_allclose(encoder.encode(texts[:5], "query"), plain_queries, atol=1e-6)  # one chunk


def _imports(code: str) -> set[str]:
    """Top-level modules imported by ``code`` in a fresh interpreter."""
    script = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("backend", "runtime"), [("onnx-int8", "onnxruntime"), ("openvino", "openvino")])
def test_onnx_serving_never_imports_torch(exported, backend, runtime) -> None:
    _, folder = exported[True]
    code = (f"from lacl_search.core.encoding import load_encoder\n"
            f"e = load_encoder({str(folder)!r}, backend={backend!r})\n"
            f"e.encode_queries(['x']); e.fingerprint()\n"
            f"import lacl_search.commands.search, lacl_search.serving.search")
    modules = _imports(code)
    assert runtime in modules
    assert not {"torch", "transformers"} & modules


def test_bm25_search_command_loads_no_encoder_runtime() -> None:
    code = ("import argparse; from lacl_search.commands import search\n"
            "search.register(argparse.ArgumentParser().add_subparsers())\n"
            "import lacl_search.serving.search, lacl_search.serving.client")
    assert not {"torch", "transformers", "onnxruntime", "openvino"} & _imports(code)


def test_latency_option_lets_onnx_threads_spin_and_keeps_the_embeddings(exported) -> None:
    from lacl_search.core.onnx_backend import session_options

    assert session_options(2).get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session_options(2, spin=True).get_session_config_entry("session.intra_op.allow_spinning") == "1"
    _, folder = exported[True]
    quiet = load_encoder(str(folder), backend="onnx-fp32")
    fast = load_encoder(str(folder), backend="onnx-fp32", latency=True)
    np.testing.assert_allclose(fast.encode_queries(["ein Satz"]), quiet.encode_queries(["ein Satz"]), atol=1e-6)
