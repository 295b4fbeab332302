"""Exact in-memory evaluation: capped corpora of benchmarks that share one corpus file stay apart."""

import shutil

from lacl_search.evaluation.exact import load_benchmark, subsample_corpus
from tests.support import FIXTURES


def test_capped_corpora_of_a_shared_corpus_have_their_own_cache_keys(tmp_path):
    for name, judged in (("a", "q-de-xml\txml-en\t1\n"), ("b", "q-fr-img\timg-en\t1\n")):
        folder = tmp_path / name
        (folder / "qrels").mkdir(parents=True)
        for file in ("corpus.jsonl", "queries.jsonl"):
            shutil.copy(FIXTURES / "beir-mini" / file, folder / file)
        (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + judged)
    a, b = (subsample_corpus(load_benchmark(tmp_path / n), 3) for n in ("a", "b"))
    assert a.corpus_key != b.corpus_key  # same corpus file, different kept rows
    assert "xml-en" in a.doc_ids and "img-en" in b.doc_ids
    assert subsample_corpus(load_benchmark(tmp_path / "a"), 3).corpus_key == a.corpus_key  # deterministic
