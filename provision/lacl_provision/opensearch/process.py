"""Start, stop and check local OpenSearch clusters (no Docker): either line, one or more nodes, secure.

Each node runs as an unprivileged system user when called as root (OpenSearch refuses root), binds
127.0.0.1, and keeps config, data, logs and its pidfile under ``<home>/nodes/<port>/``. A cluster
kind is a :class:`~lacl_provision.opensearch.layout.ClusterSpec`; kinds on distinct ports run side by
side, each from its own install (``opensearch-V`` or ``opensearch-V-secure``).

Typical use::

    urls = start_cluster(ClusterSpec(port=9270, nodes=3))   # provisions on first use, reuses running nodes
    stop_cluster(ClusterSpec(port=9270, nodes=3))
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

from lacl_provision.opensearch import jdk, node
from lacl_provision.opensearch.assemble import provision
from lacl_provision.opensearch.layout import ClusterSpec, Layout, file_lock
from lacl_provision.opensearch.node import alive, log_errors, running_pid
from lacl_provision.opensearch.probe import Endpoint
from lacl_search.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["ensure_running", "start_cluster", "stop", "stop_cluster", "status", "node_pids", "endpoint",
           "is_healthy", "get_json", "local_url", "running_pid", "log_errors"]

NODE_USER = "lacl-opensearch"
DEFAULT_PORT = 9200
DEFAULT_HEAP = "2g"
MULTI_NODE_HEAP = "768m"  # per node of a multi-node cluster (24 GiB / 2-core machines)


def local_url(port: int, secure: bool = False) -> str:
    return f"{'https' if secure else 'http'}://127.0.0.1:{port}"


def get_json(url: str, path: str, timeout: float = 5.0) -> dict | list:
    """GET ``url + path`` and decode the JSON answer (raises ``OSError`` subclasses on failure)."""
    return Endpoint(url).get_json(path, timeout)


def is_healthy(url: str, timeout: float = 5.0) -> bool:
    """Return whether the (unsecured) cluster at ``url`` answers with status green or yellow."""
    return Endpoint(url).is_healthy(timeout=timeout)


def endpoint(layout: Layout, spec: ClusterSpec, i: int = 0) -> Endpoint:
    """How to reach node ``i`` of ``spec`` (with the admin credentials when secure)."""
    creds = layout.credentials(spec.ports[i])
    return Endpoint.from_credentials(spec.urls[i], creds) if spec.secure and creds.is_file() else Endpoint(spec.urls[i])


def node_user() -> str | None:
    """Return the system user the node runs as (created if missing), or None when not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(NODE_USER)
    except KeyError:
        log.info("creating system user %s to run OpenSearch (it refuses to run as root)", NODE_USER)
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", NODE_USER],
            check=True, capture_output=True,
        )
    return NODE_USER


def ensure_running(
    port: int = DEFAULT_PORT, home: str | Path | None = None, heap: str | None = None, timeout: float = 240.0,
    *, version: str | None = None, nodes: int = 1, secure: bool = False,
) -> str:
    """Start (or reuse) a local cluster; return its base URL(s), comma-separated for several nodes.

    See :func:`start_cluster`; ``version`` None means :data:`~lacl_provision.opensearch.layout.DEFAULT_VERSION`.
    """
    spec = ClusterSpec(port=port, nodes=nodes, secure=secure, **({"version": version} if version else {}))
    return ",".join(start_cluster(spec, home=home, heap=heap, timeout=timeout))


def start_cluster(spec: ClusterSpec, home: str | Path | None = None, heap: str | None = None,
                  timeout: float = 240.0) -> list[str]:
    """Return the URLs of a healthy local cluster of kind ``spec``, provisioning and starting it if needed.

    Nodes already running are reused; missing ones (e.g. one that was killed) are started again.

    Args:
        spec: version, node count, security and first HTTP port.
        home: OpenSearch home folder (default: :func:`~lacl_provision.opensearch.layout.default_home`).
        heap: JVM heap per node (both -Xms and -Xmx); default 2g for one node, 768m each for several.
        timeout: seconds to wait for the cluster to turn yellow with every node joined.

    Raises:
        ConfigError: a port of ``spec`` is held by a node of another kind.
        ArtifactMissing: no fitting JDK, or no security plugin for this line.
        RuntimeError: when a node does not come up (the message holds the log's error lines).
    """
    layout = Layout.at(home)
    heap = heap or (DEFAULT_HEAP if spec.nodes == 1 else MULTI_NODE_HEAP)
    with file_lock(layout.node_dir(spec.port) / "start.lock", fcntl.LOCK_EX):  # concurrent starters queue here
        pids = [_owned_pid(layout, spec, port) for port in spec.ports]
        if all(pids) and endpoint(layout, spec).is_healthy(spec.nodes):
            log.info("OpenSearch already running at %s", ",".join(spec.urls))
            return spec.urls
        if not all(pids):
            java = jdk.java_home(spec.version)
            install = _install(layout, java, spec)
            for i, pid in enumerate(pids):
                if pid is None:
                    _launch(layout, install, spec, i, heap, java)
        _wait_healthy(layout, spec, timeout)
    if spec.secure:
        log.info("admin credentials and CA path are in %s", layout.credentials(spec.port))
    log.info("OpenSearch is up at %s", ",".join(spec.urls))
    return spec.urls


def _install(layout: Layout, java: Path, spec: ClusterSpec) -> Path:
    if spec.secure:
        from lacl_provision.opensearch.secure import provision_secure

        return provision_secure(layout, java, spec.version)
    return provision(layout, java, spec.version)


