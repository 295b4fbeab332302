"""Properties and equivalences of the LACL loss modules (trainer/losses.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lacl_trainer.losses import (
    InfoNCELoss,
    LaclObjective,
    LanguageContrastiveLoss,
    ObjectiveInput,
    SemanticContrastiveLoss,
    replace_shard,
)


def unit(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


def leaf(t: torch.Tensor) -> torch.Tensor:
    return t.clone().requires_grad_(True)


# ----------------------------------------------------------------------------- naive references
def naive_ir(q, pos, neg, tau):
    docs = torch.cat([pos, neg])
    total = 0.0
    for i in range(len(q)):
        scores = torch.stack([q[i] @ d / tau for d in docs])
        total = total - (scores[i] - torch.logsumexp(scores, 0))
    return total / len(q)


def naive_sem(s, t, tau):
    total = 0.0
    for j in range(len(s)):
        st = torch.stack([s[j] @ t[k] / tau for k in range(len(t))])
        ts = torch.stack([t[j] @ s[k] / tau for k in range(len(s))])
        total = total - 0.5 * (torch.log_softmax(st, 0)[j] + torch.log_softmax(ts, 0)[j])
    return total / len(s)


def naive_lang(u, s, t, tau):
    total, count = 0.0, 0
    for m in range(len(u)):
        for j in range(len(s)):
            p = torch.softmax(torch.stack([u[m] @ s[j], u[m] @ t[j]]) / tau, 0)
            total = total + (-0.5 * torch.log(p[0]) - 0.5 * torch.log(p[1]) - math.log(2.0))
            count += 1
    return total / count


# ----------------------------------------------------------------------------- equivalences
def test_ir_matches_naive_loop():
    q, pos, neg = unit(5, 8, seed=1), unit(5, 8, seed=2), unit(10, 8, seed=3)
    assert torch.allclose(InfoNCELoss(0.1)(q, pos, neg), naive_ir(q, pos, neg, 0.1))


def test_sem_matches_naive_loop():
    s, t = unit(6, 8, seed=1), unit(6, 8, seed=2)
    assert torch.allclose(SemanticContrastiveLoss(0.07)(s, t), naive_sem(s, t, 0.07))


@pytest.mark.parametrize("tau", [0.01, 0.05, 1.0])
def test_lang_matches_naive_loop(tau):
    u, s, t = unit(7, 8, seed=1), unit(4, 8, seed=2), unit(4, 8, seed=3)
    assert torch.allclose(LanguageContrastiveLoss(tau)(u, s, t), naive_lang(u, s, t, tau))


# ----------------------------------------------------------------------------- properties
def test_aligned_pairs_give_near_zero_semantic_loss():
    s = unit(8, 16, seed=4)
    assert SemanticContrastiveLoss(0.01)(s, s.clone()).item() < 1e-6
    assert SemanticContrastiveLoss(0.01)(s, unit(8, 16, seed=5)).item() > 1.0


def test_equidistant_text_gives_exactly_zero_language_loss():
    # u = e0; s_j and t_j mirror each other in the other coordinates, so u.s_j == u.t_j exactly.
    dim, pairs = 8, 5
    u = torch.zeros(3, dim, dtype=torch.float32)
    u[:, 0] = 1.0
    s = unit(pairs, dim, seed=6, dtype=torch.float32)
    t = s.clone()
    t[:, 1:] = -t[:, 1:]
    loss = LanguageContrastiveLoss(0.05)(u, s, t)
    assert loss.item() == 0.0


@pytest.mark.parametrize("tau", [0.001, 0.05, 10.0])
def test_language_loss_is_nonnegative_and_finite(tau):
    for seed in range(5):
        u, s, t = unit(9, 4, seed=seed, dtype=torch.float32), unit(6, 4, seed=seed + 10), unit(6, 4, seed=seed + 20)
        loss = LanguageContrastiveLoss(tau)(u, s.float(), t.float())
        assert torch.isfinite(loss) and loss.item() >= 0.0


def test_language_loss_grows_with_preference():
    u = torch.tensor([[1.0, 0.0]])
    near, far = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    lang = LanguageContrastiveLoss(0.1)
    assert lang(u, near, far).item() == pytest.approx(lang(u, far, near).item())
    assert lang(u, near, far).item() > lang(u, near, near).item() == 0.0


def test_gradients_reach_every_input():
    q, pos, neg = leaf(unit(4, 8, seed=1)), leaf(unit(4, 8, seed=2)), leaf(unit(4, 8, seed=3))
    s, t, mono = leaf(unit(3, 8, seed=4)), leaf(unit(3, 8, seed=5)), leaf(unit(2, 8, seed=6))
    objective = LaclObjective(tau_ir=0.05, tau_sem=0.05, tau_lang=0.05, lambda_sem=1.0, lambda_lang=1.0)
    out = objective(ObjectiveInput(q, pos, neg, s, t, mono))
    out.total.backward()
    for name, tensor in dict(q=q, pos=pos, neg=neg, s=s, t=t, mono=mono).items():
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0, name
    assert set(out.parts) == {"ir", "sem", "lang"}
    expected = out.parts["ir"] + out.parts["sem"] + out.parts["lang"]
    assert torch.allclose(out.total, expected)
    assert {"ir_acc", "sem_acc", "q_std", "d_std", "lang_gap"} <= set(out.diagnostics)


@pytest.mark.parametrize(
    ("lang_gradient", "moved", "still"), [("pairs", {"s", "t"}, {"mono"}), ("texts", {"mono"}, {"s", "t"})]
)
def test_lang_gradient_limits_what_the_language_loss_moves(lang_gradient, moved, still):
    q, pos = unit(4, 8, seed=1), unit(4, 8, seed=2)
    s, t, mono = leaf(unit(3, 8, seed=4)), leaf(unit(3, 8, seed=5)), leaf(unit(2, 8, seed=6))
    objective = LaclObjective(
        tau_ir=0.05, tau_sem=0.05, tau_lang=0.05, lambda_sem=0.0, lambda_lang=1.0, lang_use_ir_documents=False,
        lang_gradient=lang_gradient,
    )
    out = objective(ObjectiveInput(q, pos, None, s, t, mono))
    out.total.backward()
    grads = {name: tensor.grad for name, tensor in dict(s=s, t=t, mono=mono).items()}
    assert all(grads[name] is not None and grads[name].abs().sum() > 0 for name in moved)
    assert all(grads[name] is None for name in still)
    reference = LanguageContrastiveLoss(0.05)(mono.detach(), s.detach(), t.detach())
    assert torch.allclose(out.parts["lang"], reference)  # the value is unchanged, only the gradient
    with pytest.raises(ValueError, match="lang_gradient"):
        LaclObjective(tau_ir=0.05, tau_sem=0.05, tau_lang=0.05, lambda_sem=1.0, lambda_lang=1.0,
                      lang_gradient="queries")


def test_zero_weights_skip_terms():
    objective = LaclObjective(tau_ir=0.05, tau_sem=0.05, tau_lang=0.05, lambda_sem=0.0, lambda_lang=0.0)
    batch = ObjectiveInput(unit(4, 8), unit(4, 8, seed=1), None, unit(3, 8, seed=2), unit(3, 8, seed=3))
    out = objective(batch)
    assert set(out.parts) == {"ir"} and torch.equal(out.total, out.parts["ir"])


def test_language_diagnostic_detects_same_language_preference():
    s, t = unit(4, 8, seed=1, dtype=torch.float32), unit(4, 8, seed=2, dtype=torch.float32)
    u = F.normalize(s.mean(0, keepdim=True), dim=-1)  # closer to the English sides on average
    objective = LaclObjective(tau_ir=0.05, tau_sem=0.05, tau_lang=0.05, lambda_sem=1.0, lambda_lang=1.0,
                              lang_use_ir_documents=False)
    labels = torch.zeros(1, 4, dtype=torch.long)  # u is English: its language's side is s (0)
    out = objective(ObjectiveInput(unit(2, 8).float(), unit(2, 8, seed=3).float(), None, s, t, u, labels))
    assert out.diagnostics["lang_same_side"] > 0.5


# ----------------------------------------------------------------------------- gathered == single process
def test_two_shards_match_single_process():
    """Each simulated process sees the other shard detached and its own with gradient; the summed
    shard gradients equal the single-process gradient, and every process computes the same loss."""
    world, b, p, m, h = 2, 3, 2, 2, 1
    tensors = dict(
        q=unit(world * b, 8, seed=1),
        pos=unit(world * b, 8, seed=2),
        neg=unit(world * b * h, 8, seed=3),
        s=unit(world * p, 8, seed=4),
        t=unit(world * p, 8, seed=5),
        mono=unit(world * m, 8, seed=6),
    )

    def objective(gather):
        return LaclObjective(tau_ir=0.05, tau_sem=0.1, tau_lang=0.2, lambda_sem=0.5, lambda_lang=2.0, gather=gather)

    full = {k: leaf(v) for k, v in tensors.items()}
    single = objective(lambda x: x)(
        ObjectiveInput(full["q"], full["pos"], full["neg"], full["s"], full["t"], full["mono"])
    )
    single.total.backward()

    summed = {k: torch.zeros_like(v) for k, v in tensors.items()}
    for rank in range(world):
        shards = {k: leaf(v.chunk(world)[rank]) for k, v in tensors.items()}
        # The gather of a real run: the other ranks' tensors arrive without gradient.
        by_id = {id(shards[k]): tensors[k] for k in shards}

        def gather(local, rank=rank, by_id=by_id):
            if id(local) in by_id:
                return replace_shard(by_id[id(local)], local, rank)
            return gather_concat(local, rank)

        def gather_concat(local, rank=rank):  # the u texts: IR positives ++ monolingual, per rank
            other = 1 - rank
            u_other = torch.cat([tensors["pos"].chunk(world)[other], tensors["mono"].chunk(world)[other]])
            parts = [local, u_other] if rank == 0 else [u_other, local]
            return torch.cat(parts)

        out = objective(gather)(
            ObjectiveInput(shards["q"], shards["pos"], shards["neg"], shards["s"], shards["t"], shards["mono"])
        )
        assert torch.allclose(out.total, single.total)
        out.total.backward()
        for k in tensors:
            summed[k][rank * len(shards[k]) : (rank + 1) * len(shards[k])] += shards[k].grad
    for k in tensors:
        assert torch.allclose(summed[k], full[k].grad, atol=1e-10), k


def test_objective_from_config_takes_each_field_by_name():
    from lacl_trainer.config import LossArgs

    config = LossArgs(tau_ir=0.01, tau_sem=0.02, tau_lang=0.03, lambda_sem=0.4, lambda_lang=5.0,
                      lang_use_ir_documents=False, lang_gradient="pairs")
    objective = LaclObjective.from_config(config)
    assert (objective.ir.tau, objective.sem.tau, objective.lang.tau) == (0.01, 0.02, 0.03)
    assert (objective.lambda_sem, objective.lambda_lang) == (0.4, 5.0)
    assert not objective.lang_use_ir_documents and objective.lang_gradient == "pairs"
    with pytest.raises(TypeError):
        LaclObjective(0.05, 0.05, 0.05, 1.0, 1.0)  # positional floats could be swapped silently
