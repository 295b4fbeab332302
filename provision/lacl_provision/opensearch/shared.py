"""A local node shared by concurrent processes (e.g. parallel test sessions) on one port.

Each user holds a shared ``flock`` on ``<home>/nodes/<port>/users.lock`` while using the node, so a
session that ends never stops a node another session still queries.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lacl_provision.opensearch.layout import Layout, file_lock
from lacl_provision.opensearch.process import DEFAULT_HEAP, ensure_running, is_healthy, local_url, stop

log = logging.getLogger(__name__)


@contextmanager
def shared_node(port: int, home: str | Path | None = None, heap: str = DEFAULT_HEAP) -> Iterator[str]:
    """Yield the URL of a local node that several processes (e.g. test sessions) may use at once.

    Each user holds a shared lock while inside the block. On leaving, the last user stops the node
    if some user of the chain started it; a node that was already running beforehand is left alone.
    """
    layout = Layout.at(home)
    started_marker = layout.node_dir(port) / "started-by-shared-user"
    with file_lock(layout.node_dir(port) / "users.lock", fcntl.LOCK_SH) as users:
        if not is_healthy(local_url(port)):
            url = ensure_running(port=port, home=home, heap=heap)
            started_marker.touch()
        else:
            url = local_url(port)
        try:
            yield url
        finally:
            fcntl.flock(users, fcntl.LOCK_UN)
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("OpenSearch on port %d is still used by another process; leaving it running", port)
            else:
                if started_marker.exists():
                    stop(port=port, home=home)
                    started_marker.unlink(missing_ok=True)