def _owned_pid(layout: Layout, spec: ClusterSpec, port: int) -> int | None:
    """The pid of our node on ``port``; :class:`ConfigError` if it belongs to another kind of cluster."""
    pid = running_pid(layout, port)
    kind = node.recorded_kind(layout, port)
    if pid is not None and kind is not None and kind != spec.describe():
        raise ConfigError(f"port {port} is held by another local cluster {kind}: stop it first "
                          "(lacl-search opensearch stop with its flags) or choose another --port")
    return pid


def _launch(layout: Layout, install: Path, spec: ClusterSpec, i: int, heap: str, java: Path) -> None:
    """Start ``bin/opensearch -d`` for node ``i``; return when the launcher has daemonised."""
    port = spec.ports[i]
    home = layout.node_dir(port)
    for sub in ("data", "logs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    config = node.write_config(layout, install, spec, i)
    user = node_user()
    cmd = node.command(layout, install, port)
    if user is not None:
        _chown_tree(install, user)
        for path in (home, home / "data", home / "logs"):
            _chown_tree(path, user)
        _chown_tree(config, user, force=True)
        cmd = ["runuser", "-u", user, "--", *cmd]
    if spec.secure:
        _write_credentials(layout.credentials(port), install, config)
    log.info("starting OpenSearch %s on 127.0.0.1:%d (heap %s, node %d of %d)", install.name, port, heap, i + 1,
             spec.nodes)
    with open(home / "launcher.out", "wb") as out:
        proc = subprocess.run(cmd, env=node.environment(java, heap, config), stdout=out, stderr=subprocess.STDOUT,
                              check=False, cwd=install)
    if proc.returncode != 0:
        raise RuntimeError(f"OpenSearch failed to start (exit {proc.returncode}):\n{log_errors(layout, port)}")


def _write_credentials(path: Path, install: Path, config: Path) -> None:
    """The node's credentials file, readable by its owner only (the password is never logged)."""
    from lacl_provision.opensearch.secure import node_credentials

    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(node_credentials(install, config)) + "\n")


def _chown_tree(root: Path, user: str, force: bool = False) -> None:
    """Give ``root`` and everything below to ``user`` (skipped when already theirs, unless ``force``)."""
    entry = pwd.getpwnam(user)
    if root.stat().st_uid == entry.pw_uid and not force:
        return
    for path in [root, *root.rglob("*")]:
        os.lchown(path, entry.pw_uid, entry.pw_gid)
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-r", str(root)], check=False)
    if probe.returncode != 0:
        raise RuntimeError(f"user {user} cannot reach {root}: set LACL_OPENSEARCH_HOME outside /root")


def _wait_healthy(layout: Layout, spec: ClusterSpec, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    misses = 0
    while time.monotonic() < deadline:
        if endpoint(layout, spec).is_healthy(spec.nodes):
            return
        dead = [port for port in spec.ports if running_pid(layout, port) is None]
        misses = misses + 1 if dead else 0
        if misses >= 3:
            raise RuntimeError(f"OpenSearch on port {dead[0]} exited during start:\n{log_errors(layout, dead[0])}")
        time.sleep(1.0)
    errors = "\n".join(log_errors(layout, port) for port in spec.ports)
    raise RuntimeError(f"OpenSearch on port(s) {spec.ports} not healthy after {timeout:.0f}s:\n{errors}")


def stop(port: int = DEFAULT_PORT, home: str | Path | None = None, timeout: float = 60.0) -> bool:
    """Stop the node started for ``port`` and wait until its process is gone.

    Returns:
        True if a node was stopped, False if none of ours was running.
    """
    layout = Layout.at(home)
    pid = running_pid(layout, port)
    if pid is None:
        layout.pidfile(port).unlink(missing_ok=True)
        log.info("no lacl-search OpenSearch node running for port %d", port)
        return False
    log.info("stopping OpenSearch (pid %d, port %d)", pid, port)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if alive(pid):
        log.warning("OpenSearch pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout)
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.2)
    layout.pidfile(port).unlink(missing_ok=True)
    return True


def stop_cluster(spec: ClusterSpec, home: str | Path | None = None, timeout: float = 60.0) -> int:
    """Stop every node of ``spec``; return how many were running."""
    return sum(stop(port, home, timeout) for port in spec.ports)


def node_pids(spec: ClusterSpec, home: str | Path | None = None) -> list[int | None]:
    """The pid of each node of ``spec`` (None where it is not running), in port order."""
    layout = Layout.at(home)
    return [running_pid(layout, port) for port in spec.ports]


def status(port: int = DEFAULT_PORT, home: str | Path | None = None, *, spec: ClusterSpec | None = None) -> dict | None:
    """Return ``{"urls", "version", "health", "plugins", "modules"}`` for a healthy cluster, else None."""
    spec = spec or ClusterSpec(port=port)
    layout = Layout.at(home)
    point = endpoint(layout, spec)
    if not point.is_healthy(spec.nodes):
        return None
    health = point.get_json("/_cluster/health")
    version = point.get_json("/")["version"]["number"]
    nodes = point.get_json("/_nodes/plugins")["nodes"].values()
    info = {
        "urls": spec.urls, "version": version, "health": health,
        "plugins": sorted({p["name"] for n in nodes for p in n["plugins"]}),
        "modules": sorted({m["name"] for n in nodes for m in n["modules"]}),
    }
    if spec.secure:
        info["credentials_file"] = str(layout.credentials(spec.port))
    return info
