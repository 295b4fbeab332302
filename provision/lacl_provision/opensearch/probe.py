"""Plain-HTTP(S) probes of a local node (standard library only: the launcher needs no client library).

A secure node is probed with the admin credentials and CA its credentials file names; the password
only ever travels in the ``Authorization`` header.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Endpoint:
    """A node's base URL and, for a secure node, how to authenticate and verify it."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None

    @classmethod
    def from_credentials(cls, url: str, path: Path) -> Endpoint:
        """The endpoint for ``url`` using the credentials file ``path`` (written by the secure setup)."""
        creds = json.loads(path.read_text(encoding="utf-8"))
        return cls(url, creds["user"], creds["password"], creds["ca_certs"])

    def _context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https://"):
            return None
        return ssl.create_default_context(cafile=self.ca_certs)

    def get_json(self, path: str, timeout: float = 5.0) -> dict | list:
        """GET ``url + path`` and decode the JSON answer (raises ``OSError`` subclasses on failure)."""
        request = urllib.request.Request(self.url.rstrip("/") + path)
        if self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=timeout, context=self._context()) as resp:  # noqa: S310
            return json.loads(resp.read().decode("utf-8"))

    def is_healthy(self, nodes: int = 1, timeout: float = 5.0) -> bool:
        """Whether the cluster answers green or yellow with at least ``nodes`` nodes joined."""
        try:
            health = self.get_json(f"/_cluster/health?wait_for_status=yellow&wait_for_nodes=%3E%3D{nodes}&timeout=1s",
                                   timeout)
        except (OSError, ValueError):
            return False
        return (isinstance(health, dict) and health.get("status") in ("green", "yellow")
                and int(health.get("number_of_nodes", 0)) >= nodes)
