"""Build a SentencePiece ``precompiled_charsmap`` from a per-codepoint normalisation map.

The ``tokenizers`` ``Precompiled`` normaliser (crate ``spm_precompiled``) reads the blob SentencePiece
stores in its model: ``u32 trie_bytes``, a Darts-clone double-array trie of ``u32`` units mapping UTF-8
keys to offsets, then the NUL-separated replacement strings. Lookup (see ``common_prefix_search`` in
``spm_precompiled``): from node ``p`` with unit ``u``, the child for byte ``c`` sits at
``p ^ offset(u) ^ c`` and must carry ``label == c``; a key ends where the child has the leaf bit, and
its value is the unit at ``child ^ offset(child)``. This module builds such an array for a small key
set (a few thousand single codepoints) with a first-fit placement; it does not aim for Darts' packing.
"""

from __future__ import annotations

import struct

_LEAF_BIT = 1 << 8
_VALUE_FLAG = 1 << 31
_MAX_OFFSET = 1 << 21  # offsets below this are stored directly (unit >> 10, bit 9 clear)


def build_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Return a ``precompiled_charsmap`` blob that rewrites each codepoint of ``norm_map``.

    Args:
        norm_map: codepoint -> replacement codepoints (an empty tuple deletes the character).

    Returns:
        Bytes accepted by ``tokenizers.normalizers.Precompiled``.
    """
    keys: dict[bytes, int] = {}
    normalized = bytearray()
    for cp in sorted(norm_map):
        keys[chr(cp).encode("utf-8")] = len(normalized)
        normalized += "".join(map(chr, norm_map[cp])).encode("utf-8") + b"\0"
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(normalized)


def _build_trie(keys: dict[bytes, int]) -> dict:
    """Nested dict trie: byte -> child; the key ``None`` holds a terminal value."""
    root: dict = {}
    for key, value in keys.items():
        if not key or 0 in key:
            raise ValueError(f"charsmap keys must be non-empty and NUL-free, got {key!r}")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    return root


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Place the trie of ``keys`` into a Darts-clone compatible unit array."""
    units: list[int] = [0]
    used = {0}
    bases: set[int] = set()  # one base per parent, so a foreign child never passes the label check
    next_free = 1
    stack = [(0, _build_trie(keys))]
    while stack:
        pos, node = stack.pop()
        labels = [0 if label is None else label for label in node]
        base = _find_base(labels, used, bases, next_free)
        bases.add(base)
        offset = pos ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("charsmap too large for the simple double-array builder")
        end = max(base ^ c for c in labels) + 1
        units.extend([0] * (end - len(units)))
        used.update(base ^ c for c in labels)
        units[pos] |= offset << 10
        for label, child in node.items():
            if label is None:
                units[base] = _VALUE_FLAG | child
                continue
            units[base ^ label] = label | (_LEAF_BIT if None in child else 0)
            stack.append((base ^ label, child))
        while next_free in used:
            next_free += 1
    # Pad to whole 256-unit blocks: ``base ^ byte`` stays inside base's block, so lookups of
    # absent keys never index past the end (spm_precompiled does not bounds-check).
    units.extend([0] * (-len(units) % 256))
    return units


def _find_base(labels: list[int], used: set[int], bases: set[int], start: int) -> int:
    """An unused ``base`` with every ``base ^ label`` free and non-zero (Darts' first-fit search)."""
    free = start
    while True:
        if free not in used:
            base = free ^ labels[0]
            if base not in bases and all((base ^ c) not in used and (base ^ c) != 0 for c in labels):
                return base
        free += 1
