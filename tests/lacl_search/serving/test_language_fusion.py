"""Language-aware hybrid search on a real OpenSearch: the profile in _meta, both fusion sides, auto."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from lacl_search.core.fusion_profile import FusionProfile
from lacl_search.errors import ConfigError
from lacl_search.evaluation import beir
from lacl_search.serving import profiles
from lacl_search.serving.indexing import LoadOptions, load_documents
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

pytestmark = pytest.mark.integration


def test_profile_is_used_by_auto_and_gives_the_same_ranking_on_both_sides(os_client, index_name):
    tiny = build_tiny_encoder(seed=3).eval()
    load_documents(os_client, index_name, tiny, beir.iter_corpus(FIXTURES / "beir-mini"),
                   options=LoadOptions(model_name="tiny"))
    query = "Bibliothek XML Dokumente"
    with pytest.raises(ConfigError, match="no fusion profile"):
        Searcher(os_client, index=index_name, encoder=tiny).search(query, mode="hybrid", fusion="language")
    other = FusionProfile(encoder_fingerprint="another-model", languages={"*": (1, 0, 0)})
    assert profiles.attach(os_client, index_name, other) == []  # fitted for another encoder: refused

    # all weight on the German partition: only German documents can score
    german = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (1.0, 0.0, 0.0)}, unknown=(1, 0))
    assert profiles.attach(os_client, index_name, german)
    rankings = {}
    for side in ("server", "client"):
        searcher = Searcher(os_client, index=index_name, encoder=tiny, fusion_side=side)
        hits = searcher.search(query, mode="hybrid", k=3, query_lang="de")  # fusion "auto": the profile
        assert hits[0].doc_id == "xml-de" and hits[0].scores["fused"] == pytest.approx(1.0)
        rankings[side] = [h.doc_id for h in hits if h.score > 0]
    assert rankings["server"] == rankings["client"] and all(d.endswith("-de") for d in rankings["server"])
    # a weight asks for min-max at that weight, not the profile (which would leave the weight without effect)
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    weighted = searcher.search(query, mode="hybrid", k=5, weight=0.0, query_lang="de")
    minmax = searcher.search(query, mode="hybrid", k=5, fusion="minmax", weight=0.0, query_lang="de")
    assert [(h.doc_id, h.score) for h in weighted] == [(h.doc_id, h.score) for h in minmax]
    assert any(not h.doc_id.endswith("-de") for h in weighted if h.score > 0)  # BM25 over all, not German only

    dense_only = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.0, 0.0, 1.0)})
    profiles.attach(os_client, index_name, dense_only)
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    fused = [h.doc_id for h in searcher.search(query, mode="hybrid", k=5, fusion="language", query_lang="de")]
    assert fused == [h.doc_id for h in searcher.search(query, mode="dense", k=5)]
    minmax = searcher.search(query, mode="hybrid", k=5, fusion="minmax", query_lang="de")
    assert [h.doc_id for h in minmax] != fused or minmax[0].scores["bm25"] is not None  # minmax keeps BM25


def test_the_profile_moves_with_the_alias_through_rebuilds(os_client, index_name):
    """A rebuild with the same model keeps the fitted fusion; a job's own profile is stored before the alias
    moves; one fitted for another model is refused before anything is written; a new model starts without."""
    from lacl_search.serving import indexing

    tiny = build_tiny_encoder(seed=3).eval()
    docs = list(beir.iter_corpus(FIXTURES / "beir-mini"))
    first, _ = load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny"))
    fitted = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.2, 0.3, 0.5)})
    assert profiles.attach(os_client, index_name, fitted) == [first]

    rebuilt, _ = load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny", rebuild=True))
    assert rebuilt != first and indexing.alias_targets(os_client, index_name) == [rebuilt]
    assert profiles.find(os_client, rebuilt, tiny.fingerprint()) == fitted
    assert indexing.index_meta(os_client, rebuilt)["build_state"] == "complete"  # the carry kept the rest of _meta

    own = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.0, 0.1, 0.9)})
    third, _ = load_documents(os_client, index_name, tiny, docs,
                              options=LoadOptions(model_name="tiny", rebuild=True, fusion_profile=own))
    assert profiles.find(os_client, index_name, tiny.fingerprint()) == own  # the job's own, not the carried one

    other_model = build_tiny_encoder(seed=4).eval()
    assert other_model.fingerprint() != tiny.fingerprint()
    before = sorted(os_client.indices.get(index=f"{index_name}*"))
    with pytest.raises(ConfigError, match="fitted for encoder"):
        load_documents(os_client, index_name, other_model, docs,
                       options=LoadOptions(model_name="other", rebuild=True, fusion_profile=own))
    assert sorted(os_client.indices.get(index=f"{index_name}*")) == before  # refused before any index or write
    fourth, _ = load_documents(os_client, index_name, other_model, docs, options=LoadOptions(model_name="other"))
    assert fourth != third and profiles.find(os_client, fourth, other_model.fingerprint()) is None
    assert "fusion_profile" not in indexing.index_meta(os_client, fourth)  # another model's weights not carried


def test_grouping_and_preference_on_a_real_index(os_client, index_name):
    from lacl_search.core.types import Document

    tiny = build_tiny_encoder(seed=3).eval()
    docs = [Document(f"{g}-{lang}", f"{text} {g}", lang=lang, metadata={"set": g})
            for g in ("zip", "tar") for lang, text in (("en", "archive tool"), ("de", "Archivwerkzeug"),
                                                      ("fr", "outil d'archive"))]
    load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny"))
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    for mode in ("bm25", "dense", "hybrid"):
        hits = searcher.search("archive zip tar", mode=mode, k=5, group_by="set", prefer_langs=["fr"])
        assert sorted(h.metadata["set"] for h in hits) == ["tar", "zip"]
        assert all(h.lang == "fr" and h.variants == ["de", "en"] for h in hits)
        preferred = searcher.search("archive zip tar", mode=mode, k=6, prefer_langs=["fr"])
        assert [h.score for h in preferred] == sorted((h.score for h in preferred), reverse=True)  # ranking score
        leg = {"bm25": "bm25", "dense": "dense"}.get(mode, "fused")
        assert all(h.scores[leg] is not None for h in preferred)  # the retrieval score is kept


def test_grouping_fills_the_page_when_each_set_has_many_languages(opensearch_url, os_client, index_name):
    """Forty sets of eight translations each, a set's members alike but for one word (one shard: equal BM25
    scores; not identical, whose equal vectors Lucene's HNSW graph returns fewer of than asked), so the first
    candidate window (2 x the block of 30 hits) holds only eight sets: the searchers widen it until the
    block has thirty sets; its pages share that ranking, and the next block holds the rest."""
    from lacl_search.core.settings import ClusterSettings
    from lacl_search.core.types import Document
    from lacl_search.serving.async_search import AsyncSearcher, make_async_client

    tiny = build_tiny_encoder(seed=3).eval()
    langs = ("en", "de", "fr", "it", "es", "pt", "ru", "ja")
    docs = [Document(f"s{g:02d}-{lang}", f"archive tool {lang}" + " extra" * g, lang=lang,
                     metadata={"set": f"s{g:02d}"}) for g in range(40) for lang in langs]
    load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny", shards=1))
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    for mode in ("bm25", "dense", "hybrid"):
        pages = [searcher.search("archive tool", mode=mode, k=10, offset=offset, group_by="set")
                 for offset in (0, 10, 20, 30)]
        sets = [h.metadata["set"] for page in pages for h in page]
        assert [len(p) for p in pages] == [10, 10, 10, 10] and sorted(sets) == [f"s{g:02d}" for g in range(40)]
        one = searcher.search("archive tool", mode=mode, k=30, group_by="set")
        assert [h.doc_id for p in pages[:3] for h in p] == [h.doc_id for h in one]  # one ranking per block
        assert all(h.variants == sorted(set(langs) - {h.lang}) for p in pages for h in p)  # from the index
        grouped_sets = [h.metadata["set"] for h in pages[0]]  # the last mode's: hybrid
    filtered = searcher.search("archive tool", mode="bm25", k=3, group_by="set", langs=["de", "fr"])
    assert all(sorted([h.lang, *h.variants]) == ["de", "fr"] for h in filtered)  # the filter holds for variants too

    async def grouped() -> list[str]:
        settings = dataclasses.replace(ClusterSettings.from_env(), url=opensearch_url)
        async_searcher = AsyncSearcher(make_async_client(settings), index=index_name, encoder=tiny)
        try:
            return [h.metadata["set"] for h in await async_searcher.search("archive tool", mode="hybrid", k=10,
                                                                            group_by="set")]
        finally:
            await async_searcher.close()

    assert grouped_sets == asyncio.run(grouped())  # the asyncio twin widens the same way


def test_pages_of_a_preferred_search_share_one_ranking(os_client, index_name):
    """"My language first" ranks min-max normalised candidates plus a boost, so the ranking depends on the
    candidate list: pages of one block must rank the same list (before, a page fetched 4 x its own window,
    and pages of 10 repeated and skipped hits)."""
    from lacl_search.core.types import Document

    tiny = build_tiny_encoder(seed=3).eval()
    words = ("archive", "compress", "file", "tool", "zip", "tar", "data", "backup", "disk", "image")
    docs = [Document(f"d{i:03d}-{lang}", " ".join(words[(i * j) % len(words)] for j in range(1, 2 + i % 7)),
                     lang=lang) for i in range(120) for lang in ("en", "de")]
    load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny"))
    searcher = Searcher(os_client, index=index_name, encoder=tiny)
    for mode in ("bm25", "dense", "hybrid"):
        pages = [h.doc_id for offset in (0, 10, 20)
                 for h in searcher.search("archive file tool", mode=mode, k=10, offset=offset, prefer_langs=["de"])]
        one = searcher.search("archive file tool", mode=mode, k=30, prefer_langs=["de"])
        assert pages == [h.doc_id for h in one], mode


def test_query_translation_reaches_english_documents_lexically(os_client, index_name, tmp_path, monkeypatch,
                                                               caplog):
    """A German query shares no word with the English document; the lexicon's translations let the
    other-language BM25 partition find it, in BM25 mode (searcher's lexicon) and in language-aware hybrid
    search (the lexicon the profile names), on both fusion sides; a profile whose lexicon this machine
    lacks warns and searches untranslated; BM25 mode without an encoder uses the profile's lexicon too."""
    from lacl_search.core.lexicon import Lexicon, lexicon_path, load_lexicon
    from lacl_search.core.types import Document

    monkeypatch.setenv("LACL_HOME", str(tmp_path))
    load_lexicon.cache_clear()
    tiny = build_tiny_encoder(seed=3).eval()
    docs = [Document("img-en", "a library to compress images", lang="en", title="imgzip"),
            Document("xml-en", "a parser for XML documents", lang="en", title="xmlp"),
            Document("img-de", "Bibliothek zum Komprimieren von Bildern", lang="de", title="bildzip")]
    load_documents(os_client, index_name, tiny, docs, options=LoadOptions(model_name="tiny"))
    lexicon = Lexicon(name="toy", target="en", tables={"de": {"bilder": (("images", 0.8),),
                                                              "komprimieren": (("compress", 0.9),)}})
    query = "Bilder komprimieren"
    untranslated = Searcher(os_client, index=index_name).search(query, mode="bm25", k=5, query_lang="de")
    assert [h.doc_id for h in untranslated] == ["img-de"]
    for side in ("server", "client"):
        searcher = Searcher(os_client, index=index_name, lexicon=lexicon, fusion_side=side)
        hits = searcher.search(query, mode="bm25", k=5, query_lang="de")
        assert sorted(h.doc_id for h in hits) == ["img-de", "img-en"]

    other_only = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.0, 1.0, 0.0)},
                               lexicon="toy")
    assert profiles.attach(os_client, index_name, other_only)
    missing = Searcher(os_client, index=index_name, encoder=tiny).search(query, mode="hybrid", k=3, query_lang="de")
    assert all(h.score == 0 for h in missing)  # no lexicon here yet: the other partition finds nothing
    assert any("lexicon 'toy' not found" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    lexicon.to_file(lexicon_path("toy"))
    load_lexicon.cache_clear()
    for side in ("server", "client"):
        searcher = Searcher(os_client, index=index_name, encoder=tiny, fusion_side=side)
        hits = searcher.search(query, mode="hybrid", k=3, query_lang="de")
        assert hits[0].doc_id == "img-en" and hits[0].scores["fused"] == pytest.approx(1.0)
    # BM25 mode needs no encoder: it uses the lexicon the index's profile names
    bm25 = Searcher(os_client, index=index_name).search(query, mode="bm25", k=5, query_lang="de")
    assert sorted(h.doc_id for h in bm25) == ["img-de", "img-en"]
    load_lexicon.cache_clear()


def test_learned_fusion_on_a_real_index_both_searchers(opensearch_url, os_client, index_name):
    """``fusion="learned"`` ranks with the profile's ranker (here: the documents the German partition found
    first, whatever dense says), on the client, with highlights from the page's fetch; the asyncio searcher
    answers the same; ``auto`` keeps the profile's weights (dense only here); a profile without a ranker and
    server-side fusion are one-line errors."""
    import asyncio
    import dataclasses

    from lacl_search.core.fusion_ranker import FEATURES, TreeRanker
    from lacl_search.core.settings import ClusterSettings
    from lacl_search.errors import ClusterError
    from lacl_search.serving.async_search import AsyncSearcher, make_async_client

    tiny = build_tiny_encoder(seed=3).eval()
    load_documents(os_client, index_name, tiny, beir.iter_corpus(FIXTURES / "beir-mini"),
                   options=LoadOptions(model_name="tiny"))
    weights = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.0, 0.0, 1.0)})
    profiles.attach(os_client, index_name, weights)
    query, options = "Bibliothek XML Dokumente", dict(mode="hybrid", k=6, query_lang="de")
    with pytest.raises(ConfigError, match="no learned ranker"):
        Searcher(os_client, index=index_name, encoder=tiny).search(query, fusion="learned", **options)
    split = {"feature": [FEATURES.index("bm25_same:found"), -1, -1], "threshold": [0.5, 0, 0],
             "left": [1, 0, 0], "right": [2, 0, 0], "value": [0.0, 0.0, 1.0]}
    assert profiles.attach(os_client, index_name, dataclasses.replace(weights, ranker=TreeRanker(trees=(split,))))

    learned = Searcher(os_client, index=index_name, encoder=tiny).search(query, fusion="learned", **options)
    found = [h for h in learned if h.scores["fused"] == 1.0]
    assert found and learned[: len(found)] == found and all(h.doc_id.endswith("-de") for h in found)
    assert any(not h.doc_id.endswith("-de") for h in learned)  # the others still come, below
    assert all(h.text for h in learned) and any("<em>" in f for h in found for f in h.highlights)
    auto = Searcher(os_client, index=index_name, encoder=tiny).search(query, **options)
    dense = Searcher(os_client, index=index_name, encoder=tiny).search(query, mode="dense", k=6)
    assert [h.doc_id for h in auto] == [h.doc_id for h in dense] != [h.doc_id for h in learned]
    with pytest.raises(ClusterError, match="client"):
        Searcher(os_client, index=index_name, encoder=tiny, fusion_side="server").search(
            query, fusion="learned", **options)

    async def run() -> list[str]:
        settings = dataclasses.replace(ClusterSettings.from_env(), url=opensearch_url)
        searcher = AsyncSearcher(make_async_client(settings), index=index_name, encoder=tiny)
        try:
            return [h.doc_id for h in await searcher.search(query, fusion="learned", **options)]
        finally:
            await searcher.close()

    assert asyncio.run(run()) == [h.doc_id for h in learned]


