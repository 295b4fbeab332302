"""The Ray Data engine on a local Ray instance (2 CPUs) against the real OpenSearch: same report, rejects,
incremental re-run and safe switch as the local engine."""

from __future__ import annotations

import json
import shutil
import tempfile

import pytest

from lacl_ingest.ray_engine import RayOptions, ingest_with_ray
from lacl_search.core.settings import ClusterSettings
from lacl_search.serving import indexing
from lacl_search.serving.indexing import BulkOptions, LoadOptions
from tests.tiny_encoder import build_tiny_encoder

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def local_ray():
    import ray  # the ray extra is part of the test install (scripts/setup.sh installs every extra)

    temp = tempfile.mkdtemp(prefix="lacl-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.timeout(600)
def test_ray_engine_ingests_rejects_reruns_incrementally_and_rebuilds(local_ray, opensearch_url, os_client,
                                                                      index_name, tmp_path):
    model = str(build_tiny_encoder(seed=3).save_pretrained(tmp_path / "tiny"))
    n = 1500
    path = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": f"d{i:05d}", "text": f"package {i} description", "lang": "en", "year": 2000 + i % 20})
             for i in range(n)]
    lines[10] = "{broken json"
    lines[20] = json.dumps({"id": "x", "text": ""})
    path.write_text("\n".join(lines) + "\n")
    settings = ClusterSettings(url=opensearch_url)
    load = LoadOptions(model_name="tiny", bulk=BulkOptions(chunk_size=100))
    options = RayOptions(rows_per_batch=256)
    kwargs = {"model": model, "settings": settings, "ray_options": options}
    first = ingest_with_ray(path, index_name, load=load, **kwargs)
    assert (first["new"], first["encoded"], first["rejected"], first["failed"]) == (n - 2, n - 2, 2, 0), first
    assert first["switched"] and os_client.count(index=index_name)["count"] == n - 2
    rejects = [json.loads(x) for x in open(first["rejects_file"])]
    assert sorted(r["reason"][:12] for r in rejects) == ["invalid JSON", "text field '"]
    assert sorted(r["line"] for r in rejects) == [11, 21]  # line numbers, as the local engine reports them
    again = ingest_with_ray(path, index_name, load=load, **kwargs)
    assert (again["skipped"], again["encoded"], again["target"]) == (n - 2, 0, "existing")
    rebuild = LoadOptions(model_name="tiny", rebuild=True, bulk=BulkOptions(chunk_size=100))
    rebuilt = ingest_with_ray(path, index_name, load=rebuild, **kwargs)
    assert rebuilt["target"] == "new" and rebuilt["switched"] and rebuilt["count"] == n - 2
    assert indexing.alias_targets(os_client, index_name) == [rebuilt["concrete_index"]]
    print(f"ray local (2 CPUs, tiny model): {first['new']} docs in {first['seconds']} s "
          f"({first['docs_per_s']} docs/s); re-run {again['seconds']} s, encoded 0")
