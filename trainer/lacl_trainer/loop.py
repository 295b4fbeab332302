"""The Accelerate training loop: one :class:`Encoder`, the LACL objective, checkpoints and dev evaluation.

Per optimiser step: ``gradient_accumulation_steps`` micro-batches from :class:`TrainingData`, each
encoded in ONE forward of the (possibly DDP-wrapped) model (queries on the query side; positives,
negatives, parallel pairs and non-parallel text on the document side), the objective over the
embeddings (gathered across processes), AdamW with linear warm-up and decay. ``accelerator.save_state``
checkpoints go to ``<output_dir>/checkpoints/step-N``; the final encoder is written with
``Encoder.save_pretrained`` so ``ingest``, ``search``, ``eval`` and the demo load it with ``--model``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch import Tensor, nn
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm
from transformers import get_linear_schedule_with_warmup

from lacl_search.core.encoder import Encoder
from lacl_search.evaluation.exact import DenseEvaluator, load_benchmark

from .config import TrainConfig
from .data import TrainBatch, TrainingData, side_labels
from .losses import LaclObjective, ObjectiveInput, ObjectiveOutput, accelerate_gather

log = logging.getLogger(__name__)


class DualForward(nn.Module):
    """Wraps the encoder so one forward call embeds both sides (one DDP forward per micro-batch)."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, query_inputs: dict[str, Tensor], document_inputs: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        q_emb = self.encoder(**query_inputs, side="query")  # [B, D]
        d_emb = self.encoder(**document_inputs, side="document")  # [B + B*H + 2P + M, D]
        return q_emb, d_emb


class TrainState:
    """The optimiser-step counter, saved with every checkpoint."""

    def __init__(self) -> None:
        self.step = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step = int(state["step"])


def prepare_encoder(config: TrainConfig) -> Encoder:
    """Load the starting encoder in training mode with the configured freezing and checkpointing."""
    encoder = Encoder.load(config.model.model, device="cpu")
    encoder.train()
    towers = [encoder.model] + ([encoder.document_model] if encoder.document_model is not None else [])
    for tower in towers:
        if config.model.freeze_word_embeddings:
            tower.get_input_embeddings().weight.requires_grad_(False)
        if config.model.gradient_checkpointing:
            tower.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    trainable = sum(p.numel() for p in encoder.parameters() if p.requires_grad)
    log.info("trainable parameters: %d of %d", trainable, sum(p.numel() for p in encoder.parameters()))
    return encoder


