"""A secured cluster (HTTPS with the demo CA + basic auth), driven through real ``lacl-search`` commands.

Ingest, every search mode, a batch run + eval, and the demo's search handlers run against it with
``OPENSEARCH_URL=https://…``, the CA bundle and ``OPENSEARCH_USER``/``OPENSEARCH_PASSWORD``. Failure
paths: a wrong password, an untrusted certificate, ``--insecure``. Everything a command printed, every
report and page is searched for the password.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from lacl_search.core.settings import ClusterSettings
from lacl_search.errors import ClusterUnavailable
from lacl_search.serving.client import connect
from lacl_search.serving.search import Searcher
from tests.support import FIXTURES
from tests.tiny_encoder import build_tiny_encoder

pytestmark = [pytest.mark.integration, pytest.mark.cluster]
MINI = FIXTURES / "beir-mini"
CLI_TIMEOUT = 300


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny_encoder(seed=3).eval().save_pretrained(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def secure_env(secure_cluster) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSEARCH_")}
    return {**env, "OPENSEARCH_URL": secure_cluster.url, "OPENSEARCH_CA_CERTS": secure_cluster.ca_certs,
            "OPENSEARCH_USER": secure_cluster.user, "OPENSEARCH_PASSWORD": secure_cluster.password}


@pytest.fixture(scope="module")
def secure_index(secure_cluster, secure_env, tiny_dir, tmp_path_factory):
    """An alias on the secure cluster, filled by ``lacl-search ingest``; deleted afterwards."""
    alias = f"test-secure-{uuid.uuid4().hex[:8]}"
    out = tmp_path_factory.mktemp("ingest")
    run = _cli(secure_env, "ingest", "--input", str(MINI / "corpus.jsonl"), "--index", alias, "--model",
               str(tiny_dir), "--id-field", "_id", "--no-progress", "--rejects", str(out / "rejects.jsonl"))
    yield alias, run
    settings = ClusterSettings(url=secure_cluster.url, user=secure_cluster.user, password=secure_cluster.password,
                               ca_certs=secure_cluster.ca_certs)
    connect(settings).indices.delete(index=f"{alias}*", ignore_unavailable=True, expand_wildcards="all")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["lacl-search", "--threads", "1", *args], env=env, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, check=False)


def _no_password(password: str, *texts: str) -> None:
    for text in texts:
        assert password not in text


def test_ingest_search_every_mode_and_eval_over_tls(secure_cluster, secure_env, secure_index, tiny_dir, tmp_path):
    alias, ingest = secure_index
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    outputs = [ingest.stdout, ingest.stderr]
    for mode in ("bm25", "dense", "hybrid"):
        run = _cli(secure_env, "search", "XML", "--index", alias, "--model", str(tiny_dir), "--mode", mode, "--json")
        assert run.returncode == 0, run.stderr[-2000:]
        hits = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        assert hits and hits[0]["doc_id"].startswith("xml-"), (mode, hits[:3])
        outputs += [run.stdout, run.stderr]
    trec = tmp_path / "run.trec"
    batch = _cli(secure_env, "search", "--queries", str(MINI / "queries.jsonl"), "--output", str(trec), "--index",
                 alias, "--model", str(tiny_dir), "--mode", "hybrid")
    assert batch.returncode == 0, batch.stderr[-2000:]
    scores = _cli(secure_env, "eval", "--run", str(trec), "--dataset", str(MINI), "--output", str(tmp_path / "e.json"))
    assert scores.returncode == 0, scores.stderr[-2000:]
    assert json.loads(scores.stdout)["ndcg@10"] > 0
    outputs += [batch.stdout, batch.stderr, scores.stdout, scores.stderr, trec.read_text(),
                (tmp_path / "e.json").read_text()]
    _no_password(secure_cluster.password, *outputs)


def test_demo_search_over_tls_without_leaking_the_password(secure_cluster, secure_index):
    from lacl_demo import handlers

    alias, _ = secure_index
    tiny = build_tiny_encoder(seed=3).eval()
    settings = ClusterSettings(url=secure_cluster.url, user=secure_cluster.user, password=secure_cluster.password,
                               ca_certs=secure_cluster.ca_certs)
    searcher = Searcher(connect(settings), index=alias, encoder=tiny)
    options = handlers.Options.from_widgets("hybrid", 5, 0.5, [])
    answer = handlers.api_search(searcher, alias, lambda q: "en", "XML", options)
    assert answer["error"] is None and answer["hits"][0]["doc_id"].startswith("xml-")
    page = handlers.search_page({"tiny": searcher}, alias, lambda q: "en", "XML", options)
    wrong = Searcher(connect_unchecked(settings, password="not-the-password"), index=alias, encoder=tiny)
    refused = handlers.api_search(wrong, alias, lambda q: "en", "XML", options)
    assert refused["error"] and not refused["hits"]
    _no_password(secure_cluster.password, json.dumps(answer), repr(page), json.dumps(refused))


def connect_unchecked(settings: ClusterSettings, password: str):
    from dataclasses import replace

    from lacl_search.serving.client import make_client

    return make_client(replace(settings, password=password))


def test_wrong_password_is_one_line_and_non_zero(secure_cluster, secure_env, secure_index):
    alias, _ = secure_index
    run = _cli({**secure_env, "OPENSEARCH_PASSWORD": "Wrong-Passw0rd!"}, "search", "XML", "--index", alias,
               "--mode", "bm25")
    assert run.returncode == ClusterUnavailable.exit_code
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "refused the credentials (401)" in errors[0], run.stderr
    assert "Traceback" not in run.stderr
    _no_password(secure_cluster.password, run.stdout, run.stderr)
    _no_password("Wrong-Passw0rd!", run.stdout, run.stderr)


def test_untrusted_certificate_is_a_clear_tls_error_and_insecure_warns_once(secure_cluster, secure_env,
                                                                            secure_index):
    alias, _ = secure_index
    no_ca = {k: v for k, v in secure_env.items() if k != "OPENSEARCH_CA_CERTS"}
    run = _cli(no_ca, "search", "XML", "--index", alias, "--mode", "bm25")
    assert run.returncode == ClusterUnavailable.exit_code and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "TLS error" in errors[0] and "certificate verify failed" in errors[0], run.stderr
    assert "--ca-certs" in errors[0] and "--insecure" in errors[0]
    insecure = _cli(no_ca, "search", "XML", "--index", alias, "--mode", "bm25", "--insecure", "--json")
    assert insecure.returncode == 0, insecure.stderr[-2000:]
    assert insecure.stderr.count("NOT verified") == 1 and "InsecureRequestWarning" not in insecure.stderr
    assert json.loads(insecure.stdout.splitlines()[0])["doc_id"].startswith("xml-")
    _no_password(secure_cluster.password, run.stdout, run.stderr, insecure.stdout, insecure.stderr)


def test_server_logs_hold_no_password(secure_cluster):
    from lacl_provision.opensearch.layout import Layout

    node = Layout.at().node_dir(int(secure_cluster.url.rsplit(":", 1)[1]))
    for path in [*(node / "logs").glob("*.log"), node / "launcher.out", node / "kind.json"]:
        _no_password(secure_cluster.password, path.read_text(encoding="utf-8", errors="replace"))
