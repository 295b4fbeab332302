"""A throw-away local OpenSearch node with a tiny write queue, for real 429s (test helper).

It runs the install the project's launcher assembled (``lacl_provision.opensearch``), on free loopback
ports, with data and logs in a temporary folder, and ``thread_pool.write.size=1`` and
``thread_pool.write.queue_size=1``: a few concurrent bulk requests fill the queue and the node answers
429 (``rejected_execution_exception``). :func:`throttled_node` stops it by pid and removes the folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lacl_provision.opensearch.layout import Layout
from lacl_provision.opensearch.process import is_healthy, node_user

VERSION = "2.19.6"


def _java_home() -> Path:
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"])
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("no JAVA_HOME and no java on PATH")
    return Path(java).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(install: Path, root: Path, http_port: int, settings: dict[str, str]) -> list[str]:
    cmd = [str(install / "bin" / "opensearch"), "-d", "-p", str(root / "pid"), f"-Ehttp.port={http_port}",
           f"-Etransport.port={free_port()}", f"-Epath.data={root / 'data'}", f"-Epath.logs={root / 'logs'}",
           *(f"-E{key}={value}" for key, value in settings.items())]
    user = node_user()
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@contextmanager
def throttled_node(settings: dict[str, str] | None = None, heap: str = "512m",
                   timeout: float = 240.0) -> Iterator[str]:
    """Start a node with a tiny write queue (plus ``settings``); yield its URL; stop it and clean up."""
    install = Layout.at().install_dir(VERSION)
    if not (install / "bin" / "opensearch").is_file():
        raise RuntimeError(f"no OpenSearch {VERSION} install at {install}: run `lacl-search opensearch start`")
    root = Path(tempfile.mkdtemp(prefix="lacl-429-node-", dir="/tmp"))
    user = node_user()
    if user:
        shutil.chown(root, user)
    port = free_port()
    node_settings = {"thread_pool.write.size": "1", "thread_pool.write.queue_size": "1", **(settings or {})}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "JAVA_HOME": str(_java_home()), "LANG": "C.UTF-8",
           "OPENSEARCH_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}"}
    pid = None
    try:
        with open(root / "launcher.out", "wb") as out:
            subprocess.run(_command(install, root, port, node_settings), env=env, cwd=install, stdout=out,
                           stderr=subprocess.STDOUT, check=True, timeout=timeout)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not is_healthy(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"throttled node not healthy after {timeout:.0f} s (see {root / 'logs'})")
            time.sleep(1.0)
        pid = int((root / "pid").read_text().strip())
        yield url
    finally:
        if pid is None and (root / "pid").is_file():
            pid = int((root / "pid").read_text().strip() or 0) or None
        if pid is not None:
            _stop(pid)
        shutil.rmtree(root, ignore_errors=True)


def _stop(pid: int, timeout: float = 60.0) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.3)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
