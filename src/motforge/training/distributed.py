"""Data-parallel training across processes started by ``torchrun``: the process group (NCCL on GPU, Gloo on CPU),
which clips a rank reads, and which rank writes files. A single process (no torchrun) gets a context of one rank
and the training loop behaves exactly as without this module."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def writes_files(self) -> bool:
        """Only rank 0 writes checkpoints, logs and plots (every rank holds the same weights)."""
        return self.rank == 0

    def shard(self, length: int) -> range:
        """Positions of the global clip sequence this rank reads: rank r takes r, r + W, r + 2W, ... so one step's
        global batch is ``batch_clips * world_size`` distinct clips and a resumed run continues the same sequence."""
        return range(self.rank, length, self.world_size)


def start(device_type: str) -> Ranks:
    """Join the process group torchrun describes in the environment (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_*)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Ranks()
    ranks = Ranks(
        rank=int(os.environ["RANK"]), world_size=world_size, local_rank=int(os.environ.get("LOCAL_RANK", "0"))
    )
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group(backend=backend)
    return ranks


def mean_over_ranks(values: dict[str, float], names: list[str], ranks: Ranks, device: torch.device) -> dict[str, float]:
    """Loss values averaged over the ranks that have them (a rank's clips may lack, say, a second object for the
    association loss), so rank 0 logs what the whole global batch saw. ``names`` is the same list on every rank."""
    if not ranks.distributed:
        return values
    packed = torch.tensor([[values.get(k, 0.0), float(k in values)] for k in names], dtype=torch.float64, device=device)
    dist.all_reduce(packed)
    return {k: float(total / count) for k, (total, count) in zip(names, packed.tolist()) if count > 0}


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        dist.barrier()


def stop(ranks: Ranks) -> None:
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()
