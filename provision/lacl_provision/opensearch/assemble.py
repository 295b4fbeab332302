"""Assemble a complete OpenSearch install folder from Maven Central artifacts.

The 2.x ``integ-test-zip`` server ships only the transport modules, so ``lang-painless`` and
``analysis-common`` are built as ``modules/`` folders from their jars (plus their poms' runtime
dependencies, minus anything already in ``lib/``), ICU is added as ``plugins/analysis-icu`` when its
jar exists for this version. The 3.x zip already holds every module. Then k-NN and neural-search are
installed with ``opensearch-plugin`` (both lines).
Work happens in ``opensearch-V.partial`` and is renamed into place only after the marker file is
written, so a half-finished assemble is never taken for a complete one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lacl_provision.opensearch import artifacts
from lacl_provision.opensearch.artifacts import Artifact
from lacl_provision.opensearch.layout import MARKER, Layout

log = logging.getLogger(__name__)

PAINLESS_POLICY = """grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
"""
NODE_CONFIG = """cluster.name: lacl-search
node.name: lacl-search-node
network.host: 127.0.0.1
discovery.type: single-node
cluster.routing.allocation.disk.threshold_enabled: false
"""


@dataclass(frozen=True)
class JarPlugin:
    """A module or plugin assembled by hand from a jar on Central (no zip is published)."""

    name: str
    artifact: str
    classname: str
    folder: str = "modules"
    extends: str = ""
    policy: str = ""
    optional: bool = False


JAR_PLUGINS = (
    JarPlugin(
        "lang-painless", "lang-painless", "org.opensearch.painless.PainlessPlugin", policy=PAINLESS_POLICY
    ),
    JarPlugin(
        "analysis-common", "analysis-common", "org.opensearch.analysis.common.CommonAnalysisPlugin",
        extends="lang-painless",
    ),
    JarPlugin(
        "analysis-icu", "analysis-icu-client", "org.opensearch.plugin.analysis.icu.AnalysisICUPlugin",
        folder="plugins", optional=True,
    ),
)
# Installed in this order: neural-search extends opensearch-knn.
ZIP_PLUGINS = ("opensearch-knn", "neural-search")


def major(version: str) -> int:
    return int(version.split(".")[0])


def installed_version(layout: Layout) -> str | None:
    """Return the newest completely assembled plain (not secure) 2.x version under ``layout``, or None."""
    markers = layout.install_root.glob(f"opensearch-*/{MARKER}")
    versions = [json.loads(p.read_text())["version"] for p in markers if not p.parent.name.endswith("-secure")]
    versions = [v for v in versions if major(v) == 2]
    return max(versions, key=lambda v: tuple(int(x) for x in v.split(".")), default=None)


def provision(layout: Layout, java_home: Path, version: str | None = None) -> Path:
    """Return a complete install folder, assembling it first when missing.

    Args:
        layout: the OpenSearch home layout.
        java_home: JDK used by the ``opensearch-plugin`` tool.
        version: exact version; default: an installed one, else the newest 2.19.x on Central.

    Raises:
        ArtifactError: when a required artifact cannot be fetched (the message names it).
    """
    version = version or installed_version(layout)
    if version and (layout.install_dir(version) / MARKER).is_file():
        return layout.install_dir(version)
    layout.m2.mkdir(parents=True, exist_ok=True)
    version = version or artifacts.resolve_version(layout.m2)
    log.info("assembling OpenSearch %s under %s (first start only)", version, layout.install_root)
    staging = layout.install_root / f"opensearch-{version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    required = _required_artifacts(version)
    artifacts.fetch(required, layout.m2)
    _unzip(required[0].path(layout.m2), staging, strip_top=True)
    provided = {p.name for p in (staging / "lib").glob("*.jar")}
    installed = [a.coords for a in required]
    for spec in JAR_PLUGINS if major(version) == 2 else ():  # 3.x zips carry their modules
        installed += _add_jar_plugin(spec, version, staging, layout.m2, provided)
    for zip_artifact in required[1 : 1 + len(ZIP_PLUGINS)]:
        _install_zip_plugin(staging, zip_artifact.path(layout.m2), java_home)
    (staging / "config" / "opensearch.yml").write_text(NODE_CONFIG, encoding="utf-8")
    (staging / "logs").mkdir(exist_ok=True)  # jvm.options names logs/ relative to the working folder
    marker = {"version": version, "artifacts": sorted(set(installed))}
    (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    final = layout.install_dir(version)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    log.info("OpenSearch %s assembled at %s", version, final)
    return final


def _required_artifacts(version: str) -> list[Artifact]:
    """Server zip first, then the plugin zips in install order, then the required module jars."""
    server = Artifact(artifacts.SERVER[0], artifacts.SERVER[1], version, artifacts.SERVER[2])
    zips = [Artifact("org.opensearch.plugin", name, f"{version}.0", "zip") for name in ZIP_PLUGINS]
    if major(version) >= 3:
        return [server, *zips]
    jars = [Artifact("org.opensearch.plugin", s.artifact, version) for s in JAR_PLUGINS if not s.optional]
    return [server, *zips, *jars]


def _add_jar_plugin(spec: JarPlugin, version: str, install: Path, m2: Path, provided: set[str]) -> list[str]:
    """Build ``<install>/<folder>/<name>/``; return the coordinates used (empty if optional and absent)."""
    root = Artifact("org.opensearch.plugin", spec.artifact, version)
    if spec.optional and not artifacts.probe(root, m2):
        log.warning("%s is not on Maven Central for %s: %s left out", root.coords, version, spec.name)
        return []
    closure = artifacts.runtime_closure(root, m2, provided)
    jars = [a.path(m2) for a in closure]
    with zipfile.ZipFile(jars[0]) as jar:
        if f"{spec.classname.replace('.', '/')}.class" not in jar.namelist():
            raise RuntimeError(f"{root.coords} has no class {spec.classname}: check the plugin table")
    target = install / spec.folder / spec.name
    target.mkdir(parents=True)
    for jar in jars:
        shutil.copy2(jar, target / jar.name)
    descriptor = {
        "description": f"{spec.name} assembled by lacl-search from Maven Central",
        "version": version,
        "name": spec.name,
        "classname": spec.classname,
        "java.version": "11",
        "opensearch.version": version,
        "extended.plugins": spec.extends,
        "has.native.controller": "false",
    }
    lines = [f"{key}={value}" for key, value in descriptor.items()]
    (target / "plugin-descriptor.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if spec.policy:
        (target / "plugin-security.policy").write_text(spec.policy, encoding="utf-8")
    log.info("assembled %s/%s from %d jar(s)", spec.folder, spec.name, len(jars))
    return [a.coords for a in closure]


def _install_zip_plugin(install: Path, plugin_zip: Path, java_home: Path) -> None:
    """Run ``bin/opensearch-plugin install --batch file://...`` for one plugin zip."""
    env = {**os.environ, "JAVA_HOME": str(java_home), "OPENSEARCH_JAVA_OPTS": ""}
    cmd = [str(install / "bin" / "opensearch-plugin"), "install", "--batch", plugin_zip.as_uri()]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
        raise RuntimeError(f"opensearch-plugin could not install {plugin_zip.name}: " + " | ".join(tail))
    log.info("installed plugin %s", plugin_zip.name)


def _unzip(archive: Path, dest: Path, strip_top: bool = False) -> None:
    """Extract ``archive`` into ``dest`` keeping Unix permissions (bin/ scripts stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = info.filename.split("/", 1)[1] if strip_top else info.filename
            if not name:
                continue
            target = dest / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
