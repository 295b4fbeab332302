"""Create OpenSearch clients from :class:`~lacl_search.core.settings.ClusterSettings` (lazily, never at import),
and turn transport failures into the library's one-line errors (:mod:`lacl_search.errors`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    NotFoundError,
    RequestError,
    TransportError,
)

from lacl_search.core.settings import ClusterSettings
from lacl_search.errors import ClusterError, ClusterUnavailable, IndexMissing

log = logging.getLogger(__name__)


def make_client(settings: ClusterSettings | None = None) -> OpenSearch:
    """Return an ``opensearchpy.OpenSearch`` client for ``settings`` (default: from the environment)."""
    settings = settings or ClusterSettings.from_env()
    kwargs: dict[str, object] = {
        "hosts": [settings.url],
        "timeout": settings.timeout,
        "max_retries": 3,
        "retry_on_timeout": True,
        "http_compress": True,
    }
    if settings.user is not None:
        kwargs["http_auth"] = (settings.user, settings.password or "")
    if settings.use_ssl:
        kwargs["use_ssl"] = True
        kwargs["verify_certs"] = settings.verify_certs
        kwargs["ssl_show_warn"] = settings.verify_certs
        if settings.ca_certs:
            kwargs["ca_certs"] = settings.ca_certs
    log.debug("OpenSearch client for %s", settings.safe_url())
    return OpenSearch(**kwargs)


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
