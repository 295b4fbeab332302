"""How the loss terms pull on the weights: per-term gradient norms and the cosines between them.

``lacl-search train probe --config configs/train/cpu.yaml [KEY=VALUE ...] --batches 4``

Takes the run's model, data and loss settings, draws ``--batches`` training batches (the first steps
of the run) and, per batch, differentiates each weighted term (L_IR, lambda_sem * L_sem,
lambda_lang * L_lang) separately with respect to the trainable weights. Prints the mean gradient norm
of each term and the mean cosine between each pair of terms: a term whose gradient is much larger
than L_IR's dominates AdamW's second-moment estimate and so shrinks the IR steps, and a negative
cosine means two terms pull the weights in opposing directions. Nothing is updated or saved.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict

import torch
from torch import Tensor

from .config import TrainConfig
from .loop import Trainer

log = logging.getLogger(__name__)


def term_gradients(trainer: Trainer, step: int) -> dict[str, Tensor]:
    """Flattened gradient of each weighted loss term of batch ``step`` over the trainable weights."""
    loss = trainer.config.loss
    params = [p for p in trainer.encoder.parameters() if p.requires_grad]
    out = trainer.forward(trainer.data.batch(step))
    weights = {"ir": 1.0, "sem": loss.lambda_sem, "lang": loss.lambda_lang}
    grads = {}
    for name, part in out.parts.items():
        parts = torch.autograd.grad(weights[name] * part, params, retain_graph=True, allow_unused=True)
        flat = [(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(parts, params, strict=True)]
        grads[name] = torch.cat(flat)
    return grads


def probe(config: TrainConfig, batches: int) -> dict[str, float]:
    """Mean per-term gradient norms (``norm_<term>``) and pairwise cosines (``cos_<a>_<b>``)."""
    trainer = Trainer(config)
    sums: dict[str, float] = defaultdict(float)
    for step in range(batches):
        grads = term_gradients(trainer, step)
        for name, g in grads.items():
            sums[f"norm_{name}"] += g.norm().item() / batches
        for (a, ga), (b, gb) in itertools.combinations(grads.items(), 2):
            sums[f"cos_{a}_{b}"] += torch.nn.functional.cosine_similarity(ga, gb, dim=0).item() / batches
        log.info("batch %d: %s", step, {k: round(v.norm().item(), 4) for k, v in grads.items()})
    return dict(sums)
