"""``scripts/adapt.sh`` (the ``quickstart.sh --adapt`` step) end to end with the tiny encoder and a real cluster.

Train two steps, re-embed a corpus into a new concrete index behind the alias, and check that the alias
moved, the base index is kept, and the demo's compare searchers (adapted + base) can be built from the
command the script prints, without launching a browser.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from lacl_search.core.encoder import Encoder
from lacl_search.serving.search import Searcher
from tests.support import REPO_ROOT
from tests.tiny_encoder import build_tiny_encoder

WORDS = "apt package library tool editor server font driver python data image audio network game".split()
LANGS = ("de", "fr", "ja")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def ddtp_like(root: Path) -> Path:
    """A DDTP-shaped folder: train/{ir,parallel,monolingual}.jsonl and quickstart/corpus.jsonl."""
    pairs = list(zip(WORDS, WORDS[1:] + WORDS[:1], strict=True))
    write_jsonl(root / "train" / "ir.jsonl", [
        {"query": f"{a} {b}", "positive": f"the {a} {b} for debian systems", "positive_title": a,
         "negatives": [f"a {b} thing"], "negative_titles": [b], "doc_id": f"d{i}"} for i, (a, b) in enumerate(pairs)
    ])  # fmt: skip
    write_jsonl(root / "train" / "parallel.jsonl", [
        {"source": f"the {w}", "target": f"{lang}:{w}", "lang": lang, "kind": "short"} for w in WORDS for lang in LANGS
    ])  # fmt: skip
    write_jsonl(root / "train" / "monolingual.jsonl", [
        {"text": f"{lang} text about {w}", "lang": lang} for w in WORDS for lang in LANGS
    ])  # fmt: skip
    write_jsonl(root / "quickstart" / "corpus.jsonl", [
        {"_id": f"{w}-{lang}", "title": w, "text": f"{lang} description of the {w}", "lang": lang}
        for w in WORDS for lang in ("en", "de")
    ])  # fmt: skip
    return root


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout


def demo_args(stdout: str) -> argparse.Namespace:
    """The demo command adapt.sh printed, parsed by the demo's own parser."""
    from lacl_demo import cli as demo_cli

    line = next(line for line in stdout.splitlines() if line.startswith("Demo: "))
    parser = argparse.ArgumentParser()
    demo_cli.register(parser.add_subparsers(dest="command"))
    tokens = shlex.split(line.removeprefix("Demo: "))
    assert tokens[:2] == ["lacl-search", "demo"]
    return parser.parse_args(tokens[1:])


def test_adapt_moves_the_alias_keeps_the_base_index_and_builds_the_compare_demo(
    tmp_path, opensearch_url, os_client, index_name
):
    from lacl_demo.app import build_demo

    base = tmp_path / "tiny"
    build_tiny_encoder(seed=0).save_pretrained(base)
    data = ddtp_like(tmp_path / "ddtp")
    env = {**os.environ, "OPENSEARCH_URL": opensearch_url,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    corpus = data / "quickstart" / "corpus.jsonl"
    run(["lacl-search", "--threads", "1", "ingest", "--input", str(corpus), "--index", index_name,
         "--model", str(base), "--id-field", "_id", "--no-progress"], env)  # the quickstart's base index
    (base_index,) = sorted(os_client.indices.get_alias(name=index_name))

    adapted = tmp_path / "adapted"
    env.update(ADAPT_DATA=str(data), ADAPT_INDEX=index_name, ADAPT_BASE_MODEL=str(base),
               ADAPT_CONFIG="configs/train/tiny.yaml", ADAPT_STEPS="2", ADAPT_MODEL=str(adapted),
               ADAPT_RUN=str(tmp_path / "run"), ADAPT_DEMO="0", ADAPT_PROGRESS="0", ADAPT_THREADS="1",
               ADAPT_TRAIN_ARGS="train_langs=de,fr,ja,en")
    stdout = run(["bash", "scripts/adapt.sh"], env)

    result = json.loads((tmp_path / "run" / "adapt.json").read_text())
    serving = sorted(os_client.indices.get_alias(name=index_name))
    assert serving == [result["ingest"]["concrete_index"]] and serving != [base_index]  # the alias moved
    assert result["ingest"]["switched"] and result["ingest"]["failed"] == 0
    assert os_client.indices.exists(index=base_index) and result["base_index"] == base_index  # kept
    assert os_client.count(index=base_index)["count"] == os_client.count(index=index_name)["count"] == 28
    records = [json.loads(line) for line in (tmp_path / "run" / "train" / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 2 and "loss_lang" in records[-1]  # the full method was trained
    assert not (tmp_path / "run" / "train" / "checkpoints").exists()  # only the model is kept
    adapted_encoder = Encoder.from_pretrained(adapted, device="cpu")
    meta = os_client.indices.get_mapping(index=serving[0])[serving[0]]["mappings"]["_meta"]
    assert meta["model_fingerprint"] == adapted_encoder.fingerprint()

    args = demo_args(stdout)  # exactly what adapt.sh would launch
    assert (args.index, args.model, args.compare_model, args.compare_index) == (
        index_name, str(adapted), str(base), base_index)
    searchers = {}
    for model, index in [(args.model, args.index), (args.compare_model, args.compare_index)]:
        searchers[model] = Searcher(os_client, index=index, encoder=Encoder.load(model, device="cpu"))
        hits = searchers[model].search("editor", mode="dense", k=3)
        assert len(hits) == 3
    demo = build_demo(searchers, args.index, detect=lambda text: None)
    assert {"compare-0", "compare-1"} <= {getattr(block, "elem_id", None) for block in demo.blocks.values()}
