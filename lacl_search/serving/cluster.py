"""What the cluster behind a client can do, read once per client (``GET /`` and ``_cat/plugins``).

Hybrid fusion runs server-side (a ``hybrid`` query through a search pipeline) only where the server
line supports the option; everywhere else it runs on the client (:mod:`lacl_search.core.fusion`),
so every :class:`~lacl_search.core.types.Fusion` works on every cluster:

============  =====================  =========================
fusion        OpenSearch 2.19         OpenSearch 3.x
============  =====================  =========================
``minmax``    server                  server
``rrf``       server (from 2.19)      server
``zscore``    client                  server (``z_score``)
``wrrf``      client                  server (RRF ``weights``)
============  =====================  =========================

(2.19.6 rejects ``z_score``: "normalization technique is not supported", and RRF ``weights``:
"supported parameters are [rank_constant]"; both checked against real 2.19.6 and 3.6.0 nodes.)
Without the neural-search plugin everything fuses on the client. Asking for server-side fusion the
cluster cannot do raises a one-line :class:`~lacl_search.errors.ClusterError`.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass

from lacl_search.core.types import Fusion
from lacl_search.errors import ClusterError

log = logging.getLogger(__name__)

NEURAL_PLUGIN = "opensearch-neural-search"
_SINCE = {Fusion.MINMAX: (2, 10), Fusion.RRF: (2, 19), Fusion.ZSCORE: (3, 0), Fusion.WRRF: (3, 0),
          Fusion.LANGUAGE: (2, 10), Fusion.AUTO: (2, 10)}  # language-aware: a min-max pipeline
# not listed: never server-side (learned fusion reads every leg's hits, which a hybrid query does not return)
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> Capabilities, read once


@dataclass(frozen=True)
class Capabilities:
    """The server's version and the hybrid features it offers.

    Attributes:
        version: the server version, e.g. ``(3, 6, 0)``.
        distribution: ``opensearch`` (or what ``GET /`` names).
        neural_search: whether the neural-search plugin (hybrid query, search pipelines) is installed.
    """

    version: tuple[int, ...]
    distribution: str = "opensearch"
    neural_search: bool = True

    @property
    def number(self) -> str:
        return ".".join(map(str, self.version))

    def server_fusion(self, fusion: Fusion) -> bool:
        """Whether ``fusion`` can run server-side on this cluster."""
        return fusion in _SINCE and self.neural_search and self.version >= _SINCE[fusion]

    def server_fusions(self) -> list[str]:
        return [f.value for f in Fusion if self.server_fusion(f)]


def capabilities_from(info: dict, plugins: list[dict]) -> Capabilities:
    """Build :class:`Capabilities` from the ``GET /`` answer and ``_cat/plugins?format=json`` rows."""
    number = str(info.get("version", {}).get("number", "0"))
    version = tuple(int(part) for part in number.split("-")[0].split(".") if part.isdigit())
    distribution = str(info.get("version", {}).get("distribution", "opensearch"))
    neural = any(row.get("component") == NEURAL_PLUGIN for row in plugins)
    return Capabilities(version=version, distribution=distribution, neural_search=neural)


def capabilities(client: object) -> Capabilities:
    """The capabilities of ``client``'s cluster (two requests on first use, then cached per client)."""
    caps = _CACHE.get(client)
    if caps is None:
        caps = capabilities_from(client.info(), client.cat.plugins(format="json"))
        _CACHE[client] = caps
        log.info("OpenSearch %s; server-side fusion: %s", caps.number, ", ".join(caps.server_fusions()) or "none")
    return caps


async def async_capabilities(client: object) -> Capabilities:
    """:func:`capabilities` for an ``AsyncOpenSearch`` client."""
    caps = _CACHE.get(client)
    if caps is None:
        caps = capabilities_from(await client.info(), await client.cat.plugins(format="json"))
        _CACHE[client] = caps
    return caps


def fusion_side(requested: str, fusion: Fusion, caps: Capabilities) -> str:
    """``"server"`` or ``"client"``: where ``fusion`` runs for a searcher created with ``requested``.

    Raises:
        ClusterError: ``requested`` is ``"server"`` and the cluster cannot run ``fusion`` server-side.
    """
    if requested == "client":
        return "client"
    if caps.server_fusion(fusion):
        return "server"
    if requested == "server":
        why = ("it reads every leg's hits, which a hybrid query does not return" if fusion not in _SINCE else
               "the neural-search plugin is not installed" if not caps.neural_search else
               f"it needs OpenSearch >= {'.'.join(map(str, _SINCE[fusion]))}")
        raise ClusterError(f"OpenSearch {caps.number} cannot fuse {fusion.value!r} server-side ({why}); "
                           "use fusion_side 'auto' or 'client'")
    return "client"
