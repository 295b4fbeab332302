"""Where the local OpenSearch node keeps its files: one home folder outside the repository.

::

    <home>/m2/                      private Maven repository (downloads, reused offline)
    <home>/install/opensearch-V/    assembled server + modules + plugins; complete iff MARKER exists
    <home>/install/opensearch-V-secure/   the same plus the security plugin and its demo TLS setup
    <home>/nodes/<port>/data|logs   one node's data and logs, so nodes on two ports never share a lock
    <home>/nodes/<port>/config/     that node's configuration (a copy of the install's, plus its settings)
    <home>/nodes/<port>/kind.json   which kind of cluster the node belongs to (:class:`ClusterSpec`)
    <home>/nodes/<port>/credentials.json   secure nodes only: admin user, password, CA path (mode 600)
    <home>/nodes/<port>/opensearch.pid

The default home is ``$LACL_OPENSEARCH_HOME``; else, for root, ``/var/cache/lacl-search/opensearch``
(the unprivileged node user cannot traverse ``/root``); else ``<cache home>/opensearch``.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lacl_search.core.paths import cache_home

HOME_ENV = "LACL_OPENSEARCH_HOME"
DEFAULT_VERSION = "2.19.6"
VERSIONS = ("2.19.6", "3.6.0")
TRANSPORT_OFFSET = 1000  # node i of a cluster on HTTP port P talks transport on P + 1000 + i
ROOT_HOME = Path("/var/cache/lacl-search/opensearch")
MARKER = "lacl-install.json"


def default_home() -> Path:
    """Return the OpenSearch home folder to use when none is given."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().resolve()
    if os.geteuid() == 0:
        return ROOT_HOME
    return cache_home() / "opensearch"


@dataclass(frozen=True)
class ClusterSpec:
    """One kind of local cluster: server line, node count, security, and its first HTTP port.

    Node ``i`` listens on HTTP ``port + i`` and transport ``port + TRANSPORT_OFFSET + i``, so kinds on
    distinct port ranges run side by side.
    """

    port: int = 9200
    version: str = DEFAULT_VERSION
    nodes: int = 1
    secure: bool = False

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ValueError(f"a cluster needs at least one node, got {self.nodes}")

    @property
    def ports(self) -> list[int]:
        return [self.port + i for i in range(self.nodes)]

    @property
    def transport_ports(self) -> list[int]:
        return [self.port + TRANSPORT_OFFSET + i for i in range(self.nodes)]

    @property
    def flavor(self) -> str:
        """The install this kind runs from: ``V`` or ``V-secure``."""
        return f"{self.version}-secure" if self.secure else self.version

    @property
    def scheme(self) -> str:
        return "https" if self.secure else "http"

    @property
    def urls(self) -> list[str]:
        return [f"{self.scheme}://127.0.0.1:{p}" for p in self.ports]

    def describe(self) -> dict:
        return {"version": self.version, "nodes": self.nodes, "secure": self.secure, "port": self.port}


@dataclass(frozen=True)
class Layout:
    """Paths under one OpenSearch home folder (nothing is created by merely building this)."""

    home: Path

    @classmethod
    def at(cls, home: str | Path | None = None) -> Layout:
        return cls(Path(home).expanduser().resolve() if home else default_home())

    @property
    def m2(self) -> Path:
        return self.home / "m2"

    @property
    def install_root(self) -> Path:
        return self.home / "install"

    def install_dir(self, version: str) -> Path:
        return self.install_root / f"opensearch-{version}"

    def node_dir(self, port: int) -> Path:
        return self.home / "nodes" / str(port)

    def pidfile(self, port: int) -> Path:
        return self.node_dir(port) / "opensearch.pid"

    def credentials(self, port: int) -> Path:
        return self.node_dir(port) / "credentials.json"


@contextmanager
def file_lock(path: Path, mode: int = fcntl.LOCK_EX) -> Iterator[int]:
    """Hold an ``flock`` of ``mode`` on ``path`` (created with its folder if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)
