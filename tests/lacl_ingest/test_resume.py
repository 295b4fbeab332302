"""The ingest job survives: an outage past the retries lists what it left unwritten and a re-run completes
it; a job killed with SIGKILL mid-run (into a first index, or during a rebuild) finishes on a re-run
without re-encoding what was written and without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opensearchpy import OpenSearch, TransportError

from lacl_ingest.cli import exit_code
from lacl_ingest.job import IngestConfig
from lacl_ingest.job import run as ingest_run
from lacl_search.errors import IncompleteIngest
from lacl_search.serving import indexing
from lacl_search.serving.indexing import BulkOptions, LoadOptions
from tests.lacl_search.serving.test_indexing import FailingBulkClient
from tests.support import REPO_ROOT
from tests.tiny_encoder import build_tiny_encoder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny():
    return build_tiny_encoder(seed=3).eval()


def write_corpus(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"d{i:05d}", "text": f"package {i} description text", "lang": "en"}) + "\n")
    return path


def test_outage_past_retries_lists_unwritten_documents_and_a_rerun_completes_them(opensearch_url, os_client,
                                                                                  index_name, tiny, tmp_path):
    path = write_corpus(tmp_path / "docs.jsonl", 400)
    bulk = BulkOptions(chunk_size=50, concurrency=1, max_retries=1, initial_backoff=0.01, max_backoff=0.02)
    config = IngestConfig(path, index_name, "tiny", show_progress=False, load=LoadOptions(model_name="t", bulk=bulk))
    down = FailingBulkClient(hosts=[opensearch_url], fail_from=3)
    report = ingest_run(config, down, tiny)
    assert report["failed"] == 300 and not report["switched"] and exit_code(report) == IncompleteIngest.exit_code
    listed = [json.loads(line) for line in Path(report["rejects_file"]).read_text().splitlines()]
    assert len(listed) == 300 and all("unreachable" in row["reason"] for row in listed)
    again = ingest_run(config, os_client, tiny)
    assert (again["target"], again["skipped"], again["encoded"], again["failed"]) == ("resumed", 100, 300, 0)
    assert again["switched"] and again["rejects_file"] is None and not config.rejects.exists()
    assert os_client.count(index=index_name)["count"] == 400 and exit_code(again) == 0


def _start(path: Path, index: str, model: Path, url: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "lacl_search", "ingest", "--input", str(path), "--index", index, "--model",
           str(model), "--no-progress", "--batch-size", "8", "--chunk-size", "20", "--concurrency", "1", *extra]
    env = {**os.environ, "OPENSEARCH_URL": url}
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(client: OpenSearch, pattern: str, *, starting: bool = False) -> int:
    """Documents searchable in ``pattern``. ``starting``: an index the job has just created may not have
    started its primaries yet (``count`` answers 503, all shards failed); that counts as none so far."""
    try:
        client.indices.refresh(index=pattern, ignore_unavailable=True, allow_no_indices=True)
        return client.count(index=pattern, params={"allow_no_indices": "true"})["count"]
    except TransportError as exc:
        if starting and exc.status_code == 503:
            return 0
        raise


def _kill_halfway(proc: subprocess.Popen, client: OpenSearch, pattern: str, n: int, timeout: float = 240) -> int:
    """SIGKILL ``proc`` once the building index holds ~half of ``n`` documents; return what it holds then."""
    deadline = time.monotonic() + timeout
    try:
        while _count(client, pattern, starting=True) < n // 2:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    time.sleep(1.0)  # a bulk request the server already received completes even though its client died
    return _count(client, pattern)


def _finish(path: Path, index: str, model: Path, url: str, *extra: str) -> dict:
    proc = _start(path, index, model, url, *extra)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("rebuild", [False, True], ids=["first-build", "rebuild"])
def test_sigkill_halfway_then_rerun_finishes_without_reencoding(opensearch_url, os_client, index_name, tiny,
                                                                tmp_path, rebuild):
    n = 4000
    model = tiny.save_pretrained(tmp_path / "tiny")
    path = write_corpus(tmp_path / "docs.jsonl", n)
    extra = ("--rebuild",) if rebuild else ()
    old = None
    if rebuild:  # a complete index serves the alias; the rebuild is killed halfway
        old = _finish(path, index_name, model, opensearch_url)["concrete_index"]
    proc = _start(path, index_name, model, opensearch_url, *extra)
    pattern = f"{index_name}-*,-{old}" if old else f"{index_name}-*"
    written = _kill_halfway(proc, os_client, pattern, n)
    assert 0 < written < n
    if old:
        assert indexing.alias_targets(os_client, index_name) == [old]  # the killed rebuild changed nothing
    report = _finish(path, index_name, model, opensearch_url, *extra)
    assert report["target"] == "resumed" and report["switched"]
    assert (report["skipped"], report["encoded"], report["failed"]) == (written, n - written, 0)
    assert os_client.count(index=index_name)["count"] == n
    hits = os_client.search(index=index_name, body={"size": n, "version": True, "_source": False})["hits"]["hits"]
    assert len({h["_id"] for h in hits}) == n and {h["_version"] for h in hits} == {1}  # each written once
    assert indexing.alias_targets(os_client, index_name) == [report["concrete_index"]]
    print(f"SIGKILL at {written}/{n} ({'rebuild' if rebuild else 'first build'}): re-run encoded "
          f"{report['encoded']}, skipped {report['skipped']}, final count {n}, 0 duplicated")
