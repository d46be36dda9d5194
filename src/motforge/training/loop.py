"""The training loop every trainable family shares: AdamW, checkpoints with optimiser state and resume after a kill,
seeded and deterministic on CPU, mixed precision on CUDA, a progress bar, per-step CSV and TensorBoard logs, and
loss curves plotted into the model folder."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from motforge.io.atomic import atomic_path, save_figure_atomic
from motforge.io.device import resolve_device
from motforge.io.weights import load_weights
from motforge.training import distributed


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(path: Path, model, optimizer, step: int, extra: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, **extra}, tmp)


def weights_digest(model: torch.nn.Module, parameters_only: bool = False) -> str:
    """SHA-256 of the weights: equal digests mean bit-identical models (runs and resumes compared cheaply). Ranks
    of a data-parallel run share parameters exactly, but BatchNorm statistics of the last step are each rank's own
    (rank 0's are saved), hence ``parameters_only``."""
    tensors = dict(model.named_parameters()) if parameters_only else model.state_dict()
    digest = hashlib.sha256()
    for name, tensor in sorted(tensors.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_checkpoint(path: Path, setting: str = "dense-model checkpoint") -> dict:
    """Checkpoints are data only: loaded with weights_only=True (no pickled code runs; a payload is refused)."""
    return load_weights(path, setting)


@dataclass
class TrainSetup:
    """The device and ranks of a training process, chosen before the model is built (its initialisation draws
    from the seeded RNG, so the order seed -> device/ranks -> model is part of reproducibility)."""

    device: torch.device
    ranks: distributed.Ranks


def start_training(train: dict, device_key: str) -> TrainSetup:
    """Seed every RNG, pick the device (``train.device``), join the data-parallel group, set CPU determinism."""
    seed_everything(int(train["seed"]))
    dev = resolve_device(train["device"], device_key)
    ranks = distributed.start(dev.type)
    if ranks.distributed and dev.type == "cuda":
        dev = torch.device("cuda", ranks.local_rank)
    if dev.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(int(train["threads"]))
    return TrainSetup(dev, ranks)


@dataclass
class TrainJob:
    """What a family hands the shared loop. ``losses`` is one module whose forward(clips, step, generator) returns
    the named loss parts (one call, so DistributedDataParallel sees it); ``weights`` weigh them into the total."""

    model: torch.nn.Module
    losses: torch.nn.Module
    weights: dict[str, float]
    dataset: Callable[[int, int], Dataset]  # (num_items, start_item) -> clips
    collate: Callable
    title: str
    checkpoint_extra: dict = field(default_factory=dict)
    summary_extra: dict = field(default_factory=dict)


def fit(
    job: TrainJob,
    setup: TrainSetup,
    model_cfg: dict,
    out_dir: str | Path,
    resume_dir: str | Path,
    progress: bool = True,
) -> dict:
    """Train and write ``out_dir/checkpoint.pt``, ``train_log.csv``, ``loss_curves.png``, ``summary.json``;
    ``resume_dir/last.pt`` lets a killed run continue where it stopped (AdamW, cosine schedule to 10%, gradient
    clipping at 10, fp16 autocast on CUDA when ``train.amp``, per-(step, rank) seeded jitter generator and dropout)."""
    out_dir, resume_dir = Path(out_dir), Path(resume_dir)
    train = model_cfg["train"]
    seed = int(train["seed"])
    dev, ranks, model = setup.device, setup.ranks, job.model
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(train["lr"]), weight_decay=float(train["weight_decay"]))
    steps, batch = int(train["steps"]), int(train["batch_clips"])
    scheduler_lambda = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)) * 0.9 + 0.1  # noqa: E731
    start_step = 0
    resume_file = resume_dir / "last.pt"
    log_rows: list[dict] = []
    if resume_file.is_file():
        state = load_checkpoint(resume_file)
        if state.get("config") == json.dumps(model_cfg, sort_keys=True):
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start_step = int(state["step"])
            log_rows = json.loads(state.get("log", "[]"))
    global_batch = batch * ranks.world_size
    dataset = job.dataset(steps * global_batch, start_step * global_batch)
    workers = int(train["workers"])
    loader = DataLoader(
        dataset,
        batch_size=batch,
        shuffle=False,
        sampler=ranks.shard(len(dataset)) if ranks.distributed else None,
        num_workers=workers,
        collate_fn=job.collate,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
    step_losses = job.losses
    if ranks.distributed:  # gradients averaged over ranks during backward; rank 0's weights broadcast at start
        step_losses = torch.nn.parallel.DistributedDataParallel(
            step_losses, device_ids=[ranks.local_rank] if dev.type == "cuda" else None, find_unused_parameters=True
        )
    weights = job.weights
    use_amp = dev.type == "cuda" and bool(train["amp"])
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    writer = (
        _tensorboard(out_dir.parent / f".{out_dir.name}.tensorboard", fresh=start_step == 0)
        if ranks.writes_files
        else None
    )
    generator = torch.Generator()
    step = start_step
    data_wait = compute = 0.0
    bar = tqdm(
        total=steps, initial=start_step, desc="train", disable=not progress or not ranks.writes_files, mininterval=2.0
    )
    tick = time.perf_counter()
    model.train()
    for clips in loader:
        got_data = time.perf_counter()
        data_wait += got_data - tick
        for group in optimizer.param_groups:
            group["lr"] = float(train["lr"]) * scheduler_lambda(step)
        # RoI jitter of this step and rank (unique per pair; one process: seed * 1000003 + step), resumed or not;
        # the global RNG (dropout) is reseeded from the same pair on another stream, so a resumed run draws the same
        # dropout masks as an uninterrupted one
        step_seed = seed * 1_000_003 + step * ranks.world_size + ranks.rank
        generator.manual_seed(step_seed)
        torch.manual_seed(step_seed + 2**40)
        with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=use_amp):
            parts = step_losses(clips, step, generator)
            total = sum(weights[k] * v for k, v in parts.items())
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        scaler.step(optimizer)
        scaler.update()
        step += 1
        values = {"total": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}
        values = distributed.mean_over_ranks(values, ["total", *sorted(weights)], ranks, dev)
        row = {"step": step, **values, "lr": optimizer.param_groups[0]["lr"]}
        log_rows.append(row)
        if writer is not None:
            for k, v in row.items():
                if k != "step":
                    writer.add_scalar(f"loss/{k}" if k != "lr" else "lr", v, step)
        bar.set_postfix(loss=f"{row['total']:.3f}")
        bar.update(1)
        if step % int(train["checkpoint_every"]) == 0 and step < steps and ranks.writes_files:
            save_checkpoint(
                resume_file,
                model,
                optimizer,
                step,
                {"config": json.dumps(model_cfg, sort_keys=True), "log": json.dumps(log_rows)},
            )
        tick = time.perf_counter()
        compute += tick - got_data
    bar.close()
    if writer is not None:
        writer.close()
    summary = {
        "steps": step,
        "resumed_from": start_step,
        "data_wait_share": data_wait / max(1e-9, data_wait + compute),
        **job.summary_extra,
        "processes": ranks.world_size,
        "weights_sha256": weights_digest(model),
        "parameters_sha256": weights_digest(model, parameters_only=True),
    }
    if not ranks.writes_files:
        distributed.barrier(ranks)  # rank 0 is writing; nobody leaves before the files exist
        distributed.stop(ranks)
        return summary
    out_dir.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        out_dir / "checkpoint.pt",
        model,
        optimizer,
        step,
        {"config": json.dumps(model_cfg, sort_keys=True), **job.checkpoint_extra, "log": "[]"},
    )
    _write_log(out_dir / "train_log.csv", log_rows)
    _plot(out_dir / "loss_curves.png", log_rows, job.title)
    with atomic_path(out_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    if resume_file.is_file():
        resume_file.unlink()
    distributed.barrier(ranks)
    distributed.stop(ranks)
    return summary


def _tensorboard(path: Path, fresh: bool):
    """TensorBoard events beside the model folder; a run from step 0 replaces the events of earlier runs."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    if fresh and path.is_dir():
        shutil.rmtree(path)
    return SummaryWriter(str(path))


def _write_log(path: Path, rows: list[dict]) -> None:
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "step", k != "total", k))
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)


def _plot(path: Path, rows: list[dict], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in rows[0] if k not in ("step", "lr")] if rows else []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = [r["step"] for r in rows]
    window = max(1, len(rows) // 50)
    for k in keys:
        values = np.array([r.get(k, np.nan) for r in rows], dtype=float)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid") if len(values) >= window else values
        ax.plot(
            steps[window - 1 :] if len(values) >= window else steps, smooth, label=k, linewidth=2 if k == "total" else 1
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss (moving average)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=3)
    ax.set_title(title)
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