def test_learned_fusion_sends_the_translated_dense_leg_when_its_ranker_reads_it(opensearch_url, os_client,
                                                                               index_name):
    """A ranker that splits on the translated dense leg makes search encode the query's translations and
    k-NN them over the English documents only (here: 1 for what that leg found, else 0, so exactly the
    English documents lead); a query the lexicon does not translate gets no such leg; both searchers."""
    import asyncio
    import dataclasses

    from lacl_search.core.fusion_ranker import FEATURES, TreeRanker
    from lacl_search.core.lexicon import Lexicon
    from lacl_search.core.settings import ClusterSettings
    from lacl_search.serving.async_search import AsyncSearcher, make_async_client

    tiny = build_tiny_encoder(seed=3).eval()
    load_documents(os_client, index_name, tiny, beir.iter_corpus(FIXTURES / "beir-mini"),
                   options=LoadOptions(model_name="tiny"))
    english = {d.doc_id for d in beir.iter_corpus(FIXTURES / "beir-mini") if d.lang == "en"}
    split = {"feature": [FEATURES.index("dense_translated:found"), -1, -1], "threshold": [0.5, 0, 0],
             "left": [1, 0, 0], "right": [2, 0, 0], "value": [0.0, 0.0, 1.0]}
    profile = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.0, 0.0, 1.0)},
                            ranker=TreeRanker(trees=(split,), features=FEATURES[:-1]))  # fitted without induction
    assert profiles.attach(os_client, index_name, profile)
    lexicon = Lexicon(name="toy", target="en", tables={"de": {"bibliothek": (("library", 0.9),),
                                                              "dokumente": (("documents", 0.8),)}})
    query, options = "Bibliothek XML Dokumente", dict(mode="hybrid", k=len(english) + 2, query_lang="de",
                                                      fusion="learned")
    searcher = Searcher(os_client, index=index_name, encoder=tiny, lexicon=lexicon)
    hits = searcher.search(query, **options)
    lead = [h.doc_id for h in hits if h.scores["fused"] == 1.0]
    assert set(lead) == english and [h.doc_id for h in hits[: len(lead)]] == lead
    assert all(h.score == 0.0 for h in hits[len(lead):]) and len(hits) > len(lead)
    untranslated = searcher.search("XML", **{**options, "query_lang": "fr"})  # no French table: no leg
    assert untranslated and all(h.scores["fused"] == 0.0 for h in untranslated)

    async def run() -> list[str]:
        settings = dataclasses.replace(ClusterSettings.from_env(), url=opensearch_url)
        searcher = AsyncSearcher(make_async_client(settings), index=index_name, encoder=tiny, lexicon=lexicon)
        try:
            return [h.doc_id for h in await searcher.search(query, **options)]
        finally:
            await searcher.close()

    assert asyncio.run(run()) == [h.doc_id for h in hits]


