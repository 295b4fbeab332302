"""The three terms of the method as small modules over embeddings, and the objective combining them.

Hu et al., "Language Agnostic Multilingual Information Retrieval with Contrastive Learning", Findings
of ACL 2023: an English IR loss, a semantic contrastive loss over parallel pairs and a language
contrastive loss that uses parallel pairs to remove language identity from non-parallel text. Every
module takes L2-normalised embeddings (so ``a @ b.T`` is the cosine) and returns a scalar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import LANG_GRADIENTS, LossArgs

Gather = Callable[[Tensor], Tensor]


def identity(tensor: Tensor) -> Tensor:
    return tensor


def replace_shard(gathered: Tensor, local: Tensor, rank: int) -> Tensor:
    """Put the gradient-carrying ``local`` shard back into a gathered (gradient-free) tensor.

    Args:
        gathered: ``[W * n, ...]`` all processes' tensors concatenated in rank order (detached).
        local: ``[n, ...]`` this process's tensor (with gradient).
        rank: this process's index.
    """
    n = local.shape[0]
    return torch.cat([gathered[: rank * n], local, gathered[(rank + 1) * n :]])  # [W * n, ...]


def accelerate_gather(accelerator: object) -> Gather:
    """A gather for the objective: all-gather across processes, gradient kept for the local shard."""
    if getattr(accelerator, "num_processes", 1) == 1:
        return identity

    def gather(tensor: Tensor) -> Tensor:
        gathered = accelerator.gather(tensor.detach().contiguous())  # [W * n, D]
        return replace_shard(gathered, tensor, accelerator.process_index)

    return gather


def top1_accuracy(logits: Tensor) -> float:
    """Share of rows ``i`` of ``[n, m]`` logits (m >= n) whose highest logit is at column ``i``."""
    labels = torch.arange(logits.shape[0], device=logits.device)  # [n]
    return (logits.argmax(dim=-1) == labels).float().mean().item()


class InfoNCELoss(nn.Module):
    """DPR-style IR loss with in-batch and hard negatives.

    L_IR = -mean_i log softmax_k(sim(q_i, d_k) / tau)[i] over all documents D = positives ++ negatives
    (Karpukhin et al., 2020). Positive of query i is document i.

    Args:
        tau: temperature.
    """

    def __init__(self, tau: float) -> None:
        super().__init__()
        self.tau = tau

    def logits(self, q_emb: Tensor, pos_emb: Tensor, neg_emb: Tensor | None) -> Tensor:
        docs = pos_emb if neg_emb is None else torch.cat([pos_emb, neg_emb])  # [B + N, D]
        return q_emb @ docs.T / self.tau  # [B, B + N]

    def forward(self, q_emb: Tensor, pos_emb: Tensor, neg_emb: Tensor | None = None) -> Tensor:
        logits = self.logits(q_emb, pos_emb, neg_emb)  # [B, B + N]
        labels = torch.arange(q_emb.shape[0], device=q_emb.device)  # [B]
        return F.cross_entropy(logits, labels)


class SemanticContrastiveLoss(nn.Module):
    """Symmetric InfoNCE over parallel pairs (s_j, t_j): translations attract, other pairs repel.

    L_sem = -1/2 mean_j [log softmax_k(sim(s_j, t_k) / tau)[j] + log softmax_k(sim(t_j, s_k) / tau)[j]].

    Args:
        tau: temperature.
    """

    def __init__(self, tau: float) -> None:
        super().__init__()
        self.tau = tau

    def forward(self, source_emb: Tensor, target_emb: Tensor) -> Tensor:
        logits = source_emb @ target_emb.T / self.tau  # [P, P]
        labels = torch.arange(logits.shape[0], device=logits.device)  # [P]
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


class LanguageContrastiveLoss(nn.Module):
    """Pushes every non-parallel text to be equally similar to both sides of every parallel pair.

    With l0 = sim(u_m, s_j) / tau, l1 = sim(u_m, t_j) / tau and p_mj = softmax([l0, l1]):
    L_lang = mean_{m,j} KL(uniform || p_mj) = mean_{m,j} [-1/2 log p0 - 1/2 log p1 - log 2]
           = mean_{m,j} [logsumexp(l0, l1) - (l0 + l1) / 2 - log 2] = mean_{m,j} log cosh((l0 - l1) / 2),
    evaluated as |x| + log1p(expm1(-2|x|) / 2) with x = (l0 - l1) / 2: stable for any |x|, >= 0, and
    exactly 0 when l0 == l1. Gradient w.r.t. x is tanh(x).

    Args:
        tau: temperature.
    """

    def __init__(self, tau: float) -> None:
        super().__init__()
        self.tau = tau

    def preference(self, u_emb: Tensor, source_emb: Tensor, target_emb: Tensor) -> Tensor:
        """Half the logit gap x = (sim(u, s) - sim(u, t)) / (2 tau), ``[M, P]``."""
        return (u_emb @ source_emb.T - u_emb @ target_emb.T) / (2 * self.tau)  # [M, P]

    def forward(self, u_emb: Tensor, source_emb: Tensor, target_emb: Tensor) -> Tensor:
        x = self.preference(u_emb, source_emb, target_emb).abs()  # [M, P]
        return (x + torch.log1p(torch.expm1(-2 * x) / 2)).mean()


@dataclass
class ObjectiveInput:
    """Local (this process's) embeddings of one micro-batch; parts may be missing.

    Attributes:
        q_emb: ``[B, D]`` queries. pos_emb: ``[B, D]`` their positives. neg_emb: ``[B * H, D]`` or None.
        source_emb / target_emb: ``[P, D]`` parallel pairs, or None.
        mono_emb: ``[M, D]`` non-parallel texts, or None.
        side_labels: ``[M', P]`` for diagnostics: 0 when u_m shares s_j's language, 1 when it shares
            t_j's, -1 otherwise; rows follow the u texts of L_lang (IR documents first when used).
    """

    q_emb: Tensor
    pos_emb: Tensor
    neg_emb: Tensor | None = None
    source_emb: Tensor | None = None
    target_emb: Tensor | None = None
    mono_emb: Tensor | None = None
    side_labels: Tensor | None = None


@dataclass
class ObjectiveOutput:
    """The total loss, each term (weighted parts are not pre-multiplied) and float diagnostics."""

    total: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)
    diagnostics: dict[str, float] = field(default_factory=dict)


class LaclObjective(nn.Module):
    """L = L_IR + lambda_sem * L_sem + lambda_lang * L_lang, with every part and diagnostics.

    Embeddings pass through ``gather`` (identity on one process, all-gather keeping the local shard's
    gradient on several) so every query sees every document; terms with weight 0 are skipped.

    Args:
        tau_ir / tau_sem / tau_lang: temperatures. lambda_sem / lambda_lang: weights.
        lang_use_ir_documents: the IR positives join the non-parallel texts u_m of L_lang.
        lang_gradient: ``"all"`` (every embedding gets L_lang's gradient), ``"pairs"`` (the u texts are
            detached inside L_lang) or ``"texts"`` (the parallel pairs are detached inside L_lang).
        gather: cross-process gather, see :func:`accelerate_gather`.
    """

    def __init__(
        self,
        *,
        tau_ir: float,
        tau_sem: float,
        tau_lang: float,
        lambda_sem: float,
        lambda_lang: float,
        lang_use_ir_documents: bool = True,
        gather: Gather = identity,
        lang_gradient: str = "all",
    ) -> None:
        super().__init__()
        self.ir = InfoNCELoss(tau_ir)
        self.sem = SemanticContrastiveLoss(tau_sem)
        self.lang = LanguageContrastiveLoss(tau_lang)
        self.lambda_sem, self.lambda_lang = lambda_sem, lambda_lang
        self.lang_use_ir_documents = lang_use_ir_documents
        if lang_gradient not in LANG_GRADIENTS:
            raise ValueError(f"lang_gradient must be one of {LANG_GRADIENTS}, got {lang_gradient!r}")
        self.lang_gradient = lang_gradient
        self.gather = gather

    @classmethod
    def from_config(cls, loss: LossArgs, *, gather: Gather = identity) -> LaclObjective:
        """The objective of a :class:`~lacl_trainer.config.LossArgs` group, field by field by name."""
        return cls(tau_ir=loss.tau_ir, tau_sem=loss.tau_sem, tau_lang=loss.tau_lang, lambda_sem=loss.lambda_sem,
                   lambda_lang=loss.lambda_lang, lang_use_ir_documents=loss.lang_use_ir_documents, gather=gather,
                   lang_gradient=loss.lang_gradient)

    def non_parallel(self, batch: ObjectiveInput) -> Tensor | None:
        """The u texts of L_lang: IR positives (when configured) then monolingual texts, ``[M', D]``."""
        parts = [batch.pos_emb] if self.lang_use_ir_documents else []
        parts += [batch.mono_emb] if batch.mono_emb is not None else []
        return torch.cat(parts) if parts else None

    def forward(self, batch: ObjectiveInput) -> ObjectiveOutput:
        g = self.gather
        q, pos = g(batch.q_emb), g(batch.pos_emb)  # [W*B, D], [W*B, D]
        neg = g(batch.neg_emb) if batch.neg_emb is not None else None  # [W*B*H, D]
        ir = self.ir(q, pos, neg)
        out = ObjectiveOutput(total=ir, parts={"ir": ir})
        out.diagnostics["ir_acc"] = top1_accuracy(self.ir.logits(q, pos, neg).detach())
        out.diagnostics["q_std"] = embedding_spread(q)
        out.diagnostics["d_std"] = embedding_spread(pos)
        has_pairs = batch.source_emb is not None and batch.target_emb is not None
        if has_pairs and (self.lambda_sem > 0 or self.lambda_lang > 0):
            s, t = g(batch.source_emb), g(batch.target_emb)  # [W*P, D]
            if self.lambda_sem > 0:
                out.parts["sem"] = self.sem(s, t)
                out.total = out.total + self.lambda_sem * out.parts["sem"]
                out.diagnostics["sem_acc"] = top1_accuracy((s @ t.T).detach())
            u_local = self.non_parallel(batch)
            if self.lambda_lang > 0 and u_local is not None:
                u = g(u_local)  # [W*M', D]
                if self.lang_gradient == "pairs":
                    u = u.detach()
                elif self.lang_gradient == "texts":
                    s, t = s.detach(), t.detach()
                out.parts["lang"] = self.lang(u, s, t)
                out.total = out.total + self.lambda_lang * out.parts["lang"]
                self._language_diagnostics(u_local, batch, out.diagnostics)
        return out

    def _language_diagnostics(self, u_local: Tensor, batch: ObjectiveInput, diag: dict[str, float]) -> None:
        with torch.no_grad():
            s, t = batch.source_emb, batch.target_emb  # [P, D]
            x = self.lang.preference(u_local, s, t)  # [M', P]
            diag["lang_gap"] = torch.tanh(x.abs()).mean().item()  # mean |p0 - p1|
            labels = batch.side_labels
            if labels is not None and labels.shape == x.shape and bool((labels >= 0).any()):
                picked = (x < 0).long()  # [M', P] 1 when u prefers the target side
                valid = labels >= 0
                diag["lang_same_side"] = (picked[valid] == labels[valid]).float().mean().item()


def embedding_spread(emb: Tensor) -> float:
    """Mean over dimensions of the per-dimension std across the batch; near 0 means collapse."""
    if emb.shape[0] < 2:
        return 0.0
    return emb.detach().float().std(dim=0).mean().item()
