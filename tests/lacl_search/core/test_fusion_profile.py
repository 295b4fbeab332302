"""Language-aware fusion profiles: weights per query language, fallbacks, JSON round trip, validation."""

import pytest

from lacl_search.core import queries
from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.errors import ConfigError


def _profile(**changes):
    fields = {"encoder_fingerprint": "abc", "languages": {"de": (2, 1, 7), "*": (0.2, 0.1, 0.7)},
              "unknown": (1, 3)}
    return FusionProfile(**{**fields, **changes})


def test_weights_are_normalised_and_fall_back():
    profile = _profile()
    assert profile.weights_for("de") == (0.2, 0.1, 0.7)
    assert profile.weights_for("sk") == (0.2, 0.1, 0.7)  # no entry: the fallback
    assert profile.weights_for(None) == (0.25, 0.75)  # undetected language: bm25 + dense


def test_json_round_trip():
    profile = _profile(fitted_on=("mixed", "xling-de-en"), notes={"de": 0.61})
    assert FusionProfile.from_json(profile.to_json()) == profile


@pytest.mark.parametrize("changes", [{"languages": {"de": (1, 1, 1)}}, {"languages": {"*": (1, 1)}},
                                     {"unknown": (-1, 2)}, {"version": 99}, {"languages": {"*": (0, 0, 0)}}])
def test_invalid_profiles_are_config_errors(changes):
    with pytest.raises(ConfigError):
        _profile(**changes)
    with pytest.raises(ConfigError, match="not a fusion profile"):
        FusionProfile.from_json("{}")


def test_partition_clauses_golden():
    base = {"multi_match": {"query": "q", "fields": ["title^2", "text"], "type": "most_fields"}}
    german = {"multi_match": {"query": "q", "fields": ["title^2", "text", "title_i18n.de^2", "text_i18n.de"],
                              "type": "most_fields"}}
    assert queries.bm25_partition_clause("q", "de", same=True) == {
        "bool": {"must": [german], "filter": [{"term": {"lang": "de"}}]}}
    assert queries.bm25_partition_clause("q", "de", same=False) == {
        "bool": {"must": [base], "must_not": [{"term": {"lang": "de"}}]}}


def test_translated_partition_clause_golden():
    base = {"multi_match": {"query": "Bibliothek", "fields": ["title^2", "text"], "type": "most_fields"}}
    english = ["title^2", "text", "title_i18n.en^2", "text_i18n.en"]
    clause = queries.bm25_partition_clause("Bibliothek", "de", same=False,
                                           translations=[("library", 0.9), ("zero", 0.0), ("books", 0.1)])
    assert clause == {"bool": {"should": [
        base,
        {"multi_match": {"query": "library", "fields": english, "type": "most_fields", "boost": 0.9}},
        {"multi_match": {"query": "books", "fields": english, "type": "most_fields", "boost": 0.1}},
    ], "minimum_should_match": 1, "must_not": [{"term": {"lang": "de"}}]}}
    # the same-language partition never translates
    assert queries.bm25_partition_clause("q", "de", same=True, translations=[("x", 1.0)]) == \
        queries.bm25_partition_clause("q", "de", same=True)


def test_profile_names_its_lexicon():
    profile = _profile(lexicon="ddtp")
    assert FusionProfile.from_json(profile.to_json()).lexicon == "ddtp"
    assert FusionProfile.from_json(_profile().to_json()).lexicon is None  # profiles from before: none
    with pytest.raises(ConfigError, match="lexicon name"):
        _profile(lexicon="/etc/passwd.json.gz")  # a name in the lexicon folder, never a path
