"""Start, stop and check a local single-node OpenSearch (no Docker).

The node runs as an unprivileged system user when called as root (OpenSearch refuses root), binds
127.0.0.1 on the given port, and keeps data, logs and its pidfile under ``<home>/nodes/<port>/``.

Typical use::

    url = ensure_running(port=9200)      # provisions on first use, reuses a running node
    stop(port=9200)
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from lacl_provision.opensearch.assemble import provision
from lacl_provision.opensearch.layout import Layout, file_lock

log = logging.getLogger(__name__)

NODE_USER = "lacl-opensearch"
DEFAULT_PORT = 9200
DEFAULT_HEAP = "2g"
_MAIN_CLASS = "org.opensearch.bootstrap.OpenSearch"
# A log line at ERROR/FATAL level, or an exception line of a stack trace.
_ERROR_LINE = re.compile(r"\[(ERROR|FATAL)\s*\]|^(Caused by: )?[\w.$]+(Exception|Error)\b|^Exception in thread")


def local_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def get_json(url: str, path: str, timeout: float = 5.0) -> dict | list:
    """GET ``url + path`` and decode the JSON answer (raises ``OSError`` subclasses on failure)."""
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as resp:  # noqa: S310 - http(s) only
        return json.loads(resp.read().decode("utf-8"))


def is_healthy(url: str, timeout: float = 5.0) -> bool:
    """Return whether the cluster at ``url`` answers with status green or yellow."""
    try:
        health = get_json(url, "/_cluster/health?wait_for_status=yellow&timeout=1s", timeout)
    except (OSError, ValueError):
        return False
    return isinstance(health, dict) and health.get("status") in ("green", "yellow")


def java_home() -> Path:
    """Return ``$JAVA_HOME``, else the JDK that ``java`` on ``PATH`` resolves to."""
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"])
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError("no JAVA_HOME and no java on PATH: install OpenJDK 17 (openjdk-17-jdk)")
    return Path(java).resolve().parent.parent


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


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (an unreaped process has already ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def running_pid(layout: Layout, port: int) -> int | None:
    """Return the pid of this home's node for ``port``, or None if it is not running.

    The pidfile is tried first; as OpenSearch writes it only some seconds after ``-d`` returns, the
    process table is also searched for the node's ``-Epath.data`` argument.
    """
    wanted = f"-Epath.data={layout.node_dir(port) / 'data'}".encode()
    candidates = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    try:
        candidates.insert(0, int(layout.pidfile(port).read_text().strip()))
    except (OSError, ValueError):
        pass
    for pid in candidates:
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if _MAIN_CLASS.encode() in args and wanted in args and _alive(pid):
            return pid
    return None


def ensure_running(
    port: int = DEFAULT_PORT, home: str | Path | None = None, heap: str = DEFAULT_HEAP, timeout: float = 240.0
) -> str:
    """Return the URL of a healthy local node on ``port``, provisioning and starting it if needed.

    A healthy node already answering on the port is reused as is.

    Args:
        port: HTTP port on 127.0.0.1.
        home: OpenSearch home folder (default: :func:`~lacl_provision.opensearch.layout.default_home`).
        heap: JVM heap, e.g. ``"2g"`` (both -Xms and -Xmx).
        timeout: seconds to wait for the cluster to turn yellow.

    Raises:
        RuntimeError: when the node does not come up (the message holds the log's error lines).
        ArtifactError: when an artifact cannot be fetched on first use.
    """
    url = local_url(port)
    layout = Layout.at(home)
    if is_healthy(url):
        log.info("OpenSearch already running at %s", url)
        return url
    with file_lock(layout.node_dir(port) / "start.lock", fcntl.LOCK_EX):  # concurrent starters queue here
        if is_healthy(url):
            return url
        if running_pid(layout, port) is None:
            jdk = java_home()
            install = provision(layout, jdk)
            _launch(layout, install, port, heap, jdk)
        _wait_healthy(layout, port, timeout)
    log.info("OpenSearch is up at %s", url)
    return url


def _launch(layout: Layout, install: Path, port: int, heap: str, jdk: Path) -> None:
    """Start ``bin/opensearch -d`` for ``port``; return when the launcher has daemonised."""
    node = layout.node_dir(port)
    for sub in ("data", "logs"):
        (node / sub).mkdir(parents=True, exist_ok=True)
    user = node_user()
    if user is not None:
        _chown_tree(install, user)
        for path in (node, node / "data", node / "logs"):
            _chown_tree(path, user)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "JAVA_HOME": str(jdk),
        "OPENSEARCH_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "LANG": "C.UTF-8",
    }
    cmd = [
        str(install / "bin" / "opensearch"), "-d", "-p", str(layout.pidfile(port)),
        f"-Ehttp.port={port}", f"-Epath.data={node / 'data'}", f"-Epath.logs={node / 'logs'}",
    ]
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    log.info("starting OpenSearch %s on 127.0.0.1:%d (heap %s)", install.name, port, heap)
    with open(node / "launcher.out", "wb") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False, cwd=install)
    if proc.returncode != 0:
        errors = log_errors(layout, port)
        raise RuntimeError(f"OpenSearch failed to start (exit {proc.returncode}):\n{errors}")


def _chown_tree(root: Path, user: str) -> None:
    """Give ``root`` and everything below to ``user`` (skipped when ``root`` is already theirs)."""
    entry = pwd.getpwnam(user)
    if root.stat().st_uid == entry.pw_uid:
        return
    for path in [root, *root.rglob("*")]:
        os.lchown(path, entry.pw_uid, entry.pw_gid)
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-r", str(root)], check=False)
    if probe.returncode != 0:
        raise RuntimeError(f"user {user} cannot reach {root}: set LACL_OPENSEARCH_HOME outside /root")


def _wait_healthy(layout: Layout, port: int, timeout: float) -> None:
    url = local_url(port)
    deadline = time.monotonic() + timeout
    misses = 0
    while time.monotonic() < deadline:
        if is_healthy(url):
            return
        misses = misses + 1 if running_pid(layout, port) is None else 0
        if misses >= 3:
            raise RuntimeError(f"OpenSearch on port {port} exited during start:\n{log_errors(layout, port)}")
        time.sleep(1.0)
    errors = log_errors(layout, port)
    raise RuntimeError(f"OpenSearch on port {port} not healthy after {timeout:.0f}s:\n{errors}")


def log_errors(layout: Layout, port: int, limit: int = 25) -> str:
    """The node's last ``limit`` ERROR / exception log lines, then the launcher's own last lines."""
    node = layout.node_dir(port)
    lines: list[str] = []
    for path in sorted((node / "logs").glob("*.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        lines += [line for line in text.splitlines() if _ERROR_LINE.search(line)]
    lines = lines[-limit:]
    launcher = node / "launcher.out"
    if launcher.is_file():
        text = launcher.read_text(encoding="utf-8", errors="replace")
        lines += [line for line in text.splitlines() if line and not line.lower().startswith("warning")][-12:]
    return "\n".join(lines) or f"(no error lines; see {node / 'logs'})"


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
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if _alive(pid):
        log.warning("OpenSearch pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout)
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.2)
    layout.pidfile(port).unlink(missing_ok=True)
    return True


def status(port: int = DEFAULT_PORT) -> dict | None:
    """Return ``{"url", "health", "plugins", "modules"}`` for a healthy node on ``port``, else None."""
    url = local_url(port)
    if not is_healthy(url):
        return None
    health = get_json(url, "/_cluster/health")
    nodes = get_json(url, "/_nodes/plugins")["nodes"].values()
    plugins = sorted({p["name"] for node in nodes for p in node["plugins"]})
    modules = sorted({m["name"] for node in nodes for m in node["modules"]})
    return {"url": url, "health": health, "plugins": plugins, "modules": modules}
