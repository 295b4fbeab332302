"""Create OpenSearch clients from :class:`~lacl_search.core.settings.ClusterSettings` (lazily, never at import),
and turn transport failures into the library's one-line errors (:mod:`lacl_search.errors`).

A client given several node URLs round-robins over them; a node that refuses connections or times
out is marked dead and the request is retried on the next one (``max_retries`` covers every node),
so a cluster that loses a node keeps answering. What the cluster can do (its version, server-side
fusion) is read once per client by :mod:`lacl_search.serving.cluster`.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    NotFoundError,
    RequestError,
    SSLError,
    TransportError,
)

from lacl_search.core.settings import ClusterSettings
from lacl_search.errors import ClusterError, ClusterUnavailable, IndexMissing

log = logging.getLogger(__name__)


def make_client(settings: ClusterSettings | None = None) -> OpenSearch:
    """Return an ``opensearchpy.OpenSearch`` client for ``settings`` (default: from the environment)."""
    settings = settings or ClusterSettings.from_env()
    kwargs: dict[str, object] = {
        "hosts": settings.hosts,
        "timeout": settings.timeout,
        "max_retries": max(3, len(settings.hosts)),
        "retry_on_timeout": True,
        "http_compress": True,
    }
    if settings.user is not None:
        kwargs["http_auth"] = (settings.user, settings.password or "")
    if settings.use_ssl:
        kwargs["use_ssl"] = True
        kwargs["verify_certs"] = settings.verify_certs
        kwargs["ssl_show_warn"] = False
        if settings.ca_certs:
            kwargs["ca_certs"] = settings.ca_certs
        if not settings.verify_certs:
            warn_insecure(settings.safe_url())
    log.debug("OpenSearch client for %s", settings.safe_url())
    return OpenSearch(**kwargs)


@functools.cache
def warn_insecure(where: str) -> None:
    """Warn once per process and cluster that TLS certificates are not verified (``--insecure``).

    urllib3's per-request ``InsecureRequestWarning`` is silenced instead of repeating this.
    """
    try:
        from urllib3.exceptions import InsecureRequestWarning
    except ImportError:  # pragma: no cover - urllib3 ships with opensearch-py
        pass
    else:
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    log.warning("TLS certificates of %s are NOT verified (--insecure): use only for testing", where)


def tls_message(settings: ClusterSettings, exc: Exception) -> str:
    """A one-line explanation of a failed TLS handshake, saying how to fix it."""
    detail = str(getattr(exc, "info", "") or exc)
    reason = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in detail else settings.redact(detail)[:200]
    return (f"TLS error talking to OpenSearch at {settings.safe_url()}: {reason}; pass the cluster's CA with "
            "--ca-certs FILE (env OPENSEARCH_CA_CERTS), or --insecure for a test cluster")


def _reason(exc: TransportError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        return str(root.get("reason") or error.get("reason") or error.get("type"))
    return str(error or exc.error)


@contextmanager
def translate_errors(index: str | None = None, settings: ClusterSettings | None = None) -> Iterator[None]:
    """Map opensearch-py exceptions inside the block to :mod:`lacl_search.errors` (credential-free)."""
    where = settings.safe_url() if settings else "the cluster"
    redact = settings.redact if settings else (lambda text: text)
    try:
        yield
    except NotFoundError as exc:
        if index is not None and "index_not_found" in str(exc.error):
            raise IndexMissing(f"index or alias {index!r} does not exist") from None
        raise ClusterError(f"not found: {redact(_reason(exc))}") from None
    except (AuthenticationException, AuthorizationException) as exc:
        raise ClusterUnavailable(f"OpenSearch at {where} refused the credentials ({exc.status_code})") from None
    except SSLError as exc:
        if settings is None:
            raise ClusterUnavailable(f"TLS error talking to OpenSearch: {str(exc.error)[:200]}") from None
        raise ClusterUnavailable(tls_message(settings, exc)) from None
    except ConnectionError as exc:
        raise ClusterUnavailable(f"OpenSearch at {where} is not reachable: {redact(str(exc.error))[:300]}") from None
    except RequestError as exc:
        raise ClusterError(f"OpenSearch rejected the request: {redact(_reason(exc))[:500]}") from None
    except TransportError as exc:
        if not isinstance(exc.status_code, int):
            raise ClusterUnavailable(f"OpenSearch at {where} is not reachable: {redact(str(exc))[:300]}") from None
        raise ClusterError(f"OpenSearch answered {exc.status_code}: {redact(_reason(exc))[:500]}") from None


def check_cluster(client: OpenSearch, settings: ClusterSettings) -> dict:
    """Return cluster health, or raise :class:`ClusterUnavailable` with a credential-free message."""
    try:
        # the cluster-side wait ("timeout" in the REST API) clashes with the client's own timeout
        # parameter in opensearch-py, so only the client-side request timeout is set here
        health = client.cluster.health(wait_for_status="yellow", params={"request_timeout": 30})
    except (AuthenticationException, AuthorizationException) as exc:
        raise ClusterUnavailable(
            f"OpenSearch at {settings.safe_url()} refused the credentials ({exc.status_code})"
        ) from None
    except SSLError as exc:
        raise ClusterUnavailable(tls_message(settings, exc)) from None
    except Exception as exc:  # noqa: BLE001 - every transport error becomes one clear message
        raise ClusterUnavailable(
            f"OpenSearch at {settings.safe_url()} is not reachable: {settings.redact(type(exc).__name__)}: "
            f"{settings.redact(str(exc))[:300]}"
        ) from None
    if health.get("status") == "red":
        raise ClusterUnavailable(f"OpenSearch at {settings.safe_url()} is red")
    return health


def connect(settings: ClusterSettings) -> OpenSearch:
    """A client for ``settings`` whose cluster answered healthy (else :class:`ClusterUnavailable`)."""
    client = make_client(settings)
    check_cluster(client, settings)
    return client
