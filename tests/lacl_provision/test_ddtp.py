"""Offline tests of the DDTP data builder on the synthetic lists folder in tests/fixtures/ddtp/lists.

The fixture is an apt lists folder in miniature (plain, uncompressed files): Translation-en/de/fr/da/
zh_CN and a Packages index. It holds 20 one-package sources, 4 ``lib<src>-dev`` siblings, three
"transitional dummy package" descriptions, one description shared by two sources' binaries, a reserved
md5 with a same-source sibling, and German pitfalls: a stale md5, a copy of the English text, an
English short description and an ``NA`` placeholder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from lacl_provision.ddtp import cli, ddtp, splits
from lacl_provision.ddtp.benchmarks import BenchmarkSpec, twin_qrels, unique_shorts
from lacl_provision.ddtp.build import DdtpConfig, check_langs, run
from lacl_provision.ddtp.training import bm25_top_k
from tests.support import FIXTURES

LISTS = FIXTURES / "ddtp" / "lists"
RESERVED = "00094361ed8983bbb1d7b850c62f3e1d"  # in the packaged reserved list and in the fixture


@pytest.fixture(scope="module")
def data() -> ddtp.DdtpData:
    return ddtp.load(LISTS, ["de", "fr", "zh_CN", "da"])


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = DdtpConfig(out=tmp_path_factory.mktemp("ddtp"), langs=["de", "fr", "zh_CN"], eval_langs=["da"],
                        lists=LISTS, dev_fraction=0.4, negatives=2, quickstart_docs=20,
                        bench=BenchmarkSpec(min_queries=1, min_mono_docs=1))
    return run(config)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_iter_stanzas_keeps_continuation_lines() -> None:
    text = "Package: a\nDescription-en: short\n line one\n .\n line two\n\nPackage: b\nDescription-en: x\n"
    stanzas = list(ddtp.iter_stanzas(text))
    assert [s["Package"] for s in stanzas] == ["a", "b"]
    assert stanzas[0]["Description-en"] == "short\n line one\n .\n line two"


@pytest.mark.parametrize(("body", "expected"), [
    (" first line\n second line\n .\n next para", "first line second line\nnext para"),
    (" Features:\n   * one\n     continued\n   * two", "Features:\n* one continued\n* two"),
    (" 这是一个\n 测试软件包。", "这是一个测试软件包。"),
    (" 支持 GTK\n 界面", "支持 GTK界面"),
    (" double  spaced\n text", "double spaced text"),
    (" NA", ""),
    ("", ""),
])
def test_clean_long(body: str, expected: str) -> None:
    assert ddtp.clean_long(body) == expected


def test_clean_translation_rules() -> None:
    english = ddtp.Description("m", "en", "GNU Hello", "Says hello.")
    same = ddtp.Description("m", "de", "GNU Hello", "Says hello.")
    short_same = ddtp.Description("m", "de", "gnu hello", "Sagt hallo.")
    empty = ddtp.Description("m", "de", "", "")
    assert ddtp.clean_translation(same, None) == (None, "stale")
    assert ddtp.clean_translation(same, english) == (None, "identical")
    assert ddtp.clean_translation(empty, english) == (None, "empty")
    cleaned, reason = ddtp.clean_translation(short_same, english)
    assert reason == "short_identical" and cleaned == ddtp.Description("m", "de", "", "Sagt hallo.")


def test_index_file_quotes_underscore_language() -> None:
    assert ddtp.index_file(LISTS, "Translation-zh_CN").name.endswith("Translation-zh%5fCN")
    assert ddtp.index_file(LISTS, "Translation-ko") is None


def test_load_cleans_fixture(data: ddtp.DdtpData) -> None:
    assert len(data.english) == 35  # gamea-data and gameb-data share one md5
    assert data.packages[next(m for m, d in data.english.items() if d.short.startswith("shared"))] == [
        "gamea-data", "gameb-data"]
    assert data.dropped["de:stale"] == 1 and data.dropped["de:identical"] == 1
    assert data.dropped["de:short_identical"] == 1 and data.dropped["de:empty"] == 1
    assert all(d.short != "NA" for d in data.translations["de"].values())
    assert data.sources["libimage0-dev"] == "image0" and data.sources["image0"] == "image0"
    zh = next(d for d in data.translations["zh_CN"].values() if "图像" in d.short)
    assert zh.long.startswith("image0 是一个用 C 编写的小型图像查看器。它启动很快，占用内存少。")


def test_source_groups_merge_siblings_and_shared_descriptions(data: ddtp.DdtpData) -> None:
    groups = splits.source_groups(data.packages, data.sources)
    by_pkg = {p: groups[m] for m, names in data.packages.items() for p in names}
    assert by_pkg["libimage0-dev"] == by_pkg["image0"] == "image0"
    assert by_pkg["gamea"] == by_pkg["gameb"] == by_pkg["gamea-data"] == "gamea"
    assert by_pkg["reservedpkg"] == by_pkg["reservedpkg-doc"] == "zebra"


def test_assign_splits_is_deterministic_and_by_group() -> None:
    groups = {f"md5-{i}": f"src{i // 3}" for i in range(300)}
    first = splits.assign_splits(groups, seed=1, dev_fraction=0.2)
    assert first == splits.assign_splits(dict(reversed(list(groups.items()))), seed=1, dev_fraction=0.2)
    assert first != splits.assign_splits(groups, seed=2, dev_fraction=0.2)
    for g in set(groups.values()):
        assert len({first[m] for m, s in groups.items() if s == g}) == 1
    assert set(first.values()) == {"dev", "train", "mono"}


def test_packaged_reserved_list() -> None:
    reserved = splits.reserved_md5()
    assert len(reserved) == 6026 and RESERVED in reserved
    assert all(len(m) == 32 and int(m, 16) >= 0 for m in reserved)


def test_unique_shorts_drops_ambiguous(data: ddtp.DdtpData) -> None:
    shorts = unique_shorts(data.english, set(data.english))
    assert "transitional dummy package" not in shorts.values()
    assert "GNU Hello" in shorts.values()


def test_twin_qrels_marks_identical_texts_relevant() -> None:
    corpus = [{"_id": "a", "text": "same", "lang": "en"}, {"_id": "b", "text": "Same ", "lang": "en"},
              {"_id": "c", "text": "other", "lang": "en"}]
    assert twin_qrels(corpus, {"q": ["a"]}) == [("q", "a", 1), ("q", "b", 1)]


def test_bm25_top_k_matches_bm25s_retrieve() -> None:
    import bm25s

    texts = ["the cat sat on the mat", "dogs chase cats", "a text editor for programmers",
             "image viewer with thumbnails", "mail client with filters", "cat food and cat toys"]
    queries = ["cat toys", "editor", "thumbnails viewer"]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    expected, _ = retriever.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False), k=1,
                                     show_progress=False)
    top = bm25_top_k(texts, queries, k=2)
    assert top[:, 0].tolist() == expected[:, 0].tolist() == [5, 2, 3]
    assert top[1, 1] == -1  # "editor" matches one document only


def test_check_langs_refuses_heldout_training_language(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not training languages"):
        check_langs(DdtpConfig(out=tmp_path, langs=["de", "da"]))


def test_fetch_runs_one_apt_update_then_reuses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    monkeypatch.setenv("LACL_HOME", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    folder = ddtp.fetch(["de", "zh_CN"])
    assert folder == tmp_path / "ddtp" / "bookworm" / "lists" and (folder / "partial").is_dir()
    assert len(calls) == 1 and "Acquire::Languages=de,en,zh_CN" in calls[0]
    assert f"Dir::State::Lists={folder}" in calls[0]
    ddtp.fetch(["zh_CN"])
    assert len(calls) == 1
    ddtp.fetch(["da"])
    assert len(calls) == 2 and "Acquire::Languages=da,de,en,zh_CN" in calls[1]


def test_outputs_are_beir_and_jsonl(out: Path) -> None:
    names = sorted(p.name for p in out.iterdir())
    assert {"mixed", "quickstart", "train", "manifest.json", "xling-de-en", "mono-en"} <= set(names)
    for folder in (p for p in out.iterdir() if p.is_dir() and p.name != "train"):
        lines = (folder / "qrels" / "test.tsv").read_text().splitlines()
        assert lines[0] == "query-id\tcorpus-id\tscore"
        doc_ids = {d["_id"] for d in read_jsonl(folder / "corpus.jsonl")}
        query_ids = {q["_id"] for q in read_jsonl(folder / "queries.jsonl")}
        assert all(set(d) == {"_id", "title", "text", "lang", "group"} for d in read_jsonl(folder / "corpus.jsonl"))
        assert all(set(q) == {"_id", "text", "lang"} for q in read_jsonl(folder / "queries.jsonl"))
        for line in lines[1:]:
            qid, did, score = line.split("\t")
            assert qid in query_ids and did in doc_ids and score == "1"
    ir = read_jsonl(out / "train" / "ir.jsonl")
    fields = {"query", "positive", "positive_title", "negatives", "negative_titles", "doc_id"}
    assert ir and all(set(r) == fields and len(r["negatives"]) == len(r["negative_titles"]) for r in ir)
    assert {r["positive_title"] for r in ir} >= {"flex"}  # package names, as the corpora's titles
    assert all(r["positive"] not in r["negatives"] and len(r["negatives"]) == 2 for r in ir)
    assert all(set(p) == {"source", "target", "lang", "kind"} for p in read_jsonl(out / "train" / "parallel.jsonl"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits"]["reserved_md5_excluded"] == 1
    assert manifest["splits"]["reserved_group_siblings_excluded"] == 1


def test_xling_titles_do_not_leak_queries(out: Path) -> None:
    corpus = read_jsonl(out / "xling-de-en" / "corpus.jsonl")
    english_shorts = {d.short for d in ddtp.load(LISTS, []).english.values()}
    assert all(doc["title"] not in english_shorts and doc["lang"] == "en" for doc in corpus)


def test_reserved_descriptions_appear_nowhere(out: Path) -> None:
    for path in out.rglob("*.*"):
        text = path.read_text(encoding="utf-8")
        assert RESERVED not in text and "zebra" not in text.lower() and "Zebra" not in text, path


def test_training_is_leak_free_and_training_languages_only(out: Path, data: ddtp.DdtpData) -> None:
    dev_docs = {d["_id"] for d in read_jsonl(out / "mono-en" / "corpus.jsonl")}
    groups = splits.source_groups(data.packages, data.sources)
    dev_groups = {groups[m] for m in dev_docs}
    train_texts = {r["positive"] for r in read_jsonl(out / "train" / "ir.jsonl")}
    ir_groups = {groups[r["doc_id"]] for r in read_jsonl(out / "train" / "ir.jsonl")}
    assert dev_docs and ir_groups and not dev_groups & ir_groups
    assert not train_texts & {data.english[m].long for m in dev_docs}
    parallel = read_jsonl(out / "train" / "parallel.jsonl")
    mono = read_jsonl(out / "train" / "monolingual.jsonl")
    assert {p["lang"] for p in parallel} <= {"de", "fr", "zh_CN"}
    assert {m["lang"] for m in mono} <= {"en", "de", "fr", "zh_CN"}
    danish = {d.long for d in data.translations["da"].values()} | {d.short for d in data.translations["da"].values()}
    train_text = "".join(p.read_text(encoding="utf-8") for p in (out / "train").iterdir())
    assert not any(t and t in train_text for t in danish)
    md5_of_text = {d.long: m for table in [data.english, *data.translations.values()] for m, d in table.items()}
    mono_md5 = [md5_of_text[m["text"]] for m in mono]
    lang_of_group = {(groups[m], row["lang"]) for m, row in zip(mono_md5, mono, strict=True)}
    assert len(lang_of_group) == len({g for g, _ in lang_of_group})  # one language per source group
    used = dev_docs | {r["doc_id"] for r in read_jsonl(out / "train" / "ir.jsonl")}
    used |= {md5_of_text[p["source"]] for p in parallel if p["kind"] == "long"}
    assert mono_md5 and not set(mono_md5) & used

def test_cli_registers_data_ddtp(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "ddtp", "--out", str(tmp_path), "--langs", "de", "--max-test-queries", "7"])
    assert args.out == tmp_path and args.langs == ["de"] and args.max_test_queries == 7
    assert args.eval_langs == list(ddtp.HELDOUT_LANGS) and not args.include_reserved
