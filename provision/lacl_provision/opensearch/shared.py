"""A local cluster shared by concurrent processes (e.g. parallel test sessions) on one port range.

Each user holds a shared ``flock`` on ``<home>/nodes/<port>/users.lock`` while using the cluster, so a
session that ends never stops a cluster another session still queries.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lacl_provision.opensearch.layout import ClusterSpec, Layout, file_lock
from lacl_provision.opensearch.process import endpoint, start_cluster, stop_cluster

log = logging.getLogger(__name__)


@contextmanager
def shared_cluster(spec: ClusterSpec, home: str | Path | None = None, heap: str | None = None) -> Iterator[list[str]]:
    """Yield the URLs of a local cluster of kind ``spec`` that several processes may use at once.

    Each user holds a shared lock while inside the block. On leaving, the last user stops the cluster
    if some user of the chain started it; a cluster that was already running beforehand is left alone.
    """
    layout = Layout.at(home)
    started_marker = layout.node_dir(spec.port) / "started-by-shared-user"
    with file_lock(layout.node_dir(spec.port) / "users.lock", fcntl.LOCK_SH) as users:
        if not endpoint(layout, spec).is_healthy(spec.nodes):
            urls = start_cluster(spec, home=home, heap=heap)
            started_marker.touch()
        else:
            urls = spec.urls
        try:
            yield urls
        finally:
            fcntl.flock(users, fcntl.LOCK_UN)
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("OpenSearch on port %d is still used by another process; leaving it running", spec.port)
            else:
                if started_marker.exists():
                    stop_cluster(spec, home=home)
                    started_marker.unlink(missing_ok=True)


@contextmanager
def shared_node(port: int, home: str | Path | None = None, heap: str | None = None,
                version: str | None = None) -> Iterator[str]:
    """Yield the URL of a local single node (see :func:`shared_cluster`)."""
    spec = ClusterSpec(port=port, **({"version": version} if version else {}))
    with shared_cluster(spec, home=home, heap=heap) as urls:
        yield urls[0]
