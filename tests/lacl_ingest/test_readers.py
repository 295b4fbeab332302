"""Ingest readers: every broken record becomes a reject with its line and reason; valid ones survive."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from lacl_ingest.readers import FieldMap, Reject, read_records
from lacl_search.serving.indexing import Document


def _split(items):
    docs = [i for i in items if isinstance(i, Document)]
    rejects = [i for i in items if isinstance(i, Reject)]
    return docs, rejects


def test_jsonl_broken_records(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "Hallo Welt", "lang": "de", "section": "x"}).encode(),
        b"{not json",
        json.dumps({"text": "no id"}).encode(),
        json.dumps({"id": "c", "text": "   "}).encode(),
        json.dumps({"id": "d", "text": 42}).encode(),
        b'{"id": "e", "text": "caf\xe9"}',
        json.dumps({"id": 7, "text": "integer id", "title": None}).encode(),
        json.dumps(["a", "list"]).encode(),
        json.dumps({"id": "f", "text": "ok", "title": 3}).encode(),
        b"",
        json.dumps({"id": "g", "text": "last one"}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    docs, rejects = _split(list(read_records(path, FieldMap(metadata=("section",)))))
    assert [d.doc_id for d in docs] == ["a", "7", "g"]
    assert docs[0].metadata == {"section": "x"} and docs[0].lang == "de"
    by_line = {r.line: r.reason for r in rejects}
    assert set(by_line) == {2, 3, 4, 5, 6, 8, 9}
    assert "invalid JSON" in by_line[2]
    assert "missing id" in by_line[3]
    assert "empty" in by_line[4]
    assert "must be a string" in by_line[5]
    assert "undecodable" in by_line[6]
    assert "must be an object" in by_line[8]
    assert "title" in by_line[9]


def test_custom_field_names_csv(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("doc,body\n1,Bonjour\n2,\n3,caf\xc3\xa9\n4,bad \xff byte\n".encode("latin-1"))
    docs, rejects = _split(list(read_records(path, FieldMap(id="doc", text="body"))))
    assert [d.doc_id for d in docs] == ["1", "3"] and docs[1].text == "café"
    assert [(r.line, "empty" in r.reason or "missing" in r.reason) for r in rejects][0] == (3, True)
    assert rejects[1].line == 5 and "undecodable" in rejects[1].reason


def test_parquet(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", None], "text": ["x", "y"]}), path)
    docs, rejects = _split(list(read_records(path, FieldMap())))
    assert [d.doc_id for d in docs] == ["a"] and rejects[0].line == 2
