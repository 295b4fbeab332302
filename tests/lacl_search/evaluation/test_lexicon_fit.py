"""IBM Model 1 on parallel pairs: the textbook example, the parallel file, and the command."""

import dataclasses
import json

import numpy as np
import pytest

from lacl_search import cli
from lacl_search.core.lexicon import Lexicon
from lacl_search.errors import ArtifactMissing, ConfigError
from lacl_search.evaluation.lexicon_fit import ITERATIONS, fit_lexicon, model1

# Koehn, "Statistical Machine Translation", ch. 4: EM resolves "das" / "haus" / "buch" / "ein" from co-occurrence
PAIRS = [(["das", "haus"], ["the", "house"]), (["das", "buch"], ["the", "book"]), (["ein", "buch"], ["a", "book"])]


def test_model1_learns_the_textbook_translations():
    table = model1(PAIRS, iterations=10, keep_min=0.0)
    best = {f: ts[0][0] for f, ts in table.items()}
    assert best == {"das": "the", "haus": "house", "buch": "book", "ein": "a"}
    assert table["das"][0][1] > 0.6 and table["buch"][0][1] > 0.6
    assert all(abs(sum(p for _, p in ts) - 1) < 0.35 for ts in table.values())  # NULL takes the rest
    assert model1([], iterations=3) == {} and model1([([], ["x"])]) == {}


def _parallel(tmp_path, rows):
    path = tmp_path / "parallel.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_fit_lexicon_reads_the_parallel_file_per_language(tmp_path):
    rows = [{"source": e, "target": f, "lang": lang, "kind": "short"}
            for lang, pairs in (("de", PAIRS), ("pt_BR", [(["o", "livro"], ["the", "book"])]))
            for f, e in ((" ".join(f), " ".join(e)) for f, e in pairs)]
    rows.append({"source": " ".join(["w"] * 61), "target": "lang", "lang": "de", "kind": "long"})  # too long
    lexicon = fit_lexicon(_parallel(tmp_path, rows), name="toy", iterations=10)
    assert lexicon.languages == ("de", "pt") and lexicon.meta["pairs"] == {"de": 3, "pt": 1}
    assert lexicon.translate("Buch", "de")[0][0] == "book"
    assert fit_lexicon(_parallel(tmp_path, rows), name="toy", langs=["de"]).languages == ("de",)
    with pytest.raises(ConfigError, match="no pairs for fr"):
        fit_lexicon(_parallel(tmp_path, rows), name="toy", langs=["fr"])


def test_stemming_pools_a_words_inflections_into_one_entry(tmp_path):
    pairs = [("die Bibliothek", "the library"), ("die Bibliotheken", "the libraries"),
             ("eine Bibliothek", "a library"), ("die Dateien", "the files"), ("eine Datei", "a file")]
    rows = [{"source": e, "target": f, "lang": "de", "kind": "short"} for f, e in pairs]
    stemmed = fit_lexicon(_parallel(tmp_path, rows), name="toy", iterations=10)
    plain = fit_lexicon(_parallel(tmp_path, rows), name="toy", iterations=10, stemmer=None)
    assert stemmed.stemmer == "snowball" and plain.stemmer is None
    assert "bibliothek" in stemmed.tables["de"] and "bibliotheken" not in stemmed.tables["de"]
    assert "bibliotheken" in plain.tables["de"]
    assert dict(stemmed.translate("Bibliotheken", "de")).keys() >= {"library", "libraries"}
    # an inflection the pairs never had (the genitive) is found through its stem only
    assert plain.translate("Bibliotheks", "de") == ()
    assert stemmed.translate("Bibliotheks", "de") == stemmed.translate("Bibliothek", "de")


def test_bad_parallel_files_are_one_line_errors(tmp_path):
    with pytest.raises(ArtifactMissing, match="lacl-search data ddtp"):
        fit_lexicon(tmp_path / "missing.jsonl", name="x")
    path = tmp_path / "bad.jsonl"
    path.write_text('{"source": "a", "target": "b", "lang": "de"}\n{"source": "a"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.jsonl:2: not a parallel pair"):
        fit_lexicon(path, name="x")


def test_lexicon_command_writes_the_named_file(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("LACL_HOME", str(tmp_path / "home"))
    rows = [{"source": " ".join(e), "target": " ".join(f), "lang": "de", "kind": "short"} for f, e in PAIRS]
    assert cli.main(["fusion", "lexicon", "--parallel", str(_parallel(tmp_path, rows)), "--name", "toy"]) == 0
    path = tmp_path / "home" / "lexicons" / "toy.json.gz"
    assert capsys.readouterr().out.strip() == str(path)
    translated = dict(Lexicon.from_file(path).translate("das Haus", "de"))
    assert max(translated, key=translated.get) == "house" and "the" not in translated  # an English stop word
    assert Lexicon.from_file(path).stemmer == "snowball"
    # --if-missing keeps a lexicon built the same way, and builds one built another way again
    stamp = path.stat().st_mtime_ns
    argv = ["fusion", "lexicon", "--parallel", str(_parallel(tmp_path, rows)), "--name", "toy", "--if-missing"]
    assert cli.main(argv) == 0 and path.stat().st_mtime_ns == stamp
    assert cli.main([*argv, "--stemmer", "none"]) == 0 and Lexicon.from_file(path).stemmer is None
    old = Lexicon.from_file(path)
    dataclasses.replace(old, stemmer="snowball", meta={**old.meta, "iterations": 5}).to_file(path)  # last version's
    assert cli.main(argv) == 0 and Lexicon.from_file(path).meta["iterations"] == ITERATIONS
    assert cli.main(["fusion", "lexicon", "--parallel", str(tmp_path / "nothing.jsonl")]) != 0
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.levelname == "ERROR"] == \
        ["parallel file not found"]


def test_lexicon_command_encodes_the_vocabulary_for_induced_translations_with_model(tmp_path, monkeypatch):
    from lacl_search.core.encoding import load_encoder
    from lacl_search.core.induced import vectors_path, vocabulary
    from tests.tiny_encoder import build_tiny_encoder

    monkeypatch.setenv("LACL_HOME", str(tmp_path / "home"))
    model = build_tiny_encoder(seed=3).save_pretrained(tmp_path / "tiny")
    rows = [{"source": " ".join(e), "target": " ".join(f), "lang": "de", "kind": "short"} for f, e in PAIRS]
    argv = ["fusion", "lexicon", "--parallel", str(_parallel(tmp_path, rows)), "--name", "toy", "--if-missing"]
    assert cli.main(argv) == 0
    lexicon = Lexicon.from_file(tmp_path / "home" / "lexicons" / "toy.json.gz")
    fingerprint = load_encoder(str(model)).fingerprint()
    assert not vectors_path(lexicon, fingerprint).exists()
    assert cli.main([*argv, "--model", str(model)]) == 0  # the lexicon kept, its words encoded
    vectors = np.load(vectors_path(lexicon, fingerprint))
    assert vectors.shape == (len(vocabulary(lexicon)), 32) and len(vocabulary(lexicon)) > 0
