"""OpenSearch artifacts on Maven Central: coordinates, probing and download through ``mvn``.

Everything is fetched into a private local repository (``-Dmaven.repo.local=<home>/m2``) so reruns
are offline. Several artifacts are resolved by one ``mvn dependency:resolve`` over a generated pom
whose dependencies all exclude ``*:*``: Maven downloads exactly the listed files (and their poms),
and the transitive walk is done here, so jars the server already ships in ``lib/`` are never fetched.
See ``/work/shared/notes/opensearch-from-maven.md`` for what lives where on Central.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

VERSION_CANDIDATES = tuple(f"2.19.{patch}" for patch in range(6, -1, -1))
SERVER = ("org.opensearch.distribution.integ-test-zip", "opensearch", "zip")
_POM_NS = "{http://maven.apache.org/POM/4.0.0}"
_COORDS = r"[\w.-]+:[\w.-]+:[\w.-]+:[\w.-]+"
_UNRESOLVED = re.compile(rf"following artifacts could not be resolved: ((?:{_COORDS}(?:, )?)+)")
_NOT_FOUND = re.compile(rf"Could not find artifact ({_COORDS})|({_COORDS}) was not found in")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCLUDE_ALL = (
    "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>"
)


class ArtifactError(RuntimeError):
    """One or more artifacts could not be fetched; ``missing`` names them as ``g:a:type:v``."""

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Artifact:
    """A Maven artifact ``group:artifact:version`` with its packaging (``jar`` or ``zip``)."""

    group: str
    artifact: str
    version: str
    packaging: str = "jar"

    @property
    def coords(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}:{self.packaging}"

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.{self.packaging}"

    def path(self, m2: Path) -> Path:
        """Where the file lies inside the local repository ``m2``."""
        return m2.joinpath(*self.group.split("."), self.artifact, self.version, self.file_name)

    def pom_path(self, m2: Path) -> Path:
        return self.path(m2).with_name(f"{self.artifact}-{self.version}.pom")


def _fetch_pom(artifacts: Iterable[Artifact]) -> str:
    deps = "".join(
        f"<dependency><groupId>{a.group}</groupId><artifactId>{a.artifact}</artifactId>"
        f"<version>{a.version}</version><type>{a.packaging}</type>{_EXCLUDE_ALL}</dependency>"
        for a in artifacts
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>lacl-search</groupId><artifactId>fetch</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{deps}</dependencies></project>"
    )


def fetch(artifacts: list[Artifact], m2: Path) -> list[Path]:
    """Download ``artifacts`` (and their poms) into ``m2`` with one Maven run; return their paths.

    Files already in ``m2`` are not asked for again.

    Raises:
        ArtifactError: naming every artifact Maven could not find, or Maven's own failure.
        FileNotFoundError: if ``mvn`` is not installed.
    """
    todo = [a for a in artifacts if not (a.path(m2).is_file() and a.pom_path(m2).is_file())]
    if todo:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise FileNotFoundError("Maven (mvn) is needed to fetch OpenSearch: apt-get install maven")
        log.info("fetching %d artifact(s) from Maven: %s", len(todo), ", ".join(a.coords for a in todo))
        with tempfile.TemporaryDirectory(prefix="lacl-mvn-") as tmp:
            pom = Path(tmp, "pom.xml")
            pom.write_text(_fetch_pom(todo), encoding="utf-8")
            cmd = [mvn, "-B", "-q", "-f", str(pom), f"-Dmaven.repo.local={m2}", "dependency:resolve"]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            output = _ANSI.sub("", proc.stdout + proc.stderr)
            match = _UNRESOLVED.search(output)
            if match:
                missing = [s.strip() for s in match.group(1).split(",")]
            else:
                missing = sorted({a or b for a, b in _NOT_FOUND.findall(output)})
            errors = [line for line in output.splitlines() if "ERROR" in line][:2]
            detail = f"not found: {', '.join(missing)}" if missing else " | ".join(errors) or output[-500:]
            raise ArtifactError(f"could not fetch from Maven Central ({detail})", missing)
    return [a.path(m2) for a in artifacts]


def probe(artifact: Artifact, m2: Path) -> bool:
    """Return whether ``artifact`` exists on Central (fetching it if so)."""
    try:
        fetch([artifact], m2)
    except ArtifactError as exc:
        log.debug("probe %s: %s", artifact.coords, exc)
        return False
    return True


def resolve_version(m2: Path, candidates: Iterable[str] = VERSION_CANDIDATES) -> str:
    """Return the first version in ``candidates`` whose server zip exists on Central."""
    tried = []
    for version in candidates:
        tried.append(version)
        if probe(Artifact(SERVER[0], SERVER[1], version, "pom"), m2):
            return version
    raise ArtifactError(f"no OpenSearch server zip on Maven Central for versions {tried}", tried)


def pom_dependencies(artifact: Artifact, m2: Path) -> list[tuple[Artifact, bool]]:
    """Runtime dependencies declared by ``artifact``'s pom (already in ``m2``).

    Returns:
        ``(dependency, transitive)`` pairs; ``transitive`` is False when the pom excludes ``*:*``.
        Test, provided, system and optional dependencies are left out.
    """
    root = ET.parse(artifact.pom_path(m2)).getroot()
    props = {"project.version": artifact.version}
    for prop in root.findall(f"{_POM_NS}properties/*"):
        props[prop.tag.removeprefix(_POM_NS)] = (prop.text or "").strip()
    out = []
    for dep in root.findall(f"{_POM_NS}dependencies/{_POM_NS}dependency"):
        def text(tag: str, default: str = "", dep: ET.Element = dep) -> str:
            return (dep.findtext(f"{_POM_NS}{tag}") or default).strip()

        if text("scope", "compile") not in ("compile", "runtime") or text("optional") == "true":
            continue
        version = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), text("version"))
        if "${" in version or not version:
            raise ArtifactError(f"no version for {text('artifactId')} in the pom of {artifact.coords}", [])
        excluded = {
            (e.findtext(f"{_POM_NS}groupId"), e.findtext(f"{_POM_NS}artifactId"))
            for e in dep.findall(f"{_POM_NS}exclusions/{_POM_NS}exclusion")
        }
        dependency = Artifact(text("groupId"), text("artifactId"), version, text("type", "jar"))
        out.append((dependency, ("*", "*") not in excluded))
    return out


def runtime_closure(root: Artifact, m2: Path, provided: set[str]) -> list[Artifact]:
    """Fetch ``root`` and its runtime dependency closure; return those artifacts, ``root`` first.

    Args:
        root: the module or plugin jar.
        m2: the local Maven repository.
        provided: jar file names already on the server's class path (``lib/``): these are neither
            fetched nor followed, which keeps jar hell away and avoids pulling the server's own tree.
    """
    wanted: list[Artifact] = []
    level: list[tuple[Artifact, bool]] = [(root, True)]
    seen: set[str] = set()
    while level:
        new = [(a, t) for a, t in level if a.coords not in seen and a.file_name not in provided]
        seen.update(a.coords for a, _ in level)
        fetch([a for a, _ in new], m2)
        wanted.extend(a for a, _ in new)
        level = [dep for a, transitive in new if transitive for dep in pom_dependencies(a, m2)]
    return wanted
