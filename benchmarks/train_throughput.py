"""Training throughput against a bare forward + backward of the same model and batches, in one run.

Usage (2 CPU cores, the full method at the CPU experiment's settings):
    python benchmarks/train_throughput.py --config configs/train/cpu.yaml --steps 6 --threads 2 \
        [KEY=VALUE ...] [--json out.json]
    python benchmarks/train_throughput.py --config configs/train/cpu.yaml --threads 2 --optimizers-only

Three timings over the same pre-drawn micro-batches (steps 0 .. N-1 of the run's seeded data), one
step of each in turn (A, B, C, A, B, C, ...) so background load hits all three alike:

- ``loop``: :meth:`Trainer.optimizer_step` plus the per-step logging of :meth:`Trainer.train` (what a
  training run does per step, checkpoints and dev evaluation excepted);
- ``bare``: the same already-tokenised texts through the same (wrapped) model, one forward of each side
  and ``backward`` of a trivial scalar; no loss, no optimiser, no data or tokeniser work;
- ``phases``: the loop's work split into its parts, each timed on its own (data, tokenisation,
  forward, objective, backward, clip, optimiser + scheduler, logging).

Ratio = bare seconds / loop seconds (= loop examples/s over bare examples/s; the goal is >= 0.8).
Numbers depend on what else the machine runs: print them, never assert them.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

log = logging.getLogger("train_throughput")

PHASES = ("data", "tokenise", "forward", "objective", "backward", "clip", "optimizer", "logging")


def bare_step(trainer, q_inputs: dict, d_inputs: dict) -> None:
    """Forward both sides through the training model and back-propagate a trivial scalar."""
    q_emb, d_emb = trainer.model(q_inputs, d_inputs)
    (q_emb.sum() + d_emb.sum()).backward()
    trainer.optimizer.zero_grad(set_to_none=True)


def phased_step(trainer, step: int, times: dict[str, float]) -> None:
    """One optimiser step (no accumulation) with each part of the loop timed separately."""
    from lacl_trainer.loop import split_embeddings

    cfg = trainer.config
    tic = time.perf_counter()
    batch = trainer.data.batch(step)
    times["data"] += (t1 := time.perf_counter()) - tic
    q_inputs = trainer.encoder.tokenize(batch.queries, "query", cfg.model.max_length)
    d_inputs = trainer.encoder.tokenize(batch.document_texts(), "document", cfg.model.max_length)
    times["tokenise"] += (t2 := time.perf_counter()) - t1
    q_emb, d_emb = trainer.model(q_inputs, d_inputs)
    times["forward"] += (t3 := time.perf_counter()) - t2
    out = trainer.objective(split_embeddings(q_emb, d_emb, batch, cfg.loss.lang_use_ir_documents))
    times["objective"] += (t4 := time.perf_counter()) - t3
    trainer.accelerator.backward(out.total)
    times["backward"] += (t5 := time.perf_counter()) - t4
    if cfg.train.max_grad_norm > 0:
        trainer.accelerator.clip_grad_norm_(trainer.model.parameters(), cfg.train.max_grad_norm)
    times["clip"] += (t6 := time.perf_counter()) - t5
    trainer.optimizer.step()
    trainer.optimizer.zero_grad()
    trainer.scheduler.step()
    times["optimizer"] += (t7 := time.perf_counter()) - t6
    record = {"loss": out.total.item(), **{k: v.item() for k, v in out.parts.items()}, **out.diagnostics}
    times["logging"] += time.perf_counter() - t7
    del record


def measure(trainer, steps: int, warmup: int) -> dict:
    """Interleaved loop / bare / phased timings over ``steps`` batches after ``warmup`` loop steps."""
    from lacl_trainer.loop import summarise

    cfg = trainer.config
    for _ in range(warmup):
        trainer.optimizer_step()
    batches = [trainer.data.batch(trainer.state.step + i) for i in range(steps)]
    tokenised = [(trainer.encoder.tokenize(b.queries, "query", cfg.model.max_length),
                  trainer.encoder.tokenize(b.document_texts(), "document", cfg.model.max_length)) for b in batches]
    loop_s, bare_s, phases = [], [], defaultdict(float)
    for i in range(steps):
        step = trainer.state.step
        tic = time.perf_counter()
        record = trainer.optimizer_step()
        record["seconds"] = time.perf_counter() - tic
        trainer.log(summarise([record], trainer.state.step, trainer.scheduler.get_last_lr()[0]))
        loop_s.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        bare_step(trainer, *tokenised[i])
        bare_s.append(time.perf_counter() - tic)
        phased_step(trainer, step, phases)
    texts = statistics.fmean(b.n_examples() for b in batches)
    loop, bare = sum(loop_s), sum(bare_s)
    return {
        "steps": steps,
        "texts_per_step": texts,
        "ir_examples_per_step": cfg.data.ir_batch_size,
        "loop_seconds_per_step": loop / steps,
        "bare_seconds_per_step": bare / steps,
        "loop_texts_per_s": texts * steps / loop,
        "bare_texts_per_s": texts * steps / bare,
        "loop_ir_examples_per_s": cfg.data.ir_batch_size * steps / loop,
        "ratio": bare / loop,
        "ratio_median_steps": statistics.median(bare_s) / statistics.median(loop_s),
        "ratio_fastest_steps": min(bare_s) / min(loop_s),  # the least disturbed step of each kind
        "phases_seconds_per_step": {k: phases[k] / steps for k in PHASES},
        "loop_seconds": loop_s,
        "bare_seconds": bare_s,
    }


def optimizer_timings(trainer, repeats: int = 5) -> dict[str, float]:
    """Milliseconds of one AdamW step over the trainable weights (random gradients), per implementation."""
    import torch

    params = [p for p in trainer.encoder.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p)
    out = {}
    for name, options in {"foreach": {}, "for-loop": {"foreach": False}, "fused": {"fused": True}}.items():
        optimizer = torch.optim.AdamW(params, lr=1e-9, **options)
        optimizer.step()  # allocates the moment buffers
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            optimizer.step()
            times.append(time.perf_counter() - tic)
        out[name] = min(times) * 1000
    for p in params:
        p.grad = None
    return out


def report(result: dict) -> str:
    lines = [
        f"texts per step: {result['texts_per_step']:.0f} ({result['ir_examples_per_step']} IR examples)",
        f"loop: {result['loop_seconds_per_step']:.3f} s/step = {result['loop_texts_per_s']:.2f} texts/s "
        f"({result['loop_ir_examples_per_s']:.2f} IR examples/s)",
        f"bare forward+backward: {result['bare_seconds_per_step']:.3f} s/step = "
        f"{result['bare_texts_per_s']:.2f} texts/s",
        f"ratio loop / bare (examples/s): {result['ratio']:.3f} over all steps, "
        f"{result['ratio_median_steps']:.3f} of the median steps, {result['ratio_fastest_steps']:.3f} of the "
        "fastest steps",
        "where one loop step's time goes (timed separately):",
    ]
    phases = result["phases_seconds_per_step"]
    total = sum(phases.values())
    model = phases["forward"] + phases["backward"]
    for name, seconds in result["phases_seconds_per_step"].items():
        lines.append(f"  {name:<10} {seconds * 1000:9.1f} ms  {seconds / total:6.1%}")
    lines.append(f"  {'sum':<10} {total * 1000:9.1f} ms; forward + backward = {model / total:.1%} of it")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training YAML/JSON (configs/train/cpu.yaml)")
    parser.add_argument("--steps", type=int, default=6, help="measured steps of each kind")
    parser.add_argument("--warmup", type=int, default=1, help="loop steps before measuring")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--optimizers-only", action="store_true",
                        help="only time one AdamW step per implementation (foreach, for-loop, fused)")
    args, rest = parser.parse_known_args(argv)
    from lacl_search.cli import set_threads

    set_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("lacl_trainer.loop").setLevel(logging.WARNING)  # the per-step log lines
    from lacl_trainer.config import cli_flags, parse_config
    from lacl_trainer.loop import Trainer

    with tempfile.TemporaryDirectory() as out:
        config = parse_config(args.config, cli_flags([*rest, f"output_dir={out}", "progress=false"]))
        trainer = Trainer(config)
        if args.optimizers_only:
            timings = optimizer_timings(trainer)
            sys.stdout.write(" ".join(f"adamw_{k}_ms={v:.1f}" for k, v in timings.items()) + "\n")
            return 0
        trainer._open_logs()
        result = measure(trainer, args.steps, args.warmup)
    result["config"] = config.to_dict()
    sys.stdout.write(report(result) + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
