"""Induced query translations: the words read, the vocabulary, the neighbour arithmetic (golden), the cache."""

import numpy as np
import pytest

from lacl_search.core import induced
from lacl_search.core.induced import InducedLexicon, load_induced, source_words, vectors_path, vocabulary
from lacl_search.core.lexicon import Lexicon
from tests.tiny_encoder import build_tiny_encoder

LEXICON = Lexicon(name="toy", target="en", tables={
    "de": {"spiel": (("game", 0.7), ("the", 0.2), ("play", 0.1)), "sicherheit": (("security", 0.9), ("2", 0.1))},
    "fr": {"jeu": (("game", 0.8), ("set-up", 0.2)), "et": (("and", 0.9), ("x", 0.1))}})


def test_source_words_are_whole_words_without_short_latin_ones():
    assert source_words("Logická hra a KDE-Plasma") == ["logická", "hra", "kde", "plasma"]
    assert source_words("다중 컬럼 가상 터미널") == ["다중", "컬럼", "가상", "터미널"]  # no bigrams, any length
    assert source_words("数据库 工具") == ["数据库", "工具"]
    assert len(source_words(" ".join(f"word{i}" for i in range(100)))) == induced.MAX_WORDS


def test_the_vocabulary_is_the_lexicons_target_words_that_can_be_translations():
    # no stop word ("the", "and"), no number, nothing shorter than 3 letters; sorted
    assert vocabulary(LEXICON) == ("game", "play", "security", "set-up")


def _unit(angle_degrees: float) -> list[float]:
    a = np.radians(angle_degrees)
    return [float(np.cos(a)), float(np.sin(a))]


def test_translate_keeps_near_neighbours_and_shares_each_words_weight_golden():
    table = InducedLexicon("en", ("game", "hero", "security", "safety"),
                           np.asarray([_unit(0), _unit(3), _unit(60), _unit(90)], dtype=np.float32))
    # "hra" at 1 degree: game cos 1.0, hero cos 0.9988 (within the margin); security cos 0.515: too far
    # "ochrana" at 75 degrees (its vector 5 times longer: length does not matter): security and safety cos 0.966
    # "xyz" at 180: nothing above MIN_SIMILARITY, left untranslated and not counted
    words = ["hra", "ochrana", "xyz"]
    vectors = np.asarray([_unit(1), _unit(75), _unit(180)]) * [[1], [5], [1]]
    got = table.translate(words, vectors)
    game, hero = np.cos(np.radians(1)), np.cos(np.radians(2))
    security, safety = np.cos(np.radians(15)), np.cos(np.radians(15))
    expected = {"game": game / (game + hero), "hero": hero / (game + hero),
                "safety": safety / (security + safety), "security": security / (security + safety)}
    assert [t for t, _ in got] == ["game", "safety", "security", "hero"]  # heaviest first, ties by name
    assert dict(got) == pytest.approx({k: round(v, 4) for k, v in expected.items()}, abs=1e-4)
    assert table.translate([], np.zeros((0, 2))) == ()
    assert table.translate(["xyz"], [_unit(180)]) == ()


def test_a_word_is_translated_only_when_its_best_neighbour_reaches_the_minimum_similarity():
    # 0.75 (docs/fusion.md, "Twelfth session"): a best neighbour at cosine 0.77 is kept, one at 0.73 not
    assert induced.MIN_SIMILARITY == 0.75
    table = InducedLexicon("en", ("game",), np.asarray([_unit(0)], dtype=np.float32))
    near, far = np.degrees(np.arccos(0.77)), np.degrees(np.arccos(0.73))
    assert table.translate(["hra"], [_unit(near)]) == (("game", 1.0),)
    assert table.translate(["hra"], [_unit(far)]) == ()


def test_many_translated_words_are_scaled_like_the_lexicons():
    table = InducedLexicon("en", ("game",), np.asarray([_unit(0)], dtype=np.float32))
    got = table.translate(["a"] * 12, [_unit(0)] * 12)  # 12 translated words: each counts 6 / 12
    assert got == (("game", 6.0),)


def test_vectors_are_encoded_once_per_encoder_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("LACL_HOME", str(tmp_path))
    tiny = build_tiny_encoder(seed=3).eval()
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return tiny.encode_queries(texts)

    first = load_induced(LEXICON, fingerprint=tiny.fingerprint(), encode=encode)
    assert calls == [4] and vectors_path(LEXICON, tiny.fingerprint()).is_file()
    np.testing.assert_allclose(np.linalg.norm(first.vectors, axis=1), 1.0, rtol=1e-5)
    again = load_induced(LEXICON, fingerprint=tiny.fingerprint(), encode=encode)
    assert calls == [4] and again.vocabulary == first.vocabulary
    np.testing.assert_array_equal(again.vectors, first.vectors)
    load_induced(LEXICON, fingerprint="another-encoder", encode=encode)  # other vectors, other file
    assert calls == [4, 4]
    empty = Lexicon(name="empty", target="en", tables={"de": {"und": (("and", 1.0),)}})  # a stop word only
    assert load_induced(empty, fingerprint="f", encode=encode).translate(["und"], [[1.0, 0.0]]) == ()
    assert calls == [4, 4]  # nothing encoded for an empty vocabulary
    path = vectors_path(LEXICON, tiny.fingerprint())
    path.write_bytes(b"not an array")  # damaged (a crash mid-write elsewhere, a full disk): encoded again
    np.testing.assert_array_equal(load_induced(LEXICON, fingerprint=tiny.fingerprint(), encode=encode).vectors,
                                  first.vectors)
    assert calls == [4, 4, 4]
    bigger = Lexicon(name="toy", target="en", tables={**LEXICON.tables, "it": {"gioco": (("gaming", 1.0),)}})
    assert vectors_path(bigger, tiny.fingerprint()) != path  # another vocabulary, other vectors
    load_induced(bigger, fingerprint=tiny.fingerprint(), encode=encode)
    assert calls == [4, 4, 4, 5] and not path.exists()  # the older vocabulary's file is gone
    with pytest.raises(ValueError, match="4 vocabulary words but 3 vectors"):
        InducedLexicon("en", first.vocabulary, first.vectors[:3])
