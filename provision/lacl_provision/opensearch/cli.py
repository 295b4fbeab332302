"""``lacl-search opensearch start|stop|status``: a local single-node OpenSearch without Docker.

``start`` provisions the node from Maven Central on first use, starts it (or reuses a running one) and
prints its base URL as the last line of stdout; logging goes to stderr. ``status`` exits 0 only when
the node answers healthy. ``stop`` waits until the process is gone.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``opensearch`` command and its ``start``, ``stop`` and ``status`` actions."""
    parser = subparsers.add_parser("opensearch", help="run a local single-node OpenSearch (no Docker)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, help_text in (
        ("start", _start, "provision (first time) and start the node; print its URL"),
        ("stop", _stop, "stop the node and wait for its process to end"),
        ("status", _status, "exit 0 when the node answers healthy; print health and plugins"),
    ):
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("--port", type=int, default=9200, help="HTTP port on 127.0.0.1 (default 9200)")
        sub.add_argument("--home", help="folder for install, data, logs and Maven cache "
                         "(default $LACL_OPENSEARCH_HOME, else a cache folder outside the repository)")
        if name == "start":
            sub.add_argument("--heap", default="2g", help="JVM heap (default 2g)")
            sub.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for health")
        sub.set_defaults(func=func)


def _start(args: argparse.Namespace) -> int:
    from lacl_provision.opensearch import process

    began = time.monotonic()
    url = process.ensure_running(port=args.port, home=args.home, heap=args.heap, timeout=args.timeout)
    log.info("ready in %.1fs", time.monotonic() - began)
    sys.stdout.write(f"{url}\n")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from lacl_provision.opensearch import process

    process.stop(port=args.port, home=args.home)
    return 0


def _status(args: argparse.Namespace) -> int:
    from lacl_provision.opensearch import process

    info = process.status(port=args.port)
    if info is None:
        log.error("no healthy OpenSearch at %s", process.local_url(args.port))
        return 1
    sys.stdout.write(json.dumps(info, indent=2) + "\n")
    return 0
