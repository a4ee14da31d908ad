"""DistributedDataParallel plumbing for ``torchrun`` (gloo on CPU, NCCL on GPU).

Data sharding keeps the *global* batch identical to a single-process run: every rank draws the
same permutation (seeded by seed + epoch), takes the same global batch, and keeps the slice
``batch[rank::world]``. Each rank's loss is rescaled by ``world * n_local / n_global`` so that
DDP's gradient average equals the gradient of the global-batch mean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def setup(device: torch.device) -> DistContext:
    """Join the process group when launched by torchrun; a no-op single-process context else."""
    if not launched_by_torchrun():
        return DistContext(0, 1, 0, device)
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world, local_rank, device)


def teardown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(ctx: DistContext, values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (identity for one process)."""
    if not ctx.enabled:
        return values
    out = values.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def broadcast_object(ctx: DistContext, value: object) -> object:
    """Rank 0's ``value`` on every rank (e.g. the run folder name)."""
    if not ctx.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(batch: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """This rank's slice of a global batch of sample indices."""
    return batch[ctx.rank :: ctx.world] if ctx.enabled else batch
