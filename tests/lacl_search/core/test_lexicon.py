"""Query translation tables: tokens, weighted translations (golden), the file format, loading by name."""

import gzip
import json

import pytest

from lacl_search.core import lexicon as lx
from lacl_search.core.lexicon import Lexicon, load_lexicon, tokens
from lacl_search.errors import ArtifactMissing, ConfigError

TABLES = {"de": {"bibliothek": (("library", 0.9), ("libraries", 0.05)),
                 "für": (("for", 0.8), ("the", 0.12), ("to", 0.08)),
                 "bilder": (("images", 0.5), ("pictures", 0.3), ("graphics", 0.1), ("photos", 0.1)),
                 "komprimieren": (("compress", 0.6), ("compression", 0.4))},
          "ja": {"画像": (("image", 0.7),)}}


def _lexicon() -> Lexicon:
    return Lexicon(name="toy", target="en", tables=TABLES, meta={"pairs": {"de": 3}})


def test_tokens_are_lower_case_words_and_cjk_bigrams():
    assert tokens("Bibliothek für XML-Dokumente, v2") == ["bibliothek", "für", "xml", "dokumente", "v2"]
    assert tokens("画像を圧縮") == ["画像", "像を", "を圧", "圧縮"]
    assert tokens("画") == ["画"]


def test_translations_are_weighted_summed_and_cut():
    translated = _lexicon().translate("Bibliothek für Bilder; Bilder komprimieren!", "de")
    # top 3 per word of probability >= 0.1, summed over the query's words, heaviest first (ties by term);
    # English stop words ("for", "the") are left out
    assert translated == (("images", 1.0), ("library", 0.9), ("compress", 0.6), ("pictures", 0.6),
                          ("compression", 0.4), ("graphics", 0.2))
    # more than MAX_TRANSLATED_WORDS (6) words: the whole translation weighs as much as 6 of them
    long = _lexicon().translate("Bibliothek Bibliothek Bibliothek Bibliothek Bibliothek Bibliothek xx yy zz xx yy zz",
                                "de")
    assert long == (("library", pytest.approx(6 * 0.9 * 6 / 12)),)
    assert _lexicon().translate("Bibliothek", "de", top=1, min_probability=0.0) == (("library", 0.9),)
    assert _lexicon().translate("画像", "ja") == (("image", 0.7),)


@pytest.mark.parametrize(("text", "lang"), [("Bibliothek", None), ("Bibliothek", "en"), ("Bibliothek", "da"),
                                            ("unbekannt", "de"), ("", "de")])
def test_no_translation_without_a_table_or_a_known_word(text, lang):
    assert _lexicon().translate(text, lang) == ()


def test_a_stemmed_lexicon_looks_up_each_inflection_by_its_stem():
    stemmed = Lexicon(name="stem", target="en", tables={"de": {"bibliothek": (("library", 0.9),)},
                                                        "ru": {"библиотек": (("library", 0.8),)},
                                                        "ja": {"画像": (("image", 0.7),)}}, stemmer="snowball")
    assert lx.source_words("Bibliotheken der Bibliothek", "de", "snowball") == ["bibliothek", "der", "bibliothek"]
    assert stemmed.translate("Bibliotheken", "de") == (("library", 0.9),)
    assert stemmed.translate("библиотеки", "ru") == stemmed.translate("библиотека", "ru") == (("library", 0.8),)
    assert stemmed.translate("画像", "ja") == (("image", 0.7),)  # no Snowball stemmer: bigrams as they are
    assert _lexicon().translate("Bibliotheken", "de") == ()  # the same word, unstemmed: no entry
    with pytest.raises(ConfigError, match="unknown stemmer 'porter2'"):
        Lexicon(name="x", target="en", tables={}, stemmer="porter2")


def test_a_long_text_is_capped(monkeypatch):
    words = {f"w{i}": ((f"t{i}", 0.5),) for i in range(50)}
    big = Lexicon(name="big", target="en", tables={"de": words})
    assert len(big.translate(" ".join(words), "de")) == lx.MAX_TERMS


def test_file_round_trip_and_loading_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LACL_HOME", str(tmp_path))
    load_lexicon.cache_clear()
    path = _lexicon().to_file(lx.lexicon_path("toy"))
    assert path == tmp_path / "lexicons" / "toy.json.gz"
    loaded = load_lexicon("toy")
    assert loaded == _lexicon() and loaded.languages == ("de", "ja")
    assert Lexicon.from_file(path) == loaded and loaded.stemmer is None
    stemmed = Lexicon(name="toy2", target="en", tables=TABLES, stemmer="snowball")
    assert Lexicon.from_file(stemmed.to_file(tmp_path / "toy2.json.gz")).stemmer == "snowball"
    with pytest.raises(ArtifactMissing, match="lacl-search fusion lexicon --name nope"):
        load_lexicon("nope")
    load_lexicon.cache_clear()


def test_bad_files_and_names_are_one_line_errors(tmp_path):
    (tmp_path / "plain.json.gz").write_text("not gzip")
    with pytest.raises(ConfigError, match="not a gzipped lexicon"):
        Lexicon.from_file(tmp_path / "plain.json.gz")
    with gzip.open(tmp_path / "other.json.gz", "wt") as fh:
        json.dump({"format": "something-else"}, fh)
    with pytest.raises(ConfigError, match="not a lacl-search lexicon"):
        Lexicon.from_file(tmp_path / "other.json.gz")
    with gzip.open(tmp_path / "v9.json.gz", "wt") as fh:
        json.dump({"format": "lacl-lexicon", "version": 9}, fh)
    with pytest.raises(ConfigError, match="version 9"):
        Lexicon.from_file(tmp_path / "v9.json.gz")
    with gzip.open(tmp_path / "cut.json.gz", "wt") as fh:
        json.dump({"format": "lacl-lexicon", "version": 1, "name": "cut", "tables": {"de": {"x": [["y"]]}}}, fh)
    with pytest.raises(ConfigError, match="a damaged lexicon"):
        Lexicon.from_file(tmp_path / "cut.json.gz")
    with pytest.raises(ArtifactMissing):
        Lexicon.from_file(tmp_path / "missing.json.gz")
    for name in ("../etc", "a/b", ".hidden", "Upper"):
        with pytest.raises(ConfigError, match="lexicon name"):
            Lexicon(name=name, target="en", tables={})
        with pytest.raises(ConfigError, match="lexicon name"):
            load_lexicon(name)
