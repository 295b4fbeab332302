"""Connection settings for an OpenSearch cluster: one object for every command.

Read from the environment (``OPENSEARCH_URL``, ``OPENSEARCH_USER``, ``OPENSEARCH_PASSWORD``,
``OPENSEARCH_VERIFY_CERTS``, ``OPENSEARCH_CA_CERTS``) and overridden by command-line flags. Several
nodes of one cluster are given as a comma-separated ``OPENSEARCH_URL`` or a repeated ``--url``; the
client spreads requests over them and retries on another node when one fails. The password never
appears in ``repr``, logs, reports or error messages: use :meth:`ClusterSettings.safe_url`.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "http://127.0.0.1:9200"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _strip(url: str) -> str:
    parts = urlsplit(url)
    netloc = (parts.hostname or "?") + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without user info, and the user and password it held (None when absent)."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return url, None, None
    return (_strip(url), user, password) if user or password else (url, None, None)


def _parse_bool(value: str, name: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {value!r}")


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach an OpenSearch cluster.

    Attributes:
        url: base URL, e.g. ``https://search.example.com:9200``, or several separated by commas (one
            cluster's nodes; one scheme for all). User info inside a URL is moved into ``user`` /
            ``password`` so that it never leaks through the URL.
        user: basic-auth user, or None.
        password: basic-auth password, or None (hidden from ``repr``).
        verify_certs: verify TLS certificates (ignored for ``http://``).
        ca_certs: path to a CA bundle for TLS verification, or None for the system bundle.
        timeout: request timeout in seconds.
    """

    url: str = DEFAULT_URL
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_certs: bool = True
    ca_certs: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        hosts = [_split_userinfo(h.strip()) for h in self.url.split(",") if h.strip()]
        if not hosts:
            raise ValueError("OpenSearch URL is empty")
        for url, _, _ in hosts:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"OpenSearch URL must look like http(s)://host:port, got {_strip(url)!r}")
        if len({urlsplit(url).scheme for url, _, _ in hosts}) > 1:
            raise ValueError("all OpenSearch URLs of one cluster must use the same scheme (http or https)")
        object.__setattr__(self, "url", ",".join(url for url, _, _ in hosts))
        user, password = next(((u, p) for _, u, p in hosts if u or p), (None, None))
        if self.user is None and user:
            object.__setattr__(self, "user", user)
        if self.password is None and password:
            object.__setattr__(self, "password", password)

    @property
    def hosts(self) -> list[str]:
        """The node URLs (one or more)."""
        return self.url.split(",")

    def safe_url(self) -> str:
        """The URL(s) with any user info removed: safe for logs and messages."""
        return ",".join(_strip(url) for url in self.hosts)

    @property
    def use_ssl(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def redact(self, text: str) -> str:
        """Return ``text`` with the password (if any) replaced by ``***``."""
        if self.password:
            text = text.replace(self.password, "***")
        return text

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ClusterSettings:
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {"url": env.get("OPENSEARCH_URL") or DEFAULT_URL}
        if env.get("OPENSEARCH_USER"):
            kwargs["user"] = env["OPENSEARCH_USER"]
        if env.get("OPENSEARCH_PASSWORD"):
            kwargs["password"] = env["OPENSEARCH_PASSWORD"]
        if env.get("OPENSEARCH_VERIFY_CERTS"):
            kwargs["verify_certs"] = _parse_bool(env["OPENSEARCH_VERIFY_CERTS"], "OPENSEARCH_VERIFY_CERTS")
        if env.get("OPENSEARCH_CA_CERTS"):
            kwargs["ca_certs"] = env["OPENSEARCH_CA_CERTS"]
        if env.get("OPENSEARCH_TIMEOUT"):
            kwargs["timeout"] = float(env["OPENSEARCH_TIMEOUT"])
        return cls(**kwargs)  # type: ignore[arg-type]

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Add the connection flags (all optional; the environment fills the rest)."""
        group = parser.add_argument_group("cluster connection (defaults from OPENSEARCH_* variables)")
        group.add_argument("--url", action="append",
                           help="OpenSearch base URL; repeat for several nodes (env OPENSEARCH_URL, comma-separated)")
        group.add_argument("--user", help="basic-auth user (env OPENSEARCH_USER)")
        group.add_argument(
            "--password-env",
            metavar="VAR",
            help="name of an environment variable holding the password (default OPENSEARCH_PASSWORD);"
            " passwords are never taken on the command line",
        )
        group.add_argument(
            "--insecure", action="store_true",
            help="do not verify TLS certificates (env OPENSEARCH_VERIFY_CERTS=false); warns once"
        )
        group.add_argument("--ca-certs", help="CA bundle for TLS verification (env OPENSEARCH_CA_CERTS)")

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: dict[str, str] | None = None) -> ClusterSettings:
        env = os.environ if environ is None else environ
        base = cls.from_env(env)
        changes: dict[str, object] = {}
        if getattr(args, "url", None):
            changes["url"] = args.url if isinstance(args.url, str) else ",".join(args.url)
        if getattr(args, "user", None):
            changes["user"] = args.user
        if getattr(args, "password_env", None):
            if args.password_env not in env:
                raise ValueError(f"--password-env names {args.password_env!r}, which is not set")
            changes["password"] = env[args.password_env]
        if getattr(args, "insecure", False):
            changes["verify_certs"] = False
        if getattr(args, "ca_certs", None):
            changes["ca_certs"] = args.ca_certs
        return replace(base, **changes) if changes else base