def make_optimizer(params: list[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused into one kernel where this torch supports it, else the default implementation.

    On 2 CPU cores one step over multilingual-e5-small's 21.5M trainable weights took 10 ms fused
    against 52 ms with the default ``foreach`` kernels (docs/results.md, training throughput).
    """
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError) as exc:  # e.g. a device or dtype without a fused kernel
        log.info("fused AdamW unavailable (%s); using the default implementation", exc)
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def split_embeddings(q_emb: Tensor, d_emb: Tensor, batch: TrainBatch, use_ir_docs: bool) -> ObjectiveInput:
    """Cut the one document-side forward back into positives, negatives, pairs and monolingual text."""
    sizes = [
        len(batch.positives),
        len(batch.negatives),
        len(batch.sources),
        len(batch.targets),
        len(batch.mono_texts),
    ]
    pos, neg, src, tgt, mono = torch.split(d_emb, sizes)  # [B, D], [B*H, D], [P, D], [P, D], [M, D]
    u_langs = (["en"] * len(batch.positives) if use_ir_docs else []) + batch.mono_langs
    labels = torch.from_numpy(side_labels(u_langs, batch.target_langs)) if batch.target_langs else None
    return ObjectiveInput(
        q_emb=q_emb,
        pos_emb=pos,
        neg_emb=neg if len(neg) else None,
        source_emb=src if len(src) else None,
        target_emb=tgt if len(tgt) else None,
        mono_emb=mono if len(mono) else None,
        side_labels=labels,
    )


def build_objective(config: TrainConfig, accelerator: Accelerator) -> LaclObjective:
    return LaclObjective.from_config(config.loss, gather=accelerate_gather(accelerator))


class Trainer:
    """Owns the accelerator, model, optimiser, data and logs of one run.

    Args:
        config: the run's configuration.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        t = config.train
        mixed = t.mixed_precision if torch.cuda.is_available() else "no"
        self.accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=t.gradient_accumulation_steps)
        set_seed(t.seed)
        self.output_dir = Path(t.output_dir)
        self.encoder = prepare_encoder(config)
        params = [p for p in self.encoder.parameters() if p.requires_grad]
        optimizer = make_optimizer(params, t.learning_rate, t.weight_decay)
        self.scheduler = get_linear_schedule_with_warmup(optimizer, int(t.warmup_ratio * t.max_steps), t.max_steps)
        self.model, self.optimizer = self.accelerator.prepare(DualForward(self.encoder), optimizer)
        self.state = TrainState()
        self.accelerator.register_for_checkpointing(self.scheduler, self.state)
        self.objective = build_objective(config, self.accelerator)
        loss = config.loss
        self.data = TrainingData(
            config.data,
            t.seed,
            load_parallel=loss.lambda_sem > 0 or loss.lambda_lang > 0,
            load_monolingual=loss.lambda_lang > 0,
            document_text=self.encoder.document_text,
        )
        self.dev = (
            load_benchmark(config.data.dev_benchmark, config.data.dev_max_queries)
            if config.data.dev_benchmark
            else None
        )
        self.writer = None

    # ------------------------------------------------------------------------------ one step
    def forward(self, batch: TrainBatch) -> ObjectiveOutput:
        """Encode one micro-batch (one forward of the model) and evaluate the objective on it."""
        max_length = self.config.model.max_length
        q_inputs = self.encoder.tokenize(batch.queries, "query", max_length)
        d_inputs = self.encoder.tokenize(batch.document_texts(), "document", max_length)
        with self.accelerator.autocast():
            q_emb, d_emb = self.model(q_inputs, d_inputs)
        # Losses in float32 even under bf16/fp16 autocast (softmax over 1/tau-scaled cosines).
        inputs = split_embeddings(q_emb.float(), d_emb.float(), batch, self.config.loss.lang_use_ir_documents)
        return self.objective(inputs)

    def micro_step(self, batch: TrainBatch) -> ObjectiveOutput:
        """Forward, objective and backward of one micro-batch."""
        out = self.forward(batch)
        # Every process computes the loss over the gathered batch but back-propagates only into its own
        # shard; DDP averages gradients over W processes, so scaling by W gives the full-batch gradient.
        self.accelerator.backward(out.total * self.accelerator.num_processes)
        return out

    def optimizer_step(self) -> dict[str, float]:
        """All micro-batches of the current optimiser step, then the update; returns averaged logs."""
        acc, rank, world = self.accelerator, self.accelerator.process_index, self.accelerator.num_processes
        sums: dict[str, float] = defaultdict(float)
        k = self.config.train.gradient_accumulation_steps
        texts = 0
        for micro in range(k):
            batch = self.data.batch(self.state.step * k + micro, rank, world)
            texts += batch.n_examples()
            with acc.accumulate(self.model):
                out = self.micro_step(batch)
                if acc.sync_gradients and self.config.train.max_grad_norm > 0:
                    norm = acc.clip_grad_norm_(self.model.parameters(), self.config.train.max_grad_norm)
                    sums["grad_norm"] = float(norm)  # before clipping; synced on the last micro-batch only
                self.optimizer.step()
                self.optimizer.zero_grad()
            sums["loss"] += out.total.item() / k
            for name, value in out.parts.items():
                sums[f"loss_{name}"] += value.item() / k
            for name, value in out.diagnostics.items():
                sums[name] += value / k
        self.scheduler.step()
        self.state.step += 1
        sums["texts"] = texts * world
        sums["ir_examples"] = k * self.config.data.ir_batch_size * world
        return dict(sums)

    # ------------------------------------------------------------------------------ the run
    def train(self) -> Path:
        """Train to ``max_steps`` (resuming when asked), evaluate, save; returns the model folder."""
        t = self.config.train
        if t.resume:
            self.resume()
        self._open_logs()
        window: list[dict[str, float]] = []
        started = time.perf_counter()
        with self._progress() as bar, logging_redirect_tqdm():
            while self.state.step < t.max_steps:
                tic = time.perf_counter()
                record = self.optimizer_step()
                record["seconds"] = time.perf_counter() - tic
                window.append(record)
                step = self.state.step
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.3f}", refresh=False)
                if step % t.log_every == 0 or step == t.max_steps:
                    self.log(summarise(window, step, self.scheduler.get_last_lr()[0]))
                    window = []
                if t.eval_every and step % t.eval_every == 0 and step < t.max_steps:
                    self.evaluate()
                if (t.save_every and step % t.save_every == 0) or step == t.max_steps:
                    self.save_checkpoint()
        log.info("training took %.1f s", time.perf_counter() - started)
        if self.dev is not None:
            self.evaluate()
        return self.save_model()

    def resume(self) -> None:
        checkpoint = latest_checkpoint(self.output_dir / "checkpoints")
        if checkpoint is None:
            log.warning("resume requested but no checkpoint in %s; starting fresh", self.output_dir)
            return
        self.accelerator.load_state(str(checkpoint))
        log.info("resumed from %s at step %d", checkpoint, self.state.step)

    def save_checkpoint(self) -> None:
        path = self.output_dir / "checkpoints" / f"step-{self.state.step}"
        self.accelerator.save_state(str(path))
        log.info("checkpoint %s", path)

    def save_model(self) -> Path:
        self.accelerator.wait_for_everyone()
        target = Path(self.config.train.model_dir or self.output_dir / "model")
        if self.accelerator.is_main_process:
            encoder = self.accelerator.unwrap_model(self.model).encoder
            encoder.eval()
            encoder.save_pretrained(target)
            (target / "train_config.json").write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
            log.info("saved encoder to %s", target)
        if self.writer is not None:
            self.writer.close()
        return target

    def evaluate(self) -> dict[str, float]:
        """Exact-search dev metrics of the current weights (main process), logged with the step."""
        if self.dev is None or not self.accelerator.is_main_process:
            return {}
        encoder = self.accelerator.unwrap_model(self.model).encoder
        metrics = DenseEvaluator(encoder).evaluate(self.dev)
        encoder.train()
        self.log({"step": self.state.step, **{f"dev/{k}": v for k, v in metrics.items()}})
        return metrics

    def _progress(self) -> tqdm:
        """Steps done / to do with rate and ETA (tqdm's ``remaining``), on the main process only."""
        t = self.config.train
        return tqdm(total=t.max_steps, initial=self.state.step, desc="training", unit="step", dynamic_ncols=True,
                    disable=not (t.progress and self.accelerator.is_main_process), smoothing=0.1)

    def _open_logs(self) -> None:
        if self.accelerator.is_main_process:
            from torch.utils.tensorboard import SummaryWriter

            self.output_dir.mkdir(parents=True, exist_ok=True)
            self.writer = SummaryWriter(str(self.output_dir / "tensorboard"))

    def log(self, record: dict[str, float]) -> None:
        if not self.accelerator.is_main_process:
            return
        log.info("%s", " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        with (self.output_dir / "log.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step":
                    self.writer.add_scalar(key, value, record["step"])


def summarise(window: list[dict[str, float]], step: int, lr: float) -> dict[str, float]:
    """Average per-step records; throughput as texts and IR examples per second."""
    keys = {k for record in window for k in record} - {"texts", "ir_examples", "seconds"}
    out: dict[str, float] = {"step": step, "lr": lr}
    out.update({k: sum(r.get(k, 0.0) for r in window) / len(window) for k in sorted(keys)})
    seconds = sum(r["seconds"] for r in window)
    out["texts_per_s"] = sum(r["texts"] for r in window) / seconds
    out["ir_examples_per_s"] = sum(r["ir_examples"] for r in window) / seconds
    out["step_seconds"] = seconds / len(window)
    return out


def latest_checkpoint(folder: Path) -> Path | None:
    """The ``step-N`` folder with the largest N, or None."""
    steps = [(int(p.name.split("-")[1]), p) for p in folder.glob("step-*") if p.name.split("-")[1].isdigit()]
    return max(steps)[1] if steps else None


def run_training(config: TrainConfig) -> Path:
    """Train one configuration end to end; returns the saved model folder."""
    return Trainer(config).train()
