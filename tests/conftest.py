"""Shared fixtures: a real OpenSearch cluster for the integration tests.

``opensearch_url`` picks, in order: a healthy cluster at ``$OPENSEARCH_URL``; the compose file's
container through pytest-docker when a Docker engine answers; else the project's own local node
(``lacl_provision.opensearch.process``) on ``$LACL_TEST_OPENSEARCH_PORT`` (default 9250, so a developer's
node on 9200 is left alone), stopped at the end only if a test session started it (and no other
session still uses it). When no cluster can be provided the fixture raises, so integration tests
error instead of being skipped.

``--opensearch-version 3.6.0`` runs the same suite against the 3.x line (its own node on port 9260).
Tests marked ``cluster`` use the other local kinds, each shared and stopped like the node above:
``node36_client`` (3.6.0, port 9260), ``secure_cluster`` (2.19.6 with TLS + basic auth, port 9280)
and ``three_nodes`` (a 3-node 2.19.6 cluster, ports 9270-9272).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from opensearchpy import OpenSearch

from lacl_search.core.settings import ClusterSettings
from lacl_search.serving.client import ClusterUnavailable, check_cluster, make_client
from tests.support import REPO_ROOT

log = logging.getLogger(__name__)

TEST_PORT_ENV = "LACL_TEST_OPENSEARCH_PORT"
LINE_PORTS = {"2.19.6": 9250, "3.6.0": 9260}  # one test node per server line
SECURE_PORT, MULTI_NODE_PORT = 9280, 9270


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--opensearch-version", default="2.19.6", choices=sorted(LINE_PORTS),
                     help="server line of the local test node (default 2.19.6)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: uses the 3.6, secure or 3-node local test clusters")


@dataclass(frozen=True)
class SecureCluster:
    """A TLS + basic-auth test cluster: its URL, admin user, password and CA bundle."""

    url: str
    user: str
    password: str = field(repr=False)
    ca_certs: str


def _env_cluster_url() -> str | None:
    """``$OPENSEARCH_URL`` if it is set and the cluster there answers healthy."""
    if not os.environ.get("OPENSEARCH_URL"):
        return None
    settings = ClusterSettings.from_env()
    try:
        check_cluster(make_client(settings), settings)
    except ClusterUnavailable as exc:
        log.warning("OPENSEARCH_URL is set but unusable (%s); providing a cluster instead", exc)
        return None
    return settings.url


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """The compose file pytest-docker starts (only used when a Docker engine exists)."""
    return str(REPO_ROOT / "docker-compose.yml")


def _docker_cluster_url(request: pytest.FixtureRequest) -> str:
    """Start the compose service through pytest-docker's ``docker_services`` and wait for health."""
    from lacl_provision.opensearch.process import is_healthy

    docker_services = request.getfixturevalue("docker_services")
    url = f"http://127.0.0.1:{docker_services.port_for('opensearch', 9200)}"
    docker_services.wait_until_responsive(check=lambda: is_healthy(url), timeout=300.0, pause=2.0)
    return url


@pytest.fixture(scope="session")
def opensearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Base URL of a healthy OpenSearch cluster for this test session."""
    url = _env_cluster_url()
    if url is not None:
        yield url
        return
    if _docker_available():
        yield _docker_cluster_url(request)
        return
    from lacl_provision.opensearch.shared import shared_node

    version = request.config.getoption("--opensearch-version")
    port = LINE_PORTS[version] if version != "2.19.6" else int(os.environ.get(TEST_PORT_ENV, LINE_PORTS[version]))
    # Concurrent sessions share the node; the last one out stops it if a session started it.
    with shared_node(port=port, version=version, heap="2g" if version == "2.19.6" else "1g") as url:
        yield url


@pytest.fixture(scope="session")
def node36_client() -> Iterator[OpenSearch]:
    """A client of a local OpenSearch 3.6.0 node (port 9260), whatever ``--opensearch-version`` says."""
    from lacl_provision.opensearch.shared import shared_node

    with shared_node(port=LINE_PORTS["3.6.0"], version="3.6.0", heap="1g") as url:
        yield make_client(ClusterSettings(url=url))


@pytest.fixture(scope="session")
def secure_cluster() -> Iterator[SecureCluster]:
    """A local 2.19.6 node with the security plugin: HTTPS (demo CA) and basic auth (test fixture)."""
    from lacl_provision.opensearch.layout import ClusterSpec, Layout
    from lacl_provision.opensearch.shared import shared_cluster

    spec = ClusterSpec(port=SECURE_PORT, secure=True)
    with shared_cluster(spec, heap="1g") as urls:
        creds = json.loads(Layout.at().credentials(SECURE_PORT).read_text(encoding="utf-8"))
        yield SecureCluster(urls[0], creds["user"], creds["password"], creds["ca_certs"])


@pytest.fixture(scope="session")
def three_nodes() -> Iterator[tuple[object, list[str]]]:
    """``(ClusterSpec, urls)`` of a local 3-node 2.19.6 cluster; killed nodes are restarted at the end."""
    from lacl_provision.opensearch.layout import ClusterSpec
    from lacl_provision.opensearch.process import start_cluster
    from lacl_provision.opensearch.shared import shared_cluster

    spec = ClusterSpec(port=MULTI_NODE_PORT, nodes=3)
    with shared_cluster(spec) as urls:
        yield spec, urls
        start_cluster(spec)  # a fault test that failed half-way may have left a node down


@pytest.fixture(scope="session")
def os_client(opensearch_url: str) -> OpenSearch:
    """An OpenSearch client for ``opensearch_url`` (credentials and TLS options from the environment)."""
    return make_client(dataclasses.replace(ClusterSettings.from_env(), url=opensearch_url))


@pytest.fixture
def index_name(os_client: OpenSearch) -> Iterator[str]:
    """A unique throw-away index name; every index and alias starting with it is deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    os_client.indices.delete_alias(index="_all", name=f"{name}*", ignore=[404])
    os_client.indices.delete(index=f"{name}*", ignore_unavailable=True, expand_wildcards="all")
