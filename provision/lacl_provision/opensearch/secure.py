"""A secured install (TLS + basic auth) for testing clients: a TEST FIXTURE, not a server to offer users.

No security plugin is on Maven Central for 2.19.6 or any 3.x; ``opensearch-security`` 2.19.4.0 is.
It installs on a 2.19.6 server once its descriptor's ``opensearch.version=2.19.4`` is replaced by
``dependencies={ opensearch: "~2.19.4" }`` (both keys together are an error). The plugin's own
``install_demo_configuration.sh -y -i`` then writes demo certificates (CA ``root-ca.pem``) and the
security settings, offline, with a random strong admin password. That password is kept in
``<install>/lacl-credentials.json`` (mode 600) and copied to each node's ``credentials.json`` with
the path of its CA; it is never printed or logged.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lacl_provision.opensearch import artifacts
from lacl_provision.opensearch.artifacts import Artifact
from lacl_provision.opensearch.assemble import _install_zip_plugin, major, provision
from lacl_provision.opensearch.layout import MARKER, Layout
from lacl_search.errors import ArtifactMissing

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
CREDENTIALS = "lacl-credentials.json"
# server line -> the security plugin served on Central that installs on it after the patch above
SECURITY_PLUGINS = {"2.19": "2.19.4.0"}
DESCRIPTOR = "plugin-descriptor.properties"


def security_artifact(version: str) -> Artifact:
    line = ".".join(version.split(".")[:2])
    if line not in SECURITY_PLUGINS:
        raise ArtifactMissing(
            f"no opensearch-security plugin on Maven Central for OpenSearch {version}: "
            f"--secure runs on the {', '.join(SECURITY_PLUGINS)} line only"
        )
    return Artifact("org.opensearch.plugin", "opensearch-security", SECURITY_PLUGINS[line], "zip")


def patched_descriptor(text: str) -> str:
    """The descriptor with ``opensearch.version=X`` replaced by a ``~X`` range dependency."""
    out = []
    for line in text.splitlines():
        if line.startswith("opensearch.version="):
            line = f'dependencies={{ opensearch: "~{line.split("=", 1)[1].strip()}" }}'
        out.append(line)
    return "\n".join(out) + "\n"


def _patch_zip(src: Path, dest: Path) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == DESCRIPTOR:
                data = patched_descriptor(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)


def admin_password() -> str:
    """A random password the demo installer accepts as strong (upper, lower, digit, symbol, length)."""
    return f"Lx7#{secrets.token_urlsafe(18)}"


def provision_secure(layout: Layout, java_home: Path, version: str) -> Path:
    """Return ``<install>/opensearch-V-secure``, building it from the plain install when missing.

    Raises:
        ArtifactMissing: no security plugin for this line on Central.
        RuntimeError: the plugin install or the demo configuration failed (output, password redacted).
    """
    final = layout.install_dir(f"{version}-secure")
    if (final / MARKER).is_file():
        return final
    if major(version) != 2:
        security_artifact(version)  # raises with the one-line reason
    plugin = security_artifact(version)
    plain = provision(layout, java_home, version)
    artifacts.fetch([plugin], layout.m2)
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(plain, staging, symlinks=True)
    (staging / MARKER).unlink()
    with tempfile.TemporaryDirectory(prefix="lacl-security-") as tmp:
        patched = Path(tmp, plugin.file_name)
        _patch_zip(plugin.path(layout.m2), patched)
        _install_zip_plugin(staging, patched, java_home)
    password = admin_password()
    _run_demo_installer(staging, java_home, password)
    creds = staging / CREDENTIALS
    creds.touch(mode=0o600)
    creds.write_text(json.dumps({"user": ADMIN_USER, "password": password}) + "\n", encoding="utf-8")
    marker = {"version": version, "secure": True, "artifacts": [plugin.coords]}
    (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    log.info("secure OpenSearch %s assembled at %s (demo certificates; test use only)", version, final)
    return final


def _run_demo_installer(install: Path, java_home: Path, password: str) -> None:
    script = install / "plugins" / "opensearch-security" / "tools" / "install_demo_configuration.sh"
    env = {**os.environ, "JAVA_HOME": str(java_home), "OPENSEARCH_INITIAL_ADMIN_PASSWORD": password,
           "OPENSEARCH_JAVA_OPTS": ""}
    proc = subprocess.run(["bash", str(script), "-y", "-i"], env=env, capture_output=True, text=True,
                          check=False, cwd=install)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).replace(password, "***").strip().splitlines()[-8:]
        raise RuntimeError("install_demo_configuration.sh failed: " + " | ".join(tail))
    log.info("security demo configuration written to %s", install / "config")


def node_credentials(install: Path, node_config: Path) -> dict:
    """The credentials a node of ``install`` answers to, with the CA path of its own config folder."""
    creds = json.loads((install / CREDENTIALS).read_text(encoding="utf-8"))
    return {**creds, "ca_certs": str(node_config / "root-ca.pem")}
