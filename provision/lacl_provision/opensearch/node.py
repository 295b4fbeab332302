"""One node's files and command line: its config folder, settings and the ``bin/opensearch`` call.

Each node gets ``<home>/nodes/<port>/config/``, a copy of its install's ``config/`` (so a secure
install's demo certificates come along) whose ``opensearch.yml`` carries this node's settings and
whose ``jvm.options`` writes GC logs into the node's own ``logs/``. ``OPENSEARCH_PATH_CONF`` points
the server at it, so one install serves nodes of several clusters at once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from lacl_provision.opensearch.layout import ClusterSpec, Layout

_OWN_KEYS = ("cluster.name", "node.name", "network.host", "discovery.type", "http.port", "transport.port",
             "discovery.seed_hosts", "cluster.initial_cluster_manager_nodes",
             "cluster.routing.allocation.disk.threshold_enabled")
_RELATIVE_LOGS = re.compile(r"(?<=[=:])logs/")
_MAIN_CLASS = "org.opensearch.bootstrap.OpenSearch"
# A log line at ERROR/FATAL level, or an exception line of a stack trace.
_ERROR_LINE = re.compile(r"\[(ERROR|FATAL)\s*\]|^(Caused by: )?[\w.$]+(Exception|Error)\b|^Exception in thread")


def node_name(spec: ClusterSpec, i: int) -> str:
    return f"lacl-{spec.port}-{i}"


def node_settings(spec: ClusterSpec, i: int) -> dict[str, str]:
    """``opensearch.yml`` settings of node ``i`` of ``spec``: loopback, its ports, its cluster."""
    settings = {
        "node.name": node_name(spec, i),
        "network.host": "127.0.0.1",
        "http.port": str(spec.ports[i]),
        "transport.port": str(spec.transport_ports[i]),
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    if spec.nodes == 1:
        settings.update({"cluster.name": "lacl-search", "discovery.type": "single-node"})
        return settings
    settings["cluster.name"] = f"lacl-search-{spec.port}"
    settings["discovery.seed_hosts"] = json.dumps([f"127.0.0.1:{p}" for p in spec.transport_ports])
    settings["cluster.initial_cluster_manager_nodes"] = json.dumps([node_name(spec, j) for j in range(spec.nodes)])
    return settings


def node_yml(base: str, settings: dict[str, str]) -> str:
    """``base`` (the install's ``opensearch.yml``) without the keys this module sets, plus ``settings``."""
    kept = [line for line in base.splitlines() if line.split(":", 1)[0].strip() not in _OWN_KEYS]
    return "\n".join([*kept, *(f"{key}: {value}" for key, value in settings.items())]) + "\n"


def write_config(layout: Layout, install: Path, spec: ClusterSpec, i: int) -> Path:
    """Create (or refresh) node ``i``'s config folder from ``install``; return it."""
    node = layout.node_dir(spec.ports[i])
    config = node / "config"
    shutil.copytree(install / "config", config, symlinks=True, dirs_exist_ok=True)
    base = (install / "config" / "opensearch.yml").read_text(encoding="utf-8")
    (config / "opensearch.yml").write_text(node_yml(base, node_settings(spec, i)), encoding="utf-8")
    jvm = (install / "config" / "jvm.options").read_text(encoding="utf-8")
    (config / "jvm.options").write_text(_RELATIVE_LOGS.sub(f"{node / 'logs'}/", jvm), encoding="utf-8")
    (node / "kind.json").write_text(json.dumps(spec.describe()) + "\n", encoding="utf-8")
    return config


def recorded_kind(layout: Layout, port: int) -> dict | None:
    """The kind recorded by the last start on ``port`` (None for nodes started before kinds existed)."""
    try:
        return json.loads((layout.node_dir(port) / "kind.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def command(layout: Layout, install: Path, port: int) -> list[str]:
    node = layout.node_dir(port)
    return [
        str(install / "bin" / "opensearch"), "-d", "-p", str(layout.pidfile(port)),
        f"-Epath.data={node / 'data'}", f"-Epath.logs={node / 'logs'}",
    ]


def environment(java: Path, heap: str, config: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "JAVA_HOME": str(java),
        "OPENSEARCH_PATH_CONF": str(config),
        "OPENSEARCH_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "LANG": "C.UTF-8",
    }


def alive(pid: int) -> bool:
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
        if _MAIN_CLASS.encode() in args and wanted in args and alive(pid):
            return pid
    return None


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
