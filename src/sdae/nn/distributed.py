"""Data parallelism over ``torch.distributed``: ``torchrun --nproc-per-node N -m sdae ...``.

Every rank holds the whole training set and draws the same minibatch order, noise and
augmentations from the same seeded streams; each step, a rank computes the cost and the
gradients on its share of the step's images (:func:`shard`, contiguous rows), and
:func:`reduce_gradients` sums the shares' gradients, each weighted by its share of the step,
so every rank applies the same update: the step of one process on the whole batch, up to
float rounding. What this does not split: the noise draw and the augmentation of each step
(every rank draws the whole step's, which keeps the streams, and so the results, those of
one process), and batch normalisation statistics: each rank normalises its own share, as
DistributedDataParallel does, and after every step rank 0's running statistics replace the
others' (:func:`broadcast_buffers`, DDP's ``broadcast_buffers``), so every rank holds the
same model. Dropout draws per row of a rank's share from torch's global generator, seeded
per rank (:func:`per_rank`) so that two ranks never drop the same units of their rows.
gloo carries the gradients on CPU, nccl on CUDA. A single process (no ``torchrun``) never
touches ``torch.distributed``. The training loops use all this through
:class:`sdae.nn.loop.TrainingLoop`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from torch import distributed as dist

from sdae.errors import SdaeError


def launched() -> bool:
    """Whether this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_size() -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` in a single process."""
    return (dist.get_rank(), dist.get_world_size()) if active() else (0, 1)


def is_main() -> bool:
    return rank_and_size()[0] == 0


def shard(n: int) -> slice:
    """This rank's contiguous share of ``n`` rows (the first ``n % size`` ranks take one more).
    One process: all of them."""
    rank, size = rank_and_size()
    if size == 1:
        return slice(0, n)
    if n < size:
        raise SdaeError(f"a step of {n} image(s) cannot be split over {size} processes: run "
                        "fewer processes (--nproc-per-node) or use larger batches")
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


def reduce_gradients(params: Iterable[torch.nn.Parameter], share: float) -> None:
    """Replace each gradient by the sum over ranks of ``share x`` its gradient, in one
    all-reduce. With ``share`` = this rank's rows / the step's rows and gradients of a mean
    over the rank's rows, that is the gradient of the mean over the whole step."""
    grads = [p.grad for p in params if p.grad is not None]
    if not active() or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads]).mul_(share)
    dist.all_reduce(flat)
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def reduce_cost(cost: torch.Tensor, share: float) -> torch.Tensor:
    """The whole step's mean cost (a scalar, or a vector of means) from each rank's mean over
    its rows."""
    if not active():
        return cost
    total = cost.detach().reshape(-1).mul(share)
    dist.all_reduce(total)
    return total.reshape(cost.shape)


def broadcast_buffers(buffers: Iterable[torch.Tensor]) -> None:
    """Overwrite the floating-point ``buffers`` (batch-norm running statistics) with rank 0's,
    in one broadcast. Integer buffers (batch-norm's step count) are the same on every rank."""
    floats = [b for b in buffers if b.is_floating_point()]
    if not active() or not floats:
        return
    flat = torch.cat([b.reshape(-1) for b in floats])
    dist.broadcast(flat, src=0)
    offset = 0
    for b in floats:
        b.copy_(flat[offset : offset + b.numel()].view_as(b))
        offset += b.numel()


def agree(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (``flag`` itself in one process): a choice each rank
    measured for itself, such as the precision, made the same everywhere."""
    if not active():
        return flag
    out = [flag]
    dist.broadcast_object_list(out, src=0)
    return bool(out[0])


def per_rank(stream: str) -> str:
    """The name of a random stream each rank draws apart (dropout over its own rows):
    ``stream`` in one process and on rank 0, ``stream@rank<k>`` on rank k > 0."""
    rank = rank_and_size()[0]
    return f"{stream}@rank{rank}" if rank else stream


def _backend(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


@contextlib.contextmanager
def data_parallel(device: str, out: str | Path) -> Iterator[tuple[str, Path]]:
    """Under ``torchrun``: join the process group (gloo on CPU, nccl on CUDA, each rank on
    its own GPU), and yield ``(device, folder)``: rank 0 writes into ``out``, every other
    rank into a temporary folder removed afterwards. Without ``torchrun``: ``(device, out)``.
    """
    if not launched():
        yield device, Path(out)
        return
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    dist.init_process_group(_backend(device))
    try:
        if dist.get_rank() == 0:
            yield device, Path(out)
        else:
            with tempfile.TemporaryDirectory(prefix="sdae-rank") as tmp:
                yield device, Path(tmp) / "run"
        dist.barrier()
    finally:
        dist.destroy_process_group()
