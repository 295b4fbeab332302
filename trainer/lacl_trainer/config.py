"""Typed configuration of a training run: four dataclass groups read from YAML/JSON plus overrides.

One file (``configs/train/*.yaml``) sets any field of any group at the top level; flags given after it
win. Parsing goes through :class:`transformers.HfArgumentParser`, so every field is also a
``--flag`` of ``python -m lacl_trainer`` (tevatron's ``driver/train.py`` does the same).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml


@dataclass
class ModelArgs:
    """Which encoder to start from and how it is trained.

    Attributes:
        model: hub id, local path or ``"default"`` (the offline multilingual-e5-small).
        max_length: tokens per text during training (prefix included); shorter is faster on CPU.
        freeze_word_embeddings: keep the (large) word-embedding matrix fixed.
        gradient_checkpointing: recompute activations in backward to save memory.
    """

    model: str = "default"
    max_length: int = 96
    freeze_word_embeddings: bool = False
    gradient_checkpointing: bool = False


@dataclass
class DataArgs:
    """Training files and the composition of one step's batch.

    Attributes:
        ir_file: JSONL of ``{"query", "positive", "negatives": [...], "doc_id"}`` (English IR).
        parallel_file: JSONL of ``{"source", "target", "lang", "kind"}`` (en -> lang pairs).
        monolingual_file: JSONL of ``{"text", "lang"}`` (non-parallel text).
        train_langs: languages kept from the parallel and monolingual files (empty: all).
        ir_batch_size: B, IR examples per step and process.
        hard_negatives: hard negatives per IR example (resampled with replacement when short).
        parallel_batch_size: P, parallel pairs per step and process (0: none).
        monolingual_batch_size: M, non-parallel texts per step and process (0: none).
        max_parallel_pairs: keep only this many parallel pairs (0: all), for data-size studies.
        balance_parallel_pairs: with ``max_parallel_pairs``, keep the same number of pairs of every
            language (a language with fewer pairs than its share gives the rest to the others) instead
            of a random sample that follows the languages' natural shares.
        language_sampling_alpha: how parallel pairs and non-parallel texts are drawn across languages:
            1 walks the file (each language at its natural share p_l), 0 draws languages uniformly,
            in between draws language l with probability proportional to p_l ** alpha (XLM-style).
        dev_benchmark: BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) for dev evaluation.
        dev_max_queries: evaluate on at most this many dev queries (0: all).
    """

    ir_file: str = ""
    parallel_file: str = ""
    monolingual_file: str = ""
    train_langs: list[str] = field(default_factory=list)
    ir_batch_size: int = 8
    hard_negatives: int = 1
    parallel_batch_size: int = 8
    monolingual_batch_size: int = 8
    max_parallel_pairs: int = 0
    balance_parallel_pairs: bool = False
    language_sampling_alpha: float = 1.0
    dev_benchmark: str = ""
    dev_max_queries: int = 0


@dataclass
class LossArgs:
    """Weights and temperatures of L = L_IR + lambda_sem * L_sem + lambda_lang * L_lang.

    Attributes:
        tau_ir: temperature of the IR InfoNCE.
        tau_sem: temperature of the semantic (parallel-pair) InfoNCE.
        tau_lang: temperature of the language contrastive loss.
        lambda_sem: weight of L_sem (0 switches the term off).
        lambda_lang: weight of L_lang (0 switches the term off).
        lang_use_ir_documents: the batch's IR positives join the non-parallel texts u_m of L_lang.
        lang_gradient: which embeddings L_lang's gradient reaches: ``all`` (the method as specified),
            ``pairs`` (only the parallel pairs move; the non-parallel texts are detached) or ``texts``
            (only the non-parallel texts move). For studying what the term does to the space.
    """

    tau_ir: float = 0.05
    tau_sem: float = 0.05
    tau_lang: float = 0.05
    lambda_sem: float = 1.0
    lambda_lang: float = 1.0
    lang_use_ir_documents: bool = True
    lang_gradient: str = "all"


@dataclass
class TrainArgs:
    """The optimisation loop.

    Attributes:
        output_dir: run folder (checkpoints/, logs, the final model in model/ unless ``model_dir``).
        model_dir: where the final encoder is saved (default ``<output_dir>/model``).
        max_steps: optimiser steps.
        gradient_accumulation_steps: micro-batches per optimiser step.
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_ratio: share of ``max_steps`` for the linear warm-up.
        max_grad_norm: gradient clipping (0: off).
        mixed_precision: ``"no"``, ``"bf16"`` or ``"fp16"`` (ignored on CPU).
        seed: seeds model init order, batch sampling and negatives.
        log_every: steps between log lines.
        eval_every: steps between dev evaluations (0: only at the end when a dev benchmark is set).
        save_every: steps between checkpoints (0: only at the end).
        resume: continue from the latest checkpoint in ``output_dir/checkpoints``.
        progress: show a progress bar (steps, ETA, loss) on stderr (main process only).
    """

    output_dir: str = "runs/train"
    model_dir: str = ""
    max_steps: int = 100
    gradient_accumulation_steps: int = 1
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    mixed_precision: str = "no"
    seed: int = 42
    log_every: int = 10
    eval_every: int = 0
    save_every: int = 0
    resume: bool = False
    progress: bool = True


@dataclass
class TrainConfig:
    """The four groups of one run."""

    model: ModelArgs
    data: DataArgs
    loss: LossArgs
    train: TrainArgs

    def to_dict(self) -> dict[str, dict]:
        from dataclasses import asdict

        return {
            "model": asdict(self.model),
            "data": asdict(self.data),
            "loss": asdict(self.loss),
            "train": asdict(self.train),
        }


LANG_GRADIENTS = ("all", "pairs", "texts")  # which embeddings L_lang's gradient reaches
GROUPS = (ModelArgs, DataArgs, LossArgs, TrainArgs)


def read_config_file(path: str | Path) -> dict:
    """Read a flat YAML/JSON mapping of field -> value; unknown keys are an error."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    data = data or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of field -> value")
    known = {f.name for group in GROUPS for f in fields(group)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown config keys {unknown}")
    return data


def parse_config(config_file: str | Path | None = None, flags: Sequence[str] = ()) -> TrainConfig:
    """Build a :class:`TrainConfig` from an optional file, then ``--field value`` flags on top.

    Args:
        config_file: YAML (``.yaml``/``.yml``) or JSON file with top-level field names.
        flags: command-line style overrides, e.g. ``["--max_steps", "3", "--train_langs", "de", "fr"]``.
    """
    from transformers import HfArgumentParser

    parser = HfArgumentParser(GROUPS)
    if config_file:
        parser.set_defaults(**read_config_file(config_file))
    model, data, loss, train = parser.parse_args_into_dataclasses(args=list(flags))
    config = TrainConfig(model, data, loss, train)
    validate(config)
    return config


def overrides_to_flags(overrides: Sequence[str]) -> list[str]:
    """Turn ``KEY=VALUE`` overrides into flags; list fields take comma-separated values."""
    list_fields = {f.name for group in GROUPS for f in fields(group) if str(f.type).startswith("list")}
    flags: list[str] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not KEY=VALUE")
        key = key.strip().lstrip("-")
        flags.append(f"--{key}")
        flags.extend([v for v in value.split(",") if v] if key in list_fields else [value])
    return flags


def cli_flags(tokens: Sequence[str]) -> list[str]:
    """Command-line tokens mixing ``--field value`` flags and ``KEY=VALUE`` overrides, as flags."""
    overrides = [t for t in tokens if "=" in t and not t.startswith("-")]
    return [t for t in tokens if t not in overrides] + overrides_to_flags(overrides)


def validate(config: TrainConfig) -> None:
    """Reject settings that cannot train."""
    data, loss, train = config.data, config.loss, config.train
    if not data.ir_file:
        raise ValueError("ir_file is required")
    if data.ir_batch_size < 1 or train.max_steps < 1 or train.gradient_accumulation_steps < 1:
        raise ValueError("ir_batch_size, max_steps and gradient_accumulation_steps must be >= 1")
    if loss.lambda_sem > 0 and data.parallel_batch_size < 2:
        raise ValueError("lambda_sem > 0 needs parallel_batch_size >= 2 (in-batch negatives)")
    if loss.lambda_lang > 0 and data.parallel_batch_size < 1:
        raise ValueError("lambda_lang > 0 needs parallel pairs (parallel_batch_size >= 1)")
    if (loss.lambda_sem > 0 or loss.lambda_lang > 0) and not data.parallel_file:
        raise ValueError("lambda_sem / lambda_lang > 0 need parallel_file")
    if loss.lambda_lang > 0 and data.monolingual_batch_size < 1 and not loss.lang_use_ir_documents:
        raise ValueError("lambda_lang > 0 needs non-parallel texts (monolingual or IR documents)")
    if train.mixed_precision not in ("no", "bf16", "fp16"):
        raise ValueError(f"mixed_precision must be no, bf16 or fp16, got {train.mixed_precision!r}")
    if data.max_parallel_pairs < 0:
        raise ValueError(f"max_parallel_pairs must be >= 0, got {data.max_parallel_pairs}")
    if not 0.0 <= data.language_sampling_alpha <= 1.0:
        raise ValueError(f"language_sampling_alpha must be in [0, 1], got {data.language_sampling_alpha}")
    if loss.lang_gradient not in LANG_GRADIENTS:
        raise ValueError(f"lang_gradient must be one of {LANG_GRADIENTS}, got {loss.lang_gradient!r}")
    if min(loss.tau_ir, loss.tau_sem, loss.tau_lang) <= 0:
        raise ValueError("temperatures must be > 0")
