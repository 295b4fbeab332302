"""Cluster kinds of the local launcher: JDK choice, per-node settings, the security patch, and the CLI.

The pure parts are golden tables; the ``cluster``-marked tests ask the real running kinds
(3.6.0 on 9260, secure 2.19.6 on 9280, three 2.19.6 nodes on 9270-9272) through ``lacl-search``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lacl_provision.opensearch import jdk, node
from lacl_provision.opensearch.layout import ClusterSpec, Layout
from lacl_provision.opensearch.secure import patched_descriptor
from lacl_search.errors import ArtifactMissing


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


@pytest.mark.parametrize(("server", "expected"), [("2.19.6", "jdk17"), ("3.6.0", "jdk25")])
def test_each_line_gets_a_jdk_it_runs_on(tmp_path, monkeypatch, server, expected):
    _fake_jdk(tmp_path, "jdk17", "17.0.15")
    _fake_jdk(tmp_path, "jdk25", "25.0.3")
    _fake_jdk(tmp_path, "jdk8", "1.8.0_402")
    monkeypatch.setattr(jdk, "KNOWN_JVM_FOLDERS", (tmp_path,))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert jdk.java_home(server).name == expected


def test_java_home_wins_when_it_fits_and_is_passed_over_when_not(tmp_path, monkeypatch):
    old, new = _fake_jdk(tmp_path / "a", "jdk17", "17.0.1"), _fake_jdk(tmp_path / "b", "jdk21", "21.0.2")
    monkeypatch.setattr(jdk, "KNOWN_JVM_FOLDERS", (tmp_path / "b",))
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("JAVA_HOME", str(old))
    assert jdk.java_home("2.19.6") == old
    assert jdk.java_home("3.6.0") == new


def test_missing_jdk_is_one_line_naming_what_is_needed(tmp_path, monkeypatch):
    _fake_jdk(tmp_path, "jdk17", "17.0.15")
    monkeypatch.setattr(jdk, "KNOWN_JVM_FOLDERS", (tmp_path,))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ArtifactMissing, match=r"OpenSearch 3.6.0 needs Java >= 21; found: .*jdk17 \(17\)") as err:
        jdk.java_home("3.6.0")
    assert "\n" not in str(err.value)


def test_security_descriptor_patch_replaces_the_exact_version_by_a_range():
    text = "name=opensearch-security\nopensearch.version=2.19.4\njava.version=11\n"
    assert patched_descriptor(text) == (
        'name=opensearch-security\ndependencies={ opensearch: "~2.19.4" }\njava.version=11\n'
    )


def test_three_node_settings_share_one_cluster_on_distinct_ports():
    spec = ClusterSpec(port=9270, nodes=3)
    settings = [node.node_settings(spec, i) for i in range(3)]
    assert [s["http.port"] for s in settings] == ["9270", "9271", "9272"]
    assert [s["transport.port"] for s in settings] == ["10270", "10271", "10272"]
    assert {s["cluster.name"] for s in settings} == {"lacl-search-9270"}
    assert json.loads(settings[0]["discovery.seed_hosts"]) == ["127.0.0.1:10270", "127.0.0.1:10271",
                                                               "127.0.0.1:10272"]
    assert json.loads(settings[2]["cluster.initial_cluster_manager_nodes"]) == [
        "lacl-9270-0", "lacl-9270-1", "lacl-9270-2"]
    assert all("discovery.type" not in s for s in settings)
    assert ClusterSpec(port=9280, secure=True).urls == ["https://127.0.0.1:9280"]


def test_node_yml_replaces_the_install_keys_and_keeps_the_rest():
    base = "cluster.name: lacl-search\ndiscovery.type: single-node\nplugins.security.ssl.http.enabled: true\n"
    out = node.node_yml(base, {"cluster.name": "c", "http.port": "1"})
    assert out == "plugins.security.ssl.http.enabled: true\ncluster.name: c\nhttp.port: 1\n"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["lacl-search", "opensearch", *args], capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.mark.integration
@pytest.mark.cluster
def test_start_reuses_each_running_kind_and_prints_its_urls(node36_client, secure_cluster, three_nodes):
    runs = {
        "3.6.0": _cli("start", "--version", "3.6.0", "--port", "9260"),
        "secure": _cli("start", "--secure", "--port", "9280"),
        "3 nodes": _cli("start", "--nodes", "3", "--port", "9270"),
    }
    last = {kind: run.stdout.strip().splitlines()[-1] for kind, run in runs.items()}
    assert last == {"3.6.0": "http://127.0.0.1:9260", "secure": "https://127.0.0.1:9280",
                    "3 nodes": "http://127.0.0.1:9270,http://127.0.0.1:9271,http://127.0.0.1:9272"}
    assert all("already running" in run.stderr for run in runs.values())
    assert secure_cluster.password not in "".join(r.stdout + r.stderr for r in runs.values())
    status = _cli("status", "--version", "3.6.0", "--port", "9260")
    assert status.returncode == 0 and json.loads(status.stdout)["version"] == "3.6.0"
    status = _cli("status", "--nodes", "3", "--port", "9270")
    assert json.loads(status.stdout)["health"]["number_of_nodes"] == 3


@pytest.mark.integration
@pytest.mark.cluster
def test_a_port_held_by_another_kind_or_an_impossible_kind_is_one_line(three_nodes):
    clash = _cli("start", "--port", "9270")  # single node on the 3-node cluster's first port
    assert clash.returncode == 4 and "held by another local cluster" in clash.stderr.strip().splitlines()[-1]
    secure3 = _cli("start", "--secure", "--version", "3.6.0", "--port", "9290")
    try:
        assert secure3.returncode == 5 and "no opensearch-security plugin" in secure3.stderr.strip().splitlines()[-1]
        assert "Traceback" not in clash.stderr + secure3.stderr
    finally:
        shutil.rmtree(Layout.at().node_dir(9290), ignore_errors=True)
