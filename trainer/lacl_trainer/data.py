"""Training data: IR examples, parallel pairs and non-parallel text, read with ``datasets``.

One micro-batch holds B IR examples (query, positive, H hard negatives), P parallel pairs and M
non-parallel texts (sizes from :class:`DataArgs`). Sampling is a pure function of (seed, step, rank):
each source is walked in a fresh seeded permutation per epoch, so resuming at step k needs no state.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset, load_dataset

from lacl_search.core.types import Document

from .config import DataArgs

log = logging.getLogger(__name__)

IR_LANG = "en"


@dataclass
class TrainBatch:
    """Texts of one micro-batch (this process's share).

    Attributes:
        queries: B English queries. positives: their B positive documents.
        negatives: B * H hard negatives, H consecutive per query.
        sources / targets: P parallel pairs (English source, translation); target_langs: their languages.
        mono_texts / mono_langs: M non-parallel texts and their languages.
    """

    queries: list[str]
    positives: list[str]
    negatives: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    target_langs: list[str] = field(default_factory=list)
    mono_texts: list[str] = field(default_factory=list)
    mono_langs: list[str] = field(default_factory=list)

    def document_texts(self) -> list[str]:
        """Every document-side text in the order positives, negatives, sources, targets, monolingual."""
        return self.positives + self.negatives + self.sources + self.targets + self.mono_texts

    def n_examples(self) -> int:
        """Texts encoded for this micro-batch (the throughput unit)."""
        return len(self.queries) + len(self.document_texts())


class IndexStream:
    """An endless, deterministic order over ``n`` items: epoch e is a permutation seeded by (seed, e).

    Args:
        n: number of items (>= 1).
        seed: base seed.
    """

    def __init__(self, n: int, seed: int) -> None:
        if n < 1:
            raise ValueError("cannot sample from an empty dataset")
        self.n, self.seed = n, seed
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def take(self, start: int, count: int) -> list[int]:
        """Items at stream positions ``start .. start + count - 1``."""
        return [int(self._perm(k // self.n)[k % self.n]) for k in range(start, start + count)]


class LanguageSampler:
    """Draws rows so that language l comes with probability proportional to p_l ** alpha (p_l: its share).

    Stateless like :class:`IndexStream`: the rows of a position depend only on (seed, position), so
    resuming needs no state. Within a language, rows are drawn uniformly with replacement.

    Args:
        langs: the ``lang`` value of every row.
        alpha: 0 = every language equally often, 1 = natural shares.
        seed: base seed.
    """

    def __init__(self, langs: list[str], alpha: float, seed: int) -> None:
        if not langs:
            raise ValueError("cannot sample from an empty dataset")
        codes = np.asarray(langs)
        self.langs = sorted(set(langs))
        self.rows = [np.flatnonzero(codes == lang) for lang in self.langs]
        counts = np.array([len(r) for r in self.rows], dtype=np.float64)
        weights = counts**alpha
        self.probs = weights / weights.sum()
        self.seed = seed

    def shares(self) -> dict[str, float]:
        """The probability of each language."""
        return {lang: round(float(p), 4) for lang, p in zip(self.langs, self.probs, strict=True)}

    def take(self, start: int, count: int) -> list[int]:
        """Rows for stream positions ``start .. start + count - 1``."""
        rng = np.random.default_rng([self.seed, start, count])
        picks = rng.choice(len(self.langs), size=count, p=self.probs)
        return [int(self.rows[k][rng.integers(len(self.rows[k]))]) for k in picks]


def balanced_sample(langs: list[str], count: int, seed: int) -> list[int]:
    """``count`` row indices with as equal a number per language as the rows allow, seeded.

    Round-robin over languages, each walked in its own seeded random order: every language gets
    ``count // L`` rows (or all of its rows when it has fewer; the others fill the gap).
    """
    rng = np.random.default_rng(seed)
    codes = np.asarray(langs)
    queues = [list(rng.permutation(np.flatnonzero(codes == lang))) for lang in sorted(set(langs))]
    picked: list[int] = []
    depth = 0
    while len(picked) < min(count, len(langs)):
        for queue in queues:
            if depth < len(queue) and len(picked) < count:
                picked.append(int(queue[depth]))
        depth += 1
    return sorted(picked)


def read_jsonl(path: str, langs: list[str] | None = None) -> Dataset:
    """A JSONL file as a :class:`datasets.Dataset`, keeping rows whose ``lang`` is in ``langs``."""
    ds = load_dataset("json", data_files=path, split="train")
    if langs:
        wanted = set(langs)
        ds = ds.filter(lambda batch: [lang in wanted for lang in batch["lang"]], batched=True)
    return ds


def side_labels(u_langs: list[str], target_langs: list[str]) -> np.ndarray:
    """``[M, P]`` labels: 0 when u_m is English (s_j's side), 1 when in t_j's language, else -1."""
    labels = np.full((len(u_langs), len(target_langs)), -1, dtype=np.int64)
    for m, lang in enumerate(u_langs):
        for j, target in enumerate(target_langs):
            labels[m, j] = 0 if lang == IR_LANG else (1 if lang == target else -1)
    return labels


class TrainingData:
    """The three training sources and the seeded batch composition of :class:`DataArgs`.

    Args:
        args: data settings (files, languages, batch sizes).
        seed: sampling seed.
        load_parallel / load_monolingual: read those files (False when their loss term is off).
        document_text: how a document (title + body) becomes the text the encoder reads:
            :meth:`Encoder.document_text`, the same composition serving and exact evaluation use. IR rows
            with ``positive_title`` / ``negative_titles`` are composed with it; rows without titles are
            taken as bodies.
    """

    def __init__(self, args: DataArgs, seed: int, *, load_parallel: bool = True, load_monolingual: bool = True,
                 document_text: Callable[[Document], str] | None = None) -> None:
        self.args, self.seed = args, seed
        self.document_text = document_text or (lambda doc: doc.text)
        self.ir = read_jsonl(args.ir_file)
        self.parallel = read_jsonl(args.parallel_file, args.train_langs) if load_parallel else None
        if self.parallel is not None and args.max_parallel_pairs:
            keep = min(args.max_parallel_pairs, len(self.parallel))
            if args.balance_parallel_pairs:
                self.parallel = self.parallel.select(balanced_sample(list(self.parallel["lang"]), keep, seed))
            else:
                self.parallel = self.parallel.shuffle(seed=seed).select(range(keep))
        use_mono = load_monolingual and args.monolingual_file and args.monolingual_batch_size > 0
        self.mono = read_jsonl(args.monolingual_file, args.train_langs) if use_mono else None
        self._streams: dict[str, IndexStream | LanguageSampler] = {}
        for i, (name, ds) in enumerate([("ir", self.ir), ("parallel", self.parallel), ("mono", self.mono)]):
            if ds is None:
                continue
            if name != "ir" and args.language_sampling_alpha < 1.0:
                sampler = LanguageSampler(list(ds["lang"]), args.language_sampling_alpha, seed + i)
                log.info("%s languages drawn with shares %s", name, sampler.shares())
                self._streams[name] = sampler
            else:
                self._streams[name] = IndexStream(len(ds), seed + i)
        log.info(
            "training data: %d IR examples, %d parallel pairs, %d non-parallel texts",
            len(self.ir),
            len(self.parallel or []),
            len(self.mono or []),
        )

    def _rows(self, name: str, ds: Dataset, size: int, step: int, rank: int, world: int) -> dict[str, list]:
        indices = self._streams[name].take((step * world + rank) * size, size)
        return ds[indices]

    def batch(self, step: int, rank: int = 0, world: int = 1) -> TrainBatch:
        """The micro-batch of process ``rank`` (of ``world``) at micro-step ``step``."""
        a = self.args
        ir = self._rows("ir", self.ir, a.ir_batch_size, step, rank, world)
        rng = random.Random(f"{self.seed}-{step}-{rank}")
        n = len(ir["query"])
        titles = ir.get("positive_title", [None] * n)
        batch = TrainBatch(queries=list(ir["query"]),
                           positives=[self._compose(t, text) for t, text in zip(titles, ir["positive"], strict=True)])
        negative_titles = ir.get("negative_titles", [None] * n)
        batch.negatives = [
            self._compose(title, neg)
            for negs, neg_titles in zip(ir.get("negatives", [[]] * n), negative_titles, strict=True)
            for title, neg in self._pick_negatives(list(zip(neg_titles or [None] * len(negs or []), negs or [],
                                                            strict=True)), rng)
        ]
        if self.parallel is not None and a.parallel_batch_size > 0:
            par = self._rows("parallel", self.parallel, a.parallel_batch_size, step, rank, world)
            batch.sources, batch.targets = list(par["source"]), list(par["target"])
            batch.target_langs = list(par["lang"])
        if self.mono is not None:
            mono = self._rows("mono", self.mono, a.monolingual_batch_size, step, rank, world)
            batch.mono_texts, batch.mono_langs = list(mono["text"]), list(mono["lang"])
        return batch

    def _compose(self, title: str | None, text: str) -> str:
        return self.document_text(Document("", text, title or None))

    def _pick_negatives(self, negatives: list[tuple[str | None, str]], rng: random.Random) -> list[tuple]:
        """Exactly H ``(title, text)`` negatives: sampled without replacement, with replacement when short,
        or random positives of other examples when the example has none."""
        h = self.args.hard_negatives
        if h <= 0:
            return []
        if len(negatives) >= h:
            return rng.sample(negatives, h)
        if negatives:
            return negatives + rng.choices(negatives, k=h - len(negatives))
        rows = [self.ir[rng.randrange(len(self.ir))] for _ in range(h)]
        return [(row.get("positive_title"), row["positive"]) for row in rows]
