"""``lacl-search opensearch start|stop|status``: local OpenSearch clusters without Docker.

``start`` provisions the install from Maven Central on first use, starts the cluster (or reuses a
running one of the same kind) and prints its base URL(s) as the last line of stdout, comma-separated
for several nodes, ``https://`` when secure; logging goes to stderr. ``stop`` and ``status`` take the
flags of the ``start`` they refer to. ``status`` exits 0 only when the cluster answers healthy.
``--secure`` is a test fixture (demo certificates, a patched 2.19.4 security plugin), not a server to
offer users; its admin password and CA path are written to a file whose path is logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from lacl_provision.opensearch.layout import DEFAULT_VERSION, VERSIONS, ClusterSpec

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``opensearch`` command and its ``start``, ``stop`` and ``status`` actions."""
    parser = subparsers.add_parser("opensearch", help="run a local OpenSearch cluster (no Docker)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, help_text in (
        ("start", _start, "provision (first time) and start the cluster; print its URL(s)"),
        ("stop", _stop, "stop the cluster's nodes and wait for their processes to end"),
        ("status", _status, "exit 0 when the cluster answers healthy; print health and plugins"),
    ):
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("--port", type=int, default=9200,
                         help="HTTP port of the first node on 127.0.0.1 (default 9200; node i uses port + i)")
        sub.add_argument("--version", default=DEFAULT_VERSION, choices=VERSIONS,
                         help=f"server line (default {DEFAULT_VERSION}; 3.x needs Java >= 21)")
        sub.add_argument("--nodes", type=int, default=1, help="nodes in the cluster (default 1)")
        sub.add_argument("--secure", action="store_true",
                         help="TLS + basic auth with demo certificates (test fixture; 2.19 only)")
        sub.add_argument("--home", help="folder for installs, data, logs and Maven cache "
                         "(default $LACL_OPENSEARCH_HOME, else a cache folder outside the repository)")
        if name == "start":
            sub.add_argument("--heap", help="JVM heap per node (default 2g for one node, 768m each for several)")
            sub.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for health")
        sub.set_defaults(func=func)


def spec_from_args(args: argparse.Namespace) -> ClusterSpec:
    from lacl_search.errors import BadInput

    if args.nodes < 1:
        raise BadInput(f"--nodes must be at least 1, got {args.nodes}")
    return ClusterSpec(port=args.port, version=args.version, nodes=args.nodes, secure=args.secure)


def _start(args: argparse.Namespace) -> int:
    from lacl_provision.opensearch import process

    began = time.monotonic()
    urls = process.start_cluster(spec_from_args(args), home=args.home, heap=args.heap, timeout=args.timeout)
    log.info("ready in %.1fs", time.monotonic() - began)
    sys.stdout.write(",".join(urls) + "\n")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from lacl_provision.opensearch import process

    process.stop_cluster(spec_from_args(args), home=args.home)
    return 0


def _status(args: argparse.Namespace) -> int:
    from lacl_provision.opensearch import process

    spec = spec_from_args(args)
    info = process.status(home=args.home, spec=spec)
    if info is None:
        log.error("no healthy OpenSearch at %s", ",".join(spec.urls))
        return 1
    sys.stdout.write(json.dumps(info, indent=2) + "\n")
    return 0
