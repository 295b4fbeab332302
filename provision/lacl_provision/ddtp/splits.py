"""Deterministic dev/train splits of DDTP descriptions by source package.

Sibling binaries of one source (``libfoo1``, ``libfoo-dev``) carry near-identical descriptions, so a
split by description would leak text between train and dev. Sources that share a description are
merged into one group (union-find), and each group lands in a split by a seeded hash of its name.
Descriptions listed in the packaged ``ddtp-reserved-md5.txt`` are held out for the project's final
evaluation and are removed before any split is made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from importlib import resources

RESERVED_FILE = "ddtp-reserved-md5.txt"


def reserved_md5() -> frozenset[str]:
    """Return the reserved ``Description-md5`` ids shipped with the package."""
    text = resources.files("lacl_provision.ddtp").joinpath(RESERVED_FILE).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def unit_hash(key: str, seed: int, salt: str = "split") -> float:
    """Map ``key`` to a stable number in ``[0, 1)`` (sha256 of ``seed:salt:key``; no process salt)."""
    digest = hashlib.sha256(f"{seed}:{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def source_groups(packages: Mapping[str, Iterable[str]], sources: Mapping[str, str]) -> dict[str, str]:
    """Group descriptions whose packages come from the same (or a description-sharing) source.

    Args:
        packages: md5 -> binary package names carrying that description.
        sources: binary package -> source package (missing = the package name itself).

    Returns:
        md5 -> group name (the alphabetically first source of its connected group).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    md5_sources = {md5: sorted({sources.get(p, p) for p in names}) for md5, names in packages.items()}
    for srcs in md5_sources.values():
        roots = sorted(find(s) for s in srcs)
        for other in roots[1:]:
            parent[other] = roots[0]
    return {md5: find(srcs[0]) for md5, srcs in md5_sources.items() if srcs}


def assign_splits(groups: Mapping[str, str], seed: int, dev_fraction: float = 0.1,
                  mono_fraction: float = 0.3) -> dict[str, str]:
    """Assign every md5 to ``dev``, ``train`` (IR + parallel) or ``mono`` (non-parallel only).

    The dev share is drawn first from ``unit_hash(group)``; the remaining groups are divided between
    ``train`` and ``mono`` by a second, independently salted hash, so the texts of a ``mono`` group
    never appear in a parallel or IR pair.

    Args:
        groups: md5 -> source group (from :func:`source_groups`), reserved md5s already removed.
        seed: split seed.
        dev_fraction: share of groups used for dev benchmarks.
        mono_fraction: share of the non-dev groups kept for non-parallel (monolingual) text.

    Returns:
        md5 -> ``"dev" | "train" | "mono"``.
    """
    out = {}
    for md5, group in groups.items():
        if unit_hash(group, seed) < dev_fraction:
            out[md5] = "dev"
        else:
            out[md5] = "mono" if unit_hash(group, seed, "mono") < mono_fraction else "train"
    return out