def test_learned_fusion_induces_translations_for_a_language_the_lexicon_lacks(opensearch_url, os_client, index_name,
                                                                             tmp_path, monkeypatch):
    """A ranker fitted with induced translations: a query in a language without a table is translated by the
    encoder (its word ``xml`` is a vocabulary word, so it translates to itself), the translated dense leg is
    sent for it and the ranker sees ``lang_induced``; a covered language's query is not induced; the
    vocabulary's vectors are encoded once into the cache; both searchers."""
    import asyncio
    import dataclasses

    from lacl_search.core.fusion_ranker import FEATURES, TreeRanker
    from lacl_search.core.induced import vectors_path
    from lacl_search.core.lexicon import Lexicon
    from lacl_search.core.settings import ClusterSettings
    from lacl_search.serving.async_search import AsyncSearcher, make_async_client

    monkeypatch.setenv("LACL_HOME", str(tmp_path))
    tiny = build_tiny_encoder(seed=3).eval()
    load_documents(os_client, index_name, tiny, beir.iter_corpus(FIXTURES / "beir-mini"),
                   options=LoadOptions(model_name="tiny"))
    english = {d.doc_id for d in beir.iter_corpus(FIXTURES / "beir-mini") if d.lang == "en"}

    def split(feature: str) -> dict:
        return {"feature": [FEATURES.index(feature), -1, -1], "threshold": [0.5, 0, 0], "left": [1, 0, 0],
                "right": [2, 0, 0], "value": [0.0, 0.0, 1.0]}

    ranker = TreeRanker(trees=(split("dense_translated:found"), split("lang_induced")))
    profile = FusionProfile(encoder_fingerprint=tiny.fingerprint(), languages={"*": (0.0, 0.0, 1.0)},
                            ranker=ranker)
    assert ranker.induces and profiles.attach(os_client, index_name, profile)
    lexicon = Lexicon(name="toy", target="en", tables={"de": {"xml": (("xml", 1.0),)}})
    options = dict(mode="hybrid", k=len(english) + 2, fusion="learned")
    searcher = Searcher(os_client, index=index_name, encoder=tiny, lexicon=lexicon)
    hits = searcher.search("XML", query_lang="cs", **options)
    assert vectors_path(lexicon, tiny.fingerprint()).is_file()
    lead = [h.doc_id for h in hits if h.scores["fused"] == 2.0]  # found by the induced leg, and induced
    assert set(lead) == english and [h.doc_id for h in hits[: len(lead)]] == lead
    assert all(h.scores["fused"] == 1.0 for h in hits[len(lead):]) and len(hits) > len(lead)
    covered = searcher.search("XML", query_lang="de", **options)  # the table translates it: not induced
    assert max(h.scores["fused"] for h in covered) == 1.0

    async def run() -> list[str]:
        settings = dataclasses.replace(ClusterSettings.from_env(), url=opensearch_url)
        searcher = AsyncSearcher(make_async_client(settings), index=index_name, encoder=tiny, lexicon=lexicon)
        try:
            return [h.doc_id for h in await searcher.search("XML", query_lang="cs", **options)]
        finally:
            await searcher.close()

    assert asyncio.run(run()) == [h.doc_id for h in hits]
