"""Create OpenSearch clients from :class:`~lacl_search.settings.ClusterSettings` (lazily, never at import)."""

from __future__ import annotations

import logging

from opensearchpy import OpenSearch

from lacl_search.settings import ClusterSettings

log = logging.getLogger(__name__)


class ClusterUnavailable(RuntimeError):
    """The cluster could not be reached or is unhealthy; the message never holds credentials."""


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


def check_cluster(client: OpenSearch, settings: ClusterSettings) -> dict:
    """Return cluster health, or raise :class:`ClusterUnavailable` with a credential-free message."""
    try:
        # the cluster-side wait ("timeout" in the REST API) clashes with the client's own timeout
        # parameter in opensearch-py, so only the client-side request timeout is set here
        health = client.cluster.health(wait_for_status="yellow", params={"request_timeout": 30})
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
