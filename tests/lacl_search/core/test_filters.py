"""Structured filters against golden tables (input -> expected DSL), and their parsers."""

import pytest

from lacl_search.core import filters as F
from lacl_search.errors import BadInput

GOLDEN = [
    ("term on lang", F.Term("lang", "de"), {"term": {"lang": "de"}}),
    ("term on metadata", F.Term("section", "net"), {"term": {"metadata.section": "net"}}),
    ("terms on doc_id", F.Terms("doc_id", ("a", "b")), {"terms": {"doc_id": ["a", "b"]}}),
    ("range", F.Range("year", gte=2020, lt=2023), {"range": {"metadata.year": {"gte": 2020, "lt": 2023}}}),
    ("and", F.And((F.Term("lang", "de"), F.Range("year", gt=1))),
     {"bool": {"filter": [{"term": {"lang": "de"}}, {"range": {"metadata.year": {"gt": 1}}}]}}),
    ("or", F.Or((F.Term("lang", "de"), F.Term("lang", "fr"))),
     {"bool": {"should": [{"term": {"lang": "de"}}, {"term": {"lang": "fr"}}], "minimum_should_match": 1}}),
    ("not", F.Not(F.Term("section", "net")), {"bool": {"must_not": [{"term": {"metadata.section": "net"}}]}}),
    ("nested", F.And((F.Or((F.Term("lang", "de"), F.Term("lang", "en"))), F.Not(F.Range("year", lte=2000)))),
     {"bool": {"filter": [
         {"bool": {"should": [{"term": {"lang": "de"}}, {"term": {"lang": "en"}}], "minimum_should_match": 1}},
         {"bool": {"must_not": [{"range": {"metadata.year": {"lte": 2000}}}]}}]}}),
]


@pytest.mark.parametrize(("name", "node", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(name, node, expected):
    assert F.to_query(node) == expected


EXPRESSIONS = [
    ("section=net", F.Term("section", "net")),
    ("lang=de,fr", F.Terms("lang", ("de", "fr"))),
    ("section!=net", F.Not(F.Term("section", "net"))),
    ("year>=2020", F.Range("year", gte=2020)),
    ("year<2020.5", F.Range("year", lt=2020.5)),
    ("version>v2", F.Range("version", gt="v2")),
    (" year <= 3 ", F.Range("year", lte=3)),
]


@pytest.mark.parametrize(("expression", "expected"), EXPRESSIONS)
def test_parse_expression(expression, expected):
    assert F.parse_expression(expression) == expected


@pytest.mark.parametrize("bad", ["oops", "=x", "year>=", "a=b=c=", ""])
def test_bad_expressions_are_one_line_errors(bad):
    if bad == "a=b=c=":  # the value may itself hold '='
        assert F.parse_expression(bad) == F.Term("a", "b=c=")
        return
    with pytest.raises(BadInput, match="FIELD=VALUE"):
        F.parse_expression(bad)


def test_from_json_matches_the_tree():
    data = {"and": [{"term": {"lang": "de"}}, {"not": {"terms": {"section": ["a", "b"]}}},
                    {"range": {"year": {"gte": 2020}}}]}
    node = F.from_json(data)
    assert node == F.And((F.Term("lang", "de"), F.Not(F.Terms("section", ("a", "b"))), F.Range("year", gte=2020)))
    for bad in ({"term": {"a": {"b": 1}}}, {"range": {"y": {"from": 1}}}, {"xor": []}, {"and": [], "or": []}):
        with pytest.raises(BadInput):
            F.from_json(bad)


def test_empty_combinations_and_bounds_are_refused():
    for node in (F.And(()), F.Or(()), F.Range("y"), F.Terms("x", ())):
        with pytest.raises(BadInput):
            F.to_query(node)
    assert F.all_of(None, None) is None
    assert F.all_of(F.Term("a", 1), None) == F.Term("a", 1)
    with pytest.raises(BadInput, match="field name"):
        F.to_query(F.Term(".x", 1))
