"""Smoke training with the tiny offline encoder: real steps, checkpoint, resume, reload, dev evaluation."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from lacl_search.core.encoder import Encoder
from lacl_search.core.types import Document
from lacl_search.evaluation.exact import DenseEvaluator, load_benchmark
from lacl_trainer import cli
from lacl_trainer.config import overrides_to_flags, parse_config
from lacl_trainer.data import IndexStream, TrainingData
from lacl_trainer.loop import run_training
from tests.support import REPO_ROOT
from tests.tiny_encoder import build_tiny_encoder

TINY_CONFIG = REPO_ROOT / "configs" / "train" / "tiny.yaml"
WORDS = "apt package library tool editor server font driver python data image audio network game".split()
LANGS = ("de", "fr", "ja")


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("train")
    build_tiny_encoder(seed=0).save_pretrained(root / "tiny")
    ir = [
        {
            "query": f"{w} {WORDS[i - 1]}",
            "positive": f"the {w} {WORDS[i - 1]} for debian systems",
            "positive_title": w,
            "negatives": [f"a {WORDS[i - 2]} thing"] if i % 3 else [],
            "negative_titles": [WORDS[i - 2]] if i % 3 else [],
            "doc_id": f"d{i}",
        }
        for i, w in enumerate(WORDS)
    ]
    parallel = [
        {"source": f"the {w}", "target": f"{lang}:{w}", "lang": lang, "kind": "short"} for w in WORDS for lang in LANGS
    ]
    mono = [{"text": f"{lang} text about {w}", "lang": lang} for w in WORDS for lang in (*LANGS, "da")]
    bench = root / "bench"
    (bench / "qrels").mkdir(parents=True)
    write_jsonl(
        bench / "corpus.jsonl",
        [{"_id": f"d{i}", "title": w, "text": f"the {w} for debian", "lang": "en"} for i, w in enumerate(WORDS)],
    )
    write_jsonl(bench / "queries.jsonl", [{"_id": f"q{i}", "text": w, "lang": "en"} for i, w in enumerate(WORDS)])
    (bench / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(len(WORDS)))
    )
    return {
        "model": str(root / "tiny"),
        "ir_file": write_jsonl(root / "ir.jsonl", ir),
        "parallel_file": write_jsonl(root / "parallel.jsonl", parallel),
        "monolingual_file": write_jsonl(root / "mono.jsonl", mono),
        "dev_benchmark": str(bench),
        "root": str(root),
    }


def config_for(workspace: dict[str, str], out: Path, **overrides: object):
    fields = {k: v for k, v in workspace.items() if k != "root"}
    fields.update(output_dir=str(out), train_langs="de,fr,ja,en")
    fields.update(overrides)
    return parse_config(TINY_CONFIG, overrides_to_flags([f"{k}={v}" for k, v in fields.items()]))


def state(model_dir: Path) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in Encoder.from_pretrained(str(model_dir), device="cpu").state_dict().items()}


def test_two_steps_change_weights_and_reload(workspace, tmp_path):
    config = config_for(workspace, tmp_path / "run", dev_benchmark="")
    model_dir = run_training(config)
    before, after = state(Path(workspace["model"])), state(model_dir)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "training did not change any weight"
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert {"loss", "loss_ir", "loss_sem", "loss_lang", "ir_acc", "d_std", "texts_per_s"} <= set(records[-1])
    reloaded = Encoder.from_pretrained(str(model_dir), device="cpu")
    assert reloaded.config.max_length == 64  # the training max_length does not leak into the saved config
    assert reloaded.encode_queries(["apt tool"]).shape == (1, 32)
    assert list((tmp_path / "run" / "tensorboard").iterdir())


def test_frozen_word_embeddings_stay_fixed(workspace, tmp_path):
    config = config_for(
        workspace,
        tmp_path / "run",
        dev_benchmark="",
        freeze_word_embeddings="true",
        lambda_lang=0.0,
        monolingual_batch_size=0,
    )
    after = state(run_training(config))
    before = state(Path(workspace["model"]))
    key = next(k for k in before if k.endswith("word_embeddings.weight"))
    assert torch.equal(before[key], after[key])


def test_resume_matches_uninterrupted_run(workspace, tmp_path):
    out = tmp_path / "run"
    full = run_training(config_for(workspace, out, max_steps=3, save_every=1, dev_benchmark=""))
    expected = state(full)
    # Simulate a crash after step 2: drop the last checkpoint and the final model, then resume.
    for path in sorted((out / "checkpoints" / "step-3").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (out / "checkpoints" / "step-3").rmdir()
    resumed = run_training(
        config_for(
            workspace,
            out,
            max_steps=3,
            save_every=1,
            dev_benchmark="",
            resume="true",
            model_dir=str(tmp_path / "resumed"),
        )
    )
    got = state(resumed)
    for key in expected:
        assert torch.allclose(expected[key], got[key], atol=1e-6), key


def test_dev_evaluation_is_logged(workspace, tmp_path):
    """The logged dev metrics are those of the saved model, re-evaluated independently."""
    config = config_for(workspace, tmp_path / "run", max_steps=1)
    model = run_training(config)
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    dev = [r for r in records if "dev/ndcg@10" in r]
    bench = load_benchmark(config.data.dev_benchmark, config.data.dev_max_queries)
    again = DenseEvaluator(Encoder.from_pretrained(model, device="cpu")).evaluate(bench)
    assert dev and dev[-1]["step"] == 1
    assert dev[-1]["dev/ndcg@10"] == pytest.approx(again["ndcg@10"], abs=1e-5)
    assert dev[-1]["dev/recall@100"] == pytest.approx(again["recall@100"], abs=1e-5)


def test_exact_search_finds_identical_documents(workspace):
    bench = load_benchmark(workspace["dev_benchmark"])
    encoder = Encoder.from_pretrained(workspace["model"], device="cpu", query_prefix="passage: ")
    bench = dataclasses.replace(bench, queries=[encoder.document_text(d) for d in bench.documents])  # query = doc
    metrics = DenseEvaluator(encoder).evaluate(bench)
    assert metrics["ndcg@10"] == pytest.approx(1.0) and metrics["recall@100"] == pytest.approx(1.0)


def test_training_documents_are_composed_as_served(workspace, tmp_path):
    """Positives and negatives are title + body through Encoder.document_text, as indexing encodes them."""
    config = config_for(workspace, tmp_path / "run")
    rows = [json.loads(line) for line in open(config.data.ir_file, encoding="utf-8")]
    pairs = {(r["positive_title"], r["positive"]) for r in rows}
    pairs |= {pair for r in rows for pair in zip(r["negative_titles"], r["negatives"], strict=True)}
    encoder = build_tiny_encoder()
    batch = TrainingData(config.data, seed=3, document_text=encoder.document_text).batch(0)
    served = {encoder.document_text(Document("", text, title)) for title, text in pairs}
    assert batch.positives and all(p in served for p in batch.positives + batch.negatives)
    assert all("\n" in p for p in batch.positives)  # every fixture description has a package name


def test_batches_are_seeded_and_sharded(workspace, tmp_path):
    config = config_for(workspace, tmp_path / "run")
    data = TrainingData(config.data, seed=3)
    assert data.batch(5) == TrainingData(config.data, seed=3).batch(5)
    a, b = data.batch(0, rank=0, world=2), data.batch(0, rank=1, world=2)
    assert not set(a.queries) & set(b.queries)
    assert len(a.negatives) == config.data.ir_batch_size * config.data.hard_negatives
    assert set(data.batch(1).mono_langs) <= {"de", "fr", "ja"}  # "da" is not a training language
    stream = IndexStream(5, seed=0)
    assert sorted(stream.take(0, 5)) == list(range(5)) and sorted(stream.take(5, 5)) == list(range(5))


def test_cli_registers_train(workspace, tmp_path):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "train",
            "--config",
            str(TINY_CONFIG),
            "max_steps=1",
            "train_langs=de,fr",
            "ir_file=x.jsonl",
            "lambda_sem=0",
            "lambda_lang=0",
        ]
    )
    config = parse_config(args.config, overrides_to_flags(args.overrides))
    assert config.train.max_steps == 1 and config.data.train_langs == ["de", "fr"]
    with pytest.raises(ValueError, match="KEY=VALUE"):
        overrides_to_flags(["nope"])


def test_language_sampling_alpha_balances_languages(workspace, tmp_path):
    rows = [{"source": f"s{i}", "target": f"t{i}", "lang": "it" if i < 90 else "ja"} for i in range(100)]
    path = write_jsonl(tmp_path / "skewed.jsonl", rows)
    natural = config_for(workspace, tmp_path / "a", parallel_file=path, train_langs="it,ja", parallel_batch_size=50)
    uniform = config_for(
        workspace,
        tmp_path / "b",
        parallel_file=path,
        train_langs="it,ja",
        parallel_batch_size=50,
        language_sampling_alpha=0.0,
    )
    langs_natural = [lang for step in range(8) for lang in TrainingData(natural.data, seed=1).batch(step).target_langs]
    data = TrainingData(uniform.data, seed=1)
    langs_uniform = [lang for step in range(8) for lang in data.batch(step).target_langs]
    assert langs_natural.count("ja") / len(langs_natural) == pytest.approx(0.1, abs=0.02)  # one epoch = 2 steps
    assert langs_uniform.count("ja") / len(langs_uniform) == pytest.approx(0.5, abs=0.1)
    assert data.batch(3) == TrainingData(uniform.data, seed=1).batch(3)  # a pure function of (seed, step)
    assert data.batch(3) != data.batch(4)
    with pytest.raises(ValueError, match="language_sampling_alpha"):
        config_for(workspace, tmp_path / "c", language_sampling_alpha=1.5)


def test_lang_gradient_option_trains(workspace, tmp_path):
    config = config_for(workspace, tmp_path / "run", lang_gradient="pairs", language_sampling_alpha=0.5)
    run_training(config)
    assert (tmp_path / "run" / "model").is_dir()
    with pytest.raises(ValueError, match="lang_gradient"):
        config_for(workspace, tmp_path / "bad", lang_gradient="queries")


def test_gradient_probe_reports_each_weighted_term(workspace, tmp_path):
    from lacl_trainer.probe import probe

    one = probe(config_for(workspace, tmp_path / "a", lambda_lang=1.0), batches=1)
    two = probe(config_for(workspace, tmp_path / "b", lambda_lang=2.0), batches=1)
    assert {"norm_ir", "norm_sem", "norm_lang", "cos_ir_sem", "cos_ir_lang", "cos_sem_lang"} <= set(one)
    assert all(one[f"norm_{term}"] > 0 for term in ("ir", "sem", "lang"))
    assert all(-1.0 <= v <= 1.0 for k, v in one.items() if k.startswith("cos_"))
    assert two["norm_lang"] == pytest.approx(2 * one["norm_lang"], rel=1e-4)  # the weighted term
    assert two["norm_ir"] == pytest.approx(one["norm_ir"], rel=1e-4)


def test_report_table_has_paired_differences():
    from lacl_search.evaluation.report import markdown_table

    ref, new = {"q1": 0.2, "q2": 0.4, "q3": 0.6}, {"q1": 0.3, "q2": 0.6, "q3": 0.6}
    results = {
        "ref": {"b": {"ndcg@10": 0.4, "recall@100": 1.0}, "_per_query": {"b": ref}},
        "new": {"b": {"ndcg@10": 0.5, "recall@100": 1.0}, "_per_query": {"b": new}},
    }
    table = markdown_table(results, ["b"])
    assert "| b | 0.400 / 1.000 | 0.500 / 1.000 |" in table
    assert "difference from `ref`" in table and "| b | +0.100 (p=" in table
