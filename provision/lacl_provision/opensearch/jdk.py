"""Pick the JDK an OpenSearch line runs on (the integ-test zips bundle none).

2.x needs Java 11 to 23: it still installs the Java Security Manager, which Java 24 removed. 3.x needs
Java 21 or newer (it replaces the Security Manager with a Java agent). Candidates, in order:
``$JAVA_HOME``, the JDK that ``java`` on ``PATH`` resolves to, then the JDKs in the usual system
folders (newest first). The first whose ``release`` file names a fitting major version wins.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from lacl_search.errors import ArtifactMissing

log = logging.getLogger(__name__)

KNOWN_JVM_FOLDERS = (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java"), Path("/opt/jdk"))
_VERSION = re.compile(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', re.MULTILINE)


def java_major(jdk: Path) -> int | None:
    """The major Java version of the JDK at ``jdk`` (from its ``release`` file), or None."""
    try:
        match = _VERSION.search((jdk / "release").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    if match is None or not (jdk / "bin" / "java").is_file():
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def required_java(server_version: str) -> tuple[int, int | None]:
    """``(lowest, highest)`` Java major version an OpenSearch ``server_version`` runs on (None: no limit)."""
    return (21, None) if int(server_version.split(".")[0]) >= 3 else (11, 23)


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        found.append(Path(os.environ["JAVA_HOME"]))
    java = shutil.which("java")
    if java:
        found.append(Path(java).resolve().parent.parent)
    system = [p for folder in KNOWN_JVM_FOLDERS if folder.is_dir() for p in folder.iterdir() if p.is_dir()]
    found += sorted(system, key=lambda p: java_major(p) or 0, reverse=True)
    return found


def java_home(server_version: str) -> Path:
    """Return a JDK home that can run OpenSearch ``server_version``.

    Raises:
        ArtifactMissing: no fitting JDK; the one-line message names the versions needed and found.
    """
    low, high = required_java(server_version)
    seen: dict[Path, int | None] = {}
    for jdk in _candidates():
        major = seen.setdefault(jdk.resolve(), java_major(jdk))
        if major is not None and major >= low and (high is None or major <= high):
            log.info("OpenSearch %s runs on Java %d at %s", server_version, major, jdk)
            return jdk
    wanted = f"Java {low}-{high}" if high else f"Java >= {low}"
    found = ", ".join(f"{p} ({m or '?'})" for p, m in seen.items()) or "none"
    raise ArtifactMissing(
        f"OpenSearch {server_version} needs {wanted}; found: {found}. Install one (e.g. a Temurin JDK "
        f"{max(low, 21)}) and set JAVA_HOME"
    )
